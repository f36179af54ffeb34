package consumers_test

import (
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/idsync/idsync/consumers"
	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/testenv"
)

// TestCreateIntentIsStoredBeforeTheCreate: before the runner runs a plan
// with a create, the store already holds the create intent (the op's name
// and the runner's time), which is also the state the create is applied
// from; a failed create keeps it for the retry, which does not record it
// again; the commit drops it.
func TestCreateIntentIsStoredBeforeTheCreate(t *testing.T) {
	at := time.Date(2026, 11, 3, 8, 0, 0, 0, time.UTC)
	f := newFixture(t, consumers.RunnerOptions{Clock: func() time.Time { return at }})
	ctx := testenv.Context(t)
	var seen []domain.TargetState // the stored state when each Apply ran
	f.target.onApply = func(p domain.Person, state domain.TargetState, op domain.Op) {
		stored, err := f.st.Target(ctx, p.Key, domain.TargetWorkMail)
		if err != nil {
			t.Errorf("read the stored state during Apply: %v", err)
		}
		if !stored.Equal(state) || stored.Version != state.Version {
			t.Errorf("Apply was given %+v, the store holds %+v", state, stored)
		}
		seen = append(seen, stored)
	}
	f.target.failNext["00uada"] = domain.Retryable(errors.New("throttled"))
	batch := events.SQSEvent{Records: []events.SQSMessage{record(t, "a1", event("00uada", domain.KindMemberAdded, 1))}}
	if resp, err := f.runner.Handle(ctx, batch); err != nil || len(resp.BatchItemFailures) != 1 {
		t.Fatalf("first delivery: %v %v, want a retry", err, failures(resp))
	}
	at = at.Add(time.Minute)
	if resp, err := f.runner.Handle(ctx, batch); err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("redelivery: %v %v", err, failures(resp))
	}

	want := domain.TargetState{Target: domain.TargetWorkMail, PendingName: "00uada@example.com", PendingAt: at.Add(-time.Minute)}
	if len(seen) != 2 {
		t.Fatalf("%d applies, want 2", len(seen))
	}
	for i, s := range seen {
		if !s.Equal(want) || s.Version != 1 {
			t.Errorf("apply %d ran with the stored state %+v, want the intent %+v at version 1 (recorded once)", i+1, s, want)
		}
	}
	committed, err := f.st.Target(ctx, "00uada", domain.TargetWorkMail)
	if err != nil {
		t.Fatal(err)
	}
	if committed.PendingName != "" || !committed.PendingAt.IsZero() || committed.RemoteID != "remote-00uada" || committed.Version != 2 {
		t.Errorf("committed state %+v, want the account without an intent at version 2", committed)
	}
}
