package connect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/connect/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/idsync/idsync/consumers"
	"github.com/idsync/idsync/domain"
)

// callError is a failed Connect call. Its text names the operation, the
// user the call was about, the service's error code and the answer's HTTP
// status, and for a call that got no answer idsync's own description of
// what went wrong; never the service's message, which can echo usernames
// and email addresses. It unwraps to the SDK's error, so errors.As finds
// the modelled exception types and smithy.APIError.
type callError struct {
	op     string // the Connect operation, e.g. "CreateUser"
	userID string // the user the call was about; "" when none
	code   string // the service's error code; "" when there was none
	status int    // the answer's HTTP status; 0 when there was no answer
	err    error
}

func newCallError(op, userID string, err error) *callError {
	ce := &callError{op: op, userID: userID, code: errorCode(err), err: err}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		ce.status = re.HTTPStatusCode()
	}
	return ce
}

func (e *callError) Error() string {
	var b strings.Builder
	b.WriteString("connect ")
	b.WriteString(e.op)
	if e.userID != "" {
		b.WriteString(" user ")
		b.WriteString(e.userID)
	}
	b.WriteString(": ")
	switch {
	case e.code != "" && e.status != 0:
		fmt.Fprintf(&b, "%s (HTTP %d)", e.code, e.status)
	case e.code != "":
		b.WriteString(e.code)
	case e.status != 0:
		fmt.Fprintf(&b, "HTTP %d", e.status)
	default:
		b.WriteString(unanswered(e.err))
	}
	return b.String()
}

func (e *callError) Unwrap() error { return e.err }

// unanswered describes, in idsync's words, an error of a call that got no
// answer from Connect.
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
	case errors.Is(err, errRateLimiter):
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

// classify wraps the error of Connect operation op about user userID ("" for
// none) in a callError and marks it, once, with its domain kind. It is the
// one place where SDK errors are understood:
//   - LimitExceededException / ServiceQuotaExceededException (429, a quota
//     such as users per instance, not a rate): permanent;
//   - ThrottlingException, TooManyRequestsException and every other code
//     the SDK counts as throttling: retryable;
//   - InternalServiceException and other server faults, 5xx answers,
//     timeouts, cancelled contexts, transport errors and anything unknown:
//     retryable;
//   - InvalidParameterException, InvalidRequestException,
//     ResourceNotFoundException, DuplicateResourceException,
//     AccessDeniedException and every other client fault (4xx): permanent.
//
// It returns nil for a nil err. Errors the applier makes itself are marked
// where they are made.
func classify(op, userID string, err error) error {
	if err == nil {
		return nil
	}
	ce := newCallError(op, userID, err)
	if consumers.PermanentAWSError(err) {
		return domain.Permanent(ce)
	}
	return domain.Retryable(ce)
}

// isNotFound reports whether err is Connect's ResourceNotFoundException.
func isNotFound(err error) bool {
	var nf *types.ResourceNotFoundException
	return errors.As(err, &nf)
}

// isDuplicate reports whether err is Connect's DuplicateResourceException.
func isDuplicate(err error) bool {
	var d *types.DuplicateResourceException
	return errors.As(err, &d)
}

// errorCode is the API error code of err ("" when there is none), for
// errors and logs: the service's messages may carry names.
func errorCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}
