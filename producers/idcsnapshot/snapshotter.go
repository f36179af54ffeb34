package idcsnapshot

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/oklog/ulid/v2"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/emf"
	"github.com/idsync/idsync/store"
)

// Store is the part of *store.Store the snapshotter uses: the last-known
// people with their target states and emission marks, the snapshot
// bookkeeping, the ledger and the lease that keeps runs from overlapping.
// AcquireLease must report a lease held by another owner with an error
// matching store.ErrLeaseHeld.
type Store interface {
	AllRecords(ctx context.Context) ([]store.Record, error)
	WriteMarks(ctx context.Context, put, remove []store.Mark) error
	SnapshotRecords(ctx context.Context) ([]store.SnapshotRecord, error)
	WriteSnapshotRecords(ctx context.Context, put []store.SnapshotRecord, remove []string) error
	RecordReceivedAll(ctx context.Context, events []domain.Event) []error
	Append(ctx context.Context, entries ...domain.LedgerEntry) ([]domain.LedgerEntry, error)
	AcquireLease(ctx context.Context, name, owner string, d time.Duration) (store.LeaseHold, error)
	ReleaseLease(ctx context.Context, name, owner string, totalUsers int) error
	// A run that cannot finish in one invocation keeps its progress under
	// the lease's name (see store.SaveRunProgress).
	RunProgress(ctx context.Context, name string) ([]byte, bool, error)
	SaveRunProgress(ctx context.Context, name string, state []byte, chunks []store.RunChunk) error
	RunChunks(ctx context.Context, name string, fn func(store.RunChunk) error) error
	ClearRun(ctx context.Context, name string) error
	// MarkDriftChecked records when the last drift check was made; the
	// lease's next hold returns it (LeaseHold.DriftCheckedAt).
	MarkDriftChecked(ctx context.Context, name, owner string, at time.Time) error
}

// Publisher queues events (*publish.Publisher with a queue per target): an
// event for every target to every queue, a reconcile event to its target's
// queue only; nil means all are durably queued.
type Publisher interface {
	Publish(ctx context.Context, events []domain.Event) error
}

// Planner plans one target's ops for a person from the target's last-known
// state (consumers.Target satisfies it; so does a function over
// domain.PlanWorkMail or domain.PlanConnect). The snapshotter reconciles
// with it: it never applies anything.
type Planner interface {
	Plan(ctx context.Context, p domain.Person, last domain.TargetState, now time.Time) (domain.Plan, error)
}

// Defaults.
const (
	DefaultRate            = 20.0 // Identity Store requests per second (the collective quota)
	DefaultBurst           = 1
	DefaultWorkers         = 4
	DefaultDescribeUserMax = 100
	// DefaultLeaseName names the lease item (LEASE#idcsnapshot).
	DefaultLeaseName = "idcsnapshot"
	// DefaultLeaseDuration is longer than Lambda's 15-minute maximum, so a
	// lease outlives the run that took it unless released.
	DefaultLeaseDuration = 16 * time.Minute
	// DefaultTimeReserve is how long before the invocation's deadline a
	// run stops reading or queueing, saves its progress and returns (at
	// most a third of the time the invocation has).
	DefaultTimeReserve = 60 * time.Second
	// DefaultMaxRunAge is how old an unfinished run may be and still be
	// continued; an older one is abandoned and a new run starts.
	DefaultMaxRunAge = 6 * time.Hour
	// summaryTimeout bounds writing the run summary (and saving progress)
	// after the run's own context has ended.
	summaryTimeout = 10 * time.Second
	// DefaultEmitBatch is how many events are recorded, queued and marked
	// at a time.
	DefaultEmitBatch = 1000
	// maxReasonLen bounds error text kept in a ledger row.
	maxReasonLen = 1000
)

// ErrInvalid is returned by New for an unusable setup.
var ErrInvalid = errors.New("idcsnapshot: invalid setup")

