package simidentitystore_test

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/identitystore"
	"github.com/aws/aws-sdk-go-v2/service/identitystore/types"

	"github.com/idsync/idsync/internal/sim/simidentitystore"
	"github.com/idsync/idsync/internal/sim/simkit"
)

// burst sends n requests alternating between ListUsers and ListGroups and
// returns how many passed and the throttling errors.
func burst(t *testing.T, e *env, n int) (int, []error) {
	t.Helper()
	ctx := context.Background()
	passed := 0
	var throttled []error
	for i := range n {
		var err error
		if i%2 == 0 {
			_, err = e.client.ListUsers(ctx, &identitystore.ListUsersInput{IdentityStoreId: aws.String(e.storeID)})
		} else {
			_, err = e.client.ListGroups(ctx, &identitystore.ListGroupsInput{IdentityStoreId: aws.String(e.storeID)})
		}
		var te *types.ThrottlingException
		switch {
		case err == nil:
			passed++
		case errors.As(err, &te):
			throttled = append(throttled, err)
		default:
			t.Fatalf("request %d: %v", i, err)
		}
	}
	return passed, throttled
}

func TestCollectiveQuotaThrottlesAcrossOperations(t *testing.T) {
	frozen := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) // no refill during the burst
	e := newEnv(t, simidentitystore.Options{Clock: func() time.Time { return frozen }, RetryAfterSeconds: 3})

	passed, throttled := burst(t, e, 30)
	if passed != 20 || len(throttled) != 10 {
		t.Fatalf("passed %d, throttled %d; want 20 and 10 (collective 20/s)", passed, len(throttled))
	}
	for _, err := range throttled {
		var te *types.ThrottlingException
		errors.As(err, &te)
		if te.RetryAfterSeconds != 3 {
			t.Fatalf("RetryAfterSeconds = %d, want 3", te.RetryAfterSeconds)
		}
		if got := retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err); got != aws.TrueTernary {
			t.Fatalf("SDK retryer does not classify %v as throttling (%v)", err, got)
		}
	}
	c := e.srv.Control().Counters()
	if c["ListUsers"].Throttled+c["ListGroups"].Throttled != 10 || c["ListUsers"].Throttled == 0 || c["ListGroups"].Throttled == 0 {
		t.Fatalf("counters = %+v", c)
	}

	// The raw answer: 429 with the Retry-After header bound to RetryAfterSeconds.
	req, _ := http.NewRequest(http.MethodPost, e.url, strings.NewReader(`{"IdentityStoreId":"`+e.storeID+`"}`))
	req.Header.Set("X-Amz-Target", "AWSIdentityStore.ListUsers")
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "3" {
		t.Fatalf("status %d, Retry-After %q; want 429 and 3", resp.StatusCode, resp.Header.Get("Retry-After"))
	}

	// Switched off at run time, nothing is throttled.
	e.srv.Control().SetQuota(simkit.Collective, simkit.Quota{})
	if passed, throttled := burst(t, e, 30); passed != 30 || len(throttled) != 0 {
		t.Fatalf("quota off: passed %d, throttled %d", passed, len(throttled))
	}
}

func TestQuotaOptions(t *testing.T) {
	frozen := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return frozen }
	tests := []struct {
		name       string
		opts       simidentitystore.Options
		wantPassed int
	}{
		{"AWS default", simidentitystore.Options{Clock: clock}, 20},
		{"custom", simidentitystore.Options{Clock: clock, Quota: simkit.Quota{Rate: 5, Burst: 5}}, 5},
		{"off", simidentitystore.Options{Clock: clock, NoQuota: true}, 40},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.opts)
			if passed, _ := burst(t, e, 40); passed != tc.wantPassed {
				t.Fatalf("passed %d, want %d", passed, tc.wantPassed)
			}
		})
	}
}

func TestServerErrorRateIsHonoured(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, simidentitystore.Options{NoQuota: true, Seed: 11})
	const n, rate = 2000, 0.1
	e.srv.Control().SetFaults(simkit.EachOp, simkit.Faults{ServerErrorRate: rate})
	failed := 0
	for range n {
		_, err := e.client.ListGroups(ctx, &identitystore.ListGroupsInput{IdentityStoreId: aws.String(e.storeID)})
		var ise *types.InternalServerException
		switch {
		case err == nil:
		case errors.As(err, &ise):
			failed++
		default:
			t.Fatalf("unexpected error %v", err)
		}
	}
	got := float64(failed) / n
	sigma := math.Sqrt(rate * (1 - rate) / n)
	if math.Abs(got-rate) > 4*sigma {
		t.Fatalf("5xx rate %.3f, want %.2f ± %.3f", got, rate, 4*sigma)
	}
	if c := e.srv.Control().Counters()["ListGroups"]; c.ServerError != int64(failed) || c.Requests != n {
		t.Fatalf("counters = %+v, want %d server errors of %d", c, failed, n)
	}
}
