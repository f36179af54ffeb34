package publish_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/testenv"
	"github.com/idsync/idsync/producers/publish"
)

// events makes n events spread round-robin over people, each with a
// distinct occurred-at so the expected per-person order is known.
func events(n, people int) []domain.Event {
	base := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	out := make([]domain.Event, n)
	for i := range n {
		person := fmt.Sprintf("00uperson%02d", i%people)
		at := base.Add(time.Duration(i) * time.Second)
		uuid := fmt.Sprintf("uuid-%03d", i)
		out[i] = domain.Event{
			ID:     domain.NewEventID(domain.SourceOktaHook, uuid, person, at),
			Source: domain.SourceOktaHook, SourceEventID: uuid, Kind: domain.KindMemberAdded,
			Subject:    domain.Subject{OktaID: person, Login: person + "@example.com"},
			Group:      &domain.GroupRef{OktaID: "00gwork"},
			OccurredAt: at, ReceivedAt: at,
		}
	}
	return out
}

// drain receives everything on a queue, deleting as it goes, and returns the
// events per person in delivery order.
func drain(t *testing.T, client *sqs.Client, url string) map[string][]string {
	t.Helper()
	ctx := testenv.Context(t)
	got := map[string][]string{}
	for empty := 0; empty < 2; {
		out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 0,
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
			MessageAttributeNames:       []string{"All"},
		})
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
				t.Fatalf("queued body does not decode: %v", err)
			}
			if g := m.Attributes["MessageGroupId"]; g != e.Subject.Key() {
				t.Errorf("group %q, want person key %q", g, e.Subject.Key())
			}
			if d := m.Attributes["MessageDeduplicationId"]; d != e.ID {
				t.Errorf("dedup id %q, want event id %q", d, e.ID)
			}
			if k := aws.ToString(m.MessageAttributes[publish.AttrKind].StringValue); k != string(e.Kind) {
				t.Errorf("kind attribute %q, want %q", k, e.Kind)
			}
			got[e.Subject.Key()] = append(got[e.Subject.Key()], e.SourceEventID)
			if _, err := client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return got
}

// newPublisher builds a Publisher or fails the test.
func newPublisher(t *testing.T, o publish.Options) *publish.Publisher {
	t.Helper()
	p, err := publish.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func want(evs []domain.Event) map[string][]string {
	out := map[string][]string{}
	for _, e := range evs {
		out[e.Subject.Key()] = append(out[e.Subject.Key()], e.SourceEventID)
	}
	return out
}

func TestPublishQueuesEveryEventToEveryQueueInPersonOrder(t *testing.T) {
	env := testenv.Get(t)
	client := env.SQS(t)
	wm := env.CreateFIFOQueue(t, client, "wm", 5, 30*time.Second)
	cn := env.CreateFIFOQueue(t, client, "cn", 5, 30*time.Second)
	evs := events(50, 7)

	p := newPublisher(t, publish.Options{SQS: client, QueueURLs: []string{wm.URL, cn.URL}})
	if err := p.Publish(testenv.Context(t), evs); err != nil {
		t.Fatalf("publish: %v", err)
	}
	// Publishing the same events again is absorbed by FIFO deduplication.
	if err := p.Publish(testenv.Context(t), evs); err != nil {
		t.Fatalf("republish: %v", err)
	}
	for name, url := range map[string]string{"workmail": wm.URL, "connect": cn.URL} {
		got := drain(t, client, url)
		if fmt.Sprint(got) != fmt.Sprint(want(evs)) {
			t.Errorf("%s queue: per-person order\n got %v\nwant %v", name, got, want(evs))
		}
	}
}

// flaky passes requests to the real client but fails the chosen entries on
// their first try, as SQS does with a partial batch failure.
type flaky struct {
	publish.SQS
	failOnce    map[string]bool
	senderFault bool
	calls       int
}

func (f *flaky) SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	f.calls++
	var keep []sqstypes.SendMessageBatchRequestEntry
	var failed []sqstypes.BatchResultErrorEntry
	for _, e := range in.Entries {
		if f.failOnce[aws.ToString(e.MessageDeduplicationId)] {
			delete(f.failOnce, aws.ToString(e.MessageDeduplicationId))
			failed = append(failed, sqstypes.BatchResultErrorEntry{Id: e.Id, Code: aws.String("InternalError"), Message: aws.String("injected"), SenderFault: f.senderFault})
			continue
		}
		keep = append(keep, e)
	}
	out := &sqs.SendMessageBatchOutput{Failed: failed}
	if len(keep) > 0 {
		cp := *in
		cp.Entries = keep
		real, err := f.SQS.SendMessageBatch(ctx, &cp, opts...)
		if err != nil {
			return nil, err
		}
		out.Successful = real.Successful
		out.Failed = append(out.Failed, real.Failed...)
	}
	return out, nil
}

