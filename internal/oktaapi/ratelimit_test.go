package oktaapi_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/oktaapi"
	"github.com/idsync/idsync/internal/sim/simkit"
	"github.com/idsync/idsync/internal/sim/simokta"
)

// untilReset is the wait the stand-in's headers ask for at startTime():
// the window resets at the next minute, 30 s later, plus the second Okta's
// SDKs add for the truncation to seconds.
const untilReset = 31 * time.Second

// Once Okta reports no requests left in the window, the client holds the
// next request back until the window resets instead of spending it on a
// 429.
func TestRemainingZeroHoldsBack(t *testing.T) {
	o := newOrg(t, simokta.Options{})
	id := o.User(person())
	o.srv.SetRateLimit("GetUser", 2)
	c := o.Client(o.sswsSecret(), nil)
	for range 3 {
		if _, err := c.GetUser(context.Background(), id); err != nil {
			t.Fatal(err)
		}
	}
	if got := statuses(o.Calls("/api/v1/users/")); !slices.Equal(got, []int{200, 200, 200}) {
		t.Errorf("statuses %v, want three 200s and no 429", got)
	}
	if got := o.clock.Sleeps(); !slices.Equal(got, []time.Duration{untilReset}) {
		t.Errorf("waits %v, want [%v]", got, untilReset)
	}
	if !strings.Contains(c.log.String(), "holding back") {
		t.Errorf("log does not say the client held back:\n%s", c.log)
	}
}

// A 429 (another instance used the window up) is retried once the window
// resets, with Okta's retry headers.
func TestTooManyRequestsRetriedAfterReset(t *testing.T) {
	o := newOrg(t, simokta.Options{})
	id := o.User(person())
	o.srv.SetRateLimit("GetUser", 2)
	other := o.Client(o.sswsSecret(), nil)
	for range 2 {
		if _, err := other.GetUser(context.Background(), id); err != nil {
			t.Fatal(err)
		}
	}
	c := o.Client(o.sswsSecret(), nil)
	u, err := c.GetUser(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	wantUser(t, u, id, startTime())
	calls := o.Calls("/api/v1/users/")[2:]
	if got := statuses(calls); !slices.Equal(got, []int{http.StatusTooManyRequests, http.StatusOK}) {
		t.Fatalf("statuses %v, want [429 200]", got)
	}
	if got := o.clock.Sleeps(); !slices.Equal(got, []time.Duration{untilReset}) {
		t.Errorf("waits %v, want [%v]", got, untilReset)
	}
	if calls[1].Header.Get("X-Okta-Retry-Count") != "1" || calls[1].Header.Get("X-Okta-Retry-For") == "" {
		t.Errorf("retry headers %v", calls[1].Header)
	}
}

// A reset beyond the context's deadline is not waited for: the call fails
// at once, retryable, so that the message returns to the queue.
func TestResetBeyondDeadlineFailsAtOnce(t *testing.T) {
	o := newOrg(t, simokta.Options{})
	id := o.User(person())
	o.srv.SetRateLimit("GetUser", 1)
	if _, err := o.Client(o.sswsSecret(), nil).GetUser(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	c := o.Client(o.sswsSecret(), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := c.GetUser(ctx, id)
	oe := wantKind(t, err, oktaapi.ErrRateLimited, domain.ErrorRetryable, "E0000047")
	if oe.Status != http.StatusTooManyRequests || !strings.Contains(err.Error(), "deadline") {
		t.Errorf("error = %v", err)
	}
	if got := o.clock.Sleeps(); len(got) != 0 {
		t.Errorf("waited %v", got)
	}
	if n := len(o.Calls("/api/v1/users/")); n != 2 {
		t.Errorf("%d calls, want 2", n)
	}

	t.Run("held back", func(t *testing.T) { // the same client now knows the window is used up
		_, err := c.GetUser(ctx, id)
		wantKind(t, err, oktaapi.ErrRateLimited, domain.ErrorRetryable, "")
		if n := len(o.Calls("/api/v1/users/")); n != 2 {
			t.Errorf("%d calls, want no new one", n)
		}
	})
	t.Run("longer than MaxWait", func(t *testing.T) {
		c := o.Client(o.sswsSecret(), func(op *oktaapi.Options) { op.MaxWait = 10 * time.Second })
		_, err := c.GetUser(context.Background(), id)
		wantKind(t, err, oktaapi.ErrRateLimited, domain.ErrorRetryable, "E0000047")
	})
}

func TestTooManyRequestsUntilRetriesRunOut(t *testing.T) {
	o := newOrg(t, simokta.Options{})
	id := o.User(person())
	o.srv.Control().SetFaults("GetUser", simkit.Faults{ThrottleRate: 1})
	c := o.Client(o.sswsSecret(), func(op *oktaapi.Options) { op.MaxRetries = 2 })
	_, err := c.GetUser(context.Background(), id)
	wantKind(t, err, oktaapi.ErrRateLimited, domain.ErrorRetryable, "E0000047")
	if got := statuses(o.Calls("/api/v1/users/")); !slices.Equal(got, []int{429, 429, 429}) {
		t.Errorf("statuses %v, want three 429s", got)
	}
	if got := o.clock.Sleeps(); len(got) != 2 {
		t.Errorf("waits %v, want two", got)
	}
}

// The client-side limiter spaces requests out before Okta has to.
func TestClientSideLimiter(t *testing.T) {
	o := newOrg(t, simokta.Options{})
	id := o.User(person())
	c := o.Client(o.sswsSecret(), func(op *oktaapi.Options) { op.Rate, op.Burst = 2, 1 })
	for range 3 {
		if _, err := c.GetUser(context.Background(), id); err != nil {
			t.Fatal(err)
		}
	}
	want := []time.Duration{500 * time.Millisecond, 500 * time.Millisecond}
	if got := o.clock.Sleeps(); !slices.Equal(got, want) {
		t.Errorf("waits %v, want %v", got, want)
	}
}

// A service app's calls count against its share of the limit (50 %), which
// its answers report.
func TestServiceAppShare(t *testing.T) {
	o := newOrg(t, simokta.Options{})
	id := o.User(person())
	o.srv.SetRateLimit("GetUser", 4)
	key := newEC(t)
	c := o.Client(o.jwkSecret(t, o.ReadApp(key, "k"), "k", key), nil)
	for range 3 {
		if _, err := c.GetUser(context.Background(), id); err != nil {
			t.Fatal(err)
		}
	}
	if got := statuses(o.Calls("/api/v1/users/")); !slices.Equal(got, []int{200, 200, 200}) {
		t.Errorf("statuses %v", got)
	}
	if got := o.clock.Sleeps(); !slices.Equal(got, []time.Duration{untilReset}) {
		t.Errorf("waits %v, want one until the reset", got)
	}
}
