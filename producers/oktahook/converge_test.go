package oktahook_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/testenv"
	"github.com/idsync/idsync/producers/oktahook"
	"github.com/idsync/idsync/producers/publish"
	"github.com/idsync/idsync/store"
)

func readDelivery(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// known stores a managed person with the Okta id okta, a member of
// mappedGroup, with an enabled account in each of targets.
func (f *fixture) known(t *testing.T, okta string, targets ...domain.Target) {
	t.Helper()
	ctx := testenv.Context(t)
	at := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	e := domain.Event{Source: domain.SourceOktaHook, SourceEventID: "seed-" + okta, Kind: domain.KindMemberAdded,
		Subject: domain.Subject{OktaID: okta}, Group: &domain.GroupRef{OktaID: mappedGroup}, OccurredAt: at, ReceivedAt: at}
	e.ID = domain.NewEventID(e.Source, e.SourceEventID, okta, at)
	if _, err := f.st.Fold(ctx, e); err != nil {
		t.Fatal(err)
	}
	for _, tg := range targets {
		if _, err := f.st.PutTarget(ctx, okta, domain.TargetState{Target: tg, Managed: true, RemoteID: "r-" + okta, Status: domain.RemoteEnabled}, 0); err != nil {
			t.Fatal(err)
		}
	}
}

// queuedEvents drains a queue and returns its events' kinds and subjects
// ("kind person [target]") in delivery order.
func queuedEvents(t *testing.T, client *sqs.Client, url string) []string {
	t.Helper()
	ctx := testenv.Context(t)
	var got []string
	for empty := 0; empty < 2; {
		out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			empty++
			continue
		}
		for _, m := range out.Messages {
			e, err := domain.DecodeEvent([]byte(aws.ToString(m.Body)))
			if err != nil {
				t.Fatal(err)
			}
			s := string(e.Kind) + " " + e.Subject.Key()
			if e.Target != "" {
				s += " for " + string(e.Target)
			}
			got = append(got, s)
			if _, err := client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return got
}

func sortedStrings(s []string) string {
	c := append([]string(nil), s...)
	for i := range c {
		for j := i + 1; j < len(c); j++ {
			if c[j] < c[i] {
				c[i], c[j] = c[j], c[i]
			}
		}
	}
	return strings.Join(c, "\n")
}

// TestUnknownUsersAreDroppedWithoutTrace: lifecycle and profile events
// about Okta users idsync does not manage are acknowledged and dropped
// (no ledger row, nothing queued, one log line with the uuid only, the
// EventsUnknownUser metric); a mapped group's member-added still makes a
// new person, and a known user's events go through.
func TestUnknownUsersAreDroppedWithoutTrace(t *testing.T) {
	f := newFixture(t)
	f.known(t, "00uKNOWN00000000001")
	code, body := f.do(t, http.MethodPost, "s3cret-current", readDelivery(t, "unknown_users.json"), nil)
	if code != http.StatusOK {
		t.Fatalf("delivery: %d %s", code, body)
	}
	var resp map[string]int
	if err := json.Unmarshal([]byte(body), &resp); err != nil || resp["queued"] != 2 || resp["ignored"] != 2 {
		t.Errorf("answer %s, want 2 queued and 2 ignored", body)
	}
	want := "member-added 00uSTRANGER00000002\nsuspended 00uKNOWN00000000001"
	for _, q := range f.queues {
		if got := sortedStrings(queuedEvents(t, f.sqs, q.URL)); got != want {
			t.Errorf("queue %s:\n%s\nwant\n%s", q.URL, got, want)
		}
	}
	ctx := testenv.Context(t)
	if _, err := f.st.FindByOktaID(ctx, "00uSTRANGER00000001"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the unknown user is stored: %v", err)
	}
	page, err := f.st.Audit(ctx, store.AuditQuery{PersonKey: "00uSTRANGER00000001"})
	if err != nil || len(page.Entries) != 0 {
		t.Errorf("ledger rows about the unknown user: %+v, %v", page.Entries, err)
	}
	logs := f.logs.String()
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, oktahook.ReasonUnknownUser) {
			if !strings.Contains(line, "7c0e0000-0000-4000-8000-00000000000") || strings.Contains(line, "STRANGER") || strings.Contains(line, "stranger") {
				t.Errorf("unknown-user log line %s: want the uuid and nothing about the user", line)
			}
		}
	}
	if n := strings.Count(logs, oktahook.ReasonUnknownUser); n != 2 {
		t.Errorf("%d unknown-user log lines, want 2 (one per event)", n)
	}
	if !strings.Contains(f.metrics.String(), `"EventsUnknownUser":2`) {
		t.Errorf("metrics %s lack EventsUnknownUser 2", f.metrics.String())
	}

	// A delivery about unknown users only: 204, nothing at all.
	if code, body := f.do(t, http.MethodPost, "s3cret-current", readDelivery(t, "unknown_user_only.json"), nil); code != http.StatusNoContent {
		t.Errorf("unknown users only: %d %s, want 204", code, body)
	}
	if _, err := f.st.FindByOktaID(ctx, "00uSTRANGER00000003"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the unknown user is stored: %v", err)
	}
}