// Options configure a Snapshotter: its collaborators (required) and
// settings. Zero settings mean the defaults.
type Options struct {
	// Config gives the snapshot settings (Snapshot.IdentityStoreID,
	// required; the removal cap; the settle window) and the mapped groups.
	Config domain.Config
	// IdentityStore is the Identity Store client (required).
	IdentityStore IdentityStore
	// Store holds the last-known people, the bookkeeping, the ledger and
	// the lease (required; *store.Store).
	Store Store
	// Publisher queues the events (required; *publish.Publisher with a
	// queue for every target of Planners).
	Publisher Publisher
	// Planners are the configured targets' planners, by target. Every run
	// reconciles each managed person with each of them (see the package
	// documentation). None: no reconciliation, only the diff.
	Planners map[domain.Target]Planner
	// Inventories are the targets' account listings, by target, for the
	// drift check (Config.Snapshot.Drift, DriftEvery): a complete run at
	// least DriftEvery after the last check lists them and compares every
	// managed account with its recorded state. A target needs a planner
	// too. None, or drift off: no drift check.
	Inventories map[domain.Target]Inventory
	// LeaseName names the lease runs take (default DefaultLeaseName).
	LeaseName string
	// LeaseDuration is how long a run's lease lasts unless released
	// (default DefaultLeaseDuration). It must outlast the longest run: a
	// run that outlives its lease may overlap the next.
	LeaseDuration time.Duration
	// Rate and Burst are the client-side limit on Identity Store requests
	// (every attempt, retries included). Default DefaultRate, DefaultBurst.
	Rate  float64
	Burst int
	// Workers bounds the parallel Identity Store reads (groups walked at
	// once, DescribeUser calls in flight). Default DefaultWorkers.
	Workers int
	// DescribeUserMax is the most members whose profiles are read with
	// DescribeUser while the store's size is unknown (no earlier full
	// ListUsers walk). Default DefaultDescribeUserMax.
	DescribeUserMax int
	// TimeReserve is how long before the invocation's deadline (the
	// context's) a run stops, saves its progress and returns, to continue
	// in the next invocation (default DefaultTimeReserve, at most a third of
	// the time left when the invocation starts). Without a deadline a run
	// always finishes in one invocation.
	TimeReserve time.Duration
	// MaxRunAge is how old an unfinished run may be and still be continued
	// (default DefaultMaxRunAge).
	MaxRunAge time.Duration
	// EmitBatch is how many events are recorded as received, queued and
	// marked at a time (default DefaultEmitBatch; a person's events are
	// never split): an invocation that must stop does so between batches.
	EmitBatch int
	// Clock gives TakenAt and durations (default time.Now). The lease's
	// times are the Store's.
	Clock func() time.Time
	// NewID names each run with a ULID (default ulid.Make).
	NewID func() string
	// Logger gets one line per run (default: discarded).
	Logger *slog.Logger
	// Metrics gets the run's EMF metrics, flushed at the end of each run
	// (nil: none).
	Metrics *emf.Metrics
	// Okta, when set (the settings give Okta API access), makes every run
	// reconcile statuses, which IAM Identity Center does not carry: it
	// lists Okta's suspended and deactivated users and reads one by one
	// (at most StatusConfirmMax) the people held as suspended or
	// deactivated whom the list leaves out, and the diff gives the status
	// facts (domain.OktaStatus). Nil: statuses come from the hook only.
	Okta OktaUsers
	// StatusConfirmMax bounds those reads one by one per run (default
	// DefaultStatusConfirmMax).
	StatusConfirmMax int
}

// Snapshotter runs snapshots. It is safe for concurrent use, though the
// lease lets only one run at a time proceed.
type Snapshotter struct {
	storeID     string
	groups      []domain.GroupRef
	mapped      []domain.GroupRef // every mapped group, for "managed"
	cap         domain.RemovalCap
	lag         time.Duration // domain.Snapshot.Lag, from snapshot.settleWindow
	redeliver   time.Duration // snapshot.redeliverAfter
	retryFailed time.Duration // snapshot.retryFailedAfter
	ids         IdentityStore
	store       Store
	pub         Publisher
	planners    map[domain.Target]Planner
	targets     []domain.Target // the planners' targets, sorted
	inventories map[domain.Target]Inventory
	driftMode   domain.DriftMode
	driftEvery  time.Duration
	leaseName   string
	leaseDur    time.Duration
	rate        float64
	burst       int
	workers     int
	describeMax int
	reserve     time.Duration
	maxRunAge   time.Duration
	emitBatch   int
	scimIssuer  string
	linkByLogin bool
	now         func() time.Time
	newID       func() string
	log         *slog.Logger
	metrics     *emf.Metrics
	okta        OktaUsers
	// statusConfirmMax bounds a run's reads of single Okta users.
	statusConfirmMax int
}

