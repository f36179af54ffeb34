package opscli_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/idsync/idsync/consumers"
	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/localrun"
	"github.com/idsync/idsync/internal/opscli"
	"github.com/idsync/idsync/internal/testenv"
)

func TestRedriveMovesExactlyTheDeadLettersBackAndTheyAreApplied(t *testing.T) {
	s := startStack(t, localrun.Options{})
	ctx := testenv.Context(t)
	org := s.Endpoint("WORKMAIL_ORGANIZATION_ID")
	// WorkMail refuses new users (its per-organisation user quota): a
	// permanent failure, so the consumer dead-letters both facts.
	if err := s.WorkMail.SetUserLimit(org, 0); err != nil {
		t.Fatal(err)
	}
	addToGroup(t, s, "OKTA_WORKMAIL_GROUP_ID", "ana.silva@example.com")
	addToGroup(t, s, "OKTA_WORKMAIL_GROUP_ID", "ben.okafor@example.com")
	q := queue(s, domain.TargetWorkMail)
	testenv.Eventually(t, "two dead letters", func() string {
		if n := depth(t, s, q.DLQURL); n != 2 {
			return fmt.Sprintf("%d messages in the DLQ", n)
		}
		return ""
	})
	a := operator(t, s, nil)
	args := opscli.RedriveArgs{Target: domain.TargetWorkMail, QueueURL: q.URL, DLQURL: q.DLQURL, Format: opscli.FormatCSV}
	redrive := func(t *testing.T, mod func(*opscli.RedriveArgs)) (opscli.RedriveSummary, [][]string, string) {
		t.Helper()
		a2 := args
		mod(&a2)
		var out, log bytes.Buffer
		sum, err := opscli.Redrive(ctx, opscli.SQSOf(a), a.Store, &out, &log, a2)
		if err != nil {
			t.Fatalf("redrive: %v\n%s", err, log.String())
		}
		rows, err := csv.NewReader(&out).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		return sum, rows[1:], log.String()
	}

	// A dry run lists both and moves nothing.
	sum, rows, log := redrive(t, func(a *opscli.RedriveArgs) { a.DryRun = true })
	if sum.Listed != 2 || sum.Moved != 0 || len(rows) != 2 || !strings.Contains(log, "dry run, nothing moved") {
		t.Fatalf("dry run: %+v %v\n%s", sum, rows, log)
	}
	logins := map[string]bool{}
	for _, r := range rows { // PERSON, LOGIN, KIND, EVENT ID, AGE, REASON, ACTION
		logins[r[1]] = true
		if r[2] != string(domain.KindMemberAdded) || r[3] == "" || r[4] == "" || !strings.Contains(r[5], "LimitExceededException") || r[6] != "would move" {
			t.Errorf("dry-run row %v", r)
		}
	}
	if !logins["ana.silva@example.com"] || !logins["ben.okafor@example.com"] {
		t.Errorf("dry run lists %v", logins)
	}
	if n, m := depth(t, s, q.DLQURL), depth(t, s, q.URL); n != 2 || m != 0 {
		t.Fatalf("after the dry run: %d in the DLQ, %d in the queue", n, m)
	}

	// The cause is fixed; Ben's message goes back first, alone.
	if err := s.WorkMail.SetUserLimit(org, 1000); err != nil {
		t.Fatal(err)
	}
	sum, rows, _ = redrive(t, func(a *opscli.RedriveArgs) { a.Person = "ben.okafor@example.com" })
	if sum.Moved != 1 || sum.Skipped != 1 || sum.Failed != 0 {
		t.Fatalf("Ben's redrive: %+v %v", sum, rows)
	}
	testenv.Eventually(t, "Ben's mailbox", func() string {
		if st, _ := mailboxState(s, "ben.okafor"); st != "ENABLED" {
			return "Ben's mailbox " + st
		}
		return ""
	})
	if st, _ := mailboxState(s, "ana.silva"); st != "" {
		t.Fatalf("Ana's message was moved too: mailbox %s", st)
	}

	// Then everything left (the local engine has no move tasks: message by
	// message).
	sum, _, log = redrive(t, func(*opscli.RedriveArgs) {})
	if sum.Moved != 1 || sum.Failed != 0 || !strings.Contains(log, "no message move tasks") {
		t.Fatalf("the rest: %+v\n%s", sum, log)
	}
	testenv.Eventually(t, "Ana's mailbox and an empty DLQ", func() string {
		st, n := mailboxState(s, "ana.silva")
		if st != "ENABLED" || n != 1 {
			return fmt.Sprintf("Ana's mailbox %s (%d)", st, n)
		}
		if n := depth(t, s, q.DLQURL); n != 0 {
			return fmt.Sprintf("%d left in the DLQ", n)
		}
		return ""
	})
	if _, n := mailboxState(s, "ben.okafor"); n != 1 {
		t.Fatalf("Ben has %d mailboxes", n)
	}
}

