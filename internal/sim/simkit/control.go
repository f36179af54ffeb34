// Package simkit is the shared machinery of idsync's local stand-ins for
// WorkMail, Connect, IdentityStore, SSO Admin and Okta: per-operation rate
// quotas as token buckets, seedable fault injection (throttling, 5xx,
// latency, dropped connections), request counters, a small /_sim control
// surface, and the AWS wire-protocol helpers (awsJson1_1 routing and error
// bodies, restJson1 error bodies, opaque pagination tokens) that let the real
// aws-sdk-go-v2 clients talk to the stand-ins unchanged.
package simkit

import (
	"math/rand/v2"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Quota is a token bucket: Rate requests per second with Burst. A Rate of
// zero or less means no quota.
type Quota struct {
	Rate  float64 `json:"rate"`
	Burst int     `json:"burst"`
}

// Faults says how often an operation misbehaves. Rates are probabilities in
// [0,1] drawn from the Control's seeded generator, so a run is repeatable.
type Faults struct {
	ThrottleRate    float64       `json:"throttleRate,omitempty"`
	ServerErrorRate float64       `json:"serverErrorRate,omitempty"`
	DropRate        float64       `json:"dropRate,omitempty"`
	Latency         time.Duration `json:"latency,omitempty"`
}

// Decision is what Admit decided for one request.
type Decision int

// Decisions, in the order Admit checks them.
const (
	Pass        Decision = iota // serve the request
	Drop                        // close the connection without an answer
	ServerError                 // answer 500
	Throttle                    // answer the service's throttling error
)

// Counter counts one operation's requests and what happened to them.
type Counter struct {
	Requests    int64 `json:"requests"`
	Throttled   int64 `json:"throttled"`
	ServerError int64 `json:"serverErrors"`
	Dropped     int64 `json:"dropped"`
}

// Scopes for SetQuota and SetFaults besides an operation name.
const (
	// EachOp applies to every operation that has no setting of its own.
	EachOp = "*"
	// Collective is one bucket shared by all operations of the service.
	Collective = "collective"
)

// Options configures a Control.
type Options struct {
	Seed       uint64           // fault-injection seed
	PerOp      Quota            // default quota of every operation
	Collective Quota            // one bucket shared by all operations
	Clock      func() time.Time // defaults to time.Now
}

// Control holds one stand-in's quotas, faults and counters. It is safe for
// concurrent use.
type Control struct {
	mu       sync.Mutex
	now      func() time.Time
	rng      *rand.Rand
	quotas   map[string]Quota
	limiters map[string]*rate.Limiter
	faults   map[string]Faults
	counters map[string]*Counter
}

// NewControl returns a Control with the given quotas and no faults.
func NewControl(o Options) *Control {
	if o.Clock == nil {
		o.Clock = time.Now
	}
	c := &Control{
		now:      o.Clock,
		rng:      rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15)),
		quotas:   map[string]Quota{EachOp: o.PerOp, Collective: o.Collective},
		limiters: map[string]*rate.Limiter{},
		faults:   map[string]Faults{},
		counters: map[string]*Counter{},
	}
	return c
}

// SetQuota sets the quota of scope: an operation name, EachOp or Collective.
// It resets the affected buckets to full.
func (c *Control) SetQuota(scope string, q Quota) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.quotas[scope] = q
	c.limiters = map[string]*rate.Limiter{}
}

// SetFaults sets the faults of scope: an operation name or EachOp.
func (c *Control) SetFaults(scope string, f Faults) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.faults[scope] = f
}

// Reseed restarts the fault generator from seed, for repeatable runs.
func (c *Control) Reseed(seed uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// Counters returns a copy of the per-operation counters.
func (c *Control) Counters() map[string]Counter {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]Counter, len(c.counters))
	for op, n := range c.counters {
		out[op] = *n
	}
	return out
}

// ResetCounters zeroes every counter.
func (c *Control) ResetCounters() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.counters = map[string]*Counter{}
}

// Admit counts a request for op and decides its fate: injected faults first
// (drop, then 5xx, then throttle), then the operation's own quota and the
// collective quota. The latency to add before answering is returned too.
func (c *Control) Admit(op string) (Decision, time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.counters[op]
	if n == nil {
		n = &Counter{}
		c.counters[op] = n
	}
	n.Requests++
	f, ok := c.faults[op]
	if !ok {
		f = c.faults[EachOp]
	}
	switch {
	case f.DropRate > 0 && c.rng.Float64() < f.DropRate:
		n.Dropped++
		return Drop, f.Latency
	case f.ServerErrorRate > 0 && c.rng.Float64() < f.ServerErrorRate:
		n.ServerError++
		return ServerError, f.Latency
	case f.ThrottleRate > 0 && c.rng.Float64() < f.ThrottleRate:
		n.Throttled++
		return Throttle, f.Latency
	}
	now := c.now()
	if !c.allow(op, now) || !c.allow(Collective, now) {
		n.Throttled++
		return Throttle, f.Latency
	}
	return Pass, f.Latency
}

// allow takes a token from scope's bucket; c.mu must be held.
func (c *Control) allow(scope string, now time.Time) bool {
	q, ok := c.quotas[scope]
	if !ok && scope != Collective {
		q = c.quotas[EachOp]
	}
	if q.Rate <= 0 {
		return true
	}
	l := c.limiters[scope]
	if l == nil {
		burst := q.Burst
		if burst < 1 {
			burst = 1
		}
		l = rate.NewLimiter(rate.Limit(q.Rate), burst)
		c.limiters[scope] = l
	}
	return l.AllowN(now, 1)
}
