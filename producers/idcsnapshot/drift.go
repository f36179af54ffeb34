package idcsnapshot

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/emf"
	"github.com/idsync/idsync/store"
)

// Inventory lists one target's accounts as they are, keyed by remote id
// (workmail.Inventory, connect.Inventory): the drift check compares the
// ones idsync manages with their recorded state. It must be read-only and
// return nothing for a partial listing (an error instead).
type Inventory interface {
	Accounts(ctx context.Context) (map[string]domain.Observed, error)
}

// observations is what a drift check read: per target, its accounts by
// remote id. A target whose inventory could not be read is absent: none
// of its accounts is compared.
type observations map[domain.Target]map[string]domain.Observed

// Drift row actions (a drift row's Detail["action"]).
const (
	driftReported = "reported"        // snapshot.drift is report-only
	driftMissing  = "missing"         // the account is not in the target
	driftDeferred = "deferred"        // the person has diff facts in flight
	driftWithheld = "withheld"        // a repair that takes an account away, from a person in an identity conflict
	driftNoRepair = "nothing-to-plan" // the plan from the account as found has no ops
)

// driftDue reports whether a run taken at now checks drift: drift is not
// off, a target has an inventory, and the last check (zero: never) is at
// least driftEvery old.
func (s *Snapshotter) driftDue(last, now time.Time) bool {
	return s.driftMode != domain.DriftOff && len(s.inventories) > 0 && (last.IsZero() || now.Sub(last) >= s.driftEvery)
}

// readInventories reads every target's inventory. A target whose read
// fails is left out (logged; sum.DriftErrors counts it) and complete is
// false: the check is then not recorded as done, so the next complete run
// checks again.
func (s *Snapshotter) readInventories(ctx context.Context, sum *Summary) (obs observations, complete bool) {
	obs = observations{}
	complete = true
	for _, t := range slices.Sorted(maps.Keys(s.inventories)) {
		accounts, err := s.inventories[t].Accounts(ctx)
		if err != nil {
			complete = false
			sum.DriftErrors++
			s.log.Warn("drift check: target accounts not read; not compared this run", "runId", sum.RunID, "target", string(t),
				"kind", domain.KindOf(err).String(), "error", truncate(err.Error()))
			continue
		}
		obs[t] = accounts
	}
	sum.DriftChecked = true
	return obs, complete
}

// observe compares last, p's recorded state in target t, with the account
// as obs found it. It returns the drift (nil when there is none or the
// account is not compared: not managed, no account, or the target not
// read). An account recorded but not found is reported (a drift row) and
// never repaired: it was deleted by hand, or the inventory lags, and an
// operator decides whether to re-create it.
func (s *Snapshotter) observe(em *emission, sum *Summary, key string, t domain.Target, last domain.TargetState, obs observations) *domain.Drift {
	accounts, read := obs[t]
	if !read || !last.Managed || last.RemoteID == "" || (last.Status != domain.RemoteEnabled && last.Status != domain.RemoteDisabled) {
		return nil
	}
	o, found := accounts[last.RemoteID]
	if !found {
		sum.DriftMissing++
		s.log.Warn("drift: managed account not found in the target", "runId", sum.RunID, "person", key, "target", string(t),
			"remoteId", last.RemoteID, "recorded", string(last.Status))
		em.driftRows = append(em.driftRows, s.driftRow(sum, key, t, last.RemoteID, driftMissing,
			"status: recorded "+string(last.Status)+", not found in the target; not repaired (re-create it by hand, or let idsync forget it)", nil))
		return nil
	}
	fields := domain.DriftOf(last, o)
	if len(fields) == 0 {
		return nil
	}
	sum.Drifted++
	s.log.Warn("drift: managed account differs from its recorded state", "runId", sum.RunID, "person", key, "target", string(t),
		"remoteId", last.RemoteID, "fields", domain.DriftFieldNames(fields), "mode", string(s.driftMode))
	return &domain.Drift{RemoteID: last.RemoteID, TargetVersion: last.Version, Observed: o, Fields: fields}
}

