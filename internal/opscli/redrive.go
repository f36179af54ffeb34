package opscli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
	"golang.org/x/time/rate"

	"github.com/idsync/idsync/consumers"
	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/producers/publish"
	"github.com/idsync/idsync/store"
)

// RedriveSQS is the part of the SQS client redrive uses; *sqs.Client
// satisfies it.
type RedriveSQS interface {
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, opts ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, opts ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, opts ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
	DeleteMessage(ctx context.Context, in *sqs.DeleteMessageInput, opts ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error)
	ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, opts ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
	StartMessageMoveTask(ctx context.Context, in *sqs.StartMessageMoveTaskInput, opts ...func(*sqs.Options)) (*sqs.StartMessageMoveTaskOutput, error)
	ListMessageMoveTasks(ctx context.Context, in *sqs.ListMessageMoveTasksInput, opts ...func(*sqs.Options)) (*sqs.ListMessageMoveTasksOutput, error)
}

// ErrNotMoved is wrapped by Redrive's error when some chosen messages
// could not be moved (they stay in the dead-letter queue).
var ErrNotMoved = errors.New("messages not moved")

// Defaults of RedriveArgs.
const (
	DefaultRedriveVisibility = 5 * time.Minute
	// MaxMoveRate is StartMessageMoveTask's highest
	// MaxNumberOfMessagesPerSecond.
	MaxMoveRate = 500
)