// New returns a Snapshotter for o.Config's snapshot settings and mapped
// groups. Groups configured without an IdC id cannot be read from Identity
// Center and are left out of every snapshot (logged once here).
// Config.Snapshot.SettleWindow becomes every snapshot's domain.Snapshot.Lag.
//
// Errors: ErrInvalid when a collaborator (IdentityStore, Store, Publisher)
// is nil, a planner is nil or has no target, an inventory is nil or its
// target has no planner, Config has no identity store
// id, or no mapped group has an IdC id.
func New(o Options) (*Snapshotter, error) {
	if o.IdentityStore == nil || o.Store == nil || o.Publisher == nil {
		return nil, fmt.Errorf("%w: identity store client, store and publisher are required", ErrInvalid)
	}
	cfg := o.Config
	if cfg.Snapshot.IdentityStoreID == "" {
		return nil, fmt.Errorf("%w: snapshot.identityStoreId is empty", ErrInvalid)
	}
	s := &Snapshotter{
		storeID: cfg.Snapshot.IdentityStoreID, cap: cfg.Snapshot.RemovalCap,
		lag:       time.Duration(cfg.Snapshot.SettleWindow),
		redeliver: cfg.Snapshot.RedeliverAfterOrDefault(), retryFailed: cfg.Snapshot.RetryFailedAfterOrDefault(),
		ids: o.IdentityStore, store: o.Store, pub: o.Publisher, mapped: cfg.MappedGroups(),
		planners: map[domain.Target]Planner{}, inventories: map[domain.Target]Inventory{},
		driftMode: cfg.Snapshot.DriftOrDefault(), driftEvery: cfg.Snapshot.DriftEveryOrDefault(),
		leaseName: o.LeaseName, leaseDur: o.LeaseDuration,
		rate: o.Rate, burst: o.Burst, workers: o.Workers, describeMax: o.DescribeUserMax,
		reserve: o.TimeReserve, maxRunAge: o.MaxRunAge, emitBatch: o.EmitBatch,
		scimIssuer: o.Config.Snapshot.SCIMIssuer, linkByLogin: o.Config.Snapshot.LoginLink != domain.LoginLinkOff, now: o.Clock, newID: o.NewID, log: o.Logger, metrics: o.Metrics,
		okta: o.Okta, statusConfirmMax: o.StatusConfirmMax,
	}
	if s.statusConfirmMax <= 0 {
		s.statusConfirmMax = DefaultStatusConfirmMax
	}
	for t, p := range o.Planners {
		if t == "" || p == nil {
			return nil, fmt.Errorf("%w: planner %v for target %q", ErrInvalid, p, t)
		}
		s.planners[t] = p
		s.targets = append(s.targets, t)
	}
	slices.Sort(s.targets)
	for t, inv := range o.Inventories {
		if inv == nil || s.planners[t] == nil {
			return nil, fmt.Errorf("%w: inventory %v for target %q without a planner", ErrInvalid, inv, t)
		}
		s.inventories[t] = inv
	}
	if s.leaseName == "" {
		s.leaseName = DefaultLeaseName
	}
	if s.leaseDur <= 0 {
		s.leaseDur = DefaultLeaseDuration
	}
	if s.rate <= 0 {
		s.rate = DefaultRate
	}
	if s.burst <= 0 {
		s.burst = DefaultBurst
	}
	if s.workers <= 0 {
		s.workers = DefaultWorkers
	}
	if s.describeMax <= 0 {
		s.describeMax = DefaultDescribeUserMax
	}
	if s.reserve <= 0 {
		s.reserve = DefaultTimeReserve
	}
	if s.maxRunAge <= 0 {
		s.maxRunAge = DefaultMaxRunAge
	}
	if s.emitBatch <= 0 {
		s.emitBatch = DefaultEmitBatch
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.newID == nil {
		s.newID = func() string { return ulid.Make().String() }
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	for _, g := range cfg.MappedGroups() {
		if g.IdCID == "" {
			s.log.Warn("group has no IdC id; the snapshot cannot read it", "oktaGroupId", g.OktaID)
			continue
		}
		s.groups = append(s.groups, g)
	}
	if len(s.groups) == 0 {
		return nil, fmt.Errorf("%w: no configured group has an idcId", ErrInvalid)
	}
	return s, nil
}

// Summary is what one run did; it is also written to the ledger as the
// run's summary row (see Summary.Entry).
type Summary struct {
	RunID   string
	TakenAt time.Time
	// Continued is set when the invocation stopped before its deadline with
	// the run unfinished: its progress is saved and the next invocation
	// continues it (no summary row yet; the run's one row is written when
	// it finishes). Invocations counts the invocations the run has taken.
	Continued   bool
	Invocations int
	// Outcome: OutcomeSnapshot for a run that read, diffed and queued
	// (complete or not); OutcomeFailed for a run refused by the removal cap
	// or broken by an error; OutcomeSkipped when another run held the
	// lease.
	Outcome domain.Outcome
	// Reason says why a run failed, was skipped, or is incomplete.
	Reason string
	// Complete is false when any read failed: the snapshot bookkeeping is
	// then not written, and removals are withheld where the failures were.
	Complete bool
	// ReadErrors counts the failed reads; FirstReadError describes one.
	ReadErrors     int
	FirstReadError string
	// UnreadGroups are the groups that could not be read this run, each as
	// "<IdC group id>: <why>" ("not found: the group no longer exists", or
	// the read error); their members' removals are withheld. UnreadUsers
	// counts the members whose profile could not be read.
	UnreadGroups []string
	UnreadUsers  int
	// Groups read, distinct Members listed, Users whose profiles were read,
	// and how.
	Groups, Members, Users int
	ProfileRead            ProfileRead
	// The diff's counts (zero when the run never got to diff). Removals is
	// the people losing a membership or, through reconciliation, an
	// account: what the removal cap limits (the refused count when the cap
	// refused the run).
	Joiners, Leavers, Changes, Removals int
	RemovalsSuppressed                  bool
	// Withheld counts the people whose removals could not be decided
	// (domain.Diff.Withheld); Conflicts the identity conflicts found.
	Withheld, Conflicts int
	// Reconciled counts the reconcile events queued; ReconcileWithheld the
	// ones withheld because they would take an account away while a group
	// or a profile was unread (or from a person in an identity conflict);
	// ReconcileErrors the plans that failed.
	Reconciled, ReconcileWithheld, ReconcileErrors int
	// InFlight counts the events not queued again because the same
	// difference was queued less than snapshot.redeliverAfter ago (or
	// failed less than snapshot.retryFailedAfter ago) and the state it was
	// computed from has not moved since.
	InFlight int
	// DriftChecked is set when the run compared the targets' accounts
	// with their recorded state (see Options.Inventories). Drifted counts
	// the managed accounts found different, DriftRepairs the repairs
	// queued (or in flight, counted in InFlight instead), DriftMissing the
	// managed accounts not found, DriftErrors the targets whose accounts
	// could not be read.
	DriftChecked                                     bool
	Drifted, DriftRepairs, DriftMissing, DriftErrors int
	// StatusRead is set when the run read Okta's statuses (Options.Okta).
	// StatusPages counts its Okta requests (list pages and users read one
	// by one); StatusReadFailed says one failed, so the run made no
	// status facts; StatusFacts counts the status events the diff made.
	StatusRead, StatusReadFailed bool
	StatusPages, StatusFacts     int
	// Events is how many events were queued (diff facts and reconcile
	// events).
	Events int
	// APICalls counts Identity Store requests sent (every attempt);
	// Throttled those answered with ThrottlingException.
	APICalls, Throttled int64
	Duration            time.Duration
}

// Entry is the run's ledger row: id = the run id (so a row is written once
// per run), PersonKey empty (the SYSTEM partition), source idc-snapshot.
// Detail holds the counts, "unreadGroups" (each unread group's IdC id and
// why) and "unreadUsers" when there were any, and "error".
func (s Summary) Entry() domain.LedgerEntry {
	d := map[string]string{
		"runId":              s.RunID,
		"takenAt":            s.TakenAt.UTC().Format(time.RFC3339Nano),
		"complete":           fmt.Sprint(s.Complete),
		"groups":             fmt.Sprint(s.Groups),
		"members":            fmt.Sprint(s.Members),
		"users":              fmt.Sprint(s.Users),
		"profileRead":        string(s.ProfileRead),
		"joiners":            fmt.Sprint(s.Joiners),
		"leavers":            fmt.Sprint(s.Leavers),
		"changes":            fmt.Sprint(s.Changes),
		"removals":           fmt.Sprint(s.Removals),
		"suppressedRemovals": fmt.Sprint(s.RemovalsSuppressed),
		"withheld":           fmt.Sprint(s.Withheld),
		"conflicts":          fmt.Sprint(s.Conflicts),
		"reconciled":         fmt.Sprint(s.Reconciled),
		"reconcileWithheld":  fmt.Sprint(s.ReconcileWithheld),
		"reconcileErrors":    fmt.Sprint(s.ReconcileErrors),
		"inFlight":           fmt.Sprint(s.InFlight),
		"events":             fmt.Sprint(s.Events),
		"apiCalls":           fmt.Sprint(s.APICalls),
		"throttled":          fmt.Sprint(s.Throttled),
		"durationMs":         fmt.Sprint(s.Duration.Milliseconds()),
		"readErrors":         fmt.Sprint(s.ReadErrors),
	}
	if s.DriftChecked {
		d["driftChecked"] = "true"
		d["drifted"] = fmt.Sprint(s.Drifted)
		d["driftRepairs"] = fmt.Sprint(s.DriftRepairs)
		d["driftMissing"] = fmt.Sprint(s.DriftMissing)
		d["driftErrors"] = fmt.Sprint(s.DriftErrors)
	}
	if s.StatusRead {
		d["statusRead"] = "true"
		d["statusPages"] = fmt.Sprint(s.StatusPages)
		d["statusFacts"] = fmt.Sprint(s.StatusFacts)
		d["statusReadFailed"] = fmt.Sprint(s.StatusReadFailed)
	}
	if len(s.UnreadGroups) > 0 {
		d["unreadGroups"] = truncate(strings.Join(s.UnreadGroups, "; "))
	}
	if s.UnreadUsers > 0 {
		d["unreadUsers"] = fmt.Sprint(s.UnreadUsers)
	}
	if s.FirstReadError != "" {
		d["error"] = s.FirstReadError
	}
	if s.Outcome != domain.OutcomeSnapshot && s.Reason != "" {
		d["error"] = s.Reason
	}
	return domain.LedgerEntry{
		ID: s.RunID, Source: domain.SourceIdCSnapshot, Outcome: s.Outcome, Reason: s.Reason, Detail: d,
	}
}

// Handle is the Lambda handler for the EventBridge schedule: one Run. A run
// refused because another holds the lease succeeds (the other run does the
// work), and so does an invocation that stopped before its deadline with
// the run unfinished (the next scheduled invocation continues it); every
// other Run error is returned, so the invocation fails and shows in the
// function's Errors metric. Idempotent in effect, as Run.
func (s *Snapshotter) Handle(ctx context.Context, _ events.CloudWatchEvent) error {
	_, err := s.Run(ctx)
	if errors.Is(err, store.ErrLeaseHeld) {
		return nil
	}
	return err
}

// Run takes one snapshot, or continues the one an earlier invocation left
// unfinished: lease, read, diff, reconcile, record, queue, mark, summarise
// (see the package documentation). When ctx has a deadline, the run stops
// reading or queueing TimeReserve before it, saves its progress (cursors
// and partial results) and returns a summary with Continued set; the next
// Run continues with the same run id and time, so it emits the same
// events and marks as a run that was never interrupted. Removals are only
// ever decided once every read is over. The summary row is appended when
// the run ends, whatever happens, even after ctx has ended.
//
// An incomplete snapshot is not an error: Run returns nil and the summary
// says Complete false (and which groups and how many profiles were
// unread). Errors: a *store.LeaseHeldError (store.ErrLeaseHeld) when
// another run holds the lease; other lease errors of the store; a
// *domain.RemovalCapError (domain.ErrRemovalCapExceeded) when the diff and
// the reconciliation together would remove too many people (nothing
// queued); store and publisher errors (some events may then have been
// queued: a later run re-emits what is still different). Idempotent in
// effect: running again emits only what still differs and is not in
// flight.
func (s *Snapshotter) Run(ctx context.Context) (Summary, error) {
	start := s.now()
	owner := s.newID()
	sum := Summary{RunID: owner, TakenAt: start.UTC(), ProfileRead: ReadNone, Groups: len(s.groups)}

	hold, err := s.store.AcquireLease(ctx, s.leaseName, owner, s.leaseDur)
	if err != nil {
		if errors.Is(err, store.ErrLeaseHeld) {
			s.metrics.Add(emf.SnapshotLeaseHeld, 1)
			return s.finish(ctx, &sum, start, domain.OutcomeSkipped, err)
		}
		return s.finish(ctx, &sum, start, domain.OutcomeFailed, err)
	}
	totalUsers := 0
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), summaryTimeout)
		defer cancel()
		if err := s.store.ReleaseLease(rctx, s.leaseName, owner, totalUsers); err != nil {
			s.log.Warn("snapshot lease not released", "runId", sum.RunID, "error", err)
		}
	}()

	p, err := s.loadProgress(ctx, start)
	if err != nil {
		return s.finish(ctx, &sum, start, domain.OutcomeFailed, err)
	}
	if p == nil {
		p = &progress{Version: progressVersion, RunID: owner, TakenAt: start.UTC(), Groups: s.groupIDs(), Read: newReadState(s.groups)}
	}
	p.Invocations++
	sum.RunID, sum.TakenAt, sum.Invocations = p.RunID, p.TakenAt, p.Invocations
	work, cancel := s.workContext(ctx)
	defer cancel()

	s.read(work, &sum, p.Read, hold.TotalUsers)
	if errors.Is(ctx.Err(), context.Canceled) {
		return s.finish(ctx, &sum, start, domain.OutcomeFailed, fmt.Errorf("idcsnapshot: reading: %w", ctx.Err()))
	}
	// Past the work deadline (or the invocation's own, on a machine too
	// slow to notice in time) the run pauses: its progress is saved without
	// the invocation's context, and the next invocation decides again.
	if !p.Read.done() || ctx.Err() != nil {
		return s.pause(ctx, &sum, start, p)
	}
	totalUsers = p.Read.List.Total

	var obs observations
	driftDone := false
	if sum.Complete && s.driftDue(hold.DriftCheckedAt, p.TakenAt) {
		obs, driftDone = s.readInventories(work, &sum)
		if paused(ctx, work) {
			return s.pause(ctx, &sum, start, p) // checked again next invocation
		}
	}
	em, snap, err := s.decide(work, &sum, p.Read.result(s.groups), p.TakenAt, obs)
	if err != nil && paused(ctx, work) {
		return s.pause(ctx, &sum, start, p) // decided again next invocation
	}
	if err != nil {
		var capErr *domain.RemovalCapError
		if errors.As(err, &capErr) {
			s.metrics.Add(emf.SnapshotRemovalCapTripped, 1)
		}
		s.clearProgress(ctx, p)
		return s.finish(ctx, &sum, start, domain.OutcomeFailed, err)
	}

	// Record, queue and mark, a chunk at a time.
	sent, err := s.emit(ctx, work, em)
	sum.Events = p.Emitted + sent
	if err != nil {
		return s.finish(ctx, &sum, start, domain.OutcomeFailed, err)
	}
	if sent < len(em.events) {
		p.Emitted += sent
		return s.pause(ctx, &sum, start, p)
	}
	p.Emitted += sent
	// Marks resolved, and the bookkeeping (only a complete snapshot says
	// who is no longer there): both idempotent, so an invocation that runs
	// out of time here leaves them to the next, which decides again (with
	// nothing left to queue) and writes them.
	if len(em.removeMarks) > 0 {
		if err := s.store.WriteMarks(work, nil, em.removeMarks); err != nil {
			if paused(ctx, work) {
				return s.pause(ctx, &sum, start, p)
			}
			return s.finish(ctx, &sum, start, domain.OutcomeFailed,
				fmt.Errorf("idcsnapshot: delete %d marks: %w", len(em.removeMarks), err))
		}
	}
	if sum.Complete {
		if err := s.writeRecords(work, snap); err != nil {
			if paused(ctx, work) {
				return s.pause(ctx, &sum, start, p)
			}
			return s.finish(ctx, &sum, start, domain.OutcomeFailed, err)
		}
	}
	if err := s.writeRows(work, em.conflictRows, "identity conflict"); err != nil {
		if paused(ctx, work) {
			return s.pause(ctx, &sum, start, p)
		}
		return s.finish(ctx, &sum, start, domain.OutcomeFailed, err)
	}
	if sum.DriftChecked {
		if err := s.writeRows(work, em.driftRows, "drift"); err != nil {
			if paused(ctx, work) {
				return s.pause(ctx, &sum, start, p)
			}
			return s.finish(ctx, &sum, start, domain.OutcomeFailed, err)
		}
	}
	if driftDone {
		if err := s.store.MarkDriftChecked(work, s.leaseName, owner, p.TakenAt); err != nil {
			// The next run checks again: more reads, never less safety.
			s.log.Warn("drift check not recorded", "runId", sum.RunID, "error", err)
		}
	}
	s.clearProgress(ctx, p)
	return s.finish(ctx, &sum, start, domain.OutcomeSnapshot, nil)
}

