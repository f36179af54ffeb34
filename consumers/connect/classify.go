package connect

import (
	"errors"

	"github.com/aws/aws-sdk-go-v2/service/connect/types"
)

// SDK errors arrive classified by the client's awsclient.Classify
// middleware: a quota LimitExceededException or
// ServiceQuotaExceededException, InvalidParameterException,
// InvalidRequestException, ResourceNotFoundException,
// DuplicateResourceException, AccessDeniedException and every other client
// fault are permanent; throttling, server faults, 5xx, timeouts, cancelled
// contexts, transport errors and anything unknown are retryable. The
// applier takes the SDK's shell off them (awsclient.Failure) and reacts to
// the codes below; errors it makes itself are marked where they are made.

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
