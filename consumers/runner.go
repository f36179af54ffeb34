package consumers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/oklog/ulid/v2"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/emf"
	"github.com/idsync/idsync/store"
)

// Store is the part of store.Store the runner uses.
type Store interface {
	Fold(ctx context.Context, e domain.Event) (store.FoldResult, error)
	Preview(ctx context.Context, e domain.Event) (store.FoldResult, error)
	Applied(ctx context.Context, personKey string, t domain.Target, eventID string) (bool, error)
	Commit(ctx context.Context, c store.Commit) (domain.TargetState, []domain.LedgerEntry, error)
	PutTarget(ctx context.Context, key string, next domain.TargetState, expected int64) (domain.TargetState, error)
	Append(ctx context.Context, entries ...domain.LedgerEntry) ([]domain.LedgerEntry, error)
	RecordReceived(ctx context.Context, e domain.Event) (domain.LedgerEntry, error)
	MarkFailed(ctx context.Context, key string, t domain.Target, eventID, reason string) error
	ReleaseMark(ctx context.Context, key string, t domain.Target, eventID string) error
}

// Enricher supplies, before planning, facts a person lacks for a target
// that the events do not carry (internal/enrich.Enricher: a Connect
// agent's first and last name from Okta's Users API, or provisional ones;
// a mailbox's IdC user from IdentityStore). It returns only facts that
// change p, as valid events with deterministic ids; none when p lacks
// nothing.
//
// Errors: classified (domain.KindOf): retryable ones return the message
// to the queue, permanent ones dead-letter it with their reason.
type Enricher interface {
	Enrich(ctx context.Context, p domain.Person, t domain.Target, now time.Time) ([]domain.Event, error)
}

// DLQ is the part of the SQS client the runner uses to dead-letter poison
// messages with their reason.
type DLQ interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, opts ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
}

// Message attributes set on a dead-lettered message.
const (
	AttrReason    = "idsync.reason"
	AttrErrorKind = "idsync.error-kind"
	AttrTarget    = "idsync.target"
)

// Outcomes logged per record besides domain outcomes.
const (
	reasonDuplicate = "duplicate: already applied"
	reasonNoTime    = "not started: the invocation is running out of time"
	reasonGroupHeld = "not started: an earlier message of this person failed"
)

// ErrInvalid: NewRunner was given unusable options.
var ErrInvalid = errors.New("consumers: invalid runner options")

// RunnerOptions configures a Runner.
type RunnerOptions struct {
	// Target is the target the runner drives (required).
	Target Target
	// Store holds people, target states and the ledger (required).
	Store Store
	// DLQ sends poison messages to DLQURL, the target queue's dead-letter
	// queue, with their reason (both required).
	DLQ    DLQ
	DLQURL string
	// Enricher, when set, is asked for the facts the person lacks for the
	// target after the fold and before the plan; each is folded like an
	// event's facts (Store.Fold; in a dry run into the previewed person
	// only), and those from a source of their own (domain.SourceOktaAPI,
	// domain.SourceIdCLookup) are recorded as received in the ledger first.
	// Optional.
	Enricher Enricher
	// DryRun records what would be done without changing anything: the
	// person is folded in memory only (Store.Preview), the plan's ops are
	// recorded as domain.OutcomeWould rows, and neither the target's Apply
	// nor any commit runs. Plan still runs, with its read-only pre-flight.
	DryRun bool
	// TimeReserve is how much of the invocation's remaining time is kept
	// back: a record is started only with more than this left (default
	// 10 s).
	TimeReserve time.Duration
	// MaxReceives is the queue's maxReceiveCount (default
	// DefaultMaxReceives, what the stack and the local runner set). A
	// retryable failure after the event's facts were folded, on the record's
	// last receive but one, is not left to SQS's redrive policy: it is
	// recorded ("retries exhausted") and acknowledged. The last receive is
	// kept spare for an invocation that failed as a whole after that
	// hand-over (a crash, a timeout: Lambda redelivers the whole batch),
	// which would otherwise leave SQS to move the acknowledged record to
	// the DLQ; it hands over again. The next scheduled
	// reconciliation plans the person for this target again from the stored
	// facts (level-triggered); for a reconcile event the runner releases
	// the snapshot's mark of it (store.ReleaseMark), so that run does not
	// hold it for snapshot.redeliverAfter. The DLQ holds permanent failures
	// only.
	MaxReceives int
	// Logger receives one line per record outcome; nil discards.
	Logger *slog.Logger
	// Metrics receives counts and op latencies; nil records none.
	Metrics *emf.Metrics
	// Clock is the runner's time (default time.Now).
	Clock func() time.Time
	// NewID returns ledger row ids, ULIDs (default: a new ULID each call).
	NewID func() string
}