// paused reports whether work ended by its deadline (or the invocation's
// own), so that the run saves its progress and the next invocation goes
// on; a caller's cancellation is no pause but the run's failure.
func paused(ctx, work context.Context) bool {
	return work.Err() != nil && !errors.Is(ctx.Err(), context.Canceled)
}

// workContext is ctx less the time reserve: reading and queueing stop
// when it ends, leaving time to save the progress. Without a deadline it
// is ctx.
func (s *Snapshotter) workContext(ctx context.Context) (context.Context, context.CancelFunc) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	reserve := min(s.reserve, time.Until(deadline)/3)
	return context.WithDeadline(ctx, deadline.Add(-reserve))
}

// pause saves an unfinished run's progress and ends the invocation: the
// next one continues the run.
func (s *Snapshotter) pause(ctx context.Context, sum *Summary, start time.Time, p *progress) (Summary, error) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), summaryTimeout)
	defer cancel()
	if err := s.saveProgress(sctx, p); err != nil {
		return s.finish(ctx, sum, start, domain.OutcomeFailed, err)
	}
	sum.Continued = true
	return s.finish(ctx, sum, start, domain.OutcomeSnapshot, nil)
}

// clearProgress deletes what an earlier invocation of the run saved.
func (s *Snapshotter) clearProgress(ctx context.Context, p *progress) {
	if p.Invocations <= 1 {
		return // nothing was saved
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), summaryTimeout)
	defer cancel()
	if err := s.store.ClearRun(cctx, s.leaseName); err != nil {
		s.log.Warn("finished run's progress not cleared", "runId", p.RunID, "error", err)
	}
}