// TestJoinedUsersAreKeptBeforeTheirFold: a lifecycle event about a person
// whose join (a mapped group's member-added) was recorded by an earlier
// delivery, or comes earlier in the same one, is queued although no
// consumer has folded the join yet: a suspension seconds after a join is
// not lost.
func TestJoinedUsersAreKeptBeforeTheirFold(t *testing.T) {
	f := newFixture(t)
	for _, d := range []struct {
		file, want string
	}{
		{"unknown_users.json", "member-added 00uSTRANGER00000002"},
		{"suspend_after_join.json", "suspended 00uSTRANGER00000002"},
		{"join_and_suspend.json", "member-added 00uSTRANGER00000004\nsuspended 00uSTRANGER00000004"},
	} {
		code, body := f.do(t, http.MethodPost, "s3cret-current", readDelivery(t, d.file), nil)
		if code != http.StatusOK {
			t.Fatalf("%s: %d %s", d.file, code, body)
		}
		for _, q := range f.queues {
			if got := sortedStrings(queuedEvents(t, f.sqs, q.URL)); got != d.want {
				t.Errorf("%s, queue %s:\n%s\nwant\n%s", d.file, q.URL, got, d.want)
			}
		}
	}
}

// TestRemovalBrakeHoldsRemovalsPerTarget: with a brake of 2 per 10
// minutes, WorkMail's third removal and the suspension of a person with
// both accounts are held for WorkMail only: not queued to its queue,
// recorded as skipped without personal data, counted; Connect still gets
// everything that is no removal for WorkMail's brake to hold. The next
// window lets removals through again.
func TestRemovalBrakeHoldsRemovalsPerTarget(t *testing.T) {
	f := newFixture(t)
	for _, k := range []string{"00uKNOWN00000000001", "00uKNOWN00000000002", "00uKNOWN00000000003"} {
		f.known(t, k, domain.TargetWorkMail)
	}
	f.known(t, "00uKNOWN00000000004", domain.TargetWorkMail, domain.TargetConnect)
	code, body := f.do(t, http.MethodPost, "s3cret-current", readDelivery(t, "removals.json"), nil)
	if code != http.StatusOK {
		t.Fatalf("delivery: %d %s", code, body)
	}
	var resp map[string]int
	if err := json.Unmarshal([]byte(body), &resp); err != nil || resp["queued"] != 4 || resp["held"] != 2 {
		t.Errorf("answer %s, want 4 queued and 2 held", body)
	}
	if got, want := sortedStrings(queuedEvents(t, f.sqs, f.wm.URL)),
		"member-removed 00uKNOWN00000000001\nmember-removed 00uKNOWN00000000002"; got != want {
		t.Errorf("WorkMail queue:\n%s\nwant\n%s", got, want)
	}
	if got, want := sortedStrings(queuedEvents(t, f.sqs, f.cn.URL)),
		"member-removed 00uKNOWN00000000001\nmember-removed 00uKNOWN00000000002\n"+
			"member-removed 00uKNOWN00000000003 for connect\nsuspended 00uKNOWN00000000004 for connect"; got != want {
		t.Errorf("Connect queue:\n%s\nwant\n%s", got, want)
	}
	ctx := testenv.Context(t)
	page, err := f.st.Audit(ctx, store.AuditQuery{System: true, Outcomes: []domain.Outcome{domain.OutcomeSkipped}})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Entries) != 2 {
		t.Fatalf("held rows %+v, want 2", page.Entries)
	}
	for _, r := range page.Entries {
		if r.Reason != oktahook.ReasonHeld || r.Target != domain.TargetWorkMail || r.PersonKey != "" || r.EventID == "" || r.Detail != nil {
			t.Errorf("held row %+v, want WorkMail, the reason, the event id and nothing personal", r)
		}
	}
	// Every event was still received, held ones included.
	if p, err := f.st.Audit(ctx, store.AuditQuery{PersonKey: "00uKNOWN00000000004", Outcomes: []domain.Outcome{domain.OutcomeReceived}}); err != nil || len(p.Entries) != 1 {
		t.Errorf("received rows of the held suspension: %+v, %v", p.Entries, err)
	}
	if !strings.Contains(f.metrics.String(), `"RemovalsHeld":2`) {
		t.Errorf("metrics %s lack RemovalsHeld 2", f.metrics.String())
	}

	// Within the window WorkMail's brake stays shut; in the next it opens.
	again := strings.ReplaceAll(string(readDelivery(t, "removals.json")), "7c0e0000-0000-4000-8000-0000000000", "7c0e0000-0000-4000-8000-0000000001")
	if code, body := f.do(t, http.MethodPost, "s3cret-current", []byte(again), nil); code != http.StatusOK || !strings.Contains(body, `"held":4`) {
		t.Errorf("same window: %d %s, want all 4 WorkMail removals held", code, body)
	}
	*f.now = f.now.Add(10 * time.Minute)
	again = strings.ReplaceAll(string(readDelivery(t, "removals.json")), "7c0e0000-0000-4000-8000-0000000000", "7c0e0000-0000-4000-8000-0000000002")
	if code, body := f.do(t, http.MethodPost, "s3cret-current", []byte(again), nil); code != http.StatusOK || !strings.Contains(body, `"held":2`) {
		t.Errorf("next window: %d %s, want 2 of 4 held", code, body)
	}
}

