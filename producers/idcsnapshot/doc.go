// Package idcsnapshot is idsync's scheduled IAM Identity Center snapshotter:
// the source of truth that corrects any hook event that was lost or
// misordered, and the reconciler that makes every target converge. Each
// run reads the whole membership of every configured group that has an IdC
// id, reads those members' profiles, diffs the result against the
// last-known people (domain.DiffSnapshot), plans every managed person
// against every target's recorded state, and queues the difference: diff
// facts for every target, reconcile events for the one target that needs
// them.
//
// # A run
//
//  1. Take the lease (store.AcquireLease: a conditional write on
//     LEASE#<Options.LeaseName> in the state table, by default
//     LEASE#idcsnapshot), so runs never overlap; a held lease refuses the
//     run with store.ErrLeaseHeld.
//  2. Walk ListGroupMemberships for each group (MaxResults 100, groups in
//     parallel).
//  3. Read the distinct members' profiles with whichever needs fewer calls:
//     DescribeUser per member, or ListUsers pages over the whole store
//     (stopping once every member has been seen). See chooseProfileRead:
//     the store's size is remembered on the lease item from the last full
//     walk; without it DescribeUser is used for up to
//     Options.DescribeUserMax members.
//  4. Read every person's record (store.AllRecords: identity, target states
//     and emission marks in one parallel scan) and diff. Completeness is
//     per group: a group that could not be read (a read error, or
//     ResourceNotFound: it no longer exists) withholds removals for its
//     members only, and is reported every run until fixed (the summary
//     row's unreadGroups, the UnreadGroups metric, a log line naming the
//     group id); a member whose profile could not be read gets no events at
//     all. Facts learned within snapshot.settleWindow before the run (hook
//     events IdC may not show yet) are left alone, and the run's facts
//     occur at TakenAt − settleWindow, so a hook fact from within the
//     window wins over them whatever order they are folded in. IdC users
//     are matched to people by Okta id first: a re-created IdC user is
//     re-linked (a relink fact), an unresolvable identity conflict is
//     reported and left alone.
//  5. Reconcile (Options.Planners): the run's diff events are folded into
//     the people in memory, and every managed person (a target state, or a
//     member of a mapped group) is planned with every target's planner from
//     the stored target state. A person with diff events needs nothing
//     more (those events make every target re-plan them); otherwise a plan
//     with ops (or a state to record) becomes a reconcile event for that
//     target only. This repairs a target that missed an event (a queue
//     that refused it, a message dead-lettered once its cause is fixed)
//     and plans due WorkMail grace-period deletes. While any group or
//     profile is unread, reconcile events that would take an account away
//     (disable, delete, strip) are withheld and counted.
//  6. Apply the removal cap to the people the run takes something away
//     from, by the diff or by reconciliation: a run over the cap emits
//     nothing at all.
//  7. Skip what is in flight: an emission mark (store.Mark) per person and
//     per target records the digest of what was emitted, from which
//     versions, and when. The same difference, from unchanged versions, is
//     not emitted again until snapshot.redeliverAfter has passed (then it
//     is re-sent with the same event ids), or, once its consumer recorded
//     a permanent failure (store.MarkFailed), snapshot.retryFailedAfter. So
//     while consumers lag, redundant work is proportional to changes, not
//     to runs.
//  8. Record each event as received in the ledger, queue it, write the
//     marks, store the snapshot bookkeeping records (complete runs only),
//     and append a run summary row (outcome snapshot-run; failed for a
//     refused or broken run; skipped when the lease was held) with the
//     counts in Detail.
//
// # Runs longer than one invocation
//
// A directory too large to read in one invocation (at 20 requests/s,
// 1,000,000 users are 10,000 ListUsers pages plus the membership pages,
// more than Lambda's 15 minutes) is read over several. When the handler's
// context has a deadline, a run stops reading, or queueing, TimeReserve
// before it (at most a third of the invocation), saves its progress in
// the state table under the lease's name (store.SaveRunProgress: the
// cursor of every membership walk and of the ListUsers walk, the members
// and profiles read so far in compressed chunks, the count of events
// queued) and returns with Summary.Continued set; the next invocation (the
// next scheduled one) takes the lease, loads the progress and continues
// with the same run id and TakenAt, so its event ids, times and marks are
// those of a run that was never interrupted. Nothing is diffed, and so
// nobody is removed, until every read is over. Events are then recorded,
// queued and marked EmitBatch at a time; an invocation that stops between
// batches leaves the marks of exactly what it queued, and the next one,
// deciding again from the same reads, skips what this run already queued
// (a mark written at the run's own TakenAt) and queues the rest. A saved
// run older than MaxRunAge, or saved under other configured groups, is
// abandoned and a new one starts. The summary row is written once, when
// the run ends.
//
// Memory: an invocation holds the member ids with their groups and the
// compact profiles read, and, once the reads are over, the last-known
// records it diffs against; the SDK pages are not kept.
//
// # Cost of a run
//
// Identity Store: the membership pages plus the profile reads (about
// members/100 + min(members, users/100) requests). DynamoDB: one parallel
// scan of the state table's person partitions, the bookkeeping read, and
// writes proportional to what changed (received rows, marks, bookkeeping
// records). SQS: one message per emitted event per queue it goes to.
// Planning: one pure plan per managed person and target (tens of
// microseconds each), plus whatever read-only lookup a planner caches
// (WorkMail's default mail domain, once).
//
// # Quota
//
// The Identity Store allows about 20 requests per second across its APIs.
// Every attempt, retries included, waits for a client-side token bucket
// (Options.Rate, default 20/s) and for any pause a ThrottlingException's
// RetryAfterSeconds asked for; the SDK's retryer (built by awsclient with
// NoRetryRateLimit and MaxAttempts 8) retries throttles and 5xx.
package idcsnapshot