// emit records, queues and marks em's events a chunk at a time (never
// splitting a person's events), until they are all queued or work ends;
// it returns how many were queued. The marks of a chunk are written once
// its events are queued, so an invocation that stops part-way leaves the
// marks of exactly what it queued.
//
// Errors: recording, queueing or marking failed (not because work ended).
func (s *Snapshotter) emit(ctx, work context.Context, em emission) (int, error) {
	markOf := make(map[string]int, len(em.putMarks))
	for i, m := range em.putMarks {
		markOf[m.EventID] = i
	}
	sent := 0
	for sent < len(em.events) {
		if paused(ctx, work) {
			return sent, nil
		}
		end := min(sent+s.emitBatch, len(em.events))
		for end < len(em.events) && em.events[end].Subject.Key() == em.events[end-1].Subject.Key() {
			end++
		}
		chunk := em.events[sent:end]
		for i, err := range s.store.RecordReceivedAll(work, chunk) {
			if err != nil && !errors.Is(err, store.ErrDuplicate) {
				if paused(ctx, work) {
					return sent, nil
				}
				return sent, fmt.Errorf("idcsnapshot: record event %s as received: %w", chunk[i].ID, err)
			}
		}
		if err := s.pub.Publish(work, chunk); err != nil {
			if paused(ctx, work) {
				return sent, nil
			}
			return sent, fmt.Errorf("idcsnapshot: queue events: %w", err)
		}
		var marks []store.Mark
		for _, e := range chunk {
			if i, ok := markOf[e.ID]; ok {
				marks = append(marks, em.putMarks[i])
			}
		}
		if len(marks) > 0 {
			// Written even when work has just ended: the events are queued.
			if err := s.store.WriteMarks(ctx, marks, nil); err != nil {
				return sent, fmt.Errorf("idcsnapshot: write %d marks: %w", len(marks), err)
			}
		}
		sent = end
	}
	return sent, nil
}

