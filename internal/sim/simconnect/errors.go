package simconnect

import (
	"net/http"

	"github.com/idsync/idsync/internal/sim/simkit"
)

// The exceptions of the Connect model, with their smithy.api#httpError
// statuses.

func errDuplicate(format string, args ...any) *simkit.APIError {
	return simkit.Errorf(http.StatusConflict, "DuplicateResourceException", format, args...)
}

func errNotFound(format string, args ...any) *simkit.APIError {
	return simkit.Errorf(http.StatusNotFound, "ResourceNotFoundException", format, args...)
}

func errInvalidParameter(format string, args ...any) *simkit.APIError {
	return simkit.Errorf(http.StatusBadRequest, "InvalidParameterException", format, args...)
}

func errInvalidRequest(format string, args ...any) *simkit.APIError {
	return simkit.Errorf(http.StatusBadRequest, "InvalidRequestException", format, args...)
}

func errThrottling() *simkit.APIError {
	return simkit.Errorf(http.StatusTooManyRequests, "ThrottlingException", "Rate exceeded")
}

func errLimitExceeded(format string, args ...any) *simkit.APIError {
	return simkit.Errorf(http.StatusTooManyRequests, "LimitExceededException", format, args...)
}

func errInternal(format string, args ...any) *simkit.APIError {
	return simkit.Errorf(http.StatusInternalServerError, "InternalServiceException", format, args...)
}
