package consumers_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/consumers"
	"github.com/idsync/idsync/domain"
)

// scripted is a Target whose Apply answers op i with steps[i] (and errs[i])
// and records the state each call was given.
type scripted struct {
	steps []consumers.Step
	errs  []error
	given []domain.TargetState
}

func (s *scripted) Name() domain.Target { return domain.TargetConnect }

func (s *scripted) Plan(context.Context, domain.Person, domain.TargetState, time.Time) (domain.Plan, error) {
	return domain.Plan{}, errors.New("not used")
}

func (s *scripted) Apply(_ context.Context, _ domain.Person, state domain.TargetState, _ domain.Op) (consumers.Step, error) {
	i := len(s.given)
	s.given = append(s.given, state)
	var err error
	if i < len(s.errs) {
		err = s.errs[i]
	}
	return s.steps[i], err
}

// ticking is a clock that advances one second per reading.
func ticking() func() time.Time {
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	return func() time.Time {
		now = now.Add(time.Second)
		return now
	}
}

func TestExecute(t *testing.T) {
	last := domain.TargetState{Target: domain.TargetConnect, Version: 3}
	create := domain.Op{Target: domain.TargetConnect, Kind: domain.OpCreate, Name: "pat.lee"}
	update := domain.Op{Target: domain.TargetConnect, Kind: domain.OpUpdateIdentity, RemoteID: "u-9"}
	del := domain.Op{Target: domain.TargetConnect, Kind: domain.OpDelete, RemoteID: "u-9"}
	next := domain.TargetState{Target: domain.TargetConnect, Managed: true, Status: domain.RemoteEnabled, Name: "pat.lee", Version: 3}
	created := domain.TargetState{Target: domain.TargetConnect, Managed: true, RemoteID: "u-1", Status: domain.RemoteEnabled, Name: "pat.lee", Version: 3}
	adopted := created
	adopted.Name = "pat.old"
	refused := domain.Permanent(errors.New("refused"))

	tests := []struct {
		name    string
		plan    domain.Plan
		steps   []consumers.Step
		errs    []error
		want    domain.TargetState
		results []consumers.OpResult
		given   []domain.TargetState // the states Apply was given
		err     error
	}{
		{
			name: "empty plan: its next state, no call",
			plan: domain.Plan{Next: last},
			want: last,
		},
		{
			name:  "create then update: the id the create reached, the plan's Name",
			plan:  domain.Plan{Ops: []domain.Op{create, update}, Next: next},
			steps: []consumers.Step{{State: created, RemoteID: "u-1"}, {State: created}},
			want:  func() domain.TargetState { s := next; s.RemoteID = "u-1"; return s }(),
			results: []consumers.OpResult{
				{Op: create, Outcome: domain.OutcomeApplied, RemoteID: "u-1", Latency: time.Second},
				{Op: update, Outcome: domain.OutcomeApplied, RemoteID: "u-9", Latency: time.Second},
			},
			given: []domain.TargetState{last, created},
		},
		{
			name:  "adopted create: the adopted account keeps its Name",
			plan:  domain.Plan{Ops: []domain.Op{create}, Next: next},
			steps: []consumers.Step{{State: adopted, RemoteID: "u-1", Adopted: true, Note: "adopted user u-1"}},
			want:  func() domain.TargetState { s := next; s.RemoteID, s.Name = "u-1", "pat.old"; return s }(),
			results: []consumers.OpResult{
				{Op: create, Outcome: domain.OutcomeApplied, RemoteID: "u-1", Adopted: true, Reason: "adopted user u-1", Latency: time.Second},
			},
			given: []domain.TargetState{last},
		},
		{
			name:  "stop at the first failure: the state reached before it",
			plan:  domain.Plan{Ops: []domain.Op{create, update, del}, Next: next},
			steps: []consumers.Step{{State: created, RemoteID: "u-1"}, {Note: "found u-9"}, {}},
			errs:  []error{nil, refused},
			want:  created,
			results: []consumers.OpResult{
				{Op: create, Outcome: domain.OutcomeApplied, RemoteID: "u-1", Latency: time.Second},
				{Op: update, Outcome: domain.OutcomeFailed, RemoteID: "u-9", Reason: "found u-9; refused", Latency: time.Second},
			},
			given: []domain.TargetState{last, created},
			err:   refused,
		},
		{
			name: "a plan whose Next still holds the intent: the create's success drops it",
			plan: domain.Plan{Ops: []domain.Op{create}, Next: func() domain.TargetState {
				s := next
				s.PendingName, s.PendingAt = "pat.lee", time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
				return s
			}()},
			steps: []consumers.Step{{State: created, RemoteID: "u-1"}},
			want:  func() domain.TargetState { s := next; s.RemoteID = "u-1"; return s }(),
			results: []consumers.OpResult{
				{Op: create, Outcome: domain.OutcomeApplied, RemoteID: "u-1", Latency: time.Second},
			},
			given: []domain.TargetState{last},
		},
		{
			name: "deleted: no id, no adopted Name",
			plan: domain.Plan{Ops: []domain.Op{del}, Next: domain.TargetState{Managed: true, Status: domain.RemoteDeleted, Version: 3}},
			steps: []consumers.Step{{State: domain.TargetState{Target: domain.TargetConnect, Managed: true, RemoteID: "u-9",
				Status: domain.RemoteDeleted, Name: "x"}, Adopted: true}},
			want: domain.TargetState{Target: domain.TargetConnect, Managed: true, Status: domain.RemoteDeleted, Version: 3},
			results: []consumers.OpResult{
				{Op: del, Outcome: domain.OutcomeApplied, RemoteID: "u-9", Adopted: true, Latency: time.Second},
			},
			given: []domain.TargetState{last},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := &scripted{steps: tt.steps, errs: tt.errs}
			got, results, err := consumers.Execute(context.Background(), target, domain.Person{Key: "00upat"}, last, tt.plan, ticking())
			if !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("state (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.results, results); diff != "" {
				t.Errorf("results (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.given, target.given); diff != "" {
				t.Errorf("states given to Apply (-want +got):\n%s", diff)
			}
		})
	}
}

