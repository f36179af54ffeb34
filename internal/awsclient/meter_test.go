package awsclient_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/workmail"
	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/awsclient"
)

// TestMeterBuckets: a shared bucket is drawn by every operation, a
// per-operation bucket only by its own; a call that cannot get a token
// before its context's deadline is not sent and fails retryable.
func TestMeterBuckets(t *testing.T) {
	upd := func(ctx context.Context, c *workmail.Client) error { return updateUser(ctx, c) }
	del := func(ctx context.Context, c *workmail.Client) error { return deleteUser(ctx, c) }
	tests := []struct {
		name  string
		quota awsclient.Quota
		calls []func(context.Context, *workmail.Client) error
		sent  []bool
	}{
		{"shared: the second operation waits for the first's token", awsclient.Quota{Rate: 0.5, Burst: 1},
			[]func(context.Context, *workmail.Client) error{upd, del}, []bool{true, false}},
		{"per operation: each operation has its own token", awsclient.Quota{Rate: 0.5, Burst: 1, PerOperation: true},
			[]func(context.Context, *workmail.Client) error{upd, del}, []bool{true, true}},
		{"per operation: the same operation waits", awsclient.Quota{Rate: 0.5, Burst: 1, PerOperation: true},
			[]func(context.Context, *workmail.Client) error{upd, upd}, []bool{true, false}},
		{"burst", awsclient.Quota{Rate: 0.5, Burst: 2},
			[]func(context.Context, *workmail.Client) error{upd, del, upd}, []bool{true, true, false}},
		{"no rate: counts only", awsclient.Quota{},
			[]func(context.Context, *workmail.Client) error{upd, upd, upd}, []bool{true, true, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := awsclient.NewMeter(awsclient.MeterOptions{Quota: tt.quota})
			f, c := workMail(t, 3, m.Install)
			var sent []bool
			for _, call := range tt.calls {
				before := f.count("UpdateUser") + f.count("DeleteUser")
				ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
				err := awsclient.Failure(call(ctx, c))
				cancel()
				ok := f.count("UpdateUser")+f.count("DeleteUser") > before
				sent = append(sent, ok)
				if ok != (err == nil) {
					t.Fatalf("sent %v but err = %v", ok, err)
				}
				if err != nil {
					if !errors.Is(err, awsclient.ErrRateLimited) || domain.KindOf(err) != domain.ErrorRetryable {
						t.Errorf("err = %v (%s), want retryable ErrRateLimited", err, domain.KindOf(err))
					}
					if !strings.HasPrefix(err.Error(), "workmail ") || !strings.HasSuffix(err.Error(), ": client-side rate limiter refused to wait (the context's deadline is too close)") {
						t.Errorf("text %q", err)
					}
				}
			}
			if diff := cmp.Diff(tt.sent, sent); diff != "" {
				t.Errorf("sent (-want +got):\n%s", diff)
			}
			var want int64
			for _, s := range sent {
				if s {
					want++
				}
			}
			if got := m.Total().Calls; got != want {
				t.Errorf("Total().Calls = %d, want %d (calls not sent are not counted)", got, want)
			}
		})
	}
}

// TestMeterCountsEveryAttempt: the Meter sits after the SDK's Retry
// middleware, so it counts (and paces) retries too, and it tells throttles
// from quotas.
func TestMeterCountsEveryAttempt(t *testing.T) {
	m := awsclient.NewMeter(awsclient.MeterOptions{Quota: awsclient.Quota{Rate: 1000, Burst: 10, PerOperation: true}})
	f, c := workMail(t, 5, m.Install)
	f.answer("UpdateUser", answer{status: 400, code: "ThrottlingException"}, answer{status: 400, code: "ThrottlingException"}, answer{})
	f.answer("DeleteUser", answer{status: 400, code: "LimitExceededException"})
	if err := updateUser(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if err := deleteUser(context.Background(), c); domain.KindOf(err) != domain.ErrorPermanent {
		t.Fatalf("DeleteUser: %v, want permanent", err)
	}
	want := map[string]awsclient.Counts{"UpdateUser": {Calls: 3, Throttled: 2}, "DeleteUser": {Calls: 1}}
	if diff := cmp.Diff(want, m.ByOperation()); diff != "" {
		t.Errorf("ByOperation (-want +got):\n%s", diff)
	}
	if got := m.Total(); got != (awsclient.Counts{Calls: 4, Throttled: 2}) {
		t.Errorf("Total = %+v", got)
	}
	if n := f.count("UpdateUser"); n != 3 {
		t.Errorf("%d UpdateUser requests, want 3", n)
	}
}

// TestMeterRetryAfter: after a throttle whose answer asks for a pause, the
// bucket's next attempt waits that long.
func TestMeterRetryAfter(t *testing.T) {
	const pause = 300 * time.Millisecond
	m := awsclient.NewMeter(awsclient.MeterOptions{
		Quota: awsclient.Quota{Rate: 1000, Burst: 10},
		RetryAfter: func(err error) time.Duration {
			if awsclient.ErrorCode(err) == "ThrottlingException" {
				return pause
			}
			return 0
		},
	})
	f, c := workMail(t, 3, m.Install)
	f.answer("UpdateUser", answer{status: 400, code: "ThrottlingException"}, answer{})
	if err := updateUser(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	at := f.times("UpdateUser")
	if len(at) != 2 {
		t.Fatalf("%d requests, want 2", len(at))
	}
	if gap := at[1].Sub(at[0]); gap < pause {
		t.Errorf("the retry came %v after the throttle, want at least %v", gap, pause)
	}
}