// Runner drives one Target from SQS batches. Build it with NewRunner.
type Runner struct {
	target      Target
	store       Store
	dlq         DLQ
	dlqURL      string
	enricher    Enricher
	dryRun      bool
	timeReserve time.Duration
	maxReceives int
	log         *slog.Logger
	metrics     *emf.Metrics
	now         func() time.Time
	newID       func() string
}

// NewRunner returns a Runner for o, with o's defaults filled in.
//
// Errors: ErrInvalid (wrapped) when Target, Store, DLQ or DLQURL is
// missing.
func NewRunner(o RunnerOptions) (*Runner, error) {
	var missing []string
	for _, m := range []struct {
		name string
		ok   bool
	}{{"Target", o.Target != nil}, {"Store", o.Store != nil}, {"DLQ", o.DLQ != nil}, {"DLQURL", o.DLQURL != ""}} {
		if !m.ok {
			missing = append(missing, m.name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: %s missing", ErrInvalid, strings.Join(missing, ", "))
	}
	r := &Runner{target: o.Target, store: o.Store, dlq: o.DLQ, dlqURL: o.DLQURL, enricher: o.Enricher, dryRun: o.DryRun,
		timeReserve: o.TimeReserve, maxReceives: o.MaxReceives, log: o.Logger, metrics: o.Metrics, now: o.Clock, newID: o.NewID}
	if r.timeReserve == 0 {
		r.timeReserve = 10 * time.Second
	}
	if r.maxReceives == 0 {
		r.maxReceives = DefaultMaxReceives
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.newID == nil {
		r.newID = func() string { return ulid.Make().String() }
	}
	return r, nil
}

// Handle processes one SQS batch as Lambda's event source mapping delivers
// it, with ReportBatchItemFailures: it returns the ids of the records to be
// delivered again. A retryable failure holds back the rest of that record's
// message group (FIFO order) while other groups go on; a permanent failure
// is recorded, dead-lettered with its reason and acknowledged, so the
// person's later events are not blocked; duplicates and no-ops are
// acknowledged with a ledger row. Records not started before the
// invocation's deadline (minus RunnerOptions.TimeReserve) are reported, never
// dropped.
//
// Errors: none of its own; every record's fate is in the response.
// Idempotent: a redelivered record whose commit exists is a duplicate.
func (r *Runner) Handle(ctx context.Context, batch events.SQSEvent) (events.SQSEventResponse, error) {
	defer func() { _ = r.metrics.Flush() }()
	var resp events.SQSEventResponse
	held := map[string]bool{} // message groups with a retryable failure in this batch
	for _, msg := range batch.Records {
		group := msg.Attributes["MessageGroupId"]
		report := func(reason string) {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: msg.MessageId})
			r.log.InfoContext(ctx, "event deferred", "messageId", msg.MessageId, "target", string(r.target.Name()), "reason", reason)
		}
		if held[group] {
			report(reasonGroupHeld)
			continue
		}
		if deadline, ok := ctx.Deadline(); ok && deadline.Sub(r.now()) <= r.timeReserve {
			r.metrics.Add(emf.ConsumerDeferred, 1)
			report(reasonNoTime)
			continue
		}
		if err := r.handleBounded(ctx, msg); err != nil {
			held[group] = true
			r.metrics.Add(emf.ConsumerRetried, 1)
			report(err.Error())
		}
	}
	return resp, nil
}

// handleBounded handles one record within the invocation's deadline less
// half the time reserve, so that a record whose target calls are still
// retrying when the time runs out fails with time left to record why (a
// record that fails on every receive this way reaches the DLQ through the
// redrive policy with its reason in the ledger).
func (r *Runner) handleBounded(ctx context.Context, msg events.SQSMessage) error {
	deadline, ok := ctx.Deadline()
	if !ok {
		return r.handle(ctx, msg)
	}
	recCtx, cancel := context.WithDeadline(ctx, deadline.Add(-r.timeReserve/2))
	defer cancel()
	return r.handle(recCtx, msg)
}

// handle processes one record. It returns an error only when the record
// must be delivered again (a retryable failure); every other outcome is
// recorded and acknowledged.
func (r *Runner) handle(ctx context.Context, msg events.SQSMessage) error {
	t := r.target.Name()
	e, err := domain.DecodeEvent([]byte(msg.Body))
	if err != nil {
		return r.poison(ctx, msg, domain.Event{}, "", fmt.Errorf("decode message %s: %w", msg.MessageId, err))
	}
	fold := r.store.Fold
	if r.dryRun {
		// A dry run changes nothing, not even the last-known person: when it
		// is switched off, the same facts still make the same changes.
		fold = r.store.Preview
	}
	folded, err := fold(ctx, e)
	if err != nil {
		return r.failed(ctx, msg, e, "", fmt.Errorf("fold: %w", err))
	}
	key := folded.Key
	if !folded.Created {
		// A person this fold created cannot have had this event applied:
		// any earlier receive of it folded first and created the person
		// then. A joiner saves the round trip.
		done, err := r.store.Applied(ctx, key, t, e.ID)
		if err != nil {
			return r.failed(ctx, msg, e, key, fmt.Errorf("idempotency check: %w", err))
		}
		if done {
			return r.skip(ctx, e, key, reasonDuplicate)
		}
	}
	if folded, err = r.enrich(ctx, folded); err != nil {
		return r.failed(ctx, msg, e, key, fmt.Errorf("enrich: %w", err))
	}
	last := folded.Target(t)
	from, drift, stale := driftState(e, last)
	if stale != "" {
		return r.skip(ctx, e, key, stale)
	}
	plan, err := r.target.Plan(ctx, folded.Person, from, r.now())
	if err != nil {
		return r.failed(ctx, msg, e, key, fmt.Errorf("plan: %w", err))
	}
	if len(plan.Ops) == 0 {
		if !r.dryRun && !plan.Next.Equal(last) {
			if _, err := r.store.PutTarget(ctx, key, plan.Next, last.Version); err != nil {
				return r.failed(ctx, msg, e, key, fmt.Errorf("store target state: %w", err))
			}
		}
		if drift != nil {
			r.appendRow(ctx, r.driftRow(e, key, drift, "not repaired: "+plan.Reason))
		}
		return r.skip(ctx, e, key, "no change: "+plan.Reason)
	}
	if r.dryRun {
		if drift != nil {
			r.appendRow(ctx, r.driftRow(e, key, drift, "would repair (dry run)"))
		}
		return r.would(ctx, msg, e, key, plan)
	}
	if intent, ok := Intent(t, last, plan, r.now()); ok {
		// The create intent goes to the store before any call, so that a
		// crash between the create and the commit is retried under the same
		// name (see Intent).
		stored, err := r.store.PutTarget(ctx, key, intent, last.Version)
		if err != nil {
			return r.failed(ctx, msg, e, key, fmt.Errorf("store create intent: %w", err))
		}
		last = stored
		if drift == nil {
			from = stored
		}
	}
	reached, results, applyErr := Execute(ctx, r.target, folded.Person, from, plan, r.now)
	if drift != nil && reached.Status == domain.RemoteDisabled && last.Status == domain.RemoteDisabled && !last.DisabledAt.IsZero() {
		// Disabling again what was re-enabled by hand keeps the grace
		// period that started when idsync first disabled it.
		reached.DisabledAt = last.DisabledAt
	}
	var rows []domain.LedgerEntry
	if drift != nil {
		// First, so that its id sorts before the op rows'.
		rows = append(rows, r.driftRow(e, key, drift, "repairing"))
	}
	rows = append(rows, r.opRows(e, key, results)...)
	r.observe(results)
	if applyErr != nil {
		// Keep what was reached (e.g. a created account) without marking the
		// event applied, so the retry continues from there.
		if len(results) > 0 && !reached.Equal(last) {
			if _, err := r.store.PutTarget(ctx, key, reached, last.Version); err != nil {
				r.log.ErrorContext(ctx, "partial progress not stored", "eventId", e.ID, "person", key, "target", string(t), "err", err.Error())
			}
		}
		if _, err := r.store.Append(ctx, rows...); err != nil {
			r.log.ErrorContext(ctx, "op rows not recorded", "eventId", e.ID, "person", key, "err", err.Error())
		}
		return r.failed(ctx, msg, e, key, fmt.Errorf("apply: %w", applyErr))
	}
	_, _, err = r.store.Commit(ctx, store.Commit{PersonKey: key, EventID: e.ID, Target: t, Expected: last.Version, Next: reached, Entries: rows})
	if err != nil {
		if errors.Is(err, store.ErrDuplicate) {
			return r.skip(ctx, e, key, reasonDuplicate)
		}
		// The target calls succeeded: keep what they reached (best effort),
		// so that the retry plans from it instead of creating again.
		if _, perr := r.store.PutTarget(ctx, key, reached, last.Version); perr != nil {
			r.log.WarnContext(ctx, "reached state not stored after a failed commit", "eventId", e.ID, "person", key, "target", string(t), "err", perr.Error())
		}
		return r.failed(ctx, msg, e, key, fmt.Errorf("commit: %w", err))
	}
	r.metrics.Add(emf.ConsumerApplied, 1)
	if drift != nil {
		r.metrics.Add(emf.ConsumerDriftRepaired, 1)
	}
	r.logOutcome(ctx, e, key, domain.OutcomeApplied, len(results), "")
	return nil
}

// driftState returns the state to plan e from: last, or, for a drift
// event (a reconcile event with a Drift), the account as the drift check
// found it (Drift.Observed over last), with the fields that differ. A
// drift observed on another recorded state than last (its version or
// account moved since: the consumer applied something, or idsync no
// longer manages it) is stale: its reason is returned and nothing is
// planned from it; the next drift check looks again.
func driftState(e domain.Event, last domain.TargetState) (from domain.TargetState, drift *domain.Drift, stale string) {
	d := e.Drift
	if d == nil || e.Kind != domain.KindReconcile {
		return last, nil, ""
	}
	if !last.Managed || last.RemoteID != d.RemoteID || last.Version != d.TargetVersion {
		return last, nil, "drift observation stale: the account's recorded state moved since the drift check; the next check looks again"
	}
	return d.Observed.Over(last), d, ""
}

// driftRow is the ledger row of a drift event: what drifted (no names or
// addresses) and what the consumer does about it.
func (r *Runner) driftRow(e domain.Event, key string, d *domain.Drift, action string) domain.LedgerEntry {
	row := r.row(e, key, domain.OutcomeDrift, domain.DescribeDrift(d.Fields)+"; "+action)
	row.RemoteID = d.RemoteID
	row.Detail = map[string]string{"fields": domain.DriftFieldNames(d.Fields), "action": action}
	return row
}

// enrich folds the facts the Enricher supplies into the person (see
// RunnerOptions.Enricher). A fact the store finds stale (a link to an IdC
// user the person was re-linked away from) is left out.
//
// Errors: the Enricher's, and the store's other than stale, unchanged in
// kind; a fact that would fold into another person's partition
// (Permanent).
func (r *Runner) enrich(ctx context.Context, folded store.FoldResult) (store.FoldResult, error) {
	if r.enricher == nil {
		return folded, nil
	}
	facts, err := r.enricher.Enrich(ctx, folded.Person, r.target.Name(), r.now())
	if err != nil {
		return folded, err
	}
	for _, f := range facts {
		if r.dryRun {
			folded.Person, _ = domain.Fold(folded.Person, f)
			continue
		}
		if f.Source == domain.SourceOktaAPI || f.Source == domain.SourceIdCLookup {
			if _, err := r.store.RecordReceived(ctx, f); err != nil && !errors.Is(err, store.ErrDuplicate) {
				return folded, fmt.Errorf("record fact %s: %w", f.ID, err)
			}
		}
		next, err := r.store.Fold(ctx, f)
		switch {
		case domain.KindOf(err) == domain.ErrorStale:
			r.log.InfoContext(ctx, "enrichment fact stale; left out", "eventId", f.ID, "person", folded.Key,
				"target", string(r.target.Name()), "reason", err.Error())
			continue
		case err != nil:
			return folded, fmt.Errorf("fold fact %s: %w", f.ID, err)
		case next.Key != folded.Key:
			return folded, domain.Permanent(fmt.Errorf("fact %s folded into person %s, not %s", f.ID, next.Key, folded.Key))
		}
		folded = next
	}
	return folded, nil
}

// would records a dry run's plan: one OutcomeWould row per op, naming the
// account the op would act on. No target call is made.
func (r *Runner) would(ctx context.Context, msg events.SQSMessage, e domain.Event, key string, plan domain.Plan) error {
	results := make([]OpResult, 0, len(plan.Ops))
	for _, op := range plan.Ops {
		results = append(results, OpResult{Op: op, Outcome: domain.OutcomeWould, RemoteID: op.RemoteID})
	}
	if _, err := r.store.Append(ctx, r.opRows(e, key, results)...); err != nil {
		return r.failed(ctx, msg, e, key, fmt.Errorf("record dry run: %w", err))
	}
	r.logOutcome(ctx, e, key, domain.OutcomeWould, len(results), "")
	return nil
}

// failed sorts a failure by kind: stale → acknowledged with a skip row;
// permanent → poison; retryable → returned for redelivery, with a row.
func (r *Runner) failed(ctx context.Context, msg events.SQSMessage, e domain.Event, key string, err error) error {
	switch domain.KindOf(err) {
	case domain.ErrorStale:
		return r.skip(ctx, e, key, err.Error())
	case domain.ErrorPermanent:
		return r.poison(ctx, msg, e, key, err)
	}
	r.metrics.Add(emf.ConsumerFailedRetryable, 1)
	if retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err) == aws.TrueTernary {
		r.metrics.Add(emf.ConsumerThrottled, 1)
	}
	if n := receiveCount(msg); key != "" && !r.dryRun && n >= max(r.maxReceives-1, 1) {
		// The facts are folded: the target is behind, not the person. The
		// next reconciliation plans them again; the DLQ is for what no
		// retry can fix.
		reason := fmt.Sprintf("retries exhausted (receive %d of %d), left to the next reconciliation: %s", n, r.maxReceives, err.Error())
		r.metrics.Add(emf.ConsumerRetriesExhausted, 1)
		if e.Kind == domain.KindReconcile {
			// Nothing of this difference is in flight any more: the next
			// scheduled run plans it again rather than holding it for
			// snapshot.redeliverAfter. A mark that moved on is no error.
			if err := r.store.ReleaseMark(ctx, key, r.target.Name(), e.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
				r.log.WarnContext(ctx, "reconcile mark not released", "eventId", e.ID, "person", key, "err", err.Error())
			}
		}
		r.appendRow(ctx, r.row(e, key, domain.OutcomeFailed, reason))
		r.logOutcome(ctx, e, key, domain.OutcomeFailed, 0, reason)
		return nil
	}
	r.appendRow(ctx, r.row(e, key, domain.OutcomeFailed, "retryable: "+err.Error()))
	r.logOutcome(ctx, e, key, domain.OutcomeFailed, 0, "retryable: "+err.Error())
	return err
}

