package workmail

import (
	"errors"
	"strings"

	"github.com/aws/smithy-go"
)

// WorkMail error codes the Applier reacts to by name (some arrive as the
// SDK's modelled exception types, some, for operations that do not model
// them, as smithy.GenericAPIError); awsclient.ErrorCode reads them.
const (
	codeNameAvailability  = "NameAvailabilityException"
	codeEmailInUse        = "EmailAddressInUseException"
	codeAlreadyRegistered = "EntityAlreadyRegisteredException"
	codeEntityState       = "EntityStateException"
	codeEntityNotFound    = "EntityNotFoundException"
	codeInvalidParameter  = "InvalidParameterException"
	codeLimitExceeded     = "LimitExceededException"
)

// phraseNotAuthorized is what WorkMail says when it refuses to link a
// mailbox to an IAM Identity Center user who is not assigned to its IdC
// application. The code alone (InvalidParameterException) covers every
// bad parameter, and AWS publishes no dedicated one; AWS's public IdC →
// WorkMail sync sample (OktaIdCWorkMailLambdaExample, create_workmail_user)
// tells this case apart by exactly this phrase.
const phraseNotAuthorized = "is not authorized"

// notAssigned reports whether err is that refusal: the code, and the
// phrase in the service's message. This is the one place the message is
// read; it is never repeated in an error, a log line or the ledger.
func notAssigned(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == codeInvalidParameter &&
		strings.Contains(strings.ToLower(ae.ErrorMessage()), phraseNotAuthorized)
}
