package opscli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/store"
)

// Explainer is the part of store.Store audit explain reads.
type Explainer interface {
	People
	ReceivedRow(ctx context.Context, eventID string) (domain.LedgerEntry, error)
	EventRows(ctx context.Context, key, eventID string) ([]domain.LedgerEntry, error)
	AppliedRecord(ctx context.Context, key string, t domain.Target, eventID string) (domain.LedgerEntry, bool, error)
}

// ExplainArgs name the fact to explain.
type ExplainArgs struct {
	EventID string
	// Targets are the targets the configuration enables; each gets its
	// steps even when it has no row yet. Targets with rows are shown
	// whether listed or not.
	Targets []domain.Target
	// Groups names groups by membership key (domain.GroupRef.Key), from
	// the configuration; optional.
	Groups map[string]string
	Format Format
}

// Explain steps.
const (
	StepReceived = "received"
	StepFolded   = "folded"
	StepPlanned  = "planned"
	StepOp       = "op"
	StepAttempt  = "attempt"
	StepOutcome  = "outcome"
)

// explainRow is one step as JSON prints it.
type explainRow struct {
	Step     string         `json:"step"`
	Time     string         `json:"time,omitempty"`
	EventID  string         `json:"eventId"`
	Person   string         `json:"person,omitempty"`
	Login    string         `json:"login,omitempty"`
	Target   domain.Target  `json:"target,omitempty"`
	Op       domain.OpKind  `json:"op,omitempty"`
	Outcome  domain.Outcome `json:"outcome,omitempty"`
	RemoteID string         `json:"remoteId,omitempty"`
	Detail   string         `json:"detail,omitempty"`
}

// Explain prints one fact's whole story, across targets: received (source,
// kind, times, group), folded (which of the person's fields and
// memberships carry this fact now), then per target: planned (the ops, or
// why nothing), each op or attempt with its outcome, and the outcome
// (committed, skipped, dead-lettered, retrying, pending).
//
// Cost: one index query finds the received row by the event id (its day
// bucket is the id's time), PersonKeys finds every key the person was
// recorded under, and one query per key reads that person's rows with a
// filter on the event id: O(rows of the person), never a table scan.
//
// Errors: ErrUsage for an id that is not an event id (a ULID);
// store.ErrNotFound when the ledger has no received row with that id;
// store errors; the writer's.
func Explain(ctx context.Context, st Explainer, w io.Writer, a ExplainArgs) error {
	if a.Format == "" {
		a.Format = FormatTable
	}
	recv, err := st.ReceivedRow(ctx, a.EventID)
	switch {
	case errors.Is(err, store.ErrInvalid):
		return fmt.Errorf("%w: %q is not an event id (a ULID): %w", ErrUsage, a.EventID, err)
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("no fact with event id %s in the ledger (idsync audit lists event ids): %w", a.EventID, err)
	case err != nil:
		return err
	}
	keys, err := PersonKeys(ctx, st, recv.PersonKey)
	switch {
	case errors.Is(err, store.ErrNotFound):
		keys = []string{recv.PersonKey} // never folded
	case err != nil:
		return err
	}
	var rows []domain.LedgerEntry
	seen := map[string]bool{}
	for _, k := range keys {
		rs, err := st.EventRows(ctx, k, a.EventID)
		if err != nil {
			return err
		}
		for _, r := range rs {
			if !seen[r.ID] && r.Outcome != domain.OutcomeReceived {
				seen[r.ID] = true
				rows = append(rows, r)
			}
		}
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].ID < rows[j].ID })

	var rec *store.Record
	for _, k := range keys {
		if r, err := st.Person(ctx, k); err == nil {
			rec = &r
			break
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	event, evErr := store.ReceivedEvent(recv)
	login := ""
	if rec != nil {
		login = rec.Person.Login.Value
	} else if evErr == nil {
		login = event.Subject.Login
	}

	p := NewPrinter(w, a.Format, "STEP", "TIME", "TARGET", "OP", "OUTCOME", "REMOTE ID", "DETAIL")
	if a.Format == FormatTable {
		who := recv.PersonKey
		if login != "" {
			who += " (" + login + ")"
		}
		if _, err := fmt.Fprintf(w, "event %s about %s\n\n", a.EventID, who); err != nil {
			return fmt.Errorf("write: %w", err)
		}
	}
	step := func(r explainRow) error {
		r.EventID, r.Person, r.Login = a.EventID, recv.PersonKey, login
		return p.Row(r, r.Step, r.Time, string(r.Target), string(r.Op), string(r.Outcome), r.RemoteID, r.Detail)
	}
	when := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}

	if err := step(explainRow{Step: StepReceived, Time: when(recv.At), Outcome: domain.OutcomeReceived,
		Detail: receivedDetail(recv, event, evErr, a.Groups)}); err != nil {
		return err
	}
	if err := step(explainRow{Step: StepFolded, Detail: foldedDetail(rec, a.EventID, a.Groups)}); err != nil {
		return err
	}

	targets := slices.Clone(a.Targets)
	for _, r := range rows {
		if r.Target != "" && !slices.Contains(targets, r.Target) {
			targets = append(targets, r.Target)
		}
	}
	for _, t := range targets {
		var trows []domain.LedgerEntry
		for _, r := range rows {
			if r.Target == t {
				trows = append(trows, r)
			}
		}
		key := recv.PersonKey
		if rec != nil {
			key = rec.Key
		}
		applied, ok, err := st.AppliedRecord(ctx, key, t, a.EventID)
		if err != nil {
			return err
		}
		for _, r := range targetSteps(t, trows, applied, ok) {
			if err := step(r); err != nil {
				return err
			}
		}
	}
	return p.Flush()
}