// decide diffs what a run read against the last-known people, reconciles
// every managed person with every target and decides what to emit, with
// one removal cap over both; it fills in sum's diff and reconciliation
// figures and writes nothing (Run records, queues and marks; Preview only
// reports).
//
// Errors: reading the last-known people; a *domain.RemovalCapError
// (sum.Removals is then what the run would have removed).
//
// obs, when set, is what a drift check read: every managed account found
// is compared with its recorded state (see Snapshotter.repair).
func (s *Snapshotter) decide(ctx context.Context, sum *Summary, rd readResult, takenAt time.Time, obs observations) (emission, domain.Snapshot, error) {
	records, err := s.store.AllRecords(ctx)
	if err != nil {
		return emission{}, domain.Snapshot{}, fmt.Errorf("idcsnapshot: read last-known people: %w", err)
	}
	snap := domain.Snapshot{RunID: sum.RunID, TakenAt: takenAt, Lag: s.lag, LinkByLogin: s.linkByLogin, Complete: true, Users: rd.users,
		Groups: s.groups, UnreadGroups: rd.unreadGroups, UnreadUsers: rd.unreadUsers}
	st := newRunState(records)
	settled := takenAt.UTC()
	if s.lag > 0 {
		settled = settled.Add(-s.lag)
	}
	snap.Status = s.readStatus(ctx, sum, st.prev, settled)
	diff, err := domain.DiffSnapshot(st.prev, snap, s.cap)
	if err != nil {
		var capErr *domain.RemovalCapError
		if errors.As(err, &capErr) {
			sum.Removals = capErr.Removals
		}
		return emission{}, snap, err
	}
	sum.Joiners, sum.Leavers, sum.Changes, sum.Removals = diff.Joiners, diff.Leavers, diff.Changes, diff.Removals
	sum.RemovalsSuppressed = diff.RemovalsSuppressed
	sum.Withheld, sum.Conflicts = diff.Withheld, len(diff.Conflicts)
	sum.StatusFacts = diff.StatusFacts
	for _, c := range diff.Conflicts {
		s.log.Warn("identity conflict; the people involved are left as they are", "runId", sum.RunID,
			"oktaId", c.OktaID, "idcUserIds", c.IdCUserIDs, "people", c.PersonKeys, "reason", c.Reason)
	}
	em := s.emission(ctx, st, diff, snap, sum, obs)
	em.conflictRows = conflictRows(sum, diff.Conflicts)
	if err := domain.CheckRemovalCap(s.cap, len(em.removing), st.members(s.readGroups(rd))); err != nil {
		var capErr *domain.RemovalCapError
		if errors.As(err, &capErr) {
			sum.Removals = capErr.Removals
		}
		sum.Reconciled, sum.InFlight, sum.DriftRepairs = 0, 0, 0
		return emission{}, snap, err
	}
	sum.Removals = len(em.removing)
	return em, snap, nil
}