func TestPublishRetriesPartialBatchFailuresKeepingOrder(t *testing.T) {
	env := testenv.Get(t)
	client := env.SQS(t)
	q := env.CreateFIFOQueue(t, client, "q", 5, 30*time.Second)
	evs := events(30, 3)
	fail := map[string]bool{evs[0].ID: true, evs[4].ID: true, evs[9].ID: true}
	f := &flaky{SQS: client, failOnce: fail}
	p := newPublisher(t, publish.Options{SQS: f, QueueURLs: []string{q.URL}, Attempts: 3, Backoff: time.Millisecond})
	if err := p.Publish(testenv.Context(t), evs); err != nil {
		t.Fatalf("publish: %v", err)
	}
	if got := drain(t, client, q.URL); fmt.Sprint(got) != fmt.Sprint(want(evs)) {
		t.Fatalf("per-person order after retries\n got %v\nwant %v", got, want(evs))
	}
}

func TestPublishGivesUpOnSenderFaultAndRetryExhaustion(t *testing.T) {
	env := testenv.Get(t)
	client := env.SQS(t)
	q := env.CreateFIFOQueue(t, client, "q", 5, 30*time.Second)
	evs := events(3, 3)

	f := &flaky{SQS: client, failOnce: map[string]bool{evs[1].ID: true}, senderFault: true}
	err := newPublisher(t, publish.Options{SQS: f, QueueURLs: []string{q.URL}}).Publish(testenv.Context(t), evs)
	if !errors.Is(err, publish.ErrNotQueued) || !strings.Contains(err.Error(), evs[1].ID) {
		t.Fatalf("sender fault: got %v, want ErrNotQueued naming %s", err, evs[1].ID)
	}

	// A queue that does not exist: every try fails, and Publish says so.
	err = newPublisher(t, publish.Options{SQS: client, QueueURLs: []string{q.URL + "-missing"}, Attempts: 2, Backoff: time.Millisecond}).
		Publish(testenv.Context(t), evs)
	if !errors.Is(err, publish.ErrNotQueued) {
		t.Fatalf("missing queue: got %v, want ErrNotQueued", err)
	}
}

func TestPublishRejectsEventWithoutPersonKey(t *testing.T) {
	evs := events(1, 1)
	evs[0].Subject = domain.Subject{Login: "only-a-login"}
	unused := &flaky{} // its SQS is nil: a call would panic
	err := newPublisher(t, publish.Options{SQS: unused, QueueURLs: []string{"unused"}}).Publish(context.Background(), evs)
	if !errors.Is(err, publish.ErrNotQueued) || unused.calls != 0 {
		t.Fatalf("got %v after %d calls, want ErrNotQueued before any", err, unused.calls)
	}
}

func TestNewRequiresClientAndQueues(t *testing.T) {
	client := &flaky{}
	for name, o := range map[string]publish.Options{
		"no client":           {QueueURLs: []string{"q"}},
		"no queues":           {SQS: client},
		"empty queue URL":     {SQS: client, QueueURLs: []string{"q", ""}},
		"empty target queue":  {SQS: client, Queues: map[domain.Target]string{domain.TargetWorkMail: ""}},
		"empty target":        {SQS: client, Queues: map[domain.Target]string{"": "q"}},
		"both kinds of queue": {SQS: client, QueueURLs: []string{"q"}, Queues: map[domain.Target]string{domain.TargetWorkMail: "q2"}},
	} {
		t.Run(name, func(t *testing.T) {
			if p, err := publish.New(o); !errors.Is(err, publish.ErrInvalid) || p != nil {
				t.Errorf("New = %v, %v; want nil and ErrInvalid", p, err)
			}
		})
	}
}

// byQueue fails every send to the queues in down (a queue that is not
// answering) and counts the calls per queue.
type byQueue struct {
	publish.SQS
	mu    sync.Mutex
	down  map[string]bool
	calls map[string]int
}

func (b *byQueue) SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	b.mu.Lock()
	b.calls[aws.ToString(in.QueueUrl)]++
	down := b.down[aws.ToString(in.QueueUrl)]
	b.mu.Unlock()
	if down {
		return nil, errors.New("injected: queue unavailable")
	}
	return b.SQS.SendMessageBatch(ctx, in, opts...)
}

// target makes evs for one target.
func target(t domain.Target, evs []domain.Event) []domain.Event {
	out := make([]domain.Event, len(evs))
	for i, e := range evs {
		e.Target = t
		out[i] = e
	}
	return out
}