// receivedDetail describes the received fact.
func receivedDetail(recv domain.LedgerEntry, e domain.Event, evErr error, groups map[string]string) string {
	parts := []string{strings.TrimSpace(string(recv.Source) + " " + string(recv.Kind))}
	if evErr == nil {
		parts = append(parts, "occurred "+e.OccurredAt.UTC().Format(time.RFC3339))
		if e.Group != nil {
			parts = append(parts, "group "+groupName(*e.Group, groups))
		}
		for _, g := range e.Groups {
			parts = append(parts, "in "+groupName(g, groups))
		}
		for _, g := range e.NotGroups {
			parts = append(parts, "not in "+groupName(g, groups))
		}
		var ids []string
		if e.Subject.OktaID != "" {
			ids = append(ids, "okta "+e.Subject.OktaID)
		}
		if e.Subject.IdCUserID != "" {
			ids = append(ids, "idc "+e.Subject.IdCUserID)
		}
		if len(ids) > 0 {
			parts = append(parts, "subject "+strings.Join(ids, ", "))
		}
	} else if g := recv.Detail["group"]; g != "" {
		parts = append(parts, "group "+g)
	}
	if id := recv.Detail["sourceEventId"]; id != "" {
		parts = append(parts, "source event "+id)
	}
	return strings.Join(parts, "; ")
}

func groupName(g domain.GroupRef, names map[string]string) string {
	k := g.Key()
	switch {
	case g.Name != "":
		return g.Name + " (" + k + ")"
	case names[k] != "":
		return names[k] + " (" + k + ")"
	}
	return k
}

// foldedDetail lists what of the person carries the fact now.
func foldedDetail(rec *store.Record, eventID string, groups map[string]string) string {
	if rec == nil {
		return "not folded: no person is stored for this subject (the consumers have not processed the fact, or it was refused before folding)"
	}
	p := rec.Person
	var fields []string
	for _, f := range []struct {
		name string
		s    domain.Stamped
	}{{"login", p.Login}, {"firstName", p.FirstName}, {"lastName", p.LastName}, {"displayName", p.DisplayName},
		{"email", p.Email}, {"department", p.Department}, {"title", p.Title}, {"status", p.Status}} {
		if f.s.By == eventID {
			fields = append(fields, f.name)
		}
	}
	var member []string
	for k, m := range p.Groups {
		if m.By != eventID {
			continue
		}
		name := k
		if n := groups[k]; n != "" {
			name = n + " (" + k + ")"
		}
		if m.Member {
			member = append(member, "member of "+name)
		} else {
			member = append(member, "not a member of "+name)
		}
	}
	slices.Sort(member)
	var parts []string
	if len(fields) > 0 {
		parts = append(parts, "sets "+strings.Join(fields, ", "))
	}
	parts = append(parts, member...)
	if len(parts) == 0 {
		return fmt.Sprintf("person %s (version %d): no field carries this fact now; it changed nothing, or later facts superseded it", rec.Key, p.Version)
	}
	return fmt.Sprintf("person %s (version %d): %s", rec.Key, p.Version, strings.Join(parts, "; "))
}