// repair decides what to do with drift d of p's account in target t
// (recorded as last): with drift report-only, a drift row; otherwise a
// drift event for t only, planned from the account as found, under the
// same marks, horizons and guards as a reconcile event (a repair that
// takes an account away is withheld from a person in an identity
// conflict, and counts towards the removal cap). It reports whether it
// took the target over: the reconcile from the recorded state is then
// not planned for this person and target.
func (s *Snapshotter) repair(ctx context.Context, em *emission, sum *Summary, r store.Record, p domain.Person, t domain.Target,
	last domain.TargetState, d *domain.Drift, hasDiff, conflicted bool, now time.Time) bool {
	if s.driftMode == domain.DriftReportOnly {
		em.driftRows = append(em.driftRows, s.driftRow(sum, r.Key, t, d.RemoteID, driftReported, "reported only (snapshot.drift is report-only)", d.Fields))
		return false
	}
	plan, err := s.planners[t].Plan(ctx, p, d.Observed.Over(last), now)
	switch {
	case err != nil:
		sum.ReconcileErrors++
		em.driftRows = append(em.driftRows, s.driftRow(sum, r.Key, t, d.RemoteID, driftNoRepair, "not repaired: plan failed: "+err.Error(), d.Fields))
		return false
	case len(plan.Ops) == 0:
		em.driftRows = append(em.driftRows, s.driftRow(sum, r.Key, t, d.RemoteID, driftNoRepair, "not repaired: "+plan.Reason, d.Fields))
		return false
	case hasDiff:
		em.driftRows = append(em.driftRows, s.driftRow(sum, r.Key, t, d.RemoteID, driftDeferred,
			"not repaired yet: the person's facts are being applied; the next drift check repairs what is left", d.Fields))
		if plan.Leaves() {
			em.removing[r.Key] = true
		}
		return false
	case plan.Leaves() && conflicted:
		sum.ReconcileWithheld++
		em.driftRows = append(em.driftRows, s.driftRow(sum, r.Key, t, d.RemoteID, driftWithheld,
			"not repaired: the repair takes the account away and the person is in an identity conflict", d.Fields))
		return true
	}
	dg := digest(struct {
		Plan   string
		Fields []domain.DriftField
	}{planDigest(t, plan), d.Fields})
	m, hasMark := r.Marks[t]
	same := hasMark && m.Digest == dg && m.PersonVersion == p.Version && m.TargetVersion == last.Version
	switch {
	case same && m.At.Equal(now) && !m.Failed():
		// Queued by an earlier invocation of this run.
	case same && m.Failed() && now.Sub(m.FailedAt) < s.retryFailed, same && !m.Failed() && now.Sub(m.At) < s.redeliver:
		sum.InFlight++
		return true
	default:
		since := now
		if same {
			since = m.Since
		}
		e := driftEvent(p, t, dg, since, d)
		em.events = append(em.events, e)
		em.putMarks = append(em.putMarks, store.Mark{Key: r.Key, Target: t, Digest: dg, EventID: e.ID,
			PersonVersion: p.Version, TargetVersion: last.Version, Since: since, At: now})
	}
	sum.DriftRepairs++
	if plan.Leaves() {
		em.removing[r.Key] = true
	}
	return true
}

// driftEvent is the reconcile event carrying drift d to target t's
// consumer, for the repair plan with digest dg, first emitted at since.
func driftEvent(p domain.Person, t domain.Target, dg string, since time.Time, d *domain.Drift) domain.Event {
	e := reconcileEvent(p, t, dg, since)
	e.SourceEventID = "drift:" + string(t) + ":" + dg
	e.ID = domain.NewEventID(e.Source, e.SourceEventID, e.Subject.Key(), since)
	e.Drift = d
	return e
}

// driftRow is the ledger row of a drift the snapshot reports itself (a
// repair queued is reported by its consumer): outcome drift, in the
// person's partition, its id deterministic for the run, person and target
// so that a run continued in another invocation writes it once.
func (s *Snapshotter) driftRow(sum *Summary, key string, t domain.Target, remoteID, action, why string, fields []domain.DriftField) domain.LedgerEntry {
	reason := why
	if len(fields) > 0 {
		reason = domain.DescribeDrift(fields) + "; " + why
	}
	detail := map[string]string{"action": action, "runId": sum.RunID}
	if len(fields) > 0 {
		detail["fields"] = domain.DriftFieldNames(fields)
	}
	return domain.LedgerEntry{
		ID: domain.NewEventID(domain.SourceIdCSnapshot, "drift:"+sum.RunID+":"+string(t), key, sum.TakenAt), At: sum.TakenAt,
		PersonKey: key, Source: domain.SourceIdCSnapshot, Target: t, Outcome: domain.OutcomeDrift, RemoteID: remoteID,
		Reason: truncate(reason), Detail: detail,
	}
}

// writeRows appends the rows a run reports itself (drift, identity
// conflicts), one at a time: a row an earlier invocation of the run wrote
// is a duplicate, and skipped. what names the rows in the error.
//
// Errors: the first append that failed otherwise.
func (s *Snapshotter) writeRows(ctx context.Context, rows []domain.LedgerEntry, what string) error {
	for _, row := range rows {
		if _, err := s.store.Append(ctx, row); err != nil && !errors.Is(err, store.ErrDuplicate) {
			return fmt.Errorf("idcsnapshot: append %s row for %s: %w", what, row.PersonKey, err)
		}
	}
	return nil
}

// driftMetrics emits a run's drift figures (only for a run that checked).
func (s *Snapshotter) driftMetrics(sum *Summary) {
	if !sum.DriftChecked {
		return
	}
	s.metrics.Add(emf.SnapshotDriftChecks, 1)
	s.metrics.Add(emf.SnapshotDrifted, float64(sum.Drifted))
	s.metrics.Add(emf.SnapshotDriftRepairs, float64(sum.DriftRepairs))
	s.metrics.Add(emf.SnapshotDriftMissing, float64(sum.DriftMissing))
	s.metrics.Add(emf.SnapshotDriftErrors, float64(sum.DriftErrors))
}
