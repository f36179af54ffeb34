package emf

// The names of every metric idsync emits and of the components that emit
// them, in one place: the functions write them (Metrics.Add, Observe, Set)
// and the CDK stack in infra/ builds its alarms and dashboard from them.
// Each metric is published in Namespace with one dimension,
// DimensionComponent, whose value is the component given to New.
//
// A metric that two components emit under the same name (Throttled, DurationMs)
// has one constant per component: the component is part of the metric's
// identity in CloudWatch.

// DimensionComponent is the name of the single dimension of every record
// Flush writes; its value is the component.
const DimensionComponent = "Component"

// Components: the dimension values, one per function.
const (
	ComponentOktaHook    = "oktahook"
	ComponentIdCSnapshot = "idcsnapshot"
	// ComponentConsumerPrefix + target name ("workmail", "connect") is a
	// consumer's component; see ConsumerComponent.
	ComponentConsumerPrefix   = "consumer-"
	ComponentConsumerWorkMail = ComponentConsumerPrefix + "workmail"
	ComponentConsumerConnect  = ComponentConsumerPrefix + "connect"
)

// ConsumerComponent is the component of the consumer for target ("workmail",
// "connect").
func ConsumerComponent(target string) string { return ComponentConsumerPrefix + target }

// Okta event hook (component ComponentOktaHook).
const (
	HookSecretErrors      = "SecretErrors"      // Count: the hook secret could not be read (answered 503)
	HookRejected          = "Rejected"          // Count: requests refused (wrong or missing auth header, body over the limit)
	HookMalformed         = "Malformed"         // Count: deliveries that were not Okta event-hook JSON
	HookEventsIgnored     = "EventsIgnored"     // Count: events of types or groups idsync does not handle
	HookEventsReceived    = "EventsReceived"    // Count: events of a delivery idsync handles
	HookEventsDuplicate   = "EventsDuplicate"   // Count: Okta redeliveries of facts already recorded
	HookEventsQueued      = "EventsQueued"      // Count: events recorded and queued for every target
	HookDeliveryMs        = "DeliveryMs"        // Milliseconds: one delivery's handling time
	HookDeliveryFailures  = "DeliveryFailures"  // Count: deliveries not recorded or not queued (answered 503; Okta retries)
	HookLargeDeliveries   = "LargeDeliveries"   // Count: deliveries over oktahook.LargeBody (1 MiB), towards the 6 MiB limit
	HookShed              = "Shed"              // Count: requests refused at once (503) because the hook had MaxInFlight requests in flight
	HookEventsUnknownUser = "EventsUnknownUser" // Count: lifecycle and profile events about Okta users idsync does not manage (dropped)
	// HookRemovalsHeld counts removals the hook-path removal brake held back
	// instead of queueing them (Count).
	HookRemovalsHeld = "RemovalsHeld"
)

// IdC snapshot (component ComponentIdCSnapshot). Every run that is not
// skipped for a held lease emits the figures; RunFailed and
// RemovalCapTripped only when they happen.
const (
	SnapshotLeaseHeld         = "LeaseHeld"         // Count: runs skipped because another run held the lease
	SnapshotRemovalCapTripped = "RemovalCapTripped" // Count: runs refused because they would remove too many people
	SnapshotJoiners           = "Joiners"           // Count
	SnapshotLeavers           = "Leavers"           // Count
	SnapshotChanges           = "Changes"           // Count
	SnapshotRemovals          = "Removals"          // Count
	SnapshotEvents            = "Events"            // Count: events recorded and queued
	SnapshotAPICalls          = "APICalls"          // Count: Identity Store requests
	SnapshotThrottled         = "Throttled"         // Count: throttled Identity Store requests
	SnapshotDurationMs        = "DurationMs"        // Milliseconds: the run's duration
	SnapshotIncomplete        = "Incomplete"        // Count: 1 when the run could not read everything (removals suppressed), else 0
	SnapshotRunFailed         = "RunFailed"         // Count: failed runs (a tripped removal cap included)
	SnapshotUnreadGroups      = "UnreadGroups"      // Count: configured groups the run could not read (their removals withheld)
	SnapshotUnreadUsers       = "UnreadUsers"       // Count: users whose profiles the run could not read
	SnapshotWithheld          = "Withheld"          // Count: removals withheld because of unread groups or profiles
	SnapshotConflicts         = "IdentityConflicts" // Count: IdC users whose ids contradict a known person
	SnapshotReconciled        = "Reconciled"        // Count: reconcile events emitted (one person, one target)
	SnapshotReconcileWithheld = "ReconcileWithheld" // Count: reconcile leave plans withheld by unread groups or profiles
	SnapshotReconcileErrors   = "ReconcileErrors"   // Count: people a target could not plan
	SnapshotInFlight          = "InFlight"          // Count: differences still in flight, not emitted again
	SnapshotDriftChecks       = "DriftChecks"       // Count: runs that compared the targets' accounts with their recorded state
	SnapshotDrifted           = "Drifted"           // Count: managed accounts found different from their recorded state
	SnapshotDriftRepairs      = "DriftRepairs"      // Count: drift repairs queued (one account, one target)
	SnapshotDriftMissing      = "DriftMissing"      // Count: managed accounts not found in their target (reported, never re-created)
	SnapshotDriftErrors       = "DriftErrors"       // Count: targets whose accounts a drift check could not read
	SnapshotStatusPages       = "StatusReadPages"   // Count: Okta requests of the status reconciliation (list pages and users read one by one)
	SnapshotStatusFacts       = "StatusFacts"       // Count: status events (suspended, unsuspended, deactivated, reactivated, deleted) made from Okta's statuses
	SnapshotStatusReadFailed  = "StatusReadFailed"  // Count: 1 when the run's Okta status read failed (no status facts), else 0; only with Okta API access
)

// Consumers (component ConsumerComponent(target)).
const (
	ConsumerApplied          = "Applied"          // Count: events applied to the target
	ConsumerOpsApplied       = "OpsApplied"       // Count: target API writes made
	ConsumerSkipped          = "Skipped"          // Count: stale events (superseded or already applied), acknowledged with a ledger row
	ConsumerDeferred         = "Deferred"         // Count: records returned unprocessed because the invocation reached its time reserve
	ConsumerRetried          = "Retried"          // Count: records returned to the queue after a retryable failure
	ConsumerFailedRetryable  = "FailedRetryable"  // Count: retryable failures
	ConsumerThrottled        = "Throttled"        // Count: retryable failures that were throttling
	ConsumerFailedPermanent  = "FailedPermanent"  // Count: records dead-lettered for a permanent failure
	ConsumerRetriesExhausted = "RetriesExhausted" // Count: retryable failures on a record's last receive but one (or the spare last), acknowledged and left to the next reconciliation
	ConsumerAPILatencyMs     = "ApiLatencyMs"     // Milliseconds: each target API call's latency (samples)
	ConsumerDriftRepaired    = "DriftRepaired"    // Count: drifted accounts repaired (a drift event's plan applied)
)
