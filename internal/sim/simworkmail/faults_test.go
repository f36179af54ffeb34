package simworkmail_test

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/workmail"
	"github.com/aws/smithy-go"

	"github.com/idsync/idsync/internal/sim/simkit"
	"github.com/idsync/idsync/internal/sim/simworkmail"
)

func describeOrg(f *fixture) error {
	_, err := f.client.DescribeOrganization(context.Background(), &workmail.DescribeOrganizationInput{OrganizationId: aws.String(f.org)})
	return err
}

// TestServerErrorsAreRetried: injected 5xx answers show up in the counters
// and the SDK retries them until the call succeeds.
func TestServerErrorsAreRetried(t *testing.T) {
	f := setup(t, simworkmail.Options{Seed: 11}, 20)
	f.sim.Control().SetFaults(simkit.EachOp, simkit.Faults{ServerErrorRate: 0.3})
	const calls = 50
	for i := range calls {
		if err := describeOrg(f); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	c := f.sim.Control().Counters()["DescribeOrganization"]
	if c.ServerError == 0 {
		t.Fatal("no server errors injected at rate 0.3")
	}
	if c.Requests != calls+c.ServerError {
		t.Fatalf("requests %d, want %d calls + %d retried 5xx", c.Requests, calls, c.ServerError)
	}
}

// TestServerErrorSurfacesAfterMaxAttempts: a persistent 500 is retried
// MaxAttempts times and then surfaces as the InternalServerException
// answer with HTTP status 500.
func TestServerErrorSurfacesAfterMaxAttempts(t *testing.T) {
	f := setup(t, simworkmail.Options{}, 3)
	f.sim.Control().SetFaults("DescribeOrganization", simkit.Faults{ServerErrorRate: 1})
	err := describeOrg(f)
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusInternalServerError {
		t.Fatalf("error %v, want an HTTP 500 response error", err)
	}
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "InternalServerException" {
		t.Fatalf("error %v, want code InternalServerException", err)
	}
	if got := f.sim.Control().Counters()["DescribeOrganization"]; got.Requests != 3 || got.ServerError != 3 {
		t.Fatalf("counters %+v, want 3 requests, 3 server errors", got)
	}
}

// TestThrottlingIsAThrottleToTheSDK: a request over the quota answers
// ThrottlingException, which the SDK's retryer classifies as a throttle and
// retries; with the clock standing still every retry is throttled too.
func TestThrottlingIsAThrottleToTheSDK(t *testing.T) {
	f := setup(t, simworkmail.Options{Quota: simkit.Quota{Rate: 1, Burst: 2}}, 3)
	for range 2 {
		if err := describeOrg(f); err != nil {
			t.Fatalf("within burst: %v", err)
		}
	}
	err := describeOrg(f)
	if err == nil {
		t.Fatal("third call within the same instant was not throttled")
	}
	if retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err) != aws.TrueTernary {
		t.Fatalf("SDK does not see %v as a throttle", err)
	}
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "ThrottlingException" {
		t.Fatalf("error %v, want ThrottlingException", err)
	}
	if got := f.sim.Control().Counters()["DescribeOrganization"]; got.Requests != 5 || got.Throttled != 3 {
		t.Fatalf("counters %+v, want 5 requests (2 + 3 attempts), 3 throttled", got)
	}
	// Another operation has its own bucket; time refills this one.
	if _, err := f.client.ListOrganizations(context.Background(), &workmail.ListOrganizationsInput{}); err != nil {
		t.Fatalf("other operation: %v", err)
	}
	f.clock.Advance(1e9)
	if err := describeOrg(f); err != nil {
		t.Fatalf("after a second: %v", err)
	}
}

// TestInjectedThrottlesAreRetried: injected throttles are retried by the SDK
// until they pass.
func TestInjectedThrottlesAreRetried(t *testing.T) {
	f := setup(t, simworkmail.Options{Seed: 3}, 20)
	f.sim.Control().SetFaults(simkit.EachOp, simkit.Faults{ThrottleRate: 0.4})
	for i := range 30 {
		if err := describeOrg(f); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if c := f.sim.Control().Counters()["DescribeOrganization"]; c.Throttled == 0 || c.Requests != 30+c.Throttled {
		t.Fatalf("counters %+v, want throttles each followed by a retry", c)
	}
}

func TestDefaultQuota(t *testing.T) {
	tests := []struct {
		name   string
		opts   simworkmail.Options
		passes int // of 30 calls at one instant
	}{
		{"zero value is the default 10/s burst 20", simworkmail.Options{}, 20},
		{"explicit quota", simworkmail.Options{Quota: simkit.Quota{Rate: 1, Burst: 5}}, 5},
		{"off", simworkmail.Options{NoQuota: true}, 30},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := &fakeClock{now: t0}
			tc.opts.Clock = clock.Now
			sim := simworkmail.New(tc.opts)
			sim.AddOrganization("q", "q.example")
			passes := 0
			for range 30 {
				if d, _ := sim.Control().Admit("DescribeOrganization"); d == simkit.Pass {
					passes++
				}
			}
			if passes != tc.passes {
				t.Fatalf("%d of 30 passed, want %d", passes, tc.passes)
			}
		})
	}
}

// TestThrottleCode: throttled requests answer HTTP 400 ThrottlingException
// "Rate exceeded" (AWS's common errors; see errors.go), while
// LimitExceededException stays the users-per-organisation quota. The
// ThrottleCode option answers throttles with another code, here
// LimitExceededException, so that a client can be checked against either.
func TestThrottleCode(t *testing.T) {
	for _, tc := range []struct {
		name, code string
	}{{"default", ""}, {"limit exceeded", "LimitExceededException"}} {
		t.Run(tc.name, func(t *testing.T) {
			f := setup(t, simworkmail.Options{ThrottleCode: tc.code}, 1)
			f.sim.Control().SetFaults(simkit.EachOp, simkit.Faults{ThrottleRate: 1})
			err := describeOrg(f)
			want := cmp.Or(tc.code, "ThrottlingException")
			var apiErr smithy.APIError
			var re *awshttp.ResponseError
			if !errors.As(err, &apiErr) || apiErr.ErrorCode() != want || apiErr.ErrorMessage() != "Rate exceeded" ||
				!errors.As(err, &re) || re.HTTPStatusCode() != http.StatusBadRequest {
				t.Fatalf("throttled call: %v, want %s (400) Rate exceeded", err, want)
			}
			if retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err) != aws.TrueTernary {
				t.Fatalf("SDK does not see %v as a throttle", err)
			}
		})
	}
	// The user limit is LimitExceededException whatever the throttle code.
	f := setup(t, simworkmail.Options{UserLimit: 1}, 1)
	f.createUser(t, "one")
	_, err := f.client.CreateUser(context.Background(), &workmail.CreateUserInput{OrganizationId: aws.String(f.org),
		Name: aws.String("two"), DisplayName: aws.String("two")})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "LimitExceededException" {
		t.Fatalf("CreateUser over the user limit: %v", err)
	}
}
