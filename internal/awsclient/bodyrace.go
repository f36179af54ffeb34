package awsclient

import (
	"context"
	"fmt"
	"io"

	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// hideRequestWriterTo works around a race between smithy-go and net/http.
// smithy-go wraps a request body in a closer whose WriteTo answers (0,
// io.EOF) once closed, and closes it as soon as the HTTP client returns.
// When a server answers as soon as it has read Content-Length bytes (local
// servers often do), net/http's writeLoop may only then run its trailing
// copy of the body, get io.EOF, count the write as failed and close the
// connection under a response still being read: the call fails with "use
// of closed network connection" although the server answered 200. Hiding
// WriteTo makes that copy use Read, whose io.EOF is the normal end.
func hideRequestWriterTo(stack *middleware.Stack) error {
	return stack.Build.Add(middleware.BuildMiddlewareFunc("idsyncHideRequestWriterTo",
		func(ctx context.Context, in middleware.BuildInput, next middleware.BuildHandler) (middleware.BuildOutput, middleware.Metadata, error) {
			if req, ok := in.Request.(*smithyhttp.Request); ok {
				if rs, ok := req.GetStream().(io.ReadSeeker); ok {
					r, err := req.SetStream(struct{ io.ReadSeeker }{rs})
					if err != nil {
						return middleware.BuildOutput{}, middleware.Metadata{}, fmt.Errorf("wrap request stream: %w", err)
					}
					in.Request = r
				}
			}
			return next.HandleBuild(ctx, in)
		}), middleware.After)
}
