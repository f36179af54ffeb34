package consumers_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/idsync/idsync/consumers"
	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/testenv"
	"github.com/idsync/idsync/store"
)

// fakeEnricher returns, for a person without a first name, the facts of
// facts (made for that person), or err.
type fakeEnricher struct {
	mu    sync.Mutex
	facts func(p domain.Person) []domain.Event
	err   error
	calls int
}

func (f *fakeEnricher) Enrich(_ context.Context, p domain.Person, _ domain.Target, _ time.Time) ([]domain.Event, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	if p.FirstName.Value != "" || f.facts == nil {
		return nil, nil
	}
	return f.facts(p), nil
}

// planSpy records the person every Plan sees.
type planSpy struct {
	*fakeTarget
	mu   sync.Mutex
	seen []domain.Person
}

func (s *planSpy) Plan(ctx context.Context, p domain.Person, last domain.TargetState, now time.Time) (domain.Plan, error) {
	s.mu.Lock()
	s.seen = append(s.seen, p)
	s.mu.Unlock()
	return s.fakeTarget.Plan(ctx, p, last, now)
}

// nameFacts are an Okta API profile (a real fact, occurred after the
// hook) and a provisional one (occurred in 1970, as internal/enrich makes
// them) for p.
func nameFacts(p domain.Person) []domain.Event {
	first, last := "Ada", "Lovelace"
	api := domain.Event{Source: domain.SourceOktaAPI, SourceEventID: "okta-api:" + p.OktaID, Kind: domain.KindProfileChanged,
		Subject: domain.Subject{OktaID: p.OktaID}, Profile: &domain.Profile{FirstName: &first},
		OccurredAt: base.Add(2 * time.Minute), ReceivedAt: base.Add(3 * time.Minute)}
	api.ID = domain.NewEventID(api.Source, api.SourceEventID, p.OktaID, api.OccurredAt)
	prov := domain.Event{Source: domain.SourceOktaHook, SourceEventID: "provisional:" + p.Key, Kind: domain.KindProfileChanged,
		Subject: domain.Subject{OktaID: p.OktaID}, Profile: &domain.Profile{LastName: &last},
		OccurredAt: time.UnixMilli(1_700_000_000).UTC(), ReceivedAt: base.Add(3 * time.Minute)}
	prov.ID = domain.NewEventID(prov.Source, prov.SourceEventID, p.OktaID, prov.OccurredAt)
	return []domain.Event{api, prov}
}

func enrichFixture(t *testing.T, en *fakeEnricher, dryRun bool) (*consumers.Runner, *planSpy, backend) {
	t.Helper()
	b := newBackend(t)
	spy := &planSpy{fakeTarget: &fakeTarget{accounts: map[string]string{}, failNext: map[string]error{}}}
	return b.runner(t, spy, consumers.RunnerOptions{Enricher: en, DryRun: dryRun}), spy, b
}

// TestEnrichedFactsAreFoldedBeforeThePlan: the Enricher's facts are folded
// into the stored person before the target plans; the Okta API fact is
// recorded as received in the ledger, the provisional one (derived from
// facts already recorded, dated 1970) is not; a second event enriches
// nothing more.
func TestEnrichedFactsAreFoldedBeforeThePlan(t *testing.T) {
	en := &fakeEnricher{facts: nameFacts}
	r, spy, b := enrichFixture(t, en, false)
	ctx := testenv.Context(t)
	resp, err := r.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{
		record(t, "a1", event("00uada", domain.KindMemberAdded, 1)),
		record(t, "a2", event("00uada", domain.KindProfileChanged, 4)),
	}})
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("Handle: %v %v", err, failures(resp))
	}
	if len(spy.seen) != 2 || spy.seen[0].FirstName.Value != "Ada" || spy.seen[0].LastName.Value != "Lovelace" {
		t.Fatalf("the plan saw %+v, want the enriched names", spy.seen)
	}
	rec, err := b.st.Person(ctx, "00uada")
	if err != nil {
		t.Fatal(err)
	}
	if rec.Person.FirstName.Value != "Ada" || rec.Person.LastName.Value != "Lovelace" || rec.Target(domain.TargetWorkMail).Status != domain.RemoteEnabled {
		t.Errorf("stored person %+v, want the names folded and the account made", rec.Person)
	}
	facts := nameFacts(rec.Person)
	received := map[string]bool{}
	for _, row := range ledgerRows(t, b.st, "00uada") {
		if row.Outcome == domain.OutcomeReceived {
			received[row.EventID] = true
		}
	}
	if !received[facts[0].ID] || received[facts[1].ID] || len(received) != 1 {
		t.Errorf("received rows %v, want the Okta API fact %s only", received, facts[0].ID)
	}
	if got := outcomes(ledgerRows(t, b.st, "00uada")); got != "applied:create skipped" {
		t.Errorf("ledger = %q", got)
	}
	if en.calls != 2 {
		t.Errorf("%d Enrich calls, want one per event", en.calls)
	}
}