// fakeSQS is an SQS with a scripted dead-letter queue, for the paths the
// local engine cannot take (move tasks) and for failures.
type fakeSQS struct {
	mu sync.Mutex
	script
	dlq       []sqstypes.Message
	started   *sqs.StartMessageMoveTaskInput
	sent      []*sqs.SendMessageInput
	deleted   []string
	restored  int
	delivered bool
}

func (f *fakeSQS) GetQueueAttributes(_ context.Context, in *sqs.GetQueueAttributesInput, _ ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error) {
	return &sqs.GetQueueAttributesOutput{Attributes: map[string]string{
		"QueueArn": "arn:aws:sqs:us-east-1:123456789012:" + aws.ToString(in.QueueUrl), "ApproximateNumberOfMessages": fmt.Sprint(len(f.dlq))}}, nil
}

func (f *fakeSQS) ReceiveMessage(context.Context, *sqs.ReceiveMessageInput, ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.delivered {
		return &sqs.ReceiveMessageOutput{}, nil
	}
	f.delivered = true
	return &sqs.ReceiveMessageOutput{Messages: f.dlq}, nil
}

func (f *fakeSQS) SendMessage(_ context.Context, in *sqs.SendMessageInput, _ ...func(*sqs.Options)) (*sqs.SendMessageOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.sendErr != nil {
		return nil, f.sendErr
	}
	f.sent = append(f.sent, in)
	return &sqs.SendMessageOutput{MessageId: aws.String("new")}, nil
}

func (f *fakeSQS) DeleteMessage(_ context.Context, in *sqs.DeleteMessageInput, _ ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deleted = append(f.deleted, aws.ToString(in.ReceiptHandle))
	return &sqs.DeleteMessageOutput{}, nil
}

func (f *fakeSQS) ChangeMessageVisibility(context.Context, *sqs.ChangeMessageVisibilityInput, ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.restored++
	f.delivered = false // visible again
	return &sqs.ChangeMessageVisibilityOutput{}, nil
}

func (f *fakeSQS) StartMessageMoveTask(_ context.Context, in *sqs.StartMessageMoveTaskInput, _ ...func(*sqs.Options)) (*sqs.StartMessageMoveTaskOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.startErr != nil {
		return nil, f.startErr
	}
	f.started = in
	return &sqs.StartMessageMoveTaskOutput{TaskHandle: aws.String("task-1")}, nil
}

func (f *fakeSQS) ListMessageMoveTasks(context.Context, *sqs.ListMessageMoveTasksInput, ...func(*sqs.Options)) (*sqs.ListMessageMoveTasksOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.listErr != nil {
		return nil, f.listErr
	}
	if f.started == nil {
		return &sqs.ListMessageMoveTasksOutput{}, nil
	}
	return &sqs.ListMessageMoveTasksOutput{Results: f.tasks}, nil
}

// script is what a fakeSQS answers.
type script struct {
	listErr  error
	tasks    []sqstypes.ListMessageMoveTasksResultEntry
	startErr error
	sendErr  error
}

