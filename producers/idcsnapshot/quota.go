package idcsnapshot

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/identitystore"
	"github.com/aws/aws-sdk-go-v2/service/identitystore/types"
	"github.com/aws/smithy-go/middleware"
	"golang.org/x/time/rate"
)

// meterID names the quota middleware in the SDK's stack.
const meterID = "idsync.idcsnapshot.quota"

// meter keeps one run's Identity Store requests inside the service quota and
// counts them. Its middleware sits in the Finalize step just after the SDK's
// retry middleware, so every attempt (first tries and retries alike) waits
// for a token of the client-side limiter and for any pause a
// ThrottlingException's RetryAfterSeconds asked for, and is counted once.
type meter struct {
	lim *rate.Limiter

	mu    sync.Mutex
	until time.Time // no attempt starts before this (RetryAfterSeconds)

	calls     atomic.Int64
	throttled atomic.Int64
}

func newMeter(perSecond float64, burst int) *meter {
	return &meter{lim: rate.NewLimiter(rate.Limit(perSecond), burst)}
}

// option is the per-call option that installs the middleware.
func (m *meter) option(o *identitystore.Options) {
	o.APIOptions = append(o.APIOptions, m.register)
}

func (m *meter) register(stack *middleware.Stack) error {
	mw := middleware.FinalizeMiddlewareFunc(meterID, m.handle)
	if _, ok := stack.Finalize.Get("Retry"); ok {
		return stack.Finalize.Insert(mw, "Retry", middleware.After)
	}
	return stack.Finalize.Add(mw, middleware.Before)
}

func (m *meter) handle(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
	if err := m.wait(ctx); err != nil {
		return middleware.FinalizeOutput{}, middleware.Metadata{}, err
	}
	m.calls.Add(1)
	out, md, err := next.HandleFinalize(ctx, in)
	var te *types.ThrottlingException
	if errors.As(err, &te) {
		m.throttled.Add(1)
		if te.RetryAfterSeconds > 0 {
			m.pause(time.Duration(te.RetryAfterSeconds) * time.Second)
		}
	}
	return out, md, err
}

// pause holds every attempt back for d from now.
func (m *meter) pause(d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if t := time.Now().Add(d); t.After(m.until) {
		m.until = t
	}
}

// wait blocks until any RetryAfterSeconds pause is over and the limiter
// gives a token, or ctx ends.
func (m *meter) wait(ctx context.Context) error {
	m.mu.Lock()
	d := time.Until(m.until)
	m.mu.Unlock()
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return m.lim.Wait(ctx)
}
