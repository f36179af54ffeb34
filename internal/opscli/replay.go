package opscli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"golang.org/x/time/rate"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/producers/idcsnapshot"
	"github.com/idsync/idsync/store"
)

// SnapshotRunner runs the IdC snapshot (*idcsnapshot.Snapshotter).
type SnapshotRunner interface {
	Run(ctx context.Context) (idcsnapshot.Summary, error)
	Preview(ctx context.Context) (idcsnapshot.Summary, []domain.Event, error)
}

// Planner plans one target's ops for a person (consumers.Target).
type Planner interface {
	Name() domain.Target
	Plan(ctx context.Context, p domain.Person, last domain.TargetState, now time.Time) (domain.Plan, error)
}

// Publisher queues events for the chosen targets (*publish.Publisher).
type Publisher interface {
	Publish(ctx context.Context, events []domain.Event) error
}

// QueueDepth reads a queue's message counts (*sqs.Client).
type QueueDepth interface {
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, opts ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
}

// ReplayStore is the part of store.Store replay uses.
type ReplayStore interface {
	People
	Audit(ctx context.Context, q store.AuditQuery) (store.AuditPage, error)
	Preview(ctx context.Context, e domain.Event) (store.FoldResult, error)
	RecordReceivedAll(ctx context.Context, events []domain.Event) []error
}

// ReplayDeps are what replay works through; wire.go builds them from an
// App.
type ReplayDeps struct {
	Store ReplayStore
	// Snapshot is the snapshotter (replay snapshot only).
	Snapshot SnapshotRunner
	// Planners are the chosen targets, for dry runs.
	Planners []Planner
	// Publisher queues to the chosen targets (replay ledger).
	Publisher Publisher
	// SQS and QueueURLs are the chosen targets' queues, for Wait.
	SQS       QueueDepth
	QueueURLs []string
}

// ReplayArgs say what to replay and how.
type ReplayArgs struct {
	// DryRun prints what each target would get and queues nothing.
	DryRun bool
	// Person, or From and To, select the recorded facts (replay ledger).
	Person   string
	From, To time.Time
	// Rate bounds the events queued per second (0: no bound).
	Rate float64
	// Round numbers a deliberate repeat of a completed replay (default 1):
	// a replay's event ids derive from the original id and the round, so
	// running one round again (after an interruption) collides with what
	// it queued before, while a new round is new facts.
	Round int
	// Wait, after queueing, follows the chosen queues until the consumers
	// have taken every message.
	Wait bool
	// Format of the rows; Progress, when set, draws progress there.
	Format   Format
	Progress io.Writer
	// Now is the clock (default time.Now); PollEvery Wait's period
	// (default 1 s).
	Now       func() time.Time
	PollEvery time.Duration
}

func (a *ReplayArgs) defaults() {
	if a.Now == nil {
		a.Now = time.Now
	}
	if a.Format == "" {
		a.Format = FormatTable
	}
	if a.Round <= 0 {
		a.Round = 1
	}
	if a.PollEvery <= 0 {
		a.PollEvery = time.Second
	}
}

