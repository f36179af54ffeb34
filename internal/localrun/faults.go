package localrun

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/idsync/idsync/consumers"
	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/sim/simokta"
	"github.com/idsync/idsync/store"
)

// DefaultHookFaults are the Okta event hook delivery faults `idsync local`
// (make run) turns on unless --hook-faults=false: Okta documents
// at-least-once, unordered delivery, so a local run sees what production
// sees, moderately: 5 % of deliveries sent twice, 5 % shuffled and held
// back so that later ones overtake them, 1 % never sent (Okta gave up).
// Duplicates and reordering are absorbed by the hook and the fold; a drop
// is repaired by the IdC snapshot once the settle window has passed, except
// a lifecycle event (suspend, deactivate), which IdC does not show.
func DefaultHookFaults() simokta.HookFaults {
	return simokta.HookFaults{DuplicateRate: 0.05, ReorderRate: 0.05, DropRate: 0.01}
}

// errQueueUnavailable is what a send to a queue made unavailable with
// Stack.SetQueueUnavailable fails with (before any request is made).
var errQueueUnavailable = errors.New("localrun: queue unavailable (injected)")

// queueGate wraps the HTTP client of every idsync component of a stack:
// it refuses SendMessage and SendMessageBatch to the queues marked down,
// as an SQS outage of that queue would, and passes everything else on.
type queueGate struct {
	mu      sync.Mutex
	down    map[string]bool // queue URL → unavailable
	refused atomic.Int64
}

// gated is one component's HTTP client behind the gate.
type gated struct {
	gate *queueGate
	next aws.HTTPClient
}

// wrap puts next behind the gate.
func (g *queueGate) wrap(next aws.HTTPClient) aws.HTTPClient { return gated{gate: g, next: next} }

func (g *queueGate) set(url string, down bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.down == nil {
		g.down = map[string]bool{}
	}
	if down {
		g.down[url] = true
	} else {
		delete(g.down, url)
	}
}

func (g *queueGate) anyDown() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]string, 0, len(g.down))
	for u := range g.down {
		out = append(out, u)
	}
	return out
}

// Do refuses a send to a queue that is down; everything else goes to next.
func (c gated) Do(req *http.Request) (*http.Response, error) {
	g := c.gate
	down := g.anyDown()
	target := req.Header.Get("X-Amz-Target")
	if len(down) == 0 || req.Body == nil ||
		(target != "AmazonSQS.SendMessage" && target != "AmazonSQS.SendMessageBatch") {
		return c.next.Do(req)
	}
	body, err := io.ReadAll(req.Body)
	_ = req.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("localrun: read request body: %w", err)
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	var in struct {
		QueueURL string `json:"QueueUrl"`
	}
	if json.Unmarshal(body, &in) == nil && slices.Contains(down, in.QueueURL) {
		g.refused.Add(1)
		return nil, fmt.Errorf("%w: %s", errQueueUnavailable, in.QueueURL)
	}
	return c.next.Do(req)
}

// errCrash is what a store write fails with in an invocation that crashed.
var errCrash = errors.New("localrun: consumer crashed between the target call and the commit (injected)")

type invocationKey struct{}

// invocation is one consumer invocation's crash plan.
type invocation struct {
	crash bool        // drawn: this invocation dies at its first commit
	dead  atomic.Bool // it did
}

func invocationOf(ctx context.Context) *invocation {
	inv, _ := ctx.Value(invocationKey{}).(*invocation)
	return inv
}

// crasher makes a share of consumer invocations crash between a target
// call and its commit: the commit is lost and so is every later store
// write of that invocation (the process is gone), and the whole batch
// comes back, as Lambda retries a batch whose invocation failed.
type crasher struct {
	rate    float64
	mu      sync.Mutex
	rng     *rand.Rand
	crashes atomic.Int64
}

func newCrasher(rate float64, seed uint64) *crasher {
	return &crasher{rate: rate, rng: rand.New(rand.NewPCG(seed, seed^0x6a09e667f3bcc909))}
}

func (c *crasher) draw() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rng.Float64() < c.rate
}

// handler wraps a consumer's SQS handler with the invocation's crash plan.
func (c *crasher) handler(h SQSHandler) SQSHandler {
	return func(ctx context.Context, batch events.SQSEvent) (events.SQSEventResponse, error) {
		inv := &invocation{crash: c.draw()}
		resp, err := h(context.WithValue(ctx, invocationKey{}, inv), batch)
		if inv.dead.Load() {
			c.crashes.Add(1)
			return events.SQSEventResponse{}, errCrash
		}
		return resp, err
	}
}

// crashStore is a consumer's store in a stack with crashes: Commit in an
// invocation drawn to crash fails, and so does every write after it.
type crashStore struct {
	consumers.Store
}

func dead(ctx context.Context) bool {
	inv := invocationOf(ctx)
	return inv != nil && inv.dead.Load()
}

func (s crashStore) Commit(ctx context.Context, c store.Commit) (domain.TargetState, []domain.LedgerEntry, error) {
	if inv := invocationOf(ctx); inv != nil && inv.crash {
		inv.dead.Store(true)
		return domain.TargetState{}, nil, errCrash
	}
	return s.Store.Commit(ctx, c)
}

func (s crashStore) Fold(ctx context.Context, e domain.Event) (store.FoldResult, error) {
	if dead(ctx) {
		return store.FoldResult{}, errCrash
	}
	return s.Store.Fold(ctx, e)
}

func (s crashStore) PutTarget(ctx context.Context, key string, next domain.TargetState, expected int64) (domain.TargetState, error) {
	if dead(ctx) {
		return domain.TargetState{}, errCrash
	}
	return s.Store.PutTarget(ctx, key, next, expected)
}

func (s crashStore) Append(ctx context.Context, entries ...domain.LedgerEntry) ([]domain.LedgerEntry, error) {
	if dead(ctx) {
		return nil, errCrash
	}
	return s.Store.Append(ctx, entries...)
}

func (s crashStore) RecordReceived(ctx context.Context, e domain.Event) (domain.LedgerEntry, error) {
	if dead(ctx) {
		return domain.LedgerEntry{}, errCrash
	}
	return s.Store.RecordReceived(ctx, e)
}
