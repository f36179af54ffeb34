// Package publish puts identity events onto idsync's SQS FIFO queues, one
// queue per target. It is shared by the Okta hook, the IdC snapshotter and
// the replay command.
//
// Every event goes to every queue with MessageGroupId = the person key (so a
// person's events are consumed in order) and MessageDeduplicationId = the
// event id (so a duplicate of one fact within SQS's five-minute window is
// dropped by SQS; the consumers' ledger catches later ones).
package publish

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/idsync/idsync/domain"
)

// Errors.
var (
	// ErrNotQueued is wrapped by every error that leaves an event unqueued.
	ErrNotQueued = errors.New("events not queued")
	// ErrInvalid is returned by New for an unusable setup.
	ErrInvalid = errors.New("publish: invalid setup")
)

// SQS is the part of the SQS client a Publisher uses.
type SQS interface {
	SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
}

// Message attribute names set on every message.
const (
	AttrKind   = "idsync.kind"
	AttrSource = "idsync.source"
)

// Defaults.
const (
	DefaultAttempts = 4
	DefaultBackoff  = 50 * time.Millisecond
)

// maxBatch is SQS's SendMessageBatch limit.
const maxBatch = 10

// Options configure a Publisher.
type Options struct {
	// SQS is the SQS client (required; *sqs.Client satisfies it).
	SQS SQS
	// QueueURLs are the target queues every event goes to (required, at
	// least one, none empty).
	QueueURLs []string
	// Attempts is how many times an entry that SQS failed is sent (default
	// DefaultAttempts).
	Attempts int
	// Backoff is the first wait between rounds of resending failed
	// entries, doubling each round (default DefaultBackoff).
	Backoff time.Duration
}

// Publisher sends events to a fixed set of queues. It is safe for
// concurrent use.
type Publisher struct {
	client   SQS
	queues   []string
	attempts int
	backoff  time.Duration
}

// New returns a Publisher for o.QueueURLs.
//
// Errors: ErrInvalid when the client is nil, there is no queue URL or one
// is empty.
func New(o Options) (*Publisher, error) {
	if o.SQS == nil || len(o.QueueURLs) == 0 || slices.Contains(o.QueueURLs, "") {
		return nil, fmt.Errorf("%w: an SQS client and at least one queue URL (none empty) are required", ErrInvalid)
	}
	p := &Publisher{client: o.SQS, queues: slices.Clone(o.QueueURLs), attempts: o.Attempts, backoff: o.Backoff}
	if p.attempts <= 0 {
		p.attempts = DefaultAttempts
	}
	if p.backoff <= 0 {
		p.backoff = DefaultBackoff
	}
	return p, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Publish sends every event to every queue and returns nil only when all of
// them are durably queued. Per-person order is kept: a batch holds at most
// one event of each person, and a person's next event is sent only after
// the previous one succeeded. Entries SQS fails for its own reasons are
// retried with backoff; entries it rejects as the sender's fault are not.
//
// Errors: wraps ErrNotQueued (with the count and first reason) when any event
// is left unqueued, and the context's error when it ends first. Idempotent:
// publishing the same events again is deduplicated by SQS within five
// minutes and by the consumers' ledger after that.
func (p *Publisher) Publish(ctx context.Context, events []domain.Event) error {
	bodies := make([]string, len(events))
	for i, e := range events {
		if e.Subject.Key() == "" {
			return fmt.Errorf("%w: event %s has no person key", ErrNotQueued, e.ID)
		}
		b, err := domain.EncodeEvent(e)
		if err != nil {
			return fmt.Errorf("%w: encode event %s: %w", ErrNotQueued, e.ID, err)
		}
		bodies[i] = string(b)
	}
	for _, q := range p.queues {
		if err := p.publishTo(ctx, q, events, bodies); err != nil {
			return err
		}
	}
	return nil
}

func (p *Publisher) publishTo(ctx context.Context, queue string, events []domain.Event, bodies []string) error {
	pending := make([]int, len(events)) // indexes into events, in order
	for i := range pending {
		pending[i] = i
	}
	tries := make([]int, len(events))
	backoff := p.backoff
	for len(pending) > 0 {
		batch := nextBatch(events, pending)
		entries := make([]sqstypes.SendMessageBatchRequestEntry, len(batch))
		for j, i := range batch {
			e := events[i]
			entries[j] = sqstypes.SendMessageBatchRequestEntry{
				Id:                     aws.String(strconv.Itoa(i)),
				MessageBody:            aws.String(bodies[i]),
				MessageGroupId:         aws.String(e.Subject.Key()),
				MessageDeduplicationId: aws.String(e.ID),
				MessageAttributes: map[string]sqstypes.MessageAttributeValue{
					AttrKind:   {DataType: aws.String("String"), StringValue: aws.String(string(e.Kind))},
					AttrSource: {DataType: aws.String("String"), StringValue: aws.String(string(e.Source))},
				},
			}
			tries[i]++
		}
		out, err := p.client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(queue), Entries: entries})
		failed := map[int]string{}
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("%w: %d events to %s: %w", ErrNotQueued, len(pending), queue, ctx.Err())
			}
			for _, i := range batch {
				failed[i] = err.Error()
			}
		} else {
			for _, f := range out.Failed {
				i, convErr := strconv.Atoi(aws.ToString(f.Id))
				if convErr != nil {
					return fmt.Errorf("%w: SQS answered for unknown entry %q", ErrNotQueued, aws.ToString(f.Id))
				}
				reason := aws.ToString(f.Code) + ": " + aws.ToString(f.Message)
				if f.SenderFault {
					return fmt.Errorf("%w: event %s rejected by %s: %s", ErrNotQueued, events[i].ID, queue, reason)
				}
				failed[i] = reason
			}
		}
		sent := map[int]bool{}
		for _, i := range batch {
			if _, bad := failed[i]; !bad {
				sent[i] = true
			}
		}
		kept := pending[:0]
		for _, i := range pending {
			if !sent[i] {
				kept = append(kept, i)
			}
		}
		pending = kept
		if len(failed) == 0 {
			continue
		}
		for i, reason := range failed {
			if tries[i] >= p.attempts {
				return fmt.Errorf("%w: %d events to %s, event %s failed %d times, last: %s",
					ErrNotQueued, len(pending), queue, events[i].ID, tries[i], reason)
			}
		}
		if err := sleepCtx(ctx, backoff); err != nil {
			return fmt.Errorf("%w: %d events to %s: %w", ErrNotQueued, len(pending), queue, err)
		}
		backoff *= 2
	}
	return nil
}

// nextBatch takes, in order, the first pending event of each person, up to
// maxBatch of them.
func nextBatch(events []domain.Event, pending []int) []int {
	seen := map[string]bool{}
	var batch []int
	for _, i := range pending {
		k := events[i].Subject.Key()
		if seen[k] {
			continue
		}
		seen[k] = true
		batch = append(batch, i)
		if len(batch) == maxBatch {
			break
		}
	}
	return batch
}