// DefaultMaxReceives is RunnerOptions.MaxReceives's default: the
// maxReceiveCount of the queues the stack and the local runner create.
const DefaultMaxReceives = 5

// receiveCount is how often SQS has delivered msg (1 on the first
// receive; 0 when the attribute is missing).
func receiveCount(msg events.SQSMessage) int {
	n, _ := strconv.Atoi(msg.Attributes["ApproximateReceiveCount"])
	return n
}

// poison records a permanent failure and dead-letters the message with its
// reason. If the DLQ send fails, the message is returned for redelivery so
// that nothing is lost (SQS's own redrive policy is the backstop).
func (r *Runner) poison(ctx context.Context, msg events.SQSMessage, e domain.Event, key string, cause error) error {
	reason := cause.Error()
	r.metrics.Add(emf.ConsumerFailedPermanent, 1)
	r.appendRow(ctx, r.row(e, key, domain.OutcomeFailed, "permanent: "+reason))
	if e.Kind == domain.KindReconcile && key != "" && !r.dryRun {
		// The snapshot retries this difference only after
		// snapshot.retryFailedAfter: dead-lettered once per fact, not once
		// per redelivery horizon. A mark that moved on is no error.
		if err := r.store.MarkFailed(ctx, key, r.target.Name(), e.ID, truncate(reason, 1000)); err != nil && !errors.Is(err, store.ErrNotFound) {
			r.log.WarnContext(ctx, "permanent failure not recorded on the mark", "eventId", e.ID, "person", key, "err", err.Error())
		}
	}
	group := msg.Attributes["MessageGroupId"]
	if group == "" {
		group = "poison"
	}
	dedup := msg.Attributes["MessageDeduplicationId"]
	if dedup == "" {
		dedup = msg.MessageId
	}
	_, err := r.dlq.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl:               aws.String(r.dlqURL),
		MessageBody:            aws.String(msg.Body),
		MessageGroupId:         aws.String(group),
		MessageDeduplicationId: aws.String(dedup),
		MessageAttributes: map[string]sqstypes.MessageAttributeValue{
			AttrReason:    {DataType: aws.String("String"), StringValue: aws.String(truncate(reason, 1024))},
			AttrErrorKind: {DataType: aws.String("String"), StringValue: aws.String(domain.ErrorPermanent.String())},
			AttrTarget:    {DataType: aws.String("String"), StringValue: aws.String(string(r.target.Name()))},
		},
	})
	if err != nil {
		r.log.ErrorContext(ctx, "dead-letter failed; message kept", "messageId", msg.MessageId, "err", err.Error())
		return fmt.Errorf("dead-letter %s: %w", msg.MessageId, err)
	}
	r.logOutcome(ctx, e, key, domain.OutcomeFailed, 0, "permanent, dead-lettered: "+reason)
	return nil
}