// TestEnrichmentFailures: a retryable enrichment failure (Okta's rate
// limit) returns the message and holds the person's later ones, with a
// failed row; a permanent one (credentials refused) is recorded and
// dead-lettered with its reason. Neither plans nor applies anything.
func TestEnrichmentFailures(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		wantFail  string
		wantRow   string
		wantDLQ   bool
		wantInDLQ string
	}{
		{"retryable", domain.Retryable(errors.New("okta GetUser: E0000047 (HTTP 429): rate limited")), "[a1 a2]", "retryable: enrich: okta GetUser", false, ""},
		{"permanent", domain.Permanent(errors.New("okta Token: invalid_client (HTTP 401): unauthorized")), "[]", "permanent: enrich: okta Token", true, "invalid_client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			en := &fakeEnricher{err: tt.err}
			r, spy, b := enrichFixture(t, en, false)
			ctx := testenv.Context(t)
			resp, err := r.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{
				record(t, "a1", event("00uada", domain.KindMemberAdded, 1)),
				record(t, "a2", event("00uada", domain.KindProfileChanged, 2)),
			}})
			if err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprint(failures(resp)); got != tt.wantFail {
				t.Errorf("batch item failures = %s, want %s", got, tt.wantFail)
			}
			if spy.applies != 0 {
				t.Errorf("%d applies, want none", spy.applies)
			}
			rows := ledgerRows(t, b.st, "00uada")
			found := false
			for _, row := range rows {
				found = found || row.Outcome == domain.OutcomeFailed && strings.HasPrefix(row.Reason, tt.wantRow)
			}
			if !found {
				t.Errorf("ledger %+v has no failed row starting %q", rows, tt.wantRow)
			}
			out, err := b.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
				QueueUrl: aws.String(b.dlq.DLQURL), MaxNumberOfMessages: 10, MessageAttributeNames: []string{"All"},
			})
			if err != nil {
				t.Fatal(err)
			}
			if !tt.wantDLQ {
				if len(out.Messages) != 0 {
					t.Errorf("%d dead letters, want none", len(out.Messages))
				}
				return
			}
			if len(out.Messages) == 0 || !strings.Contains(aws.ToString(out.Messages[0].MessageAttributes[consumers.AttrReason].StringValue), tt.wantInDLQ) {
				t.Errorf("dead letters %+v, want the reason naming %s", out.Messages, tt.wantInDLQ)
			}
		})
	}
}

// TestDryRunEnrichesInMemoryOnly: a dry run plans from the enriched person
// but stores neither the facts nor received rows.
func TestDryRunEnrichesInMemoryOnly(t *testing.T) {
	en := &fakeEnricher{facts: nameFacts}
	r, spy, b := enrichFixture(t, en, true)
	ctx := testenv.Context(t)
	resp, err := r.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{record(t, "a1", event("00uada", domain.KindMemberAdded, 1))}})
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("Handle: %v %v", err, failures(resp))
	}
	if len(spy.seen) != 1 || spy.seen[0].FirstName.Value != "Ada" {
		t.Fatalf("the plan saw %+v, want the enriched names", spy.seen)
	}
	if _, err := b.st.Person(ctx, "00uada"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Person = %v, want nothing stored", err)
	}
	for _, row := range ledgerRows(t, b.st, "00uada") {
		if row.Outcome == domain.OutcomeReceived {
			t.Errorf("received row %+v written by a dry run", row)
		}
	}
}