// RedriveArgs say which target's dead-letter queue to move back, which of
// its messages, and how.
type RedriveArgs struct {
	Target           domain.Target
	QueueURL, DLQURL string
	// DryRun lists what would move and moves nothing.
	DryRun bool
	// Reason selects messages whose idsync.reason attribute contains it
	// (without regard to case).
	Reason string
	// Person selects one person's messages: a login, Okta user id, IdC user
	// id or person key, resolved with PersonKeys when the store knows the
	// person and matched against each message's group (the person key) and
	// subject.
	Person string
	// Rate bounds the messages moved per second (0: no bound; the move
	// task takes at most MaxMoveRate).
	Rate float64
	// Format of the listing (table, json, csv).
	Format Format
	// Progress, when set, draws a progress bar there.
	Progress io.Writer
	// Visibility is how long a listed message stays hidden in the DLQ
	// while the command runs (default DefaultRedriveVisibility); messages
	// left in the DLQ are made visible again at the end.
	Visibility time.Duration
	// ReceiveWait is each receive's long poll (default 1 s); PollEvery how
	// often a move task's progress is read (default 2 s).
	ReceiveWait, PollEvery time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// RedriveSummary is what a redrive did.
type RedriveSummary struct {
	// Listed messages; Moved back to the queue; Skipped (not chosen, or
	// behind a message of the same person that stays); Failed to move.
	Listed, Moved, Skipped, Failed int
	// Unreached is how many messages the DLQ held that were not listed:
	// behind a message of the same person that stays (FIFO order), or
	// arrived after the start.
	Unreached int
	// MoveTask is the StartMessageMoveTask handle when SQS moved them.
	MoveTask string
}

// redriveRow is one listed message as JSON prints it.
type redriveRow struct {
	MessageID string        `json:"messageId"`
	Person    string        `json:"person,omitempty"`
	Login     string        `json:"login,omitempty"`
	Kind      domain.Kind   `json:"kind,omitempty"`
	Source    domain.Source `json:"source,omitempty"`
	EventID   string        `json:"eventId,omitempty"`
	SentAt    string        `json:"sentAt,omitempty"`
	Age       string        `json:"age,omitempty"`
	Reason    string        `json:"reason,omitempty"`
	Action    string        `json:"action"`
}

// Redrive actions.
const (
	actionWould    = "would move"
	actionMoved    = "moved"
	actionMoving   = "move task"
	actionSkipped  = "skipped: not selected"
	actionHeld     = "skipped: an earlier message of this person stays"
	actionFailed   = "failed"
	actionUnlisted = "-"
)

// Redrive lists what target's dead-letter queue holds (person, login,
// event kind, event id, age, the idsync.reason the consumer gave) and
// moves the chosen messages back to the target's queue, printing one row
// per message to w and a summary to log.
//
// With no selection (Reason, Person) and not DryRun it asks SQS to move
// them all (StartMessageMoveTask, at Rate) and follows the task; where SQS
// does not implement it (the local engine), and for selections, it moves
// message by message: receive, send to the queue (same body, message
// group, attributes), and delete from the DLQ only once the send
// succeeded. The send's deduplication id is the event id with a suffix
// derived from the DLQ message's id: stable for that message (a re-run
// after an interruption collides within SQS's five-minute window), yet
// not the original send's id, which SQS would still drop as a duplicate
// within five minutes of the first delivery. Redriven events keep their
// event id, so what was applied meanwhile is skipped as a duplicate.
// FIFO order is kept: once one of a person's messages stays, their later
// ones stay too. DryRun moves nothing.
//
// Errors: ErrUsage (a bad person, or a rate above MaxMoveRate for the
// move task); SQS errors reading the queues or starting the task; ErrNotMoved
// when some messages failed to move (the summary counts them); the
// context's.
func Redrive(ctx context.Context, sq RedriveSQS, people People, w, log io.Writer, a RedriveArgs) (RedriveSummary, error) {
	r := &redriver{sq: sq, a: a, logins: NewLogins(people)}
	if r.a.Visibility <= 0 {
		r.a.Visibility = DefaultRedriveVisibility
	}
	if r.a.ReceiveWait <= 0 {
		r.a.ReceiveWait = time.Second
	}
	if r.a.PollEvery <= 0 {
		r.a.PollEvery = 2 * time.Second
	}
	if r.a.Now == nil {
		r.a.Now = time.Now
	}
	if r.a.Format == "" {
		r.a.Format = FormatTable
	}
	if a.Rate < 0 {
		return RedriveSummary{}, fmt.Errorf("%w: --rate %g is negative", ErrUsage, a.Rate)
	}
	if a.Rate > 0 {
		r.limit = rate.NewLimiter(rate.Limit(a.Rate), max(1, int(a.Rate)))
	}
	if a.Person != "" {
		r.persons = []string{a.Person}
		if people != nil {
			keys, err := PersonKeys(ctx, people, a.Person)
			switch {
			case err == nil:
				r.persons = append(r.persons, keys...)
			case errors.Is(err, store.ErrNotFound):
			default:
				return RedriveSummary{}, err
			}
		}
	}
	dlqAttrs, err := r.attributes(ctx, a.DLQURL)
	if err != nil {
		return RedriveSummary{}, err
	}
	qAttrs, err := r.attributes(ctx, a.QueueURL)
	if err != nil {
		return RedriveSummary{}, err
	}
	total, _ := strconv.Atoi(dlqAttrs[string(sqstypes.QueueAttributeNameApproximateNumberOfMessages)])
	r.out = NewPrinter(w, r.a.Format, "PERSON", "LOGIN", "KIND", "EVENT ID", "AGE", "REASON", "ACTION")
	r.progress = NewProgress(a.Progress, total, "redrive "+string(a.Target))
	defer r.progress.Finish()

	selection := a.Reason != "" || a.Person != ""
	if !a.DryRun && !selection {
		done, err := r.moveTask(ctx, log, dlqAttrs[string(sqstypes.QueueAttributeNameQueueArn)], qAttrs[string(sqstypes.QueueAttributeNameQueueArn)], total)
		if err != nil || done {
			r.progress.Finish()
			if ferr := r.out.Flush(); err == nil {
				err = ferr
			}
			r.report(log)
			return r.sum, err
		}
	}
	err = r.walk(ctx, !a.DryRun)
	r.restore(ctx)
	r.progress.Finish()
	if ferr := r.out.Flush(); err == nil {
		err = ferr
	}
	r.sum.Unreached = max(0, total-r.sum.Listed)
	r.report(log)
	if err == nil && r.sum.Failed > 0 {
		err = fmt.Errorf("%w: %d of %d chosen messages stay in the dead-letter queue of %s", ErrNotMoved, r.sum.Failed, r.sum.Failed+r.sum.Moved, a.Target)
	}
	return r.sum, err
}

// redriver is one Redrive run.
type redriver struct {
	sq       RedriveSQS
	a        RedriveArgs
	logins   *Logins
	persons  []string
	limit    *rate.Limiter
	out      *Printer
	progress *Progress
	sum      RedriveSummary
	// held are messages received and left in the DLQ, by message id, with
	// their latest receipt handle: made visible again at the end.
	held map[string]string
}

func (r *redriver) attributes(ctx context.Context, url string) (map[string]string, error) {
	out, err := r.sq.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn, sqstypes.QueueAttributeNameApproximateNumberOfMessages}})
	if err != nil {
		return nil, fmt.Errorf("read attributes of %s: %w", url, err)
	}
	return out.Attributes, nil
}