// ReplaySnapshot runs one IdC snapshot now through the snapshotter the
// schedule runs (same lease, removal cap, settle window, bookkeeping and
// summary row) and prints its summary. With DryRun it only reads and
// diffs (idcsnapshot.Preview) and prints, per person and target, what the
// target would do (the plan from the person folded in memory), queueing
// and writing nothing. With Wait it then follows the queues until the
// consumers have taken every message.
//
// Errors: the snapshotter's (store.ErrLeaseHeld when another run holds the
// lease; *domain.RemovalCapError when the diff would remove too many);
// store and plan errors in a dry run; the writer's; the context's.
func ReplaySnapshot(ctx context.Context, d ReplayDeps, w, log io.Writer, a ReplayArgs) error {
	a.defaults()
	if a.DryRun {
		stop := Spin(a.Progress, "reading IAM Identity Center")
		sum, events, err := d.Snapshot.Preview(ctx)
		stop()
		if err != nil {
			return err
		}
		fmt.Fprintf(log, "snapshot (dry run): %d members, %d joiners, %d leavers, %d changes, %d removals%s → %d events; nothing queued\n",
			sum.Members, sum.Joiners, sum.Leavers, sum.Changes, sum.Removals, incomplete(sum), len(events))
		return preview(ctx, d, w, log, a, events)
	}
	stop := Spin(a.Progress, "snapshot run")
	sum, err := d.Snapshot.Run(ctx)
	stop()
	p := NewPrinter(w, a.Format, "RUN", "OUTCOME", "COMPLETE", "MEMBERS", "USERS", "JOINERS", "LEAVERS", "CHANGES", "REMOVALS", "EVENTS", "DURATION", "REASON")
	if perr := p.Row(nil, sum.RunID, string(sum.Outcome), strconv.FormatBool(sum.Complete), strconv.Itoa(sum.Members), strconv.Itoa(sum.Users),
		strconv.Itoa(sum.Joiners), strconv.Itoa(sum.Leavers), strconv.Itoa(sum.Changes), strconv.Itoa(sum.Removals),
		strconv.Itoa(sum.Events), sum.Duration.Round(time.Millisecond).String(), sum.Reason); perr != nil {
		return perr
	}
	if perr := p.Flush(); perr != nil {
		return perr
	}
	if err != nil {
		if errors.Is(err, store.ErrLeaseHeld) {
			return fmt.Errorf("another snapshot run holds the lease; try again when it has finished: %w", err)
		}
		return err
	}
	if a.Wait && sum.Events > 0 {
		return waitDrained(ctx, d, log, a, sum.Events*len(d.QueueURLs))
	}
	return nil
}

func incomplete(s idcsnapshot.Summary) string {
	if s.Complete {
		return ""
	}
	return " (incomplete: " + s.Reason + ")"
}