func (r *Runner) skip(ctx context.Context, e domain.Event, key, reason string) error {
	r.metrics.Add(emf.ConsumerSkipped, 1)
	r.appendRow(ctx, r.row(e, key, domain.OutcomeSkipped, reason))
	r.logOutcome(ctx, e, key, domain.OutcomeSkipped, 0, reason)
	return nil
}

// appendRow writes one ledger row; a failure to write an audit row for an
// outcome that is otherwise settled is logged, not retried.
func (r *Runner) appendRow(ctx context.Context, row domain.LedgerEntry) {
	if ctx.Err() != nil {
		// The record's own time is up (handleBounded): the row is written
		// in the time kept back for it.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), r.timeReserve/2)
		defer cancel()
	}
	if _, err := r.store.Append(ctx, row); err != nil {
		r.log.ErrorContext(ctx, "ledger row not written", "eventId", row.EventID, "person", row.PersonKey, "outcome", string(row.Outcome), "err", err.Error())
	}
}

func (r *Runner) row(e domain.Event, key string, outcome domain.Outcome, reason string) domain.LedgerEntry {
	return domain.LedgerEntry{
		ID: r.newID(), At: r.now().UTC(), PersonKey: key, EventID: e.ID, Source: e.Source, Kind: e.Kind,
		Target: r.target.Name(), Outcome: outcome, Reason: truncate(reason, 2048),
	}
}