// conflictRows are a run's identity conflicts as ledger rows, one in each
// involved person's partition (in SYSTEM when no stored person is
// involved), so that auditing the person shows why the snapshot leaves
// them as they are. A conflict found again by a later run is a new row:
// it is reported every run until fixed.
func conflictRows(sum *Summary, conflicts []domain.IdentityConflict) []domain.LedgerEntry {
	var rows []domain.LedgerEntry
	for i, c := range conflicts {
		keys := c.PersonKeys
		if len(keys) == 0 {
			keys = []string{""}
		}
		for _, key := range keys {
			rows = append(rows, domain.LedgerEntry{
				ID: domain.NewEventID(domain.SourceIdCSnapshot, fmt.Sprintf("conflict:%s:%d", sum.RunID, i), key, sum.TakenAt),
				At: sum.TakenAt, PersonKey: key, Source: domain.SourceIdCSnapshot, Outcome: domain.OutcomeFailed,
				Reason: truncate(domain.ErrIdentityConflict.Error() + ": " + c.Reason),
				Detail: map[string]string{"runId": sum.RunID, "oktaId": c.OktaID, "idcUserIds": strings.Join(c.IdCUserIDs, ",")},
			})
		}
	}
	return rows
}

// readResult is what a run read.
type readResult struct {
	users        []domain.SnapshotUser
	unreadGroups []domain.GroupRef
	unreadUsers  []string
	total        int // the store's user count, when a ListUsers walk reached its end
}

// readGroups returns the groups a run read (configured, less the unread).
func (s *Snapshotter) readGroups(rd readResult) []domain.GroupRef {
	var out []domain.GroupRef
	for _, g := range s.groups {
		if !slices.Contains(rd.unreadGroups, g) {
			out = append(out, g)
		}
	}
	return out
}

// read continues the reads of rs (every group's members, then their
// profiles) until they are over or ctx ends, and fills in sum's read
// counts. Once the reads are over it logs each unread group, every run
// until it is fixed.
func (s *Snapshotter) read(ctx context.Context, sum *Summary, rs *readState, totalUsers int) {
	m := newMeter(s.rate, s.burst)
	r := &reader{client: s.ids, storeID: s.storeID, opt: meterOption(m), workers: s.workers, scimIssuer: s.scimIssuer, rs: rs}
	r.run(ctx, s.groups, func(members int) ProfileRead { return chooseProfileRead(members, totalUsers, s.describeMax) })
	counts := m.Total()
	rs.Calls += counts.Calls
	rs.Throttled += counts.Throttled

	sum.Members = len(rs.Members)
	if rs.ProfileRead != "" {
		sum.ProfileRead = rs.ProfileRead
	}
	sum.Users = len(rs.Users)
	sum.APICalls, sum.Throttled = rs.Calls, rs.Throttled
	sum.ReadErrors = rs.Errors
	sum.Complete = rs.Errors == 0
	sum.UnreadUsers = len(rs.Unread)
	if !rs.done() {
		return
	}
	unreadGroups := 0
	for gi, g := range rs.Groups {
		if g.Unread == "" {
			continue
		}
		unreadGroups++
		sum.UnreadGroups = append(sum.UnreadGroups, g.ID+": "+g.Unread)
		s.log.Warn("group could not be read; removals withheld for its members", "runId", sum.RunID,
			"groupId", g.ID, "oktaGroupId", s.groups[gi].OktaID, "reason", g.Unread)
	}
	if !sum.Complete {
		sum.FirstReadError = rs.FirstError
		sum.Reason = fmt.Sprintf("incomplete snapshot: %d reads failed, %d groups and %d profiles unread; removals withheld for them",
			rs.Errors, unreadGroups, len(rs.Unread))
	}
}

// writeRecords stores what this complete run observed, writing only the
// records that changed.
func (s *Snapshotter) writeRecords(ctx context.Context, snap domain.Snapshot) error {
	prev, err := s.store.SnapshotRecords(ctx)
	if err != nil {
		return fmt.Errorf("idcsnapshot: read snapshot records: %w", err)
	}
	next := make([]store.SnapshotRecord, 0, len(snap.Users))
	for _, u := range snap.Users {
		next = append(next, Record(u, snap.RunID, snap.TakenAt))
	}
	put, remove := store.SnapshotChanges(prev, next)
	if err := s.store.WriteSnapshotRecords(ctx, put, remove); err != nil {
		return fmt.Errorf("idcsnapshot: write %d snapshot records, delete %d: %w", len(put), len(remove), err)
	}
	return nil
}

// Record is the bookkeeping record of one snapshot user: key the person key
// (Okta id, else IdC user id), the membership keys of their groups, and a
// digest of their profile. It is pure.
func Record(u domain.SnapshotUser, runID string, at time.Time) store.SnapshotRecord {
	rec := store.SnapshotRecord{
		Key: u.OktaID, OktaID: u.OktaID, IdCUserID: u.UserID,
		RunID: runID, ObservedAt: at.UTC(),
	}
	if rec.Key == "" {
		rec.Key = u.UserID
	}
	for _, g := range u.Groups {
		rec.Groups = append(rec.Groups, g.Key())
	}
	h := sha256.New()
	for _, f := range []string{u.Login, u.FirstName, u.LastName, u.DisplayName, u.Email, u.Department, u.Title} {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(f)))
		h.Write(n[:])
		h.Write([]byte(f))
	}
	rec.Digest = hex.EncodeToString(h.Sum(nil)[:16])
	return rec
}

