// Package idcsnapshot is idsync's scheduled IAM Identity Center snapshotter:
// the source of truth that corrects any hook event that was lost or
// misordered. Each run reads the whole membership of every configured
// group that has an IdC id, reads those members' profiles, diffs the result
// against the last-known people (domain.DiffSnapshot) and queues the
// difference as idc-snapshot events for every target.
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
//  4. Diff against store.AllPeople. Any failed read makes the snapshot
//     incomplete: it still reports joiners and changes, never removals. A
//     diff that would remove more people than the removal cap allows emits
//     nothing. Facts learned within snapshot.settleWindow before the run
//     (hook events IdC may not show yet) are left alone until a later run.
//  5. Record each event as received in the ledger, queue it, store the
//     snapshot bookkeeping records (complete runs only), and append a run
//     summary row (outcome snapshot-run; failed for a refused or broken
//     run; skipped when the lease was held) with the counts in Detail.
//
// # Quota
//
// The Identity Store allows about 20 requests per second across its APIs.
// Every attempt, retries included, waits for a client-side token bucket
// (Options.Rate, default 20/s) and for any pause a ThrottlingException's
// RetryAfterSeconds asked for; the SDK's retryer (built by awsclient with
// NoRetryRateLimit and MaxAttempts 8) retries throttles and 5xx.
//
// # Memory
//
// SDK pages are converted to compact domain.SnapshotUser values page by
// page and not kept, so a run over 100,000 users holds the member index,
// the snapshot users and the last-known people, not the SDK responses.
package idcsnapshot