// ReplayLedger re-emits recorded facts: the received rows of one person
// (under every key they were recorded under) or of everyone in [From,
// To), oldest first, each rebuilt from the ledger's copy of its event
// (store.ReceivedEvent: ids, login, kind, groups, no profile values) as a
// new event of source replay with the original occurred-at, so that the
// fold keeps its last-writer-wins answer. The new id derives from the
// original id and the round (domain.NewEventID over source replay, the
// original id, the person and the original time): re-running an
// interrupted replay queues the same ids again, which SQS (within five
// minutes) or the consumers' applied records (after) turn into no-ops;
// facts recorded by earlier replays are not replayed again. Each event is
// recorded as received, then queued to the chosen targets at Rate. With
// DryRun nothing is recorded or queued: it prints per person and target
// what the target would do.
//
// Errors: ErrUsage for a bad selection; PersonKeys'; store, publisher and
// plan errors; the writer's; the context's.
func ReplayLedger(ctx context.Context, d ReplayDeps, w, log io.Writer, a ReplayArgs) error {
	a.defaults()
	switch {
	case a.Person != "" && !a.From.IsZero():
		return fmt.Errorf("%w: give --person or --from/--since, not both", ErrUsage)
	case a.Person == "" && a.From.IsZero():
		return fmt.Errorf("%w: give --person, or --from (or --since) and optionally --to", ErrUsage)
	case a.Rate < 0:
		return fmt.Errorf("%w: --rate %g is negative", ErrUsage, a.Rate)
	}
	keys := []string{""}
	if a.Person != "" {
		var err error
		if keys, err = PersonKeys(ctx, d.Store, a.Person); err != nil {
			return err
		}
	}
	q := store.AuditQuery{From: a.From, To: a.To, Outcomes: []domain.Outcome{domain.OutcomeReceived}, PageSize: store.MaxPageSize}
	var events []domain.Event
	originals := map[string]string{} // replay id → original id
	var unkept, replays int
	seen := map[string]bool{}
	err := mergeAudit(ctx, d.Store, q, keys, func(row domain.LedgerEntry) (bool, error) {
		if seen[row.ID] {
			return true, nil
		}
		seen[row.ID] = true
		if row.Source == domain.SourceReplay {
			replays++
			return true, nil
		}
		e, err := store.ReceivedEvent(row)
		if err != nil {
			unkept++
			return true, nil
		}
		r := ReplayEvent(e, a.Round, a.Now())
		originals[r.ID] = e.ID
		events = append(events, r)
		return true, nil
	})
	if err != nil {
		return err
	}
	note := ""
	if unkept > 0 {
		note += fmt.Sprintf("; %d facts recorded without their event (before the ledger kept events) cannot be replayed", unkept)
	}
	if replays > 0 {
		note += fmt.Sprintf("; %d facts of earlier replays are not replayed again", replays)
	}
	if a.DryRun {
		fmt.Fprintf(log, "replay (dry run): %d recorded facts%s; nothing queued\n", len(events), note)
		return preview(ctx, d, w, log, a, events)
	}

	p := NewPrinter(w, a.Format, "OCCURRED", "PERSON", "LOGIN", "KIND", "ORIGINAL EVENT", "REPLAY EVENT", "OUTCOME")
	bar := NewProgress(a.Progress, len(events), "replay")
	var limit *rate.Limiter
	chunk := 10
	if a.Rate > 0 {
		chunk = max(1, min(10, int(a.Rate)))
		limit = rate.NewLimiter(rate.Limit(a.Rate), chunk)
	}
	again := 0
	for start := 0; start < len(events); start += chunk {
		batch := events[start:min(start+chunk, len(events))]
		if limit != nil {
			if err := limit.WaitN(ctx, len(batch)); err != nil {
				bar.Finish()
				return fmt.Errorf("replay: %w", err)
			}
		}
		outcomes := make([]string, len(batch))
		for i, err := range d.Store.RecordReceivedAll(ctx, batch) {
			outcomes[i] = "queued"
			if errors.Is(err, store.ErrDuplicate) {
				outcomes[i] = "queued again (replayed before)"
				again++
			} else if err != nil {
				bar.Finish()
				return fmt.Errorf("replay: record %s as received: %w", batch[i].ID, err)
			}
		}
		if err := d.Publisher.Publish(ctx, batch); err != nil {
			bar.Finish()
			return fmt.Errorf("replay: queue %d events (re-run the same command to finish: ids repeat): %w", len(batch), err)
		}
		for i, e := range batch {
			if err := p.Row(nil, e.OccurredAt.UTC().Format(time.RFC3339), e.Subject.Key(), e.Subject.Login, string(e.Kind),
				originals[e.ID], e.ID, outcomes[i]); err != nil {
				bar.Finish()
				return err
			}
		}
		bar.Add(len(batch))
	}
	bar.Finish()
	if err := p.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(log, "replay: %d facts queued as replay events (%d of them replayed before in this round)%s\n", len(events), again, note)
	if a.Wait && len(events) > 0 {
		return waitDrained(ctx, d, log, a, len(events)*len(d.QueueURLs))
	}
	return nil
}

// ReplayEvent is the replay of recorded event e in round (1 or more):
// source replay, the original id as source event id (with the round after
// the first), a deterministic new id, the original occurred-at, received
// now. It is pure.
func ReplayEvent(e domain.Event, round int, now time.Time) domain.Event {
	src := e.ID
	if round > 1 {
		src += "#round-" + strconv.Itoa(round)
	}
	r := e
	r.Source, r.SourceEventID, r.ReceivedAt = domain.SourceReplay, src, now.UTC()
	r.ID = domain.NewEventID(domain.SourceReplay, src, e.Subject.Key(), e.OccurredAt)
	return r
}

// previewRow is one person and target in a dry run, as JSON prints it.
type previewRow struct {
	Person string        `json:"person"`
	Login  string        `json:"login,omitempty"`
	Facts  string        `json:"facts"`
	Target domain.Target `json:"target"`
	Would  []string      `json:"would"`
	Reason string        `json:"reason,omitempty"`
}