func TestIntent(t *testing.T) {
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.FixedZone("CET", 3600))
	create := domain.Op{Target: domain.TargetWorkMail, Kind: domain.OpCreate, Name: "pat.lee"}
	register := domain.Op{Target: domain.TargetWorkMail, Kind: domain.OpRegister, Name: "pat.lee", Email: "pat.lee@example.com"}
	pinned := domain.TargetState{Target: domain.TargetWorkMail, PendingName: "pat.lee", PendingAt: at.Add(-time.Hour).UTC(), Version: 4}
	tests := []struct {
		name string
		last domain.TargetState
		plan domain.Plan
		want domain.TargetState
		ok   bool
	}{
		{"a create from nothing: the name, the time (UTC) and the target", domain.TargetState{},
			domain.Plan{Ops: []domain.Op{create, register}},
			domain.TargetState{Target: domain.TargetWorkMail, PendingName: "pat.lee", PendingAt: at.UTC()}, true},
		{"a create after a deletion keeps the rest of the state", domain.TargetState{Target: domain.TargetWorkMail, Managed: true,
			Status: domain.RemoteDeleted, Version: 7}, domain.Plan{Ops: []domain.Op{create}},
			domain.TargetState{Target: domain.TargetWorkMail, Managed: true, Status: domain.RemoteDeleted,
				PendingName: "pat.lee", PendingAt: at.UTC(), Version: 7}, true},
		{"the name already pinned: nothing to record, the first time stays", pinned,
			domain.Plan{Ops: []domain.Op{create, register}}, pinned, false},
		{"another name than the pinned one: recorded anew", pinned,
			domain.Plan{Ops: []domain.Op{{Target: domain.TargetWorkMail, Kind: domain.OpCreate, Name: "pat.smith"}}},
			domain.TargetState{Target: domain.TargetWorkMail, PendingName: "pat.smith", PendingAt: at.UTC(), Version: 4}, true},
		{"no create: nothing to record", domain.TargetState{},
			domain.Plan{Ops: []domain.Op{{Target: domain.TargetWorkMail, Kind: domain.OpDisable, RemoteID: "u-1"}}},
			domain.TargetState{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := consumers.Intent(domain.TargetWorkMail, tt.last, tt.plan, at)
			if ok != tt.ok {
				t.Errorf("ok = %v, want %v", ok, tt.ok)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("state (-want +got):\n%s", diff)
			}
		})
	}
}

// TestExecuteFollowsJobs: an op that starts or follows a job reports what
// it learned in the Export fields of the state it reaches, which Execute
// keeps (the plan's Next cannot know them); a failed op's state is kept
// only when its Step says KeepState.
func TestExecuteFollowsJobs(t *testing.T) {
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	last := domain.TargetState{Target: domain.TargetWorkMail, Managed: true, RemoteID: "wm-1", Status: domain.RemoteDisabled, DisabledAt: at, Version: 4}
	start := domain.Op{Target: domain.TargetWorkMail, Kind: domain.OpExportStart, RemoteID: "wm-1", ClientToken: "tok"}
	running := last
	running.ExportJobID, running.ExportState, running.ExportStartedAt = "job-1", domain.ExportRunning, at.Add(time.Hour)
	failed := running
	failed.ExportState, failed.ExportReason = domain.ExportFailed, "it broke"
	plan := domain.Plan{Ops: []domain.Op{start}, Next: last}

	got, res, err := consumers.Execute(context.Background(), &scripted{steps: []consumers.Step{{State: running, Note: "job job-1 started"}}}, domain.Person{}, last, plan, ticking())
	if err != nil || len(res) != 1 || res[0].Outcome != domain.OutcomeApplied {
		t.Fatalf("Execute: %v, %+v", err, res)
	}
	if !got.Equal(running) || got.Version != last.Version {
		t.Errorf("state = %+v, want the job recorded (%+v)", got, running)
	}

	broke := domain.Permanent(errors.New("export failed"))
	for _, keep := range []bool{false, true} {
		tgt := &scripted{steps: []consumers.Step{{State: failed, KeepState: keep}}, errs: []error{broke}}
		got, res, err := consumers.Execute(context.Background(), tgt, domain.Person{}, running, plan, ticking())
		if !errors.Is(err, broke) || len(res) != 1 || res[0].Outcome != domain.OutcomeFailed {
			t.Fatalf("KeepState %v: %v, %+v", keep, err, res)
		}
		want := running
		if keep {
			want = failed
		}
		if !got.Equal(want) {
			t.Errorf("KeepState %v: state %+v, want %+v", keep, got, want)
		}
	}

	// Other ops never carry Export fields over from what they reached.
	del := domain.Op{Target: domain.TargetWorkMail, Kind: domain.OpDelete, RemoteID: "wm-1"}
	gone := domain.TargetState{Target: domain.TargetWorkMail, Managed: true, Status: domain.RemoteDeleted, Version: 4}
	got, _, err = consumers.Execute(context.Background(), &scripted{steps: []consumers.Step{{State: running}}}, domain.Person{}, running,
		domain.Plan{Ops: []domain.Op{del}, Next: gone}, ticking())
	if err != nil || !got.Equal(gone) {
		t.Errorf("delete: %+v, %v; want %+v", got, err, gone)
	}
}
