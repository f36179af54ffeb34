package simworkmail

import (
	"fmt"
	"net/http"

	"github.com/idsync/idsync/internal/sim/simkit"
)

// Error codes the stand-in answers with: the modelled WorkMail exceptions,
// plus ThrottlingException (WorkMail models none; the SDK retryer knows the
// code) and LimitExceededException for the per-organisation user limit.
const (
	codeInvalidParameter     = "InvalidParameterException"
	codeNameAvailability     = "NameAvailabilityException"
	codeEmailInUse           = "EmailAddressInUseException"
	codeAlreadyRegistered    = "EntityAlreadyRegisteredException"
	codeEntityState          = "EntityStateException"
	codeEntityNotFound       = "EntityNotFoundException"
	codeOrganizationNotFound = "OrganizationNotFoundException"
	codeOrganizationState    = "OrganizationStateException"
	codeMailDomainNotFound   = "MailDomainNotFoundException"
	codeResourceNotFound     = "ResourceNotFoundException"
	codeLimitExceeded        = "LimitExceededException"
	codeThrottling           = "ThrottlingException"
)

// clientErr is a modelled client error: WorkMail's carry no httpError trait,
// so they are answered with 400.
func clientErr(code, format string, args ...any) *simkit.APIError {
	return &simkit.APIError{Status: http.StatusBadRequest, Code: code, Message: fmt.Sprintf(format, args...)}
}

func throttling() *simkit.APIError {
	return clientErr(codeThrottling, "Rate exceeded")
}
