// Package publish puts identity events onto idsync's SQS FIFO queues, one
// queue per target. It is shared by the Okta hook, the IdC snapshotter and
// the replay command.
//
// An event for every target (Event.Target empty) goes to every queue; an
// event for one target (a reconcile event, or a hook event whose removal
// the brake holds for other targets) goes to that target's queue only.
// Each message has MessageGroupId = the person key (so a person's events
// are consumed in order) and MessageDeduplicationId = the event id (so a
// duplicate of one fact within SQS's five-minute window is dropped by SQS;
// the consumers' ledger catches later ones). The queues are sent to
// independently: one queue's failure neither stops nor repeats the others.
package publish

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
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

// QueueError is one queue's failure. Publish returns one per failed queue,
// joined (errors.Join); each matches ErrNotQueued, and FailedTargets lists
// their targets.
type QueueError struct {
	// Target is the queue's target ("" for a queue given in QueueURLs).
	Target domain.Target
	// QueueURL is the queue.
	QueueURL string
	// Err says what failed; it wraps ErrNotQueued.
	Err error
}

// Error names the target and the queue and says what failed.
func (e *QueueError) Error() string {
	if e.Target == "" {
		return fmt.Sprintf("queue %s: %v", e.QueueURL, e.Err)
	}
	return fmt.Sprintf("%s queue %s: %v", e.Target, e.QueueURL, e.Err)
}

// Unwrap returns Err.
func (e *QueueError) Unwrap() error { return e.Err }

// FailedTargets returns the targets of the queues err reports as failed
// (the *QueueError values in it, also inside errors.Join), sorted; nil for
// nil or an error that names none.
func FailedTargets(err error) []domain.Target {
	var out []domain.Target
	var walk func(error)
	walk = func(err error) {
		var qe *QueueError
		switch x := err.(type) {
		case nil:
		case interface{ Unwrap() []error }:
			for _, e := range x.Unwrap() {
				walk(e)
			}
		default:
			if errors.As(err, &qe) && !slices.Contains(out, qe.Target) {
				out = append(out, qe.Target)
			}
		}
	}
	walk(err)
	slices.Sort(out)
	return out
}

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
	// Queues maps each target to its queue URL (required unless
	// QueueURLs is given; none empty).
	Queues map[domain.Target]string
	// QueueURLs lists queues without naming their targets: every event
	// goes to every one, and an event for one target cannot be routed (it
	// is refused). Kept for callers that only send events for every
	// target; use Queues. Exactly one of Queues and QueueURLs is set.
	QueueURLs []string
	// Attempts is how many times an entry that SQS failed is sent (default
	// DefaultAttempts).
	Attempts int
	// Backoff is the first wait between rounds of resending failed
	// entries, doubling each round (default DefaultBackoff).
	Backoff time.Duration
}

// queue is one destination: its target ("" when unnamed) and URL.
type queue struct {
	target domain.Target
	url    string
}

// Publisher sends events to a fixed set of queues. It is safe for
// concurrent use.
type Publisher struct {
	client   SQS
	queues   []queue
	named    bool
	attempts int
	backoff  time.Duration
}

// New returns a Publisher for o.Queues (or o.QueueURLs).
//
// Errors: ErrInvalid when the client is nil, no queue is given, both
// Queues and QueueURLs are, or a URL or target name is empty.
func New(o Options) (*Publisher, error) {
	if o.SQS == nil || (len(o.Queues) == 0) == (len(o.QueueURLs) == 0) || slices.Contains(o.QueueURLs, "") {
		return nil, fmt.Errorf("%w: an SQS client and either Queues or QueueURLs (none empty) are required", ErrInvalid)
	}
	p := &Publisher{client: o.SQS, attempts: o.Attempts, backoff: o.Backoff, named: len(o.Queues) > 0}
	for _, t := range slices.Sorted(maps.Keys(o.Queues)) {
		if t == "" || o.Queues[t] == "" {
			return nil, fmt.Errorf("%w: queue %q for target %q: both must be set", ErrInvalid, o.Queues[t], t)
		}
		p.queues = append(p.queues, queue{target: t, url: o.Queues[t]})
	}
	for _, u := range o.QueueURLs {
		p.queues = append(p.queues, queue{url: u})
	}
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

// Publish sends each event to its queues (every queue, or only its
// Event.Target's) and returns nil only when all of them are durably
// queued. The queues are sent to concurrently and independently: a failure
// on one neither stops nor repeats the others, each retries on its own.
// Per-person order is kept on each queue: a batch holds at most one event
// of each person, and a person's next event is sent only after the
// previous one succeeded. Entries SQS fails for its own reasons are
// retried with backoff; entries it rejects as the sender's fault are not.
//
// Errors: nothing is sent, and the error wraps ErrNotQueued, when an event
// has no person key, does not encode (domain.EncodeEvent's Permanent
// error), or names a target that has no queue here. Otherwise one
// *QueueError per queue that was left with unqueued events (joined, each
// matching ErrNotQueued and naming the target; FailedTargets lists them),
// with the count and first reason, or the context's error when it ended
// first. Idempotent: publishing the same events again is deduplicated by
// SQS within five minutes and by the consumers' ledger after that.
func (p *Publisher) Publish(ctx context.Context, events []domain.Event) error {
	bodies := make([]string, len(events))
	for i, e := range events {
		if e.Subject.Key() == "" {
			return fmt.Errorf("%w: event %s has no person key", ErrNotQueued, e.ID)
		}
		if e.Target != "" && !p.hasTarget(e.Target) {
			return fmt.Errorf("%w: event %s is for target %q, which has no queue here", ErrNotQueued, e.ID, e.Target)
		}
		b, err := domain.EncodeEvent(e)
		if err != nil {
			return fmt.Errorf("%w: encode event %s: %w", ErrNotQueued, e.ID, err)
		}
		bodies[i] = string(b)
	}
	errs := make([]error, len(p.queues))
	var wg sync.WaitGroup
	for qi, q := range p.queues {
		var evs []domain.Event
		var bs []string
		for i, e := range events {
			if e.Target == "" || e.Target == q.target {
				evs, bs = append(evs, e), append(bs, bodies[i])
			}
		}
		if len(evs) == 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.publishTo(ctx, q.url, evs, bs); err != nil {
				errs[qi] = &QueueError{Target: q.target, QueueURL: q.url, Err: err}
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// hasTarget reports whether t has a queue.
func (p *Publisher) hasTarget(t domain.Target) bool {
	return p.named && slices.ContainsFunc(p.queues, func(q queue) bool { return q.target == t })
}

// Targets returns the targets the publisher has queues for, sorted (none
// when it was given QueueURLs).
func (p *Publisher) Targets() []domain.Target {
	var out []domain.Target
	for _, q := range p.queues {
		if q.target != "" {
			out = append(out, q.target)
		}
	}
	return out
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