func (r *redriver) report(log io.Writer) {
	s := r.sum
	what := fmt.Sprintf("redrive %s: %d moved, %d skipped, %d failed", r.a.Target, s.Moved, s.Skipped, s.Failed)
	switch {
	case r.a.DryRun:
		what = fmt.Sprintf("redrive %s (dry run, nothing moved): %d listed, %d would move, %d skipped", r.a.Target, s.Listed, s.Listed-s.Skipped, s.Skipped)
	case s.MoveTask != "":
		what += " (by SQS message move task)"
	}
	if s.Unreached > 0 {
		what += fmt.Sprintf("; %d more not reached (behind a message that stays, FIFO order, or newer)", s.Unreached)
	}
	fmt.Fprintln(log, what)
}

// notImplemented reports whether err says the SQS endpoint does not
// implement the operation (fauxqs answers InvalidAction).
func notImplemented(err error) bool {
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "InvalidAction", "UnsupportedOperation", "UnknownOperationException", "NotImplemented", "InvalidOperation":
			return true
		}
	}
	var re *awshttp.ResponseError
	return errors.As(err, &re) && re.HTTPStatusCode() == http.StatusNotImplemented
}

// moveTask lists the DLQ, then moves all of it with StartMessageMoveTask.
// done is false when SQS does not implement the task (the caller moves
// message by message).
func (r *redriver) moveTask(ctx context.Context, log io.Writer, dlqARN, queueARN string, total int) (done bool, err error) {
	in := &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(dlqARN), DestinationArn: aws.String(queueARN)}
	if r.a.Rate > 0 {
		if r.a.Rate > MaxMoveRate {
			return true, fmt.Errorf("%w: --rate %g is above SQS's %d messages per second for a move task", ErrUsage, r.a.Rate, MaxMoveRate)
		}
		in.MaxNumberOfMessagesPerSecond = aws.Int32(int32(max(1, r.a.Rate)))
	}
	// Probe first, so that an engine without move tasks is found before
	// anything is listed.
	if _, err := r.sq.ListMessageMoveTasks(ctx, &sqs.ListMessageMoveTasksInput{SourceArn: aws.String(dlqARN), MaxResults: aws.Int32(1)}); err != nil {
		if notImplemented(err) {
			fmt.Fprintf(log, "redrive %s: this SQS endpoint has no message move tasks; moving message by message\n", r.a.Target)
			return false, nil
		}
		return true, fmt.Errorf("list message move tasks of %s: %w", dlqARN, err)
	}
	if err := r.walk(ctx, false); err != nil {
		r.restore(ctx)
		return true, err
	}
	r.restore(ctx)
	started := r.a.Now()
	out, err := r.sq.StartMessageMoveTask(ctx, in)
	if err != nil {
		return true, fmt.Errorf("start message move task from %s (nothing moved; --person or --reason move message by message): %w", dlqARN, err)
	}
	r.sum.MoveTask = aws.ToString(out.TaskHandle)
	t := time.NewTicker(r.a.PollEvery)
	defer t.Stop()
	for {
		list, err := r.sq.ListMessageMoveTasks(ctx, &sqs.ListMessageMoveTasksInput{SourceArn: aws.String(dlqARN), MaxResults: aws.Int32(10)})
		if err != nil {
			return true, fmt.Errorf("follow message move task %s: %w", r.sum.MoveTask, err)
		}
		for _, res := range list.Results {
			if h := aws.ToString(res.TaskHandle); h != "" && h != r.sum.MoveTask {
				continue
			}
			if res.StartedTimestamp < started.Add(-time.Minute).UnixMilli() {
				continue
			}
			moved := int(res.ApproximateNumberOfMessagesMoved)
			r.progress.Set(moved)
			switch aws.ToString(res.Status) {
			case "COMPLETED":
				r.sum.Moved = moved
				r.sum.Unreached = max(0, total-r.sum.Listed)
				return true, nil
			case "FAILED", "CANCELLING", "CANCELLED":
				r.sum.Moved = moved
				return true, fmt.Errorf("%w: message move task %s is %s: %s", ErrNotMoved, r.sum.MoveTask,
					aws.ToString(res.Status), aws.ToString(res.FailureReason))
			}
			break
		}
		select {
		case <-ctx.Done():
			return true, fmt.Errorf("follow message move task %s (it goes on in SQS): %w", r.sum.MoveTask, ctx.Err())
		case <-t.C:
		}
	}
}

