package idcsnapshot

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
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
	// summaryTimeout bounds writing the run summary after the run's own
	// context has ended.
	summaryTimeout = 10 * time.Second
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
	leaseName   string
	leaseDur    time.Duration
	rate        float64
	burst       int
	workers     int
	describeMax int
	scimIssuer  string
	linkByLogin bool
	now         func() time.Time
	newID       func() string
	log         *slog.Logger
	metrics     *emf.Metrics
}

// New returns a Snapshotter for o.Config's snapshot settings and mapped
// groups. Groups configured without an IdC id cannot be read from Identity
// Center and are left out of every snapshot (logged once here).
// Config.Snapshot.SettleWindow becomes every snapshot's domain.Snapshot.Lag.
//
// Errors: ErrInvalid when a collaborator (IdentityStore, Store, Publisher)
// is nil, a planner is nil or has no target, Config has no identity store
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
		planners:  map[domain.Target]Planner{},
		leaseName: o.LeaseName, leaseDur: o.LeaseDuration,
		rate: o.Rate, burst: o.Burst, workers: o.Workers, describeMax: o.DescribeUserMax,
		scimIssuer: o.Config.Snapshot.SCIMIssuer, linkByLogin: o.Config.Snapshot.LoginLink != domain.LoginLinkOff, now: o.Clock, newID: o.NewID, log: o.Logger, metrics: o.Metrics,
	}
	for t, p := range o.Planners {
		if t == "" || p == nil {
			return nil, fmt.Errorf("%w: planner %v for target %q", ErrInvalid, p, t)
		}
		s.planners[t] = p
		s.targets = append(s.targets, t)
	}
	slices.Sort(s.targets)
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
// work); every other Run error is returned, so the invocation fails and
// shows in the function's Errors metric. Idempotent in effect, as Run.
func (s *Snapshotter) Handle(ctx context.Context, _ events.CloudWatchEvent) error {
	_, err := s.Run(ctx)
	if errors.Is(err, store.ErrLeaseHeld) {
		return nil
	}
	return err
}

// Run takes one snapshot: lease, read, diff, reconcile, record, queue,
// mark, summarise (see the package documentation). The summary row is
// appended whatever happens, even after ctx has ended.
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
	sum := Summary{RunID: s.newID(), TakenAt: start.UTC(), ProfileRead: ReadNone, Groups: len(s.groups)}

	hold, err := s.store.AcquireLease(ctx, s.leaseName, sum.RunID, s.leaseDur)
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
		if err := s.store.ReleaseLease(rctx, s.leaseName, sum.RunID, totalUsers); err != nil {
			s.log.Warn("snapshot lease not released", "runId", sum.RunID, "error", err)
		}
	}()

	rd := s.read(ctx, &sum, hold.TotalUsers)
	totalUsers = rd.total
	if err := ctx.Err(); err != nil {
		return s.finish(ctx, &sum, start, domain.OutcomeFailed, fmt.Errorf("idcsnapshot: reading: %w", err))
	}

	em, snap, err := s.decide(ctx, &sum, rd, start)
	if err != nil {
		var capErr *domain.RemovalCapError
		if errors.As(err, &capErr) {
			s.metrics.Add(emf.SnapshotRemovalCapTripped, 1)
		}
		return s.finish(ctx, &sum, start, domain.OutcomeFailed, err)
	}

	// Record and queue.
	if len(em.events) > 0 {
		for i, err := range s.store.RecordReceivedAll(ctx, em.events) {
			if err != nil && !errors.Is(err, store.ErrDuplicate) {
				return s.finish(ctx, &sum, start, domain.OutcomeFailed,
					fmt.Errorf("idcsnapshot: record event %s as received: %w", em.events[i].ID, err))
			}
		}
		if err := s.pub.Publish(ctx, em.events); err != nil {
			return s.finish(ctx, &sum, start, domain.OutcomeFailed, fmt.Errorf("idcsnapshot: queue events: %w", err))
		}
		sum.Events = len(em.events)
	}
	// Marks: what was queued, and what is resolved.
	if len(em.putMarks)+len(em.removeMarks) > 0 {
		if err := s.store.WriteMarks(ctx, em.putMarks, em.removeMarks); err != nil {
			return s.finish(ctx, &sum, start, domain.OutcomeFailed,
				fmt.Errorf("idcsnapshot: write %d marks, delete %d: %w", len(em.putMarks), len(em.removeMarks), err))
		}
	}

	// Bookkeeping: only a complete snapshot says who is no longer there.
	if sum.Complete {
		if err := s.writeRecords(ctx, snap); err != nil {
			return s.finish(ctx, &sum, start, domain.OutcomeFailed, err)
		}
	}
	return s.finish(ctx, &sum, start, domain.OutcomeSnapshot, nil)
}

