package awsclient

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/aws/smithy-go/middleware"
	"golang.org/x/time/rate"
)

// meterID names the Meter middleware in the SDK's stack.
const meterID = "idsync.Meter"

// ErrRateLimited marks a call the Meter did not send: no token could be had
// before the context ends. The call is not counted. Classify marks it
// retryable.
var ErrRateLimited = errors.New("client-side rate limit: no token before the context ends")

// Quota is a client-side request budget, sized to the service's own quota:
// Rate requests per second with bursts of up to Burst.
type Quota struct {
	// Rate is requests per second; zero or less, or rate.Inf, means no
	// limit (the Meter still counts).
	Rate float64
	// Burst is the bucket's size; less than 1 means 1.
	Burst int
	// PerOperation gives every operation a bucket of its own (as Amazon
	// Connect budgets its user APIs); otherwise one bucket is shared by all
	// operations (a collective quota, as WorkMail's and IdentityStore's).
	PerOperation bool
}

// MeterOptions configures a Meter.
type MeterOptions struct {
	// Quota is the budget the Meter keeps calls within.
	Quota Quota
	// RetryAfter, when set, reads how long the service asked callers to
	// pause from a failed attempt's error (e.g. IdentityStore's
	// ThrottlingException.RetryAfterSeconds); the attempts of the same
	// bucket then wait that long. It returns 0 for no pause.
	RetryAfter func(err error) time.Duration
}

// Counts are a Meter's tallies.
type Counts struct {
	Calls     int64 // attempts sent (first tries and retries alike)
	Throttled int64 // attempts the service answered with a throttling error
}

// Meter keeps a client's calls inside a service quota and counts them. Its
// Install method is an SDK API option: it puts the Meter in the Finalize
// step right after the SDK's Retry middleware, so that every attempt, first
// tries and retries alike, waits for a token of its bucket (and for any
// pause RetryAfter asked for) and is counted once. One Meter may serve
// several clients, which then share its buckets. It is safe for concurrent
// use.
type Meter struct {
	quota      Quota
	retryAfter func(error) time.Duration

	mu      sync.Mutex
	buckets map[string]*bucket // by operation; "" is the shared bucket
	counts  map[string]Counts  // by operation
}

type bucket struct {
	lim   *rate.Limiter
	until time.Time // no attempt starts before this (RetryAfter)
}

// NewMeter returns a Meter for o.
func NewMeter(o MeterOptions) *Meter {
	return &Meter{quota: o.Quota, retryAfter: o.RetryAfter, buckets: map[string]*bucket{}, counts: map[string]Counts{}}
}

// Install adds the Meter to an operation's middleware stack: after the
// SDK's Retry middleware in the Finalize step, or first in that step when
// the stack has no Retry middleware.
//
// Errors: the stack's own, when the middleware cannot be added.
func (m *Meter) Install(stack *middleware.Stack) error {
	mw := middleware.FinalizeMiddlewareFunc(meterID, m.handle)
	if _, ok := stack.Finalize.Get("Retry"); ok {
		return stack.Finalize.Insert(mw, "Retry", middleware.After)
	}
	return stack.Finalize.Add(mw, middleware.Before)
}

// Total returns the counts over every operation.
func (m *Meter) Total() Counts {
	m.mu.Lock()
	defer m.mu.Unlock()
	var t Counts
	for _, c := range m.counts {
		t.Calls += c.Calls
		t.Throttled += c.Throttled
	}
	return t
}

// ByOperation returns the counts of each operation called so far.
func (m *Meter) ByOperation() map[string]Counts {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.counts)
}

func (m *Meter) handle(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
	op := middleware.GetOperationName(ctx)
	b := m.bucket(op)
	if err := m.wait(ctx, b); err != nil {
		return middleware.FinalizeOutput{}, middleware.Metadata{}, err
	}
	out, md, err := next.HandleFinalize(ctx, in)
	throttled := err != nil && isThrottle(err)
	var pause time.Duration
	if err != nil && m.retryAfter != nil {
		pause = m.retryAfter(err)
	}
	m.mu.Lock()
	c := m.counts[op]
	c.Calls++
	if throttled {
		c.Throttled++
	}
	m.counts[op] = c
	if t := time.Now().Add(pause); pause > 0 && t.After(b.until) {
		b.until = t
	}
	m.mu.Unlock()
	return out, md, err
}

// bucket returns the bucket operation op draws from.
func (m *Meter) bucket(op string) *bucket {
	key := ""
	if m.quota.PerOperation {
		key = op
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	b := m.buckets[key]
	if b == nil {
		limit, burst := rate.Limit(m.quota.Rate), max(m.quota.Burst, 1)
		if m.quota.Rate <= 0 {
			limit = rate.Inf
		}
		b = &bucket{lim: rate.NewLimiter(limit, burst)}
		m.buckets[key] = b
	}
	return b
}

// wait blocks until any pause of b is over and b gives a token, or ctx
// ends.
func (m *Meter) wait(ctx context.Context, b *bucket) error {
	m.mu.Lock()
	d := time.Until(b.until)
	m.mu.Unlock()
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", ErrRateLimited, ctx.Err())
		case <-t.C:
		}
	}
	if err := b.lim.Wait(ctx); err != nil {
		return fmt.Errorf("%w: %w", ErrRateLimited, err)
	}
	return nil
}
