package connect_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/consumers"
	"github.com/idsync/idsync/consumers/connect"
	"github.com/idsync/idsync/domain"
)

// hierarchyCall is one UpdateUserHierarchy request as it went on the wire.
type hierarchyCall struct {
	Path string
	Body map[string]string
}

// hierarchyRecorder answers UpdateUserHierarchy (POST
// /users/{InstanceId}/{UserId}/hierarchy), which the Connect stand-in does
// not serve, and passes every other request to the stand-in.
type hierarchyRecorder struct {
	next  http.Handler
	mu    sync.Mutex
	calls []hierarchyCall
}

func (h *hierarchyRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/hierarchy") {
		h.next.ServeHTTP(w, r)
		return
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c := hierarchyCall{Path: r.URL.Path, Body: map[string]string{}}
	if len(b) > 0 {
		if err := json.Unmarshal(b, &c.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
	}
	h.mu.Lock()
	h.calls = append(h.calls, c)
	h.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, "{}")
}

func (h *hierarchyRecorder) take() []hierarchyCall {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := h.calls
	h.calls = nil
	return c
}

// TestHierarchyGroupMoves: a move between groups with different hierarchy
// groups sends UpdateUserHierarchy with the winning group's id, and a move
// to a group without one sends it without an id (which clears it). The
// request is asserted on the wire; the stand-in keeps the group set at
// create.
func TestHierarchyGroupMoves(t *testing.T) {
	rec := &hierarchyRecorder{}
	e := newEnv(t, withHandler(func(h http.Handler) http.Handler { rec.next = h; return rec }))
	a := e.applier(t, e.config(t, "config-hierarchy.json"), connect.Options{})
	ctx := context.Background()

	p := member(jane(t), supervisors, true, 1)
	st, _, err := e.sync(ctx, a, p, domain.TargetState{}, 2)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := e.user(t, p.Key)
	if u.HierarchyGroupID != e.ids["HG_SUPERVISORS"] {
		t.Fatalf("created with hierarchy group %q, want %q", u.HierarchyGroupID, e.ids["HG_SUPERVISORS"])
	}
	if calls := rec.take(); len(calls) != 0 {
		t.Fatalf("create sent UpdateUserHierarchy: %v", calls)
	}
	path := "/users/" + e.instance + "/" + st.RemoteID + "/hierarchy"

	steps := []struct {
		name   string
		change func(p domain.Person) domain.Person
		ops    []domain.OpKind
		want   []hierarchyCall
		group  string
	}{
		{"to agents clears the group", func(p domain.Person) domain.Person {
			return member(member(p, supervisors, false, 2), agents, true, 2)
		}, []domain.OpKind{domain.OpUpdateSecurityProfiles, domain.OpUpdateRoutingProfile, domain.OpUpdateHierarchyGroup},
			[]hierarchyCall{{Path: path, Body: map[string]string{}}}, ""},
		{"back to supervisors sets it", func(p domain.Person) domain.Person {
			return member(p, supervisors, true, 3)
		}, []domain.OpKind{domain.OpUpdateSecurityProfiles, domain.OpUpdateRoutingProfile, domain.OpUpdateHierarchyGroup},
			[]hierarchyCall{{Path: path, Body: map[string]string{"HierarchyGroupId": e.ids["HG_SUPERVISORS"]}}}, e.ids["HG_SUPERVISORS"]},
	}
	for _, s := range steps {
		p = s.change(p)
		plan, err := a.Plan(ctx, p, st, e.now)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(s.ops, kinds(plan)); diff != "" {
			t.Fatalf("%s: ops (-want +got):\n%s", s.name, diff)
		}
		next, rs, err := consumers.Execute(ctx, a, p, st, plan, nil)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if rs[2].Outcome != domain.OutcomeApplied {
			t.Errorf("%s: hierarchy op %s", s.name, rs[2].Outcome)
		}
		if diff := cmp.Diff(s.want, rec.take()); diff != "" {
			t.Errorf("%s: UpdateUserHierarchy requests (-want +got):\n%s", s.name, diff)
		}
		if next.HierarchyGroupID != s.group {
			t.Errorf("%s: state hierarchy group %q, want %q", s.name, next.HierarchyGroupID, s.group)
		}
		st = next
	}
}