func (r *Runner) opRows(e domain.Event, key string, results []OpResult) []domain.LedgerEntry {
	rows := make([]domain.LedgerEntry, 0, len(results))
	for _, res := range results {
		row := r.row(e, key, res.Outcome, res.Reason)
		row.Op, row.RemoteID = res.Op.Kind, res.RemoteID
		if res.Adopted {
			row.Detail = map[string]string{"adopted": "true"}
		}
		rows = append(rows, row)
	}
	return rows
}

func (r *Runner) observe(results []OpResult) {
	for _, res := range results {
		r.metrics.Observe(emf.ConsumerAPILatencyMs, "Milliseconds", float64(res.Latency.Milliseconds()))
		if res.Outcome == domain.OutcomeApplied {
			r.metrics.Add(emf.ConsumerOpsApplied, 1)
		}
	}
}

func (r *Runner) logOutcome(ctx context.Context, e domain.Event, key string, outcome domain.Outcome, ops int, reason string) {
	attrs := []any{"eventId", e.ID, "person", key, "target", string(r.target.Name()), "kind", string(e.Kind),
		"source", string(e.Source), "outcome", string(outcome), "ops", ops}
	if reason != "" {
		attrs = append(attrs, "reason", reason)
	}
	level := slog.LevelInfo
	if outcome == domain.OutcomeFailed {
		level = slog.LevelWarn
	}
	r.log.Log(ctx, level, "event "+string(outcome), attrs...)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
