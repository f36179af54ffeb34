package idcsnapshot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/store"
)

// runState indexes the last-known records of one run.
type runState struct {
	records []store.Record
	// prev are the people with an identity (what the diff compares with).
	prev                 []domain.Person
	byKey, byOkta, byIdC map[string]int // record key, Okta id, IdC user id → records index
	byPersonKey          map[string]int // domain person key → records index
}

func newRunState(records []store.Record) *runState {
	st := &runState{
		records: records, prev: make([]domain.Person, 0, len(records)),
		byKey: make(map[string]int, len(records)), byOkta: make(map[string]int, len(records)),
		byIdC: make(map[string]int, len(records)), byPersonKey: make(map[string]int, len(records)),
	}
	for i, r := range records {
		st.byKey[r.Key] = i
		if !r.HasIdentity() {
			continue
		}
		p := r.Person
		st.prev = append(st.prev, p)
		st.byPersonKey[p.Key] = i
		if p.OktaID != "" {
			st.byOkta[p.OktaID] = i
		}
		if p.IdCUserID != "" {
			st.byIdC[p.IdCUserID] = i
		}
	}
	return st
}

// markKey is the partition key of the person a snapshot event is about:
// the stored person's, found by Okta id first (as the store resolves it),
// else the subject's key (a joiner, stored under it once folded).
func (st *runState) markKey(sub domain.Subject) string {
	if i, ok := st.byOkta[sub.OktaID]; ok && sub.OktaID != "" {
		return st.records[i].Key
	}
	if i, ok := st.byIdC[sub.IdCUserID]; ok && sub.IdCUserID != "" {
		return st.records[i].Key
	}
	if i, ok := st.byKey[sub.Key()]; ok && st.records[i].HasIdentity() {
		return st.records[i].Key
	}
	return sub.Key()
}

// members counts the people last known as members of one of groups: the
// population the removal cap's percentage refers to.
func (st *runState) members(groups []domain.GroupRef) int {
	n := 0
	for _, p := range st.prev {
		for _, g := range groups {
			if p.MemberOf(g) {
				n++
				break
			}
		}
	}
	return n
}

// emission is what a run emits: the events, the marks to write and to
// delete, and the people it takes something away from (by partition key),
// which the removal cap counts.
type emission struct {
	events      []domain.Event
	putMarks    []store.Mark
	removeMarks []store.Mark
	removing    map[string]bool
	// driftRows are the drift rows the run writes itself (reported,
	// missing, deferred or withheld drifts); a queued repair's row is its
	// consumer's.
	driftRows []domain.LedgerEntry
	// conflictRows report the run's identity conflicts (conflictRows).
	conflictRows []domain.LedgerEntry
}

