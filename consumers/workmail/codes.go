package workmail

// WorkMail error codes the Applier reacts to by name (some arrive as the
// SDK's modelled exception types, some, for operations that do not model
// them, as smithy.GenericAPIError); awsclient.ErrorCode reads them.
const (
	codeNameAvailability  = "NameAvailabilityException"
	codeEmailInUse        = "EmailAddressInUseException"
	codeAlreadyRegistered = "EntityAlreadyRegisteredException"
	codeEntityState       = "EntityStateException"
	codeEntityNotFound    = "EntityNotFoundException"
)
