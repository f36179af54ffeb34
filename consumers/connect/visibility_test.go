package connect_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idsync/idsync/consumers"
	"github.com/idsync/idsync/consumers/connect"
	"github.com/idsync/idsync/domain"
)

// notVisible answers ResourceNotFoundException (404, as Connect's
// restJson1 protocol does) to every request naming one of its hidden user
// ids: DescribeUser, the UpdateUser* calls and DeleteUser. Connect's
// eventual-consistency page says DescribeUser right after CreateUser may
// answer so; the stand-in does not model it.
type notVisible struct {
	mu     sync.Mutex
	hidden map[string]bool
}

func (n *notVisible) hide(id string, on bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.hidden[id] = on
}

func (n *notVisible) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.mu.Lock()
		hide := false
		for id, on := range n.hidden {
			hide = hide || (on && strings.HasPrefix(r.URL.Path, "/users/") && strings.Contains(r.URL.Path, "/"+id))
		}
		n.mu.Unlock()
		if !hide {
			next.ServeHTTP(w, r)
			return
		}
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Amzn-ErrorType", "ResourceNotFoundException")
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"Message":"User not found"}`)
	})
}

// agentJustCreated is an environment whose Connect answers not found about
// the agents nv hides, with Jane's agent just created by applier a (of
// config cfg) and st its state.
func agentJustCreated(t *testing.T) (*env, *notVisible, domain.ConnectConfig, *connect.Applier, domain.Person, domain.TargetState) {
	t.Helper()
	nv := &notVisible{hidden: map[string]bool{}}
	e := newEnv(t, withHandler(nv.wrap))
	cfg := e.config(t, "config-delete.json")
	a := e.applier(t, cfg, connect.Options{})
	p := member(jane(t), agents, true, 1)
	st, _, err := e.sync(context.Background(), a, p, domain.TargetState{}, 2)
	if err != nil {
		t.Fatal(err)
	}
	return e, nv, cfg, a, p, st
}

// TestNotFoundRightAfterCreate: right after the Applier's own CreateUser,
// Connect may answer ResourceNotFoundException about the new agent. Within
// the visibility window that is retryable (ErrNotVisibleYet), never the
// permanent ErrAccountMissing, and a delete does not take it for "already
// gone"; once the agent shows, the retry succeeds. After the window, or for
// an agent another process created, the answer means the agent is gone.
func TestNotFoundRightAfterCreate(t *testing.T) {
	tests := []struct {
		name string
		// next is the fact after the join; its plan's first op meets the
		// not-found answer.
		next      func(p domain.Person) domain.Person
		wantOp    domain.OpKind
		later     time.Duration // how long after the create the next plan runs
		otherProc bool          // the next plan runs in another Applier (process)
		wantErr   error         // nil: ErrNotVisibleYet, then success once visible
	}{
		{name: "profile change: update-identity", wantOp: domain.OpUpdateIdentity,
			next: func(p domain.Person) domain.Person { p.LastName.Value = "Roe"; return p }},
		{name: "move: update-security-profiles", wantOp: domain.OpUpdateSecurityProfiles,
			next: func(p domain.Person) domain.Person { return member(p, supervisors, true, 2) }},
		{name: "leave: delete", wantOp: domain.OpDelete,
			next: func(p domain.Person) domain.Person { return member(p, agents, false, 2) }},
		{name: "profile change after the window: the agent is missing", wantOp: domain.OpUpdateIdentity,
			later: connect.DefaultVisibilityWindow, wantErr: connect.ErrAccountMissing,
			next: func(p domain.Person) domain.Person { p.LastName.Value = "Roe"; return p }},
		{name: "profile change in another process: the agent is missing", wantOp: domain.OpUpdateIdentity,
			otherProc: true, wantErr: connect.ErrAccountMissing,
			next: func(p domain.Person) domain.Person { p.LastName.Value = "Roe"; return p }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			e, nv, cfg, a, p, st := agentJustCreated(t)
			nv.hide(st.RemoteID, true)
			e.clock.advance(tt.later)
			if tt.otherProc {
				a = e.applier(t, cfg, connect.Options{})
			}

			p = tt.next(p)
			plan, err := a.Plan(ctx, p, st, e.now)
			if err != nil || len(plan.Ops) == 0 || plan.Ops[0].Kind != tt.wantOp {
				t.Fatalf("plan %v, %v; want %s first", kinds(plan), err, tt.wantOp)
			}
			got, rs, err := consumers.Execute(ctx, a, p, st, plan, nil)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || domain.KindOf(err) != domain.ErrorPermanent {
					t.Fatalf("err = %v (%s), want permanent %v", err, domain.KindOf(err), tt.wantErr)
				}
				return
			}
			if !errors.Is(err, connect.ErrNotVisibleYet) || domain.KindOf(err) != domain.ErrorRetryable ||
				errors.Is(err, connect.ErrAccountMissing) || !strings.Contains(err.Error(), st.RemoteID) {
				t.Fatalf("err = %v (%s), want retryable ErrNotVisibleYet naming %s", err, domain.KindOf(err), st.RemoteID)
			}
			if !got.Equal(st) || len(rs) != 1 || rs[0].Outcome != domain.OutcomeFailed {
				t.Fatalf("state %+v, results %+v; want the state kept and one failure", got, rs)
			}

			nv.hide(st.RemoteID, false)
			final, _, err := e.sync(ctx, a, p, st, 2)
			if err != nil {
				t.Fatalf("retry once visible: %v", err)
			}
			if tt.wantOp == domain.OpDelete {
				if _, ok := e.user(t, p.Key); ok || final.Status != domain.RemoteDeleted {
					t.Errorf("state %+v; want the agent deleted", final)
				}
				return
			}
			if u, ok := e.user(t, p.Key); !ok || u.ID != st.RemoteID || final.RemoteID != st.RemoteID {
				t.Errorf("agent %+v, state %+v; want %s updated", u, final, st.RemoteID)
			}
		})
	}
}

// TestDeleteWhoseAnswerWasLost: a delete of an agent this Applier created
// moments ago lands, but its outcome is not recorded (the answer was lost,
// or the consumer died before its commit), so the same delete runs again
// and Connect answers ResourceNotFoundException. That retry is "already
// gone", not ErrNotVisibleYet until the visibility window ends: a not-found
// answer means "not visible yet" only until a delete may have landed.
func TestDeleteWhoseAnswerWasLost(t *testing.T) {
	tests := []struct {
		name      string
		firstLost bool // the first delete was carried out (else: refused as not found)
		wantErr   error
	}{
		{name: "first delete carried out, its outcome lost", firstLost: true},
		{name: "first delete answered not found (not visible yet)", wantErr: connect.ErrNotVisibleYet},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			e, nv, _, a, p, st := agentJustCreated(t)
			p = member(p, agents, false, 2)
			plan, err := a.Plan(ctx, p, st, e.now)
			if err != nil || len(plan.Ops) != 1 || plan.Ops[0].Kind != domain.OpDelete {
				t.Fatalf("plan %v, %v; want one delete", kinds(plan), err)
			}
			if !tt.firstLost {
				nv.hide(st.RemoteID, true)
			}
			first, _, err := consumers.Execute(ctx, a, p, st, plan, nil)
			if tt.firstLost && (err != nil || first.Status != domain.RemoteDeleted) {
				t.Fatalf("first delete: state %+v, %v", first, err)
			}
			if _, ok := e.user(t, p.Key); ok != !tt.firstLost {
				t.Fatalf("agent exists %v after the first delete, want %v", ok, !tt.firstLost)
			}
			// The first outcome is not recorded: the retry starts from st,
			// and Connect answers not found either way.
			nv.hide(st.RemoteID, true)
			got, rs, err := consumers.Execute(ctx, a, p, st, plan, nil)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || domain.KindOf(err) != domain.ErrorRetryable {
					t.Fatalf("retry: %v (%s), want retryable %v", err, domain.KindOf(err), tt.wantErr)
				}
				return
			}
			if err != nil || got.Status != domain.RemoteDeleted || len(rs) != 1 || rs[0].Reason != "already gone" {
				t.Fatalf("retry: state %+v, results %+v, %v; want deleted, \"already gone\"", got, rs, err)
			}
		})
	}
}

// TestLeaversIntentIsClearedOnlyAfterTheWindow: the adopt that settles a
// leaver's create intent finds no agent. While the intent is younger than
// the visibility window the search index may not show the agent a lost
// create made, so the answer is ErrNotVisibleYet (retryable) and nothing is
// written; after it, the intent is cleared and nothing is created.
func TestLeaversIntentIsClearedOnlyAfterTheWindow(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	a := e.applier(t, e.config(t, "config-delete.json"), connect.Options{})
	p := member(person(t, 41), agents, false, 2)
	intent := domain.TargetState{Target: domain.TargetConnect, PendingName: p.Login.Value, PendingAt: e.clock.Now(), Version: 4}
	plan, err := a.Plan(ctx, p, intent, e.now)
	if err != nil || len(plan.Ops) != 1 || plan.Ops[0].Kind != domain.OpAdopt {
		t.Fatalf("plan %v, %v; want one adopt", kinds(plan), err)
	}
	writes := e.writes()
	_, _, err = consumers.Execute(ctx, a, p, intent, plan, nil)
	if !errors.Is(err, connect.ErrNotVisibleYet) || domain.KindOf(err) != domain.ErrorRetryable {
		t.Fatalf("adopt within the window: %v, want retryable ErrNotVisibleYet", err)
	}
	e.clock.advance(connect.DefaultVisibilityWindow)
	state, results, err := consumers.Execute(ctx, a, p, intent, plan, nil)
	if err != nil || state.PendingName != "" || state.Managed || state.Version != 4 || len(results) != 1 || results[0].Adopted {
		t.Fatalf("adopt after the window: state %+v, results %+v, %v; want the intent cleared", state, results, err)
	}
	if n := e.writes() - writes; n != 0 || len(e.sim.Users(e.instance)) != 0 {
		t.Errorf("%d writes, %d users; want none", n, len(e.sim.Users(e.instance)))
	}
}
