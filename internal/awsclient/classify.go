package awsclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/idsync/idsync/domain"
)

// classifyID names the Classify middleware in the SDK's stack.
const classifyID = "idsync.Classify"

// CallError is a failed call of a client built with Classify installed (the
// target clients: WorkMail, Connect). Its text names the service, the
// operation, the service's error code and the answer's HTTP status, and for
// a call that got no answer idsync's own description of what went wrong;
// never the service's message, which can echo usernames and email
// addresses. It unwraps to the SDK's error, so errors.As still finds the
// modelled exception types, smithy.APIError and the transport's errors.
type CallError struct {
	Service   string // the SDK's service id, e.g. "WorkMail"
	Operation string // e.g. "CreateUser"
	Code      string // the service's error code; "" when there was none
	Status    int    // the answer's HTTP status; 0 when there was no answer
	Err       error  // the SDK's error
}

// Error is "<service> <Operation>: <Code> (HTTP <status>)", the service in
// lower case ("workmail CreateUser: NameAvailabilityException (HTTP 400)"),
// or, without an answer, "<service> <Operation>: <what went wrong>".
func (e *CallError) Error() string {
	var b strings.Builder
	b.WriteString(strings.ToLower(e.Service))
	b.WriteString(" ")
	b.WriteString(e.Operation)
	b.WriteString(": ")
	switch {
	case e.Code != "" && e.Status != 0:
		fmt.Fprintf(&b, "%s (HTTP %d)", e.Code, e.Status)
	case e.Code != "":
		b.WriteString(e.Code)
	case e.Status != 0:
		fmt.Fprintf(&b, "HTTP %d", e.Status)
	default:
		b.WriteString(unanswered(e.Err))
	}
	return b.String()
}

// Unwrap returns the SDK's error.
func (e *CallError) Unwrap() error { return e.Err }

// Classify is an SDK API option (for a client's APIOptions) that turns
// every failed call into a *CallError marked, once, with what the pipeline
// should do about it: domain.Permanent when IsPermanent says so, else
// domain.Retryable. It sits first in the Initialize step, so it sees the
// call's final error, after every retry. The SDK still wraps what a call
// returns in a *smithy.OperationError; Failure takes that shell off.
//
// Errors: the stack's own, when the middleware cannot be added.
func Classify(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc(classifyID, classify), middleware.Before)
}

func classify(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
	out, md, err := next.HandleInitialize(ctx, in)
	if err == nil {
		return out, md, nil
	}
	ce := &CallError{
		Service:   middleware.GetServiceID(ctx),
		Operation: middleware.GetOperationName(ctx),
		Code:      ErrorCode(err),
		Err:       err,
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		ce.Status = re.HTTPStatusCode()
	}
	if IsPermanent(err) {
		return out, md, domain.Permanent(ce)
	}
	return out, md, domain.Retryable(ce)
}

// Failure returns the error of a call made through a client with Classify
// installed as idsync reports it: the classified *CallError without the
// SDK's *smithy.OperationError around it, whose text repeats the service and
// operation. Any other error is returned unchanged; nil for nil. The result
// keeps its domain kind and unwraps to the SDK's error.
func Failure(err error) error {
	var oe *smithy.OperationError
	if errors.As(err, &oe) {
		if _, ok := errors.AsType[*CallError](oe.Err); ok {
			return oe.Err
		}
	}
	return err
}

// unanswered describes, in idsync's words, the error of a call that got no
// answer from the service.
func unanswered(err error) string {
	var (
		netErr  *net.OpError
		sendErr *smithyhttp.RequestSendError
		decErr  *smithy.DeserializationError
	)
	switch {
	case errors.Is(err, context.Canceled):
		return "context canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "context deadline exceeded"
	case errors.Is(err, ErrRateLimited):
		return "client-side rate limiter refused to wait (the context's deadline is too close)"
	case errors.As(err, &netErr):
		if se, ok := errors.AsType[*os.SyscallError](netErr.Err); ok {
			return "network error: " + netErr.Op + ": " + se.Err.Error()
		}
		return "network error: " + netErr.Op
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed before an answer"
	case errors.As(err, &sendErr):
		return "request not sent or answer lost"
	case errors.As(err, &decErr):
		return "answer could not be decoded"
	}
	return fmt.Sprintf("failed without an answer (%T)", innermost(err))
}

// innermost is the last error of err's chain of single unwraps.
func innermost(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
}
