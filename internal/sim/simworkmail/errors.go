package simworkmail

import (
	"fmt"
	"net/http"

	"github.com/idsync/idsync/internal/sim/simkit"
)

// Error codes the stand-in answers with: the modelled WorkMail exceptions
// (workmail-2017-10-01.json; none carries an httpError trait except
// ResourceNotFoundException, 404), plus ThrottlingException for throttled
// requests.
//
// Throttling. WorkMail models no throttling exception. Its API reference
// sends every operation's readers to the common errors
// (https://docs.aws.amazon.com/workmail/latest/APIReference/CommonErrors.html),
// which list ThrottlingException, "The request was denied due to request
// throttling", HTTP 400, for every AWS JSON service: that is the code a
// rate-limited WorkMail call answers, and the stand-in's quotas and
// injected throttles answer it. aws-sdk-go-v2's retryer classifies it as a
// throttle (aws/retry/standard.go, DefaultThrottleErrorCodes). No public
// source shows WorkMail throttling with LimitExceededException or
// TooManyRequestsException; Options.ThrottleCode lets a test answer
// throttles with another code (for instance LimitExceededException) to
// check that a client does not dead-letter a throttle whatever its code.
//
// LimitExceededException. The model documents it as "The request exceeds
// the limit of the resource" and lists it for CreateAlias,
// CreateOrganization, RegisterMailDomain and other operations creating
// countable things, not for CreateUser. The stand-in answers it for
// CreateUser beyond the users-per-organisation quota (1,000 by default,
// https://docs.aws.amazon.com/workmail/latest/adminguide/workmail_limits.html):
// a quota, not a rate. CreateUser does not model it, so the SDK decodes it
// as a smithy.GenericAPIError with that code; note that the SDK's retryer
// also treats LimitExceededException as a throttle and retries it.
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

// throttling returns the builder of throttled answers with code: HTTP 400
// and "Rate exceeded", as AWS JSON services answer ThrottlingException.
func throttling(code string) func() *simkit.APIError {
	return func() *simkit.APIError { return clientErr(code, "Rate exceeded") }
}