// targetSteps are one target's planned, op/attempt and outcome steps.
func targetSteps(t domain.Target, rows []domain.LedgerEntry, applied domain.LedgerEntry, committed bool) []explainRow {
	var out []explainRow
	var ops []string
	var firstOp time.Time
	for _, r := range rows {
		if r.Op != "" && !slices.Contains(ops, string(r.Op)) {
			ops = append(ops, string(r.Op))
			if firstOp.IsZero() {
				firstOp = r.At
			}
		}
	}
	planned := explainRow{Step: StepPlanned, Target: t}
	switch {
	case len(ops) > 0:
		planned.Detail = strings.Join(ops, ", ")
		planned.Time = firstOp.UTC().Format(time.RFC3339)
	case len(rows) == 0:
		planned.Detail = "no row yet: queued and not processed, or dead-lettered before planning"
	default:
		last := rows[len(rows)-1]
		planned.Time = last.At.UTC().Format(time.RFC3339)
		if last.Outcome == domain.OutcomeSkipped {
			planned.Detail = "nothing: " + last.Reason
		} else {
			planned.Detail = "not planned: " + last.Reason
		}
	}
	out = append(out, planned)
	for _, r := range rows {
		s := explainRow{Step: StepAttempt, Time: r.At.UTC().Format(time.RFC3339), Target: t, Op: r.Op, Outcome: r.Outcome,
			RemoteID: r.RemoteID, Detail: r.Reason}
		if r.Op != "" {
			s.Step = StepOp
			if r.Detail["adopted"] == "true" {
				s.Detail = strings.TrimSpace("adopted an existing account " + s.Detail)
			}
		} else if r.Outcome == domain.OutcomeSkipped {
			continue // shown as the plan and the outcome
		}
		out = append(out, s)
	}
	final := explainRow{Step: StepOutcome, Target: t}
	switch {
	case committed:
		final.Outcome, final.RemoteID = domain.OutcomeApplied, applied.RemoteID
		final.Time = applied.At.UTC().Format(time.RFC3339)
		final.Detail = "committed; target state version " + applied.Detail["version"]
	case len(rows) == 0:
		final.Detail = "pending"
	default:
		last := rows[len(rows)-1]
		final.Outcome, final.Time = last.Outcome, last.At.UTC().Format(time.RFC3339)
		switch {
		case last.Outcome == domain.OutcomeSkipped:
			final.Detail = last.Reason
		case last.Outcome == domain.OutcomeWould:
			final.Detail = "dry run: nothing was changed"
		case last.Outcome == domain.OutcomeFailed && strings.HasPrefix(last.Reason, "permanent"):
			final.Detail = "dead-lettered; after fixing the cause: idsync redrive --target " + string(t)
		case last.Outcome == domain.OutcomeFailed:
			final.Detail = "failed; the queue delivers it again"
		default:
			final.Detail = last.Reason
		}
	}
	return append(out, final)
}

// GroupNames names the configuration's groups by membership key.
func GroupNames(cfg domain.Config) map[string]string {
	out := map[string]string{}
	for _, g := range cfg.MappedGroups() {
		if g.Name == "" {
			continue
		}
		for _, k := range []string{domain.GroupRef{OktaID: g.OktaID}.Key(), domain.GroupRef{IdCID: g.IdCID}.Key()} {
			if k != "" {
				out[k] = g.Name
			}
		}
	}
	return out
}
