// Package workmail is idsync's Amazon WorkMail target: an Applier that
// implements consumers.Target for one WorkMail organisation. Plan wraps
// domain.PlanWorkMail after a read-only pre-flight (the organisation exists
// and is Active, its default mail domain when none is configured, and,
// optionally, its IAM Identity Center configuration); Apply makes one
// planned op true through API, a narrow interface the aws-sdk-go-v2
// WorkMail client satisfies, and consumers.Execute runs a plan's ops
// through it. The client comes from awsclient.WorkMail, with a meter of
// DefaultQuota (one bucket shared by all operations) keeping the calls
// within the service's rate.
//
// Ops and the calls they make:
//   - create: when the person's IdC user id is known, ListUsers by it first
//     (see "Adoption"); then CreateUser (DISABLED; IdentityProviderUserId =
//     that id when known). NameAvailabilityException or
//     EmailAddressInUseException means an earlier attempt may have created
//     the user before a crash; see "Adoption" below.
//   - register / enable: RegisterToWorkMail(EntityId, Email). The register
//     op that follows a create has no RemoteID and uses the id the create
//     returned (or adopted); enable re-registers the same user, never a new
//     one. EntityAlreadyRegisteredException with the same primary address
//     is success; with another one the primary address is changed.
//   - update-attributes: UpdateUser(DisplayName, FirstName, LastName).
//   - update-email: UpdatePrimaryEmailAddress.
//   - disable: DeregisterFromWorkMail; a user already DISABLED is success.
//   - delete: DescribeUser first; only a DISABLED user is deleted
//     (DeleteUser), an ENABLED one is refused with ErrEnabledUser, a
//     DELETED or vanished one is success.
//
// An address held by another entity (EmailAddressInUseException on
// register or update-email) fails permanently with ErrAddressInUse naming
// that entity's id; an address our own user already holds as its primary
// address is success.
//
// # Adoption
//
// A create takes over an existing user instead of making one only when
// that user is provably idsync's or the person's own, and never overwrites
// anyone else's:
//
//  1. When the person's IdC user id is known, it is looked up before the
//     create (so that no retry and no login renamed in between makes a
//     second mailbox) and again after a clash: ListUsers (filter
//     IdentityProviderUserIdPrefix = that id, every page), keeping users
//     that are not DELETED and whose IdentityProviderUserId equals the id
//     (IdC ids are hexadecimal: compared without regard to case). The one
//     with the planned Name is adopted; failing that, the only one that was
//     never enabled (no email, no enabled date), keeping its Name. WorkMail
//     records an IdC user id only when a create set it or when the person
//     signed in to the mailbox, so such a user is the person's (this
//     includes a mailbox the person already had under the planned Name and
//     signed in to: theirs, and named as idsync would name it). A user
//     carrying the id under another name that was enabled before is
//     refused (ErrUnmanaged): idsync does not create a second mailbox next
//     to it.
//  2. Otherwise, and also when rule 1 finds nothing (the first create may
//     have run before the IdC user id was known), the user holding the Name
//     is adopted only when it is in exactly the state idsync's own create
//     leaves it: the same Name, DISABLED, never registered (no email, no
//     enabled or mailbox-provisioned date), no IdentityProviderUserId, and
//     the same DisplayName, FirstName and LastName. Residual risk: a user an
//     administrator created by hand with exactly these values and never
//     enabled is indistinguishable from idsync's and is adopted. Such a user
//     is an empty, disabled shell with the person's own name, so adopting
//     it loses nothing; a user that was ever enabled, carries another IdC
//     id, or differs in any attribute is never adopted. A crash after the
//     register of a person without an IdC user id therefore leaves an
//     ENABLED user that rule 2 refuses: the failure is permanent with
//     ErrUnmanaged and the user's id, for an operator to resolve.
//
// Any other holder of the name is a clash with an account idsync does not
// manage: a permanent failure wrapping ErrUnmanaged that names the holder's
// entity id (never its email address), with nothing changed. After an
// adoption, attributes that differ from the plan are brought in line
// (UpdateUser, setting the IdC user id when rule 2 adopted and the id is now
// known) and the plan continues with register as usual.
//
// SDK errors are classified once, by the client's awsclient.Classify
// middleware: throttling, 5xx, timeouts, dropped connections and anything
// unknown are domain.Retryable; LimitExceededException (a quota, not a
// rate, which the client's retryer does not retry), modelled client
// exceptions and other 4xx are domain.Permanent. Error texts carry the
// operation, the service's error code and HTTP status but not the service's
// message, which can echo email addresses; the Applier's own errors name
// entity ids only.
package workmail
