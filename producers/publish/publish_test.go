package publish_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
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
		"no client":       {QueueURLs: []string{"q"}},
		"no queues":       {SQS: client},
		"empty queue URL": {SQS: client, QueueURLs: []string{"q", ""}},
	} {
		t.Run(name, func(t *testing.T) {
			if p, err := publish.New(o); !errors.Is(err, publish.ErrInvalid) || p != nil {
				t.Errorf("New = %v, %v; want nil and ErrInvalid", p, err)
			}
		})
	}
}
