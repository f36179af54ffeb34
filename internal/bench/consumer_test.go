package bench_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/smithy-go/middleware"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/app"
	"github.com/idsync/idsync/internal/awsclient"
	"github.com/idsync/idsync/internal/settings"
	"github.com/idsync/idsync/internal/sim/simworkmail"
)

// dynamoCalls counts DynamoDB requests on the wire, by operation (SDK
// middleware in the Finalize step: a retried request counts per attempt).
type dynamoCalls struct {
	mu  sync.Mutex
	ops map[string]int
}

func (c *dynamoCalls) install(stack *middleware.Stack) error {
	return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("benchCountDynamoDB",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			if middleware.GetServiceID(ctx) == "DynamoDB" {
				c.mu.Lock()
				c.ops[middleware.GetOperationName(ctx)]++
				c.mu.Unlock()
			}
			return next.HandleFinalize(ctx, in)
		}), middleware.After)
}

func (c *dynamoCalls) take() (int, map[string]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	total := 0
	for _, n := range c.ops {
		total += n
	}
	ops := c.ops
	c.ops = map[string]int{}
	return total, ops
}

// moverRecord is the SQS record of a known person's profile change (a new
// title): the consumer updates the mailbox.
func moverRecord(b *testing.B, i int, at time.Time) events.SQSMessage {
	b.Helper()
	title := fmt.Sprintf("Title at %d", at.UnixNano())
	sub := domain.Subject{OktaID: fmt.Sprintf("00u1cs%012d", i), IdCUserID: fmt.Sprintf("90676c7a1e-%08x-aaaa-4bbb-8ccc-%012d", i, i)}
	e := domain.Event{
		Source: domain.SourceIdCSnapshot, SourceEventID: fmt.Sprintf("bench-moved-%d-%d", i, at.UnixNano()), Kind: domain.KindProfileChanged,
		Subject: sub, OccurredAt: at, ReceivedAt: at, Profile: &domain.Profile{Title: &title},
	}
	e.ID = domain.NewEventID(e.Source, e.SourceEventID, sub.Key(), at)
	body, err := domain.EncodeEvent(e)
	if err != nil {
		b.Fatal(err)
	}
	return events.SQSMessage{MessageId: e.ID, Body: string(body), Attributes: map[string]string{"MessageGroupId": sub.Key()},
		EventSource: "aws:sqs"}
}

// joinerRecord is the SQS record of a joiner's observed event (as the
// snapshot emits for a new member of the mapped group).
func joinerRecord(b *testing.B, i int, group domain.GroupRef, at time.Time) events.SQSMessage {
	b.Helper()
	s := func(v string) *string { return &v }
	sub := domain.Subject{OktaID: fmt.Sprintf("00u1cs%012d", i), IdCUserID: fmt.Sprintf("90676c7a1e-%08x-aaaa-4bbb-8ccc-%012d", i, i)}
	e := domain.Event{
		Source: domain.SourceIdCSnapshot, SourceEventID: fmt.Sprintf("bench-observed-%d", i), Kind: domain.KindObserved,
		Subject: sub, Groups: []domain.GroupRef{group}, OccurredAt: at, ReceivedAt: at,
		Profile: &domain.Profile{Login: s(fmt.Sprintf("cs%d@example.com", i)), FirstName: s("Bench"), LastName: s(fmt.Sprintf("Consumer%d", i)),
			DisplayName: s(fmt.Sprintf("Bench Consumer%d", i)), Email: s(fmt.Sprintf("cs%d@example.com", i)), Department: s(""), Title: s("")},
	}
	e.ID = domain.NewEventID(e.Source, e.SourceEventID, sub.Key(), at)
	body, err := domain.EncodeEvent(e)
	if err != nil {
		b.Fatal(err)
	}
	return events.SQSMessage{MessageId: e.ID, Body: string(body), Attributes: map[string]string{"MessageGroupId": sub.Key()},
		EventSource: "aws:sqs"}
}