// downQueue fails every send to one queue URL.
type downQueue struct {
	publish.SQS
	mu   sync.Mutex
	down string
}

func (d *downQueue) SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	d.mu.Lock()
	down := d.down == aws.ToString(in.QueueUrl)
	d.mu.Unlock()
	if down {
		return nil, errors.New("injected: queue unavailable")
	}
	return d.SQS.SendMessageBatch(ctx, in, opts...)
}

// TestOneQueueDownAnswers503AndTheRetryCompletesIt: with the Connect queue
// down the hook answers 503 although WorkMail's queue has every event;
// Okta's retry completes Connect's without doubling WorkMail's.
func TestOneQueueDownAnswers503AndTheRetryCompletesIt(t *testing.T) {
	f := newFixture(t)
	dq := &downQueue{SQS: f.sqs, down: f.cn.URL}
	pub, err := publish.New(publish.Options{SQS: dq, Queues: map[domain.Target]string{domain.TargetWorkMail: f.wm.URL, domain.TargetConnect: f.cn.URL},
		Attempts: 2, Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	f.pub.mu.Lock()
	f.pub.good = pub
	f.pub.mu.Unlock()
	body := delivery(t, 6, 3)
	if code, b := f.do(t, http.MethodPost, "s3cret-current", body, nil); code != http.StatusServiceUnavailable {
		t.Fatalf("Connect queue down: %d %s, want 503", code, b)
	}
	if !strings.Contains(f.logs.String(), "connect queue") {
		t.Errorf("the failure log does not name the Connect queue:\n%s", f.logs.String())
	}
	dq.mu.Lock()
	dq.down = ""
	dq.mu.Unlock()
	if code, b := f.do(t, http.MethodPost, "s3cret-current", body, nil); code != http.StatusOK {
		t.Fatalf("Okta's retry: %d %s", code, b)
	}
	for _, q := range f.queues {
		if n := count(queued(t, f.sqs, q.URL)); n != 6 {
			t.Errorf("queue %s holds %d, want 6", q.URL, n)
		}
	}
}
