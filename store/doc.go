// Package store keeps idsync's DynamoDB state and ledger: each person's
// folded identity and last-known target states, the IdC snapshotter's
// bookkeeping and lease, and the append-only ledger that is both the audit
// trail and the idempotency record. It is idsync's only DynamoDB adapter:
// its item structs map the domain types to attributes, so the domain types
// carry no storage tags.
//
// # Tables
//
// StateTableSpec and LedgerTableSpec describe both tables as plain data;
// CreateTableInput builds local and test tables from them and the CDK app
// builds the deployed ones from the same specs.
//
// State (PK, SK):
//
//	PERSON#<key>     IDENTITY          domain.Person (+ loginLower), version-checked
//	PERSON#<key>     TARGET#<target>   domain.TargetState, version-checked
//	PERSON#<key>     EMITTED           Mark: the snapshotter's diff facts in flight
//	PERSON#<key>     EMITTED#<target>  Mark: a reconcile event in flight (+ a consumer's failure)
//	SNAPSHOT#<00-15> <person key>      SnapshotRecord (snapshotter bookkeeping)
//	LEASE#<name>     LEASE             lease: owner, expiresAt, acquiredAt, totalUsers
//	BRAKE#<target>   BRAKE             hook removal brake: window start, removals taken
//
// <key> is the person key the person was first stored under (Okta user id
// when known, else IdC user id); it never changes, even when a person first
// known by IdC id is later linked to an Okta id (Record.Key vs Person.Key).
// Lookups use three sparse KEYS_ONLY indexes over attributes of the identity
// item only: byLogin (loginLower), byOktaId (oktaId), byIdcUserId
// (idcUserId). Attributes on the identity item were chosen over separate
// alias items because they need no extra writes: DynamoDB maintains the
// indexes, and since they project keys only, an identity write that leaves
// the ids and login unchanged needs no index update. One partition read (a strongly
// consistent Query) returns a person's identity and all their targets.
//
// Ledger (PK, SK):
//
//	PERSON#<key> | SYSTEM   <ulid>#<outcome>           timeline row (domain.LedgerEntry)
//	PERSON#<key>            <event id>#received        received row: its id is the event id
//	PERSON#<key>            APPLIED#<target>#<event>   idempotency record of a commit
//
// A received row also keeps the event it records, without profile values
// (Detail[DetailEvent]; ReceivedEvent rebuilds it), so that a replay can
// re-emit the fact; DetailEvent says what is kept and why.
//
// Timeline rows carry day=DAY#YYYY-MM-DD (the UTC date of their id's time)
// and id=<ulid>, the keys of the byDay index that serves time-range audits.
// Since a received row's id is its event id, ReceivedRow finds it from the
// event id alone with one index query; EventRows then reads the rows about
// that event from the person's partition (a filter over that partition
// only).
// Applied records carry no day, so they stay out of that index; the commit's
// own timeline rows record it there. Every ledger write is conditional on
// attribute_not_exists; nothing in this package deletes or rewrites a ledger
// row. Rows carry no TTL unless Options.LedgerTTL (at least 14 days, longer
// than queue plus DLQ retention) is set.
//
// # Concurrency
//
// Identity and target items carry a version. Fold writes with a condition on
// the version it read and, when it loses a race, re-reads, re-folds and
// retries, so concurrent facts about one person all survive. Commit writes
// the target state (condition: expected version), the applied record
// (condition: absent) and the ledger rows in one TransactWriteItems, and
// reads the cancellation reasons to tell a duplicate (ErrDuplicate, domain
// Stale) from a version conflict (ErrConflict, retryable).
//
// # Managed people and identities
//
// With Options.GroupMapped, Fold creates a person only from an event that
// makes them a member of a mapped group (else ErrNotManaged, Stale,
// nothing written). The Okta id is authoritative: a subject that
// contradicts the stored person's ids is a Permanent
// domain.ErrIdentityConflict, except a relink, which moves the person (and
// the IdC-id index) to the new IdC user id: the snapshot's explicit fact
// that the person's IdC user was re-created (Event.ReplacesIdCUserID), or
// any event with the person's Okta id naming another IdC user id that is
// newer than the person's link (the newest observation of which IdC user
// carries the Okta id wins; refused as a conflict when another person is
// linked to that IdC user id). Events naming the replaced IdC user id, or
// another IdC user id with the person's Okta id but older than the link,
// are Stale (domain.ErrSupersededLink).
//
// # Snapshot bookkeeping and emission marks
//
// The snapshotter diffs against AllRecords (one parallel scan of the
// person partitions: identities, target states and marks) and keeps one
// SnapshotRecord per person observed, spread over 16 partitions read in
// parallel. SnapshotChanges yields only the records that differ, so
// DynamoDB writes are proportional to changes; WriteSnapshotRecords writes
// them with BatchWriteItem. Marks (WriteMarks, in the person's partition so
// that the same scan reads them) record what a run emitted and from which
// versions, so that later runs do not re-emit it while it is in flight;
// a consumer records a permanent failure of a reconcile event on its mark
// (MarkFailed).
//
// # Removal brake
//
// TakeRemovals counts the removals the hook queues per target in fixed
// windows, with a conditional update of one counter item per target.
//
// # Leases
//
// AcquireLease and ReleaseLease keep runs from overlapping (the snapshotter
// takes LEASE#idcsnapshot): one item per lease, taken with a conditional
// UpdateItem that succeeds when nobody holds it, the holder's lease has
// expired, or the caller holds it already. The item also keeps a count the
// last holder left for the next (the snapshotter's user count).
package store