// finish completes the summary, appends its ledger row (with a fresh
// context if ctx has ended), emits the metrics and the run's log line, and
// returns the summary with runErr (joined with a failure to append).
func (s *Snapshotter) finish(ctx context.Context, sum *Summary, start time.Time, outcome domain.Outcome, runErr error) (Summary, error) {
	sum.Outcome = outcome
	sum.Duration = s.now().Sub(start)
	if !sum.Continued && sum.Invocations > 1 {
		sum.Duration = s.now().Sub(sum.TakenAt) // the whole run, over its invocations
	}
	if runErr != nil {
		sum.Reason = truncate(runErr.Error())
	}
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), summaryTimeout)
	defer cancel()
	if !sum.Continued {
		if _, err := s.store.Append(actx, sum.Entry()); err != nil {
			runErr = errors.Join(runErr, fmt.Errorf("idcsnapshot: append run summary %s: %w", sum.RunID, err))
		}
	}

	if outcome != domain.OutcomeSkipped {
		s.metrics.Add(emf.SnapshotJoiners, float64(sum.Joiners))
		s.metrics.Add(emf.SnapshotLeavers, float64(sum.Leavers))
		s.metrics.Add(emf.SnapshotChanges, float64(sum.Changes))
		s.metrics.Add(emf.SnapshotRemovals, float64(sum.Removals))
		s.metrics.Add(emf.SnapshotEvents, float64(sum.Events))
		s.metrics.Add(emf.SnapshotUnreadGroups, float64(len(sum.UnreadGroups)))
		s.metrics.Add(emf.SnapshotUnreadUsers, float64(sum.UnreadUsers))
		s.metrics.Add(emf.SnapshotWithheld, float64(sum.Withheld))
		s.metrics.Add(emf.SnapshotConflicts, float64(sum.Conflicts))
		s.metrics.Add(emf.SnapshotReconciled, float64(sum.Reconciled))
		s.metrics.Add(emf.SnapshotReconcileWithheld, float64(sum.ReconcileWithheld))
		s.metrics.Add(emf.SnapshotReconcileErrors, float64(sum.ReconcileErrors))
		s.metrics.Add(emf.SnapshotInFlight, float64(sum.InFlight))
		s.driftMetrics(sum)
		if sum.StatusRead {
			s.metrics.Add(emf.SnapshotStatusPages, float64(sum.StatusPages))
			s.metrics.Add(emf.SnapshotStatusFacts, float64(sum.StatusFacts))
			failed := 0.0
			if sum.StatusReadFailed {
				failed = 1
			}
			s.metrics.Add(emf.SnapshotStatusReadFailed, failed)
		}
		s.metrics.Add(emf.SnapshotAPICalls, float64(sum.APICalls))
		s.metrics.Add(emf.SnapshotThrottled, float64(sum.Throttled))
		s.metrics.Set(emf.SnapshotDurationMs, "Milliseconds", float64(sum.Duration.Milliseconds()))
		incomplete := 0.0
		if !sum.Complete {
			incomplete = 1
		}
		s.metrics.Add(emf.SnapshotIncomplete, incomplete)
		if outcome == domain.OutcomeFailed {
			s.metrics.Add(emf.SnapshotRunFailed, 1)
		}
	}
	if err := s.metrics.Flush(); err != nil {
		s.log.Warn("metrics not written", "runId", sum.RunID, "error", err)
	}

	attrs := []any{
		"runId", sum.RunID, "outcome", sum.Outcome, "complete", sum.Complete,
		"continued", sum.Continued, "invocations", sum.Invocations,
		"members", sum.Members, "users", sum.Users, "profileRead", sum.ProfileRead,
		"joiners", sum.Joiners, "leavers", sum.Leavers, "changes", sum.Changes, "removals", sum.Removals,
		"withheld", sum.Withheld, "conflicts", sum.Conflicts, "reconciled", sum.Reconciled,
		"reconcileWithheld", sum.ReconcileWithheld, "inFlight", sum.InFlight,
		"driftChecked", sum.DriftChecked, "drifted", sum.Drifted, "driftRepairs", sum.DriftRepairs, "driftMissing", sum.DriftMissing,
		"statusRead", sum.StatusRead, "statusPages", sum.StatusPages, "statusFacts", sum.StatusFacts, "statusReadFailed", sum.StatusReadFailed,
		"events", sum.Events, "apiCalls", sum.APICalls, "throttled", sum.Throttled,
		"durationMs", sum.Duration.Milliseconds(),
	}
	switch {
	case runErr != nil && outcome != domain.OutcomeSkipped:
		s.log.Error("snapshot run failed", append(attrs, "error", runErr)...)
	case !sum.Complete || outcome == domain.OutcomeSkipped:
		s.log.Warn("snapshot run", append(attrs, "reason", sum.Reason, "readError", sum.FirstReadError)...)
	default:
		s.log.Info("snapshot run", attrs...)
	}
	return *sum, runErr
}

func truncate(s string) string {
	if len(s) <= maxReasonLen {
		return s
	}
	return s[:maxReasonLen] + "…"
}