// decide diffs what a run read against the last-known people, reconciles
// every managed person with every target and decides what to emit, with
// one removal cap over both; it fills in sum's diff and reconciliation
// figures and writes nothing (Run records, queues and marks; Preview only
// reports).
//
// Errors: reading the last-known people; a *domain.RemovalCapError
// (sum.Removals is then what the run would have removed).
func (s *Snapshotter) decide(ctx context.Context, sum *Summary, rd readResult, start time.Time) (emission, domain.Snapshot, error) {
	records, err := s.store.AllRecords(ctx)
	if err != nil {
		return emission{}, domain.Snapshot{}, fmt.Errorf("idcsnapshot: read last-known people: %w", err)
	}
	snap := domain.Snapshot{RunID: sum.RunID, TakenAt: start, Lag: s.lag, LinkByLogin: s.linkByLogin, Complete: true, Users: rd.users,
		Groups: s.groups, UnreadGroups: rd.unreadGroups, UnreadUsers: rd.unreadUsers}
	st := newRunState(records)
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
	for _, c := range diff.Conflicts {
		s.log.Warn("identity conflict; the people involved are left as they are", "runId", sum.RunID,
			"oktaId", c.OktaID, "idcUserIds", c.IdCUserIDs, "people", c.PersonKeys, "reason", c.Reason)
	}
	em := s.emission(ctx, st, diff, snap, sum)
	if err := domain.CheckRemovalCap(s.cap, len(em.removing), st.members(s.readGroups(rd))); err != nil {
		var capErr *domain.RemovalCapError
		if errors.As(err, &capErr) {
			sum.Removals = capErr.Removals
		}
		sum.Reconciled, sum.InFlight = 0, 0
		return emission{}, snap, err
	}
	sum.Removals = len(em.removing)
	return em, snap, nil
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

// read reads the members of every group and their profiles, filling in
// sum's read counts, and returns what it read and what it could not. It
// logs each unread group, every run until it is fixed.
func (s *Snapshotter) read(ctx context.Context, sum *Summary, totalUsers int) readResult {
	m := newMeter(s.rate, s.burst)
	r := &reader{client: s.ids, storeID: s.storeID, opt: meterOption(m), workers: s.workers, scimIssuer: s.scimIssuer}
	members, unread := r.memberships(ctx, s.groups)
	sum.Members = len(members)
	sum.ProfileRead = chooseProfileRead(len(members), totalUsers, s.describeMax)
	users, total, unreadUsers := r.profiles(ctx, sum.ProfileRead, members, s.groups)
	sum.Users = len(users)
	counts := m.Total()
	sum.APICalls, sum.Throttled = counts.Calls, counts.Throttled
	errs := r.failures()
	sum.ReadErrors = len(errs)
	sum.Complete = len(errs) == 0
	res := readResult{users: users, unreadUsers: unreadUsers, total: total}
	for _, gi := range slices.Sorted(maps.Keys(unread)) {
		g := s.groups[gi]
		res.unreadGroups = append(res.unreadGroups, g)
		sum.UnreadGroups = append(sum.UnreadGroups, g.IdCID+": "+unread[gi])
		s.log.Warn("group could not be read; removals withheld for its members", "runId", sum.RunID,
			"groupId", g.IdCID, "oktaGroupId", g.OktaID, "reason", unread[gi])
	}
	sum.UnreadUsers = len(unreadUsers)
	if !sum.Complete {
		sum.FirstReadError = truncate(errs[0].Error())
		sum.Reason = fmt.Sprintf("incomplete snapshot: %d reads failed, %d groups and %d profiles unread; removals withheld for them",
			len(errs), len(res.unreadGroups), len(unreadUsers))
	}
	return res
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
	if runErr != nil {
		sum.Reason = truncate(runErr.Error())
	}
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), summaryTimeout)
	defer cancel()
	if _, err := s.store.Append(actx, sum.Entry()); err != nil {
		runErr = errors.Join(runErr, fmt.Errorf("idcsnapshot: append run summary %s: %w", sum.RunID, err))
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
		"members", sum.Members, "users", sum.Users, "profileRead", sum.ProfileRead,
		"joiners", sum.Joiners, "leavers", sum.Leavers, "changes", sum.Changes, "removals", sum.Removals,
		"withheld", sum.Withheld, "conflicts", sum.Conflicts, "reconciled", sum.Reconciled,
		"reconcileWithheld", sum.ReconcileWithheld, "inFlight", sum.InFlight,
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