// walk receives every message it can reach, lists it and, with move,
// moves the chosen ones back. It stops when a receive brings nothing new.
func (r *redriver) walk(ctx context.Context, move bool) error {
	if r.held == nil {
		r.held = map[string]string{}
	}
	listed := map[string]bool{}
	stays := map[string]bool{} // message groups with a message that stays
	for {
		out, err := r.sq.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(r.a.DLQURL), MaxNumberOfMessages: 10,
			WaitTimeSeconds: int32(r.a.ReceiveWait / time.Second), VisibilityTimeout: int32(r.a.Visibility / time.Second),
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
			MessageAttributeNames:       []string{"All"},
		})
		if err != nil {
			return fmt.Errorf("receive from %s: %w", r.a.DLQURL, err)
		}
		fresh := 0
		for _, m := range out.Messages {
			id := aws.ToString(m.MessageId)
			if listed[id] {
				r.held[id] = aws.ToString(m.ReceiptHandle) // came back after its visibility ran out
				continue
			}
			listed[id] = true
			fresh++
			r.sum.Listed++
			r.progress.Add(1)
			row := r.describe(ctx, m)
			group := m.Attributes[string(sqstypes.MessageSystemAttributeNameMessageGroupId)]
			switch {
			case !r.chosen(m, row):
				row.Action = actionSkipped
			case stays[group]:
				row.Action = actionHeld
			case !move && r.a.DryRun:
				row.Action = actionWould
			case !move:
				row.Action = actionMoving
			default:
				if err := r.move(ctx, m, row); err != nil {
					if ctx.Err() != nil {
						return ctx.Err()
					}
					row.Action = actionFailed + ": " + err.Error()
				} else {
					row.Action = actionMoved
				}
			}
			switch {
			case row.Action == actionMoved:
				r.sum.Moved++
			case strings.HasPrefix(row.Action, actionFailed):
				r.sum.Failed++
				stays[group] = true
			case row.Action == actionSkipped || row.Action == actionHeld:
				r.sum.Skipped++
				stays[group] = true
			}
			if row.Action != actionMoved {
				r.held[id] = aws.ToString(m.ReceiptHandle)
			}
			if err := r.print(row); err != nil {
				return err
			}
		}
		if fresh == 0 {
			return nil
		}
	}
}

func (r *redriver) print(row redriveRow) error {
	return r.out.Row(row, row.Person, row.Login, string(row.Kind), row.EventID, row.Age, truncate(row.Reason, 100), row.Action)
}

// restore makes the messages left in the DLQ visible again.
func (r *redriver) restore(ctx context.Context) {
	ctx = context.WithoutCancel(ctx)
	for id, handle := range r.held {
		_, _ = r.sq.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
			QueueUrl: aws.String(r.a.DLQURL), ReceiptHandle: aws.String(handle), VisibilityTimeout: 0})
		delete(r.held, id)
	}
}