// BenchmarkConsumer: the WorkMail consumer's runner as the Lambda runs it
// (built by internal/app, batches of 10 SQS records, one instance) against
// DynamoDB Local and the WorkMail stand-in without a quota: first 300
// joiners' observed events (fold a new person, plan,
// create intent, CreateUser + RegisterToWorkMail, commit), then a profile
// change of each (fold, idempotency check, plan, UpdateUser, commit). It
// reports DynamoDB round trips per applied event, counted on the wire by
// SDK middleware (target ≤ 4), and events applied per second, for the
// profile changes (roundtrips/event, events/s) and the joiners.
func BenchmarkConsumer(b *testing.B) {
	wm := simworkmail.New(simworkmail.Options{NoQuota: true})
	org := wm.AddOrganization("bench", "example.com")
	hs := httptest.NewServer(wm)
	b.Cleanup(hs.Close)
	group := domain.GroupRef{OktaID: "00g1mailusers00001", Name: "Mail"}
	cfg, err := domain.ParseConfig([]byte(fmt.Sprintf(`{"snapshot":{"identityStoreId":"d-1234567890"},"workmail":{"organizationId":%q,"mailDomain":"example.com",
	  "groups":[{"oktaId":%q,"name":"Mail"}]}}`, org, group.OktaID)))
	if err != nil {
		b.Fatal(err)
	}
	dep := deploy(b, cfg, settings.Endpoints{WorkMail: hs.URL})
	dep.settings.Rates[domain.TargetWorkMail] = 1e6
	calls := &dynamoCalls{ops: map[string]int{}}
	awsCfg, err := awsclient.Config(context.Background(), awsclient.Options{Local: true, MaxAttempts: 10, NoRetryRateLimit: true})
	if err != nil {
		b.Fatal(err)
	}
	awsCfg.APIOptions = append(awsCfg.APIOptions, calls.install)
	a, err := app.New(context.Background(), app.Options{Settings: dep.settings, Component: settings.Consumer, AWS: &awsCfg, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	runner, err := a.Runner(domain.TargetWorkMail)
	if err != nil {
		b.Fatal(err)
	}
	const batches = 30
	apply := func(recs [][]events.SQSMessage) (float64, float64, map[string]int) {
		calls.take()
		start := time.Now()
		for _, batch := range recs {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			resp, err := runner.Handle(ctx, events.SQSEvent{Records: batch})
			cancel()
			if err != nil || len(resp.BatchItemFailures) > 0 {
				b.Fatalf("batch: %v, %d failures", err, len(resp.BatchItemFailures))
			}
		}
		elapsed := time.Since(start)
		total, ops := calls.take()
		n := float64(batches * 10)
		return float64(total) / n, n / elapsed.Seconds(), ops
	}
	for i := 0; b.Loop(); i++ {
		now := time.Now().UTC()
		var joiners, movers [][]events.SQSMessage
		for k := range batches {
			var j, m []events.SQSMessage
			for r := range 10 {
				j = append(j, joinerRecord(b, (i*batches+k)*10+r, group, now.Add(-time.Minute)))
				m = append(m, moverRecord(b, (i*batches+k)*10+r, now))
			}
			joiners, movers = append(joiners, j), append(movers, m)
		}
		jTrips, jRate, jOps := apply(joiners)
		mTrips, mRate, mOps := apply(movers)
		b.ReportMetric(mTrips, "roundtrips/event")
		b.ReportMetric(mRate, "events/s")
		b.ReportMetric(jTrips, "joiner-roundtrips/event")
		b.ReportMetric(jRate, "joiner-events/s")
		b.Logf("%d joiners: %v; %d profile changes: %v (DynamoDB requests by operation)", batches*10, jOps, batches*10, mOps)
	}
	if got := len(wm.Users(org)); got == 0 {
		b.Fatal("no mailbox created")
	}
}
