package simkit_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/idsync/idsync/internal/sim/simkit"
)

func TestScreenHandsEveryFaultButPassToReject(t *testing.T) {
	tests := []struct {
		name   string
		faults simkit.Faults
		serve  bool
		reject []simkit.Decision
	}{
		{"pass", simkit.Faults{}, true, nil},
		{"server error", simkit.Faults{ServerErrorRate: 1}, false, []simkit.Decision{simkit.ServerError}},
		{"throttle", simkit.Faults{ThrottleRate: 1}, false, []simkit.Decision{simkit.Throttle}},
		// A ResponseRecorder cannot be hijacked, so the drop is answered.
		{"drop without hijacker", simkit.Faults{DropRate: 1}, false, []simkit.Decision{simkit.Drop}},
	}
	for _, tc := range tests {
		c := simkit.NewControl(simkit.Options{Seed: 1})
		c.SetFaults("Op", tc.faults)
		var got []simkit.Decision
		rec := httptest.NewRecorder()
		serve := c.Screen(rec, httptest.NewRequest(http.MethodPost, "/", nil), "Op", func(d simkit.Decision) { got = append(got, d) })
		if serve != tc.serve || len(got) != len(tc.reject) || (len(got) == 1 && got[0] != tc.reject[0]) {
			t.Errorf("%s: serve %v, reject %v; want %v, %v", tc.name, serve, got, tc.serve, tc.reject)
		}
	}
}

func TestScreenDropsTheConnectionWhenItCan(t *testing.T) {
	c := simkit.NewControl(simkit.Options{Seed: 1})
	c.SetFaults(simkit.EachOp, simkit.Faults{DropRate: 1})
	rejected := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c.Screen(w, r, "Op", func(simkit.Decision) { rejected = true }) {
			w.WriteHeader(http.StatusOK)
		}
	}))
	resp, err := srv.Client().Post(srv.URL, "text/plain", nil)
	if err == nil {
		_ = resp.Body.Close()
		srv.Close()
		t.Fatalf("dropped request answered %d", resp.StatusCode)
	}
	srv.Close() // waits for the handler
	if rejected {
		t.Fatal("reject called for a dropped connection")
	}
	if got := c.Counters()["Op"]; got.Dropped != 1 {
		t.Fatalf("counters %+v, want one drop", got)
	}
}