// digest is 16 hex digits of a SHA-256 of v's JSON.
func digest(v any) string {
	b, _ := json.Marshal(v) // plain data of domain types: cannot fail
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// factsDigest identifies a person's diff facts, whatever the time they
// were found at: a snapshot event's source event id already digests its
// facts (domain.DiffSnapshot), so the person's are hashed in order.
func factsDigest(events []domain.Event) string {
	h := sha256.New()
	for _, e := range events {
		h.Write([]byte(e.SourceEventID))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// planDigest identifies a target's plan: its ops and the state they
// reach, versions aside, and DisabledAt too, which a leave plan sets to the
// time it is made (so the same leave planned again a run later is the
// same difference).
func planDigest(t domain.Target, plan domain.Plan) string {
	next := plan.Next
	next.Version, next.DisabledAt = 0, time.Time{}
	return digest(struct {
		T    domain.Target
		Ops  []domain.Op
		Next domain.TargetState
	}{t, plan.Ops, next})
}

// emission decides what the run emits, from the diff and the
// reconciliation of every managed person with every target:
//
//   - A person's diff events are emitted, and marked (EMITTED), unless the
//     same facts were emitted from the same person version less than
//     redeliverAfter ago: they are then in flight and counted in
//     sum.InFlight. Once the horizon has passed they are sent again,
//     restamped at the time they were first found, so that the copies have
//     the same ids. A diff mark whose person has no diff events any more is
//     deleted.
//   - Every managed person (a target state, or a member of a mapped group)
//     is planned with every planner, from the person with this run's diff
//     events folded in and the stored target state. A person with diff
//     events (emitted or in flight) gets no reconcile event: those events
//     make every target re-plan them. Otherwise a plan with ops (or a state
//     to record) gives a reconcile event for that target only, marked
//     (EMITTED#<target>) and subject to the same horizon, or to
//     retryFailedAfter once its consumer recorded it as failed. A reconcile
//     that would take an account away (a leave op) is withheld while any
//     group or profile is unread, or from a person in an identity
//     conflict. A reconcile mark whose plan is empty is deleted.
//   - removing collects the people who lose a membership, get a status
//     fact that takes their accounts away (suspended, deactivated,
//     deleted: Okta's statuses, see readStatus) or, through a leave op,
//     lose an account.
//   - With obs (a drift check), every managed account of a read target is
//     compared with the account as found (Snapshotter.observe); a drifted
//     one is reported or repaired (Snapshotter.repair): its drift event
//     replaces the target's reconcile event.
func (s *Snapshotter) emission(ctx context.Context, st *runState, diff domain.Diff, snap domain.Snapshot, sum *Summary, obs observations) emission {
	now := snap.TakenAt.UTC()
	em := emission{removing: map[string]bool{}}

	// Diff events, per person: DiffSnapshot makes each person's events
	// contiguous. A person whose events were not (which it never does) is
	// emitted without marks, every run: never suppressed by mistake.
	type span struct{ from, to int }
	type run struct {
		key string
		span
	}
	var runs []run
	byPerson := map[string][]span{}
	for i, e := range diff.Events {
		k := st.markKey(e.Subject)
		if n := len(runs); n > 0 && runs[n-1].key == k {
			runs[n-1].to = i + 1
		} else {
			runs = append(runs, run{k, span{i, i + 1}})
		}
		if e.Kind == domain.KindMemberRemoved || e.Kind.Disables() {
			em.removing[k] = true
		}
	}
	for _, r := range runs {
		byPerson[r.key] = append(byPerson[r.key], r.span)
	}
	var emit []span // the spans to emit, in order
	for _, r := range runs {
		sp := r.span
		evs := diff.Events[sp.from:sp.to]
		if len(byPerson[r.key]) > 1 {
			emit = append(emit, sp)
			continue
		}
		var version int64
		var m store.Mark
		var hasMark bool
		if i, ok := st.byKey[r.key]; ok {
			version = st.records[i].Person.Version
			m, hasMark = st.records[i].Marks[""]
		}
		d := factsDigest(evs)
		same := hasMark && m.Digest == d && m.PersonVersion == version
		if same && m.At.Equal(now) {
			continue // queued by an earlier invocation of this run
		}
		if same && now.Sub(m.At) < s.redeliver {
			sum.InFlight += len(evs)
			continue
		}
		if same {
			for i := range evs {
				evs[i] = evs[i].Restamped(m.Since)
			}
		}
		emit = append(emit, sp)
		em.putMarks = append(em.putMarks, store.Mark{Key: r.key, Digest: d, EventID: evs[0].ID, PersonVersion: version, Since: evs[0].OccurredAt, At: now})
	}
	// The events to emit: the emitted spans compacted into diff.Events'
	// own array (they are in order, so each is copied down or left in
	// place), then the reconcile events. Called last: the reconciliation
	// reads the spans.
	compact := func() emission {
		kept := diff.Events[:0]
		for _, sp := range emit {
			kept = append(kept, diff.Events[sp.from:sp.to]...)
		}
		em.events = append(kept, em.events...)
		return em
	}
	for _, r := range st.records {
		if _, ok := r.Marks[""]; ok {
			if _, has := byPerson[r.Key]; !has {
				em.removeMarks = append(em.removeMarks, store.Mark{Key: r.Key})
			}
		}
	}
	if len(s.targets) == 0 {
		return compact()
	}

	// Reconciliation.
	leaveBlocked := len(snap.UnreadGroups) > 0 || len(snap.UnreadUsers) > 0
	conflicted := map[string]bool{}
	for _, c := range diff.Conflicts {
		for _, pk := range c.PersonKeys {
			if i, ok := st.byPersonKey[pk]; ok {
				conflicted[st.records[i].Key] = true
			}
		}
	}
	for _, r := range st.records {
		if !r.HasIdentity() {
			continue
		}
		p := r.Person
		spans, hasDiff := byPerson[r.Key]
		for _, sp := range spans {
			for _, e := range diff.Events[sp.from:sp.to] {
				p, _ = domain.Fold(p, e)
			}
		}
		if !s.managed(p, r) {
			for _, t := range s.targets {
				if _, ok := r.Marks[t]; ok {
					em.removeMarks = append(em.removeMarks, store.Mark{Key: r.Key, Target: t})
				}
			}
			continue
		}
		for _, t := range s.targets {
			last := r.Target(t)
			if d := s.observe(&em, sum, r.Key, t, last, obs); d != nil &&
				s.repair(ctx, &em, sum, r, p, t, last, d, hasDiff, conflicted[r.Key], now) {
				continue
			}
			plan, err := s.planners[t].Plan(ctx, p, last, now)
			if err != nil {
				// A plan that fails here fails for the consumer too, which
				// records it when the person's events arrive; a run logs
				// the first few and counts them all.
				sum.ReconcileErrors++
				if sum.ReconcileErrors <= maxReconcileErrorLogs {
					s.log.Warn("reconcile plan failed", "runId", sum.RunID, "person", r.Key, "target", string(t),
						"kind", domain.KindOf(err).String(), "error", truncate(err.Error()))
				}
				continue
			}
			m, hasMark := r.Marks[t]
			if len(plan.Ops) == 0 && plan.Next.Equal(last) {
				if hasMark {
					em.removeMarks = append(em.removeMarks, store.Mark{Key: r.Key, Target: t})
				}
				continue
			}
			leaves := plan.Leaves()
			if hasDiff {
				if leaves {
					em.removing[r.Key] = true
				}
				continue // the person's diff events make this target plan them
			}
			if leaves && (leaveBlocked || conflicted[r.Key]) {
				sum.ReconcileWithheld++
				continue
			}
			d := planDigest(t, plan)
			same := hasMark && m.Digest == d && m.PersonVersion == p.Version && m.TargetVersion == last.Version
			switch {
			case same && m.At.Equal(now) && !m.Failed():
				// Queued by an earlier invocation of this run.
				sum.Reconciled++
				if leaves {
					em.removing[r.Key] = true
				}
				continue
			case same && m.Failed() && now.Sub(m.FailedAt) < s.retryFailed:
				sum.InFlight++
				continue
			case same && !m.Failed() && now.Sub(m.At) < s.redeliver:
				sum.InFlight++
				continue
			}
			since := now
			if same {
				since = m.Since
			}
			e := reconcileEvent(p, t, d, since)
			em.events = append(em.events, e)
			em.putMarks = append(em.putMarks, store.Mark{Key: r.Key, Target: t, Digest: d, EventID: e.ID,
				PersonVersion: p.Version, TargetVersion: last.Version, Since: since, At: now})
			sum.Reconciled++
			if leaves {
				em.removing[r.Key] = true
			}
		}
	}
	if n := sum.ReconcileErrors - maxReconcileErrorLogs; n > 0 {
		s.log.Warn("reconcile plans failed", "runId", sum.RunID, "more", n)
	}
	return compact()
}

// maxReconcileErrorLogs bounds the failed plans a run logs one by one.
const maxReconcileErrorLogs = 10

// managed reports whether idsync manages p (stored as r) in any way: a
// target state, or membership of a mapped group.
func (s *Snapshotter) managed(p domain.Person, r store.Record) bool {
	if len(r.Targets) > 0 {
		return true
	}
	for _, g := range s.mapped {
		if p.MemberOf(g) {
			return true
		}
	}
	return false
}

// reconcileEvent is the reconcile event for target t of person p, for the
// plan with digest d, first emitted at since: its id is the same for every
// copy of one unresolved plan.
func reconcileEvent(p domain.Person, t domain.Target, d string, since time.Time) domain.Event {
	sub := domain.Subject{OktaID: p.OktaID, IdCUserID: p.IdCUserID}
	src := "reconcile:" + string(t) + ":" + d
	return domain.Event{
		ID:     domain.NewEventID(domain.SourceIdCSnapshot, src, sub.Key(), since),
		Source: domain.SourceIdCSnapshot, SourceEventID: src, Kind: domain.KindReconcile,
		Subject: sub, Target: t, OccurredAt: since, ReceivedAt: since,
	}
}