// deadLetter is a DLQ message as the consumer leaves it.
func deadLetter(t *testing.T, i int) sqstypes.Message {
	t.Helper()
	at := time.Date(2026, 11, 3, 9, 0, i, 0, time.UTC)
	e := domain.Event{Source: domain.SourceOktaHook, SourceEventID: fmt.Sprint("u", i), Kind: domain.KindMemberAdded,
		Subject: domain.Subject{OktaID: fmt.Sprintf("00uperson%d", i), Login: fmt.Sprintf("p%d@example.com", i)},
		Group:   &domain.GroupRef{OktaID: "00gmail"}, OccurredAt: at, ReceivedAt: at}
	e.ID = domain.NewEventID(e.Source, e.SourceEventID, e.Subject.Key(), at)
	body, err := domain.EncodeEvent(e)
	if err != nil {
		t.Fatal(err)
	}
	return sqstypes.Message{
		MessageId: aws.String(fmt.Sprint("dlq-msg-", i)), ReceiptHandle: aws.String(fmt.Sprint("rh-", i)), Body: aws.String(string(body)),
		Attributes: map[string]string{"MessageGroupId": e.Subject.Key(), "MessageDeduplicationId": e.ID,
			"SentTimestamp": fmt.Sprint(at.Add(time.Minute).UnixMilli())},
		MessageAttributes: map[string]sqstypes.MessageAttributeValue{
			consumers.AttrReason: {DataType: aws.String("String"), StringValue: aws.String("permanent: apply: workmail CreateUser: LimitExceededException (HTTP 400)")},
			consumers.AttrTarget: {DataType: aws.String("String"), StringValue: aws.String("workmail")},
		},
	}
}