// TestPublishRoutesByTarget: an event for every target goes to every
// queue, an event for one target to that target's queue only.
func TestPublishRoutesByTarget(t *testing.T) {
	env := testenv.Get(t)
	client := env.SQS(t)
	wm := env.CreateFIFOQueue(t, client, "wm", 5, 30*time.Second)
	cn := env.CreateFIFOQueue(t, client, "cn", 5, 30*time.Second)
	all := events(30, 4)
	forAll, forWM, forCN := all[:10], target(domain.TargetWorkMail, all[10:20]), target(domain.TargetConnect, all[20:])
	p := newPublisher(t, publish.Options{SQS: client, Queues: map[domain.Target]string{domain.TargetWorkMail: wm.URL, domain.TargetConnect: cn.URL}})
	if got := p.Targets(); fmt.Sprint(got) != "[connect workmail]" {
		t.Errorf("Targets() = %v", got)
	}
	mixed := append(append(append([]domain.Event(nil), forAll...), forWM...), forCN...)
	if err := p.Publish(testenv.Context(t), mixed); err != nil {
		t.Fatal(err)
	}
	if got, w := drain(t, client, wm.URL), want(append(append([]domain.Event(nil), forAll...), forWM...)); fmt.Sprint(got) != fmt.Sprint(w) {
		t.Errorf("workmail queue\n got %v\nwant %v", got, w)
	}
	if got, w := drain(t, client, cn.URL), want(append(append([]domain.Event(nil), forAll...), forCN...)); fmt.Sprint(got) != fmt.Sprint(w) {
		t.Errorf("connect queue\n got %v\nwant %v", got, w)
	}

	// A target without a queue here, or any target on a publisher without
	// named queues, is refused before anything is sent.
	unused := &flaky{}
	err := newPublisher(t, publish.Options{SQS: unused, Queues: map[domain.Target]string{domain.TargetWorkMail: "q"}}).
		Publish(testenv.Context(t), target(domain.TargetConnect, events(1, 1)))
	if !errors.Is(err, publish.ErrNotQueued) || !strings.Contains(err.Error(), `"connect", which has no queue`) || unused.calls != 0 {
		t.Errorf("unknown target: %v after %d calls", err, unused.calls)
	}
	err = newPublisher(t, publish.Options{SQS: unused, QueueURLs: []string{"q"}}).Publish(testenv.Context(t), target(domain.TargetConnect, events(1, 1)))
	if !errors.Is(err, publish.ErrNotQueued) || unused.calls != 0 {
		t.Errorf("a target without named queues: %v after %d calls", err, unused.calls)
	}
}

// TestPublishQueuesAreIndependent: while one target's queue is down, the
// other queue gets every event exactly once, the error names the failed
// target, and publishing again once it is back completes it without
// sending the healthy queue anything it does not dedupe.
func TestPublishQueuesAreIndependent(t *testing.T) {
	env := testenv.Get(t)
	client := env.SQS(t)
	wm := env.CreateFIFOQueue(t, client, "wm", 5, 30*time.Second)
	cn := env.CreateFIFOQueue(t, client, "cn", 5, 30*time.Second)
	evs := events(25, 5)
	b := &byQueue{SQS: client, down: map[string]bool{cn.URL: true}, calls: map[string]int{}}
	p := newPublisher(t, publish.Options{SQS: b, Queues: map[domain.Target]string{domain.TargetWorkMail: wm.URL, domain.TargetConnect: cn.URL},
		Attempts: 3, Backoff: time.Millisecond})

	err := p.Publish(testenv.Context(t), evs)
	var qe *publish.QueueError
	if !errors.Is(err, publish.ErrNotQueued) || !errors.As(err, &qe) || qe.Target != domain.TargetConnect || qe.QueueURL != cn.URL {
		t.Fatalf("publish with the connect queue down: %v, want a *QueueError for connect", err)
	}
	if got := publish.FailedTargets(err); fmt.Sprint(got) != "[connect]" {
		t.Errorf("FailedTargets = %v, want [connect]", got)
	}
	if !strings.Contains(err.Error(), "connect queue") {
		t.Errorf("error %q does not name the connect queue", err)
	}
	// 25 events of 5 people: 5 batches of one event per person.
	if n := b.calls[wm.URL]; n != 5 {
		t.Errorf("%d sends to the healthy queue, want 5 (one per batch, none repeated)", n)
	}
	if got := drain(t, client, wm.URL); fmt.Sprint(got) != fmt.Sprint(want(evs)) {
		t.Errorf("healthy queue\n got %v\nwant %v", got, want(evs))
	}

	b.mu.Lock()
	b.down = nil
	b.mu.Unlock()
	if err := p.Publish(testenv.Context(t), evs); err != nil {
		t.Fatalf("publish again: %v", err)
	}
	if got := drain(t, client, cn.URL); fmt.Sprint(got) != fmt.Sprint(want(evs)) {
		t.Errorf("healed queue\n got %v\nwant %v", got, want(evs))
	}
	if got := drain(t, client, wm.URL); len(got) != 0 {
		t.Errorf("the healthy queue received the events again: %v", got)
	}
	if publish.FailedTargets(nil) != nil || publish.FailedTargets(errors.New("x")) != nil {
		t.Error("FailedTargets names targets for errors without queue errors")
	}
}
