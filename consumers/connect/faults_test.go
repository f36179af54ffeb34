package connect_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/idsync/idsync/consumers/connect"
	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/awsclient"
	"github.com/idsync/idsync/internal/sim/simconnect"
	"github.com/idsync/idsync/internal/sim/simkit"
)

// TestFaultsConverge: with 20% throttling and 5% server errors on every
// operation, people joining, moving, leaving and rejoining concurrently
// still end exactly where the configuration says, with one agent each.
func TestFaultsConverge(t *testing.T) {
	const people = 8
	e := newEnv(t)
	e.sim.Control().Reseed(42)
	e.sim.Control().SetFaults(simkit.EachOp, simkit.Faults{ThrottleRate: 0.2, ServerErrorRate: 0.05})
	a := e.applier(t, e.config(t, "config-delete.json"), connect.Options{})

	// Each person's journey; the last step decides the end state.
	journeys := map[int][]func(p domain.Person) domain.Person{}
	for i := range people {
		steps := []func(p domain.Person) domain.Person{
			func(p domain.Person) domain.Person { return member(p, agents, true, 1) },
			func(p domain.Person) domain.Person {
				p.LastName.Value = "Moved"
				return member(p, supervisors, true, 2)
			},
		}
		switch i % 3 {
		case 1: // leaves
			steps = append(steps, func(p domain.Person) domain.Person {
				return member(member(p, supervisors, false, 3), agents, false, 4)
			})
		case 2: // leaves and rejoins as an agent
			steps = append(steps,
				func(p domain.Person) domain.Person { return member(member(p, supervisors, false, 3), agents, false, 4) },
				func(p domain.Person) domain.Person { return member(p, agents, true, 5) })
		}
		journeys[i] = steps
	}

	type end struct {
		p  domain.Person
		st domain.TargetState
	}
	ends := make([]end, people)
	errs := make([]error, people)
	start := make([]domain.Person, people)
	for i := range people {
		start[i] = person(t, i)
	}
	var wg sync.WaitGroup
	for i := range people {
		wg.Go(func() {
			ctx := context.Background()
			p := start[i]
			var st domain.TargetState
			for n, change := range journeys[i] {
				p = change(p)
				var err error
				st, _, err = e.sync(ctx, a, p, st, 30)
				if err != nil {
					errs[i] = fmt.Errorf("person %d step %d: %w", i, n, err)
					return
				}
			}
			ends[i] = end{p, st}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}

	agentsLeft := 0
	for i, end := range ends {
		p, st := end.p, end.st
		if i%3 != 1 {
			agentsLeft++
		}
		switch i % 3 {
		case 0:
			e.checkAgent(t, p.Key, st, &agentWant{p.Login.Value, p.FirstName.Value, "Moved", p.Email.Value,
				[]string{"SP_AGENT", "SP_SUPERVISOR"}, "RP_PRIORITY", "HG_EMEA"})
		case 1:
			e.checkAgent(t, p.Key, st, nil)
			if st.Status != domain.RemoteDeleted {
				t.Errorf("person %d: status %q, want deleted", i, st.Status)
			}
		case 2:
			e.checkAgent(t, p.Key, st, &agentWant{p.Login.Value, p.FirstName.Value, "Moved", p.Email.Value,
				[]string{"SP_AGENT"}, "RP_SUPPORT", "HG_EMEA"})
		}
	}
	if n, want := len(e.sim.Users(e.instance)), agentsLeft; n != want {
		t.Errorf("%d users, want %d", n, want)
	}
	var throttled, serverErrors int64
	for _, c := range e.sim.Control().Counters() {
		throttled += c.Throttled
		serverErrors += c.ServerError
	}
	if throttled == 0 || serverErrors == 0 {
		t.Errorf("throttled %d, server errors %d: the faults were not injected", throttled, serverErrors)
	}
}

// TestClientRateLimit: against a stand-in that enforces a quota per
// operation, a client whose meter budgets each operation a little under
// the quota is never throttled; one without a meter is (and the SDK's
// retries still get it through). The margin absorbs request-timing jitter:
// a bucket exactly the quota's size can run a few milliseconds ahead of
// the server's and see the odd throttle, which the SDK's retryer then
// absorbs.
func TestClientRateLimit(t *testing.T) {
	const people = 8 // more creates than the burst
	quota := simkit.Quota{Rate: 20, Burst: 5}
	tests := []struct {
		name          string
		meter         *awsclient.Meter
		wantThrottled bool
	}{
		{"per-operation meter under the quota", awsclient.NewMeter(awsclient.MeterOptions{
			Quota: awsclient.Quota{Rate: 16, Burst: 4, PerOperation: true}}), false},
		{"no meter", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := []envOption{withSim(simconnect.Options{Quota: quota, Seed: 7, Clock: time.Now})}
			if tt.meter != nil {
				opts = append(opts, withAPIOptions(tt.meter.Install))
			}
			e := newEnv(t, opts...)
			a := e.applier(t, e.config(t, "config-delete.json"), connect.Options{})
			ctx := context.Background()
			for i := range people {
				p := member(person(t, i), agents, true, 1)
				if _, _, err := e.sync(ctx, a, p, domain.TargetState{}, 2); err != nil {
					t.Fatalf("person %d: %v", i, err)
				}
			}
			if n := len(e.sim.Users(e.instance)); n != people {
				t.Fatalf("%d users, want %d", n, people)
			}
			// Every create is preceded by a SearchUsers for the ownership
			// tag; each operation has its own quota and bucket.
			var throttled int64
			for _, c := range e.sim.Control().Counters() {
				throttled += c.Throttled
			}
			if (throttled > 0) != tt.wantThrottled {
				t.Errorf("requests throttled %d times, want throttling %v", throttled, tt.wantThrottled)
			}
			if tt.meter != nil {
				got := tt.meter.ByOperation()
				if got["CreateUser"].Calls != people || got["SearchUsers"].Calls != people || tt.meter.Total().Throttled != 0 {
					t.Errorf("meter counts %+v, want %d CreateUser and SearchUsers calls, none throttled", got, people)
				}
			}
		})
	}
}

// TestDefaultQuotaIsPerOperation: Connect budgets its user APIs per
// operation, and so does the default meter.
func TestDefaultQuotaIsPerOperation(t *testing.T) {
	want := awsclient.Quota{Rate: 2, Burst: 5, PerOperation: true}
	if got := connect.DefaultQuota(); got != want {
		t.Errorf("DefaultQuota() = %+v, want %+v", got, want)
	}
}
