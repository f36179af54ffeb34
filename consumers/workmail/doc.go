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
//     one. For a user that is already ENABLED the operation "performs no
//     change" (200, the primary address kept) or, as the model also lists,
//     answers EntityAlreadyRegisteredException; either way DescribeUser
//     follows and a primary address other than the planned one is changed
//     (UpdatePrimaryEmailAddress). A user idsync created DISABLED and never
//     registered (no address recorded) has no address to keep: a plain
//     success needs no DescribeUser. After an adoption of an ENABLED user no
//     RegisterToWorkMail is sent: only the address is changed when needed.
//   - update-attributes: UpdateUser(DisplayName, FirstName, LastName, and
//     IdentityProviderUserId when the plan links the mailbox to the
//     person's IdC user: learned after the create, or re-linked).
//   - update-email: UpdatePrimaryEmailAddress.
//   - disable: DeregisterFromWorkMail; a user already DISABLED is success.
//   - delete: DescribeUser first; only a DISABLED user is deleted
//     (DeleteUser), an ENABLED one is refused with ErrEnabledUser, a
//     DELETED or vanished one is success.
//   - export-start (workmail.onLeave.exportTo, when a leaver's delete is
//     due): StartMailboxExportJob of the mailbox to the configured bucket,
//     prefix, KMS key and role, with the plan's ClientToken (derived from
//     the mailbox, its disable time and the destination, never from the
//     event, so every plan of the same due delete asks for the same job
//     and a retry after a lost commit gets the first job's id back
//     instead of a second job). The job id, RUNNING and the start time go
//     into the state; the op does not wait for the job.
//   - export-check: DescribeMailboxExportJob of the recorded job. RUNNING
//     records the progress and succeeds (the message is acknowledged; the
//     next plan of the due delete, e.g. the snapshot's reconciliation,
//     looks again); COMPLETED records the object's S3Path, and the next
//     plan deletes. FAILED or CANCELLED, a job WorkMail does not know or
//     one exporting another entity fail permanently with ErrExportFailed
//     and the job's reason (its ErrorInfo with anything shaped like an
//     address replaced, see ExportReason) and are recorded in the state
//     all the same (consumers.Step.KeepState), so that later plans hold
//     the delete (domain.ReasonExportFailed) instead of exporting again on
//     every run; the mailbox is kept until an operator re-arms the export
//     (idsync workmail export --person). A start WorkMail refuses
//     permanently (InvalidParameterException, for instance) is recorded
//     the same way.
//
// Whether WorkMail exports the retained mailbox of a deregistered
// (DISABLED) user is not published; the stand-in refuses it by default,
// and so does a real organisation that does not: the refusal is a
// recorded permanent failure, not a loop. Note that WorkMail removes a
// disabled mailbox 30 days after the disable, which is why
// workmail.onLeave.deleteAfterDays is at most 28 with exportTo.
//
// Users, groups and resources share one namespace of names and one of
// addresses. An address held by another entity (EmailAddressInUseException
// on register or update-email) fails permanently with ErrAddressInUse
// naming that entity's id (DescribeUser, or DescribeEntity for a group or
// resource, which says "group <id>" / "resource <id>"); an address our own
// user already holds as its primary address is success. A name a create
// needs held by a group or resource (DescribeGroup, DescribeResource) fails
// permanently with ErrUnmanaged naming it the same way.
//
// # Adoption
//
// A create takes over an existing user instead of making one only when
// that user is provably idsync's or the person's own, and never overwrites
// anyone else's. Its Name is the create intent's when the state holds one
// (domain.TargetState.PendingName, recorded by the runner before the
// create ran the first time), so a retry after a crash asks for the name
// the first attempt used even when the person's login was renamed
// meanwhile.
//
//  1. When the person's IdC user id is known, it is looked up before the
//     create (so that no retry makes a second mailbox) and again after a
//     clash: ListUsers (filter IdentityProviderUserIdPrefix = that id, every
//     page), keeping users that are not DELETED and whose
//     IdentityProviderUserId equals the id (IdC ids are hexadecimal:
//     compared without regard to case). The one with the planned Name is
//     adopted; failing that, the only one, whatever its Name and state;
//     failing that, the only ENABLED one. The adopted user keeps its Name.
//     An IdC user id is immutable and names one person, and WorkMail
//     records one only when a create set it or the person signed in to the
//     mailbox, so such a user is the person's mailbox: one a crashed create
//     made under a login renamed since, or one another tool made (AWS's
//     IdC → WorkMail sample creates every mailbox with the IdC user id, so
//     its mailboxes are adopted, not refused). Several users carrying the
//     id, none named as planned and not exactly one enabled, are refused
//     (ErrUnmanaged, naming them): idsync neither picks one nor creates
//     another.
//  2. Otherwise, and also when rule 1 finds nothing (the first create may
//     have run before the IdC user id was known), the user holding the Name
//     is adopted when it is in exactly the state idsync's own create leaves
//     it: the same Name, DISABLED, never registered (no email, no enabled
//     or mailbox-provisioned date), no IdentityProviderUserId, and the same
//     DisplayName, FirstName and LastName. Residual risk: a user an
//     administrator created by hand with exactly these values and never
//     enabled is indistinguishable from idsync's and is adopted. Such a user
//     is an empty, disabled shell with the person's own name, so adopting
//     it loses nothing; a user that was ever enabled (but see rule 3),
//     carries another IdC id, or differs in any attribute is never adopted.
//  3. A crash after the register leaves an ENABLED user, which rule 2
//     refuses. It is adopted when the state holds a create intent for the
//     Name and the user holding it was enabled at or after the intent's
//     PendingAt (EnabledDate, compared to the second) with the planned
//     primary address (the create op's Email) and no IdC user id other
//     than the person's: idsync decided to create that user before anyone
//     enabled it, and enabled it with the address idsync planned. Residual
//     case: when the login (and so the planned address) changed between
//     such a crash and the retry, and the IdC user id is unknown (rule 1
//     would find the user by it), the address no longer matches and the
//     create fails permanently with ErrUnmanaged and the user's id, for an
//     operator to resolve; nothing is created.
//
// Any other holder of the name is a clash with an account idsync does not
// manage: a permanent failure wrapping ErrUnmanaged that names the holder's
// entity id (never its email address), with nothing changed. After an
// adoption, attributes that differ from the plan are brought in line
// (UpdateUser, setting the IdC user id when rule 2 or 3 adopted and the id
// is now known) and the plan continues with register as usual.
//
// # IAM Identity Center assignment
//
// An organisation linked to IAM Identity Center links a mailbox only to an
// IdC user assigned (directly or through a group) to WorkMail's IdC
// application; CreateUser and UpdateUser with the IdC user id of anyone
// else answer InvalidParameterException with a message saying the user "is
// not authorized" (the code covers every bad parameter; the phrase, which
// AWS's own IdC → WorkMail sample matches, is read in one place,
// notAssigned, and never repeated). Okta's push to IdC and the
// application assignment lag the hook that brought the person, so such a
// refusal is ErrNotAssigned: retryable until the configuration's
// workmail.identityCenter.assignmentGrace (default 1h) has passed since the
// person's latest fact, permanent after it, with a reason that names the
// IdC user id and says to assign the user or a group of theirs.
//
// SDK errors are classified once, by the client's awsclient.Classify
// middleware: throttling, 5xx, timeouts, dropped connections and anything
// unknown are domain.Retryable; LimitExceededException (a quota, not a
// rate, which the client's retryer does not retry), modelled client
// exceptions and other 4xx are domain.Permanent. One exception, made in
// StartExport: StartMailboxExportJob answers LimitExceededException for
// the organisation's 10 concurrent export jobs and for a mailbox exported
// less than 24 hours ago, both of which pass, so there it is
// ErrExportLimit, retryable. WorkMail models no
// throttling exception; AWS's common errors name ThrottlingException (HTTP
// 400), one of the SDK's throttle codes, so a throttle is retried by the
// client and then by redelivery, never dead-lettered, while
// LimitExceededException (users per organisation) is. Error texts carry the
// operation, the service's error code and HTTP status but not the service's
// message, which can echo email addresses; the Applier's own errors name
// entity ids only.
package workmail
