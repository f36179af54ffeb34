package consumers_test

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/idsync/idsync/consumers"
	"github.com/idsync/idsync/consumers/workmail"
	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/awsclient"
	"github.com/idsync/idsync/internal/sim/simkit"
	"github.com/idsync/idsync/internal/sim/simworkmail"
	"github.com/idsync/idsync/internal/testenv"
)

// workMailRunner is a runner of the WorkMail target over a stand-in
// organisation (served over HTTP to the real SDK client, 3 attempts) whose
// mail group is the one event() joins.
func workMailRunner(t *testing.T) (*consumers.Runner, backend, *simworkmail.Server, string) {
	t.Helper()
	sim := simworkmail.New(simworkmail.Options{NoQuota: true, Seed: 3})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	org := sim.AddOrganization("runner", "example.com")
	cfg, err := awsclient.Config(testenv.Context(t), awsclient.Options{
		Local: true, MaxAttempts: 3, MaxBackoff: 5 * time.Millisecond, NoRetryRateLimit: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	target, err := workmail.New(workmail.Options{API: awsclient.WorkMail(cfg, srv.URL), Config: domain.WorkMailConfig{
		OrganizationID: org, Groups: []domain.GroupRef{{OktaID: group}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	b := newBackend(t)
	return b.runner(t, target, consumers.RunnerOptions{}), b, sim, org
}

// dlqReasons receives what the backend's DLQ holds: body → reason.
func (b backend) dlqReasons(t *testing.T) map[string]string {
	t.Helper()
	out, err := b.sqs.ReceiveMessage(testenv.Context(t), &sqs.ReceiveMessageInput{
		QueueUrl: aws.String(b.dlq.DLQURL), MaxNumberOfMessages: 10, MessageAttributeNames: []string{"All"},
	})
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]string{}
	for _, m := range out.Messages {
		reasons[aws.ToString(m.Body)] = aws.ToString(m.MessageAttributes[consumers.AttrReason].StringValue)
	}
	return reasons
}

// TestWorkMailThrottleIsRetriedNeverDeadLettered: WorkMail answers
// throttling with ThrottlingException (AWS's common errors; WorkMail
// models none). A create throttled on every attempt of the SDK's retryer
// fails retryably: the record is returned for redelivery, nothing goes to
// the DLQ, and the redelivery, unthrottled, makes the mailbox.
func TestWorkMailThrottleIsRetriedNeverDeadLettered(t *testing.T) {
	r, b, sim, org := workMailRunner(t)
	ctx := testenv.Context(t)
	sim.Control().SetFaults("CreateUser", simkit.Faults{ThrottleRate: 1})
	batch := events.SQSEvent{Records: []events.SQSMessage{record(t, "t1", event("00uthrottled", domain.KindMemberAdded, 1))}}
	resp, err := r.Handle(ctx, batch)
	if err != nil || len(resp.BatchItemFailures) != 1 {
		t.Fatalf("throttled: %v %v, want the record back for redelivery", err, failures(resp))
	}
	if c := sim.Control().Counters()["CreateUser"]; c.Throttled != 3 {
		t.Errorf("CreateUser throttled %d times, want every one of the SDK's 3 attempts", c.Throttled)
	}
	rows := ledgerRows(t, b.st, "00uthrottled")
	last := rows[len(rows)-1]
	if last.Outcome != domain.OutcomeFailed || !strings.HasPrefix(last.Reason, "retryable: ") || !strings.Contains(last.Reason, "ThrottlingException") {
		t.Errorf("last ledger row %+v, want a retryable ThrottlingException", last)
	}
	if got := b.dlqReasons(t); len(got) != 0 {
		t.Fatalf("a throttle was dead-lettered: %v", got)
	}

	sim.Control().SetFaults("CreateUser", simkit.Faults{})
	if resp, err := r.Handle(ctx, batch); err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("redelivery: %v %v", err, failures(resp))
	}
	if us := sim.Users(org); len(us) != 1 || us[0].State != simworkmail.StateEnabled {
		t.Errorf("users %+v, want one enabled mailbox", us)
	}
	if got := b.dlqReasons(t); len(got) != 0 {
		t.Errorf("DLQ holds %v", got)
	}
}

// TestWorkMailUserLimitIsDeadLettered: LimitExceededException is the
// organisation's user quota, not a rate: the create is sent once (the SDK
// lists the code among throttles, idsync's retryer does not retry it), the
// failure is permanent and the record goes to the DLQ with its reason.
func TestWorkMailUserLimitIsDeadLettered(t *testing.T) {
	r, b, sim, org := workMailRunner(t)
	ctx := testenv.Context(t)
	if _, err := sim.SeedUser(org, "someone", ""); err != nil {
		t.Fatal(err)
	}
	if err := sim.SetUserLimit(org, 1); err != nil {
		t.Fatal(err)
	}
	rec := record(t, "l1", event("00ulimited", domain.KindMemberAdded, 1))
	resp, err := r.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{rec}})
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("quota: %v %v, want the record acknowledged", err, failures(resp))
	}
	if n := sim.Control().Counters()["CreateUser"].Requests; n != 1 {
		t.Errorf("CreateUser sent %d times, want once", n)
	}
	reason := b.dlqReasons(t)[rec.Body]
	if !strings.HasPrefix(reason, "apply: workmail CreateUser: LimitExceededException (HTTP 400)") {
		t.Errorf("DLQ reason %q, want the quota", reason)
	}
	if len(sim.Users(org)) != 1 {
		t.Errorf("users %+v, want only the seeded one", sim.Users(org))
	}
}