// preview prints what each target would do for events: per person, the
// events folded in memory into their stored state (store Preview, then
// domain.Fold), then each target's plan against its last-known state.
func preview(ctx context.Context, d ReplayDeps, w, log io.Writer, a ReplayArgs, events []domain.Event) error {
	var order []string
	byPerson := map[string][]domain.Event{}
	for _, e := range events {
		k := e.Subject.Key()
		if _, ok := byPerson[k]; !ok {
			order = append(order, k)
		}
		byPerson[k] = append(byPerson[k], e)
	}
	p := NewPrinter(w, a.Format, "PERSON", "LOGIN", "FACTS", "TARGET", "WOULD", "REASON")
	bar := NewProgress(a.Progress, len(order), "planning")
	defer bar.Finish()
	changes := map[domain.Target]int{}
	now := a.Now()
	for _, k := range order {
		es := byPerson[k]
		res, err := d.Store.Preview(ctx, es[0])
		if err != nil {
			return fmt.Errorf("dry run: fold %s: %w", es[0].ID, err)
		}
		person := res.Person
		kinds := []string{string(es[0].Kind)}
		for _, e := range es[1:] {
			person, _ = domain.Fold(person, e)
			if !slices.Contains(kinds, string(e.Kind)) {
				kinds = append(kinds, string(e.Kind))
			}
		}
		login := person.Login.Value
		for _, pl := range d.Planners {
			t := pl.Name()
			row := previewRow{Person: k, Login: login, Facts: strings.Join(kinds, ", "), Target: t, Would: []string{}}
			plan, err := pl.Plan(ctx, person, res.Target(t), now)
			if err != nil {
				row.Reason = "plan failed: " + err.Error()
			} else {
				for _, op := range plan.Ops {
					row.Would = append(row.Would, string(op.Kind))
				}
				row.Reason = plan.Reason
			}
			if len(row.Would) > 0 {
				changes[t]++
			}
			would := strings.Join(row.Would, ", ")
			if would == "" {
				would = "nothing"
			}
			if err := p.Row(row, row.Person, row.Login, row.Facts, string(t), would, row.Reason); err != nil {
				return err
			}
		}
		bar.Add(1)
	}
	bar.Finish()
	if err := p.Flush(); err != nil {
		return err
	}
	var parts []string
	for _, pl := range d.Planners {
		parts = append(parts, fmt.Sprintf("%s would change %d of %d people", pl.Name(), changes[pl.Name()], len(order)))
	}
	if len(parts) > 0 {
		fmt.Fprintf(log, "dry run: %s\n", strings.Join(parts, "; "))
	}
	return nil
}

// waitDrained follows the queues until they hold no message (visible,
// in flight or delayed) twice in a row.
func waitDrained(ctx context.Context, d ReplayDeps, log io.Writer, a ReplayArgs, queued int) error {
	if d.SQS == nil || len(d.QueueURLs) == 0 {
		return nil
	}
	bar := NewProgress(a.Progress, queued, "consumers")
	defer bar.Finish()
	t := time.NewTicker(a.PollEvery)
	defer t.Stop()
	empty := 0
	for {
		depth := 0
		for _, u := range d.QueueURLs {
			out, err := d.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(u),
				AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages,
					sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible, sqstypes.QueueAttributeNameApproximateNumberOfMessagesDelayed}})
			if err != nil {
				return fmt.Errorf("wait: read %s: %w", u, err)
			}
			for _, v := range out.Attributes {
				n, _ := strconv.Atoi(v)
				depth += n
			}
		}
		bar.Set(max(0, queued-depth))
		if depth == 0 {
			if empty++; empty == 2 {
				bar.Finish()
				fmt.Fprintln(log, "the consumers have taken every queued message (idsync audit shows what they did)")
				return nil
			}
		} else {
			empty = 0
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait: %d messages still queued: %w", depth, ctx.Err())
		case <-t.C:
		}
	}
}