// describe reads what a DLQ message is about.
func (r *redriver) describe(ctx context.Context, m sqstypes.Message) redriveRow {
	row := redriveRow{MessageID: aws.ToString(m.MessageId), Person: m.Attributes[string(sqstypes.MessageSystemAttributeNameMessageGroupId)]}
	if v, ok := m.MessageAttributes[consumers.AttrReason]; ok {
		row.Reason = aws.ToString(v.StringValue)
	}
	if e, err := domain.DecodeEvent([]byte(aws.ToString(m.Body))); err == nil {
		row.Kind, row.Source, row.EventID = e.Kind, e.Source, e.ID
		if row.Person == "" {
			row.Person = e.Subject.Key()
		}
		r.logins.Remember(e.Subject.Key(), e.Subject.Login)
		row.Login = e.Subject.Login
	} else {
		row.Kind = "(undecodable)"
	}
	if row.Login == "" {
		row.Login = r.logins.Of(ctx, row.Person)
	}
	if ms, err := strconv.ParseInt(m.Attributes[string(sqstypes.MessageSystemAttributeNameSentTimestamp)], 10, 64); err == nil && ms > 0 {
		sent := time.UnixMilli(ms)
		row.SentAt = sent.UTC().Format(time.RFC3339)
		row.Age = r.a.Now().Sub(sent).Round(time.Second).String()
	}
	return row
}

// chosen reports whether the selection takes the message.
func (r *redriver) chosen(m sqstypes.Message, row redriveRow) bool {
	if r.a.Reason != "" && !strings.Contains(strings.ToLower(row.Reason), strings.ToLower(r.a.Reason)) {
		return false
	}
	if len(r.persons) == 0 {
		return true
	}
	if slices.Contains(r.persons, row.Person) {
		return true
	}
	e, err := domain.DecodeEvent([]byte(aws.ToString(m.Body)))
	if err != nil {
		return false
	}
	s := e.Subject
	return (s.OktaID != "" && slices.Contains(r.persons, s.OktaID)) || (s.IdCUserID != "" && slices.Contains(r.persons, s.IdCUserID)) ||
		(s.Login != "" && strings.EqualFold(s.Login, r.a.Person))
}

// deadLetterAttrs are the attributes the consumer added when it
// dead-lettered the message; they describe that failure, not the event.
var deadLetterAttrs = []string{consumers.AttrReason, consumers.AttrErrorKind, consumers.AttrTarget}

// move sends m to the queue and then deletes it from the DLQ.
func (r *redriver) move(ctx context.Context, m sqstypes.Message, row redriveRow) error {
	if r.limit != nil {
		if err := r.limit.Wait(ctx); err != nil {
			return err
		}
	}
	attrs := map[string]sqstypes.MessageAttributeValue{}
	for k, v := range m.MessageAttributes {
		if !slices.Contains(deadLetterAttrs, k) {
			attrs[k] = sqstypes.MessageAttributeValue{DataType: v.DataType, StringValue: v.StringValue, BinaryValue: v.BinaryValue}
		}
	}
	if row.Kind != "" && row.EventID != "" {
		attrs[publish.AttrKind] = sqstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(string(row.Kind))}
		attrs[publish.AttrSource] = sqstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(string(row.Source))}
	}
	group := row.Person
	if group == "" {
		group = "poison"
	}
	_, err := r.sq.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl: aws.String(r.a.QueueURL), MessageBody: m.Body, MessageGroupId: aws.String(group),
		MessageDeduplicationId: aws.String(RedriveDedupID(row.EventID, aws.ToString(m.MessageId))),
		MessageAttributes:      attrs,
	})
	if err != nil {
		return fmt.Errorf("send to %s: %w", r.a.QueueURL, err)
	}
	if _, err := r.sq.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(r.a.DLQURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
		return fmt.Errorf("sent, but not deleted from the dead-letter queue (a re-run sends it again, which the consumers skip as a duplicate): %w", err)
	}
	return nil
}

// RedriveDedupID is the deduplication id of a redriven message: the event
// id (or, for a body that does not decode, "message") and 12 hex digits
// of a hash of the DLQ message id. It is stable for one DLQ message and
// differs from the original send's id (the event id alone).
func RedriveDedupID(eventID, dlqMessageID string) string {
	if eventID == "" {
		eventID = "message"
	}
	sum := sha256.Sum256([]byte(dlqMessageID))
	return eventID + "-redrive-" + hex.EncodeToString(sum[:6])
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
