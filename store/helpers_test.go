package store_test

import (
	"context"
	"crypto/rand"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"
	"github.com/oklog/ulid/v2"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/awsclient"
	"github.com/idsync/idsync/internal/testenv"
	"github.com/idsync/idsync/store"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// ids makes ULIDs at the clock's time, monotonic within a millisecond.
type ids struct {
	mu      sync.Mutex
	clock   *clock
	entropy *ulid.MonotonicEntropy
}

func (g *ids) New() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return ulid.MustNew(ulid.Timestamp(g.clock.Now()), g.entropy).String()
}

// calls counts DynamoDB requests sent over the wire, by operation. Its
// middleware sits in the Finalize step after the retry middleware, so a
// retried request counts once per attempt.
type calls struct {
	mu  sync.Mutex
	ops map[string]int
	n   atomic.Int64
}

func (c *calls) middleware(stack *middleware.Stack) error {
	return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("countCalls",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			op := middleware.GetOperationName(ctx)
			c.mu.Lock()
			c.ops[op]++
			c.mu.Unlock()
			c.n.Add(1)
			return next.HandleFinalize(ctx, in)
		}), middleware.After)
}

func (c *calls) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ops = map[string]int{}
	c.n.Store(0)
}

func (c *calls) Total() int64 { return c.n.Load() }

func (c *calls) ByOp() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.ops))
	for k, v := range c.ops {
		out[k] = v
	}
	return out
}

// fixture is a store over fresh tables in DynamoDB Local.
type fixture struct {
	db     *dynamodb.Client
	st     *store.Store
	clock  *clock
	ids    *ids
	calls  *calls
	state  string
	ledger string
	opts   store.Options
}

var t0 = time.Date(2024, 5, 15, 8, 0, 0, 0, time.UTC)

func newFixture(t testing.TB, mods ...func(*store.Options)) *fixture {
	t.Helper()
	env := testenv.Get(t)
	c := &calls{ops: map[string]int{}}
	cfg := env.AWSConfig(t, 0)
	cfg.APIOptions = append(cfg.APIOptions, c.middleware)
	db := awsclient.DynamoDB(cfg, env.DynamoDBEndpoint)

	state := env.CreateTable(t, db, store.StateTableSpec().CreateTableInput("state"))
	ledgerSpec := store.LedgerTableSpec()
	ledger := env.CreateTable(t, db, ledgerSpec.CreateTableInput("ledger"))
	if _, err := db.UpdateTimeToLive(testenv.Context(t), ledgerSpec.TimeToLiveInput(ledger)); err != nil {
		t.Fatalf("enable TTL: %v", err)
	}

	clk := &clock{t: t0}
	gen := &ids{clock: clk, entropy: ulid.Monotonic(rand.Reader, 0)}
	o := store.Options{DB: db, StateTable: state, LedgerTable: ledger, Clock: clk.Now, NewID: gen.New}
	for _, m := range mods {
		m(&o)
	}
	st, err := store.New(o)
	if err != nil {
		t.Fatalf("store.New: %v", err)
	}
	c.Reset()
	return &fixture{db: db, st: st, clock: clk, ids: gen, calls: c, state: state, ledger: ledger, opts: o}
}

// ev builds a valid event with a deterministic id.
func ev(kind domain.Kind, sub domain.Subject, sourceEventID string, at time.Time, mods ...func(*domain.Event)) domain.Event {
	e := domain.Event{
		Source: domain.SourceOktaHook, SourceEventID: sourceEventID, Kind: kind, Subject: sub,
		OccurredAt: at, ReceivedAt: at.Add(time.Second),
	}
	for _, m := range mods {
		m(&e)
	}
	e.ID = domain.NewEventID(e.Source, e.SourceEventID, e.Subject.Key(), e.OccurredAt)
	return e
}

func group(id string) func(*domain.Event) {
	return func(e *domain.Event) { e.Group = &domain.GroupRef{OktaID: id} }
}

func profile(p domain.Profile) func(*domain.Event) {
	return func(e *domain.Event) { e.Profile = &p }
}

func ptr(s string) *string { return &s }
