package workmail

import (
	"errors"

	"github.com/aws/smithy-go"

	"github.com/idsync/idsync/consumers"
	"github.com/idsync/idsync/domain"
)

// WorkMail error codes the Applier reacts to by name (some arrive as the
// SDK's modelled exception types, some, for operations that do not model
// them, as smithy.GenericAPIError).
const (
	codeNameAvailability  = "NameAvailabilityException"
	codeEmailInUse        = "EmailAddressInUseException"
	codeAlreadyRegistered = "EntityAlreadyRegisteredException"
	codeEntityState       = "EntityStateException"
	codeEntityNotFound    = "EntityNotFoundException"
	codeLimitExceeded     = "LimitExceededException"
)

// callError is a failed WorkMail call. Its message names the operation and
// the service's error code only: the service's own message can echo email
// addresses. It unwraps to the SDK's error, so errors.As finds the modelled
// exception types and smithy.APIError.
type callError struct {
	op   string
	code string
	err  error
}

func (e *callError) Error() string {
	if e.code != "" {
		return "workmail " + e.op + ": " + e.code
	}
	return "workmail " + e.op + ": " + e.err.Error()
}

func (e *callError) Unwrap() error { return e.err }

// errorCode returns the service's error code of err, or "".
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// classify wraps the error of WorkMail operation op in a callError and marks
// it, once, with what the pipeline should do about it. It returns nil for a
// nil err.
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	ce := &callError{op: op, code: errorCode(err), err: err}
	if consumers.PermanentAWSError(err) {
		return domain.Permanent(ce)
	}
	return domain.Retryable(ce)
}
