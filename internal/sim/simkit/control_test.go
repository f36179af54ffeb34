package simkit_test

import (
	"math"
	"testing"
	"time"

	"github.com/idsync/idsync/internal/sim/simkit"
)

func TestQuotaBurstThenRate(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := simkit.NewControl(simkit.Options{PerOp: simkit.Quota{Rate: 2, Burst: 5}, Clock: func() time.Time { return now }})
	passed := 0
	for range 10 {
		if d, _ := c.Admit("CreateUser"); d == simkit.Pass {
			passed++
		}
	}
	if passed != 5 {
		t.Fatalf("burst: %d passed, want 5", passed)
	}
	// Another operation has its own bucket.
	if d, _ := c.Admit("DescribeUser"); d != simkit.Pass {
		t.Fatalf("other op throttled: %v", d)
	}
	now = now.Add(time.Second)
	passed = 0
	for range 10 {
		if d, _ := c.Admit("CreateUser"); d == simkit.Pass {
			passed++
		}
	}
	if passed != 2 {
		t.Fatalf("after 1s: %d passed, want 2", passed)
	}
	if got := c.Counters()["CreateUser"]; got.Requests != 20 || got.Throttled != 13 {
		t.Fatalf("counters = %+v", got)
	}
}

func TestCollectiveQuotaSharedAcrossOps(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := simkit.NewControl(simkit.Options{Collective: simkit.Quota{Rate: 20, Burst: 20}, Clock: func() time.Time { return now }})
	passed := 0
	for i := range 40 {
		op := []string{"ListUsers", "DescribeUser"}[i%2]
		if d, _ := c.Admit(op); d == simkit.Pass {
			passed++
		}
	}
	if passed != 20 {
		t.Fatalf("%d passed, want 20", passed)
	}
}

func TestFaultRatesAreHonoured(t *testing.T) {
	c := simkit.NewControl(simkit.Options{Seed: 7})
	c.SetFaults(simkit.EachOp, simkit.Faults{ThrottleRate: 0.2, ServerErrorRate: 0.05})
	const n = 20000
	counts := map[simkit.Decision]int{}
	for range n {
		d, _ := c.Admit("ListUsers")
		counts[d]++
	}
	// Server errors are drawn first at 5%; throttles at 20% of the rest.
	check := func(name string, got int, want float64) {
		if math.Abs(float64(got)/n-want) > 0.01 {
			t.Errorf("%s rate = %.4f, want %.4f±0.01", name, float64(got)/n, want)
		}
	}
	check("5xx", counts[simkit.ServerError], 0.05)
	check("throttle", counts[simkit.Throttle], 0.95*0.2)
	if counts[simkit.Drop] != 0 {
		t.Errorf("drops = %d, want 0", counts[simkit.Drop])
	}
}