func TestRedriveChoosesTheMoveTaskOrMovesMessageByMessage(t *testing.T) {
	invalidAction := &smithy.GenericAPIError{Code: "InvalidAction", Message: "Unknown action: ListMessageMoveTasks"}
	now := time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name      string
		fake      script
		args      opscli.RedriveArgs
		wantErr   error
		want      opscli.RedriveSummary
		wantSent  int
		wantTask  bool
		wantNoted string
		sameGroup bool
	}{
		{name: "an engine without move tasks: message by message",
			fake: script{listErr: invalidAction}, want: opscli.RedriveSummary{Listed: 2, Moved: 2}, wantSent: 2,
			wantNoted: "no message move tasks"},
		{name: "SQS moves them all with a move task at the rate",
			fake: script{tasks: []sqstypes.ListMessageMoveTasksResultEntry{{Status: aws.String("COMPLETED"),
				ApproximateNumberOfMessagesMoved: 2, StartedTimestamp: now.UnixMilli()}}},
			args: opscli.RedriveArgs{Rate: 3}, want: opscli.RedriveSummary{Listed: 2, Moved: 2, MoveTask: "task-1"}, wantTask: true},
		{name: "a failed move task",
			fake: script{tasks: []sqstypes.ListMessageMoveTasksResultEntry{{Status: aws.String("FAILED"), FailureReason: aws.String("AccessDenied"),
				ApproximateNumberOfMessagesMoved: 1, StartedTimestamp: now.UnixMilli()}}},
			want: opscli.RedriveSummary{Listed: 2, Moved: 1, MoveTask: "task-1"}, wantErr: opscli.ErrNotMoved, wantTask: true},
		{name: "a denied move task is not a fallback",
			fake: script{listErr: &smithy.GenericAPIError{Code: "AccessDenied"}}, wantErr: &smithy.GenericAPIError{}},
		{name: "a selection moves message by message",
			fake: script{}, args: opscli.RedriveArgs{Person: "00uperson1"}, want: opscli.RedriveSummary{Listed: 2, Moved: 1, Skipped: 1}, wantSent: 1},
		{name: "a failed send deletes nothing",
			fake: script{listErr: invalidAction, sendErr: errors.New("connection reset")},
			want: opscli.RedriveSummary{Listed: 2, Failed: 2}, wantErr: opscli.ErrNotMoved},
		{name: "a dry run moves nothing and starts no task",
			fake: script{}, args: opscli.RedriveArgs{DryRun: true}, want: opscli.RedriveSummary{Listed: 2}},
		{name: "a person's later message stays behind one that stays",
			fake: script{}, args: opscli.RedriveArgs{Reason: "second"}, sameGroup: true,
			want: opscli.RedriveSummary{Listed: 2, Skipped: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeSQS{script: tc.fake}
			f.dlq = []sqstypes.Message{deadLetter(t, 1), deadLetter(t, 2)}
			if tc.sameGroup {
				f.dlq[1].Attributes["MessageGroupId"] = f.dlq[0].Attributes["MessageGroupId"]
				f.dlq[1].MessageAttributes[consumers.AttrReason] = sqstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String("the second")}
			}
			a := tc.args
			a.Target, a.QueueURL, a.DLQURL, a.Format = domain.TargetWorkMail, "queue", "dlq", opscli.FormatCSV
			a.PollEvery, a.Now = time.Millisecond, func() time.Time { return now }
			var out, log bytes.Buffer
			sum, err := opscli.Redrive(context.Background(), f, nil, &out, &log, a)
			var api *smithy.GenericAPIError
			switch {
			case tc.wantErr == nil && err != nil:
				t.Fatalf("redrive: %v", err)
			case errors.As(tc.wantErr, &api) && !errors.As(err, &api):
				t.Fatalf("err = %v, want an API error", err)
			case tc.wantErr != nil && !errors.As(tc.wantErr, &api) && !errors.Is(err, tc.wantErr):
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if sum != tc.want {
				t.Errorf("summary %+v, want %+v", sum, tc.want)
			}
			if len(f.sent) != tc.wantSent || len(f.deleted) != tc.wantSent {
				t.Errorf("sent %d, deleted %d, want %d each", len(f.sent), len(f.deleted), tc.wantSent)
			}
			if (f.started != nil) != tc.wantTask {
				t.Errorf("move task started: %v", f.started)
			}
			if tc.wantTask && tc.args.Rate > 0 && aws.ToInt32(f.started.MaxNumberOfMessagesPerSecond) != int32(tc.args.Rate) {
				t.Errorf("move task rate %d", aws.ToInt32(f.started.MaxNumberOfMessagesPerSecond))
			}
			if !strings.Contains(log.String(), tc.wantNoted) {
				t.Errorf("log lacks %q:\n%s", tc.wantNoted, log.String())
			}
			for _, in := range f.sent {
				e, err := domain.DecodeEvent([]byte(aws.ToString(in.MessageBody)))
				if err != nil {
					t.Fatal(err)
				}
				// Same group; a deduplication id that is not the original
				// send's (SQS would drop it within five minutes of that).
				if aws.ToString(in.MessageGroupId) != e.Subject.Key() || aws.ToString(in.MessageDeduplicationId) == e.ID ||
					!strings.HasPrefix(aws.ToString(in.MessageDeduplicationId), e.ID) {
					t.Errorf("sent group %s dedup %s for event %s", aws.ToString(in.MessageGroupId), aws.ToString(in.MessageDeduplicationId), e.ID)
				}
				if _, ok := in.MessageAttributes[consumers.AttrReason]; ok {
					t.Errorf("the dead-letter reason went back to the queue")
				}
			}
		})
	}
}

func TestRedriveDedupIDIsStablePerDeadLetter(t *testing.T) {
	a, b := opscli.RedriveDedupID("01EVENT", "m-1"), opscli.RedriveDedupID("01EVENT", "m-1")
	c := opscli.RedriveDedupID("01EVENT", "m-2")
	if a != b || a == c || a == "01EVENT" || len(a) > 128 {
		t.Fatalf("dedup ids %q %q %q", a, b, c)
	}
}
