package localrun_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	wmtypes "github.com/aws/aws-sdk-go-v2/service/workmail/types"

	"github.com/idsync/idsync/consumers"
	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/awsclient"
	"github.com/idsync/idsync/internal/localrun"
	"github.com/idsync/idsync/internal/testenv"
	"github.com/idsync/idsync/store"
)

// within polls check every 200 ms until it returns "" or d has passed,
// failing the test with check's last answer. It waits on convergence that
// takes several scheduled runs or a queue's whole retry budget (longer
// than testenv.Eventually's minute on a loaded machine); it asserts no
// performance.
func within(t *testing.T, d time.Duration, what string, check func() string) {
	t.Helper()
	deadline := time.Now().Add(d)
	last := ""
	for time.Now().Before(deadline) {
		if last = check(); last == "" {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s: not reached within %s; last: %s", what, d, last)
}

// simFaults posts a fault setting to a stand-in's /_sim/faults, as a user
// of make run would with curl.
func simFaults(t *testing.T, endpoint string, faults map[string]any) {
	t.Helper()
	body, err := json.Marshal(faults)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(endpoint+"/_sim/faults", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		t.Fatalf("POST %s/_sim/faults %s: %d", endpoint, body, resp.StatusCode)
	}
}

// dlqMessages reads (without deleting) what a dead-letter queue holds:
// each message's event id and reason attribute (empty when SQS's redrive
// policy moved it there, not the consumer).
func dlqMessages(ctx context.Context, sq *sqs.Client, url string) (map[string]string, error) {
	out := map[string]string{}
	for range 3 {
		got, err := sq.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10,
			VisibilityTimeout: 0, MessageAttributeNames: []string{"All"},
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll}})
		if err != nil {
			return nil, err
		}
		for _, m := range got.Messages {
			var e struct {
				ID string `json:"id"`
			}
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &e); err != nil {
				return nil, fmt.Errorf("dead letter %s: %w", aws.ToString(m.MessageId), err)
			}
			out[e.ID] = aws.ToString(m.MessageAttributes[consumers.AttrReason].StringValue)
		}
	}
	return out, nil
}

// TestConnectOutageThenHeal is issue 12's story, with the pipeline wired as
// make run wires it (Okta's delivery faults on, the snapshot on a
// schedule): the Connect stand-in stops answering (every call 500, set
// through its /_sim/faults as a user would), an admin adds Ben to the
// WorkMail and Connect groups through Okta's management API, his mailbox
// is made while the Connect consumer's retries run out: on the message's
// last receive (maxReceiveCount 5) the consumer records why ("retries
// exhausted") and acknowledges it, leaving Ben to reconciliation; the DLQ
// stays empty. The stand-in heals, and Ben gets exactly one agent: from an
// event still retrying (the snapshot's reconcile or observed events queued
// during the outage) or the next scheduled runs' per-target
// reconciliation, whichever comes first.
func TestConnectOutageThenHeal(t *testing.T) {
	env := testenv.Get(t)
	ctx := testenv.LongContext(t, 15*time.Minute)
	s, err := localrun.Start(ctx, localrun.Options{
		DynamoDBEndpoint: env.DynamoDBEndpoint, SQSEndpoint: env.SQSEndpoint, Prefix: testenv.UniqueName(t, "lo", 60),
		RequireIdCAssignment: true, MirrorLag: time.Second, SnapshotEvery: 3 * time.Second, RetryDelay: time.Second,
		HookFaults: localrun.DefaultHookFaults(),
	})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(s.Close)
	tg := newTargets(t, s)
	cfg, err := awsclient.Config(ctx, awsclient.Options{Local: true})
	if err != nil {
		t.Fatal(err)
	}
	sq := awsclient.SQS(cfg, s.Endpoint("SQS_ENDPOINT"))
	const login = "ben.okafor@example.com"
	ben := oktaUserID(t, s, login)

	simFaults(t, s.Endpoint("CONNECT_ENDPOINT"), map[string]any{"op": "*", "serverErrorRate": 1})
	okta(t, s, http.MethodPut, "/api/v1/groups/"+s.Endpoint("OKTA_WORKMAIL_GROUP_ID")+"/users/"+ben)
	okta(t, s, http.MethodPut, "/api/v1/groups/"+s.Endpoint("OKTA_CONNECT_GROUP_ID")+"/users/"+ben)

	within(t, 2*time.Minute, "an enabled mailbox during the Connect outage", func() string {
		u, why := tg.mailbox(ctx, "ben.okafor")
		if u == nil {
			return why
		}
		if u.State != wmtypes.EntityStateEnabled {
			return "mailbox " + string(u.State)
		}
		return ""
	})
	// The Connect message's retries run out: on its last receive the
	// consumer records why and leaves the person to reconciliation (the
	// facts are stored), instead of letting the redrive policy move it to
	// the DLQ, which is for permanent failures.
	var exhausted string
	within(t, 10*time.Minute, "a Connect event's retries exhausted", func() string {
		for _, e := range audit(t, s, ben) {
			if e.Target == domain.TargetConnect && e.Outcome == domain.OutcomeFailed && strings.Contains(e.Reason, "retries exhausted") {
				exhausted = e.Reason
				return ""
			}
		}
		return "no Connect row says retries exhausted"
	})
	t.Logf("ledger: %s", exhausted)
	if !strings.Contains(exhausted, "left to the next reconciliation") || !strings.Contains(exhausted, "500") && !strings.Contains(exhausted, "deadline") {
		t.Errorf("the hand-over row %q does not say why", exhausted)
	}
	if u, _ := tg.agent(ctx, login); u != nil {
		t.Fatalf("an agent exists during the outage: %+v", u)
	}
	if dead, err := dlqMessages(ctx, sq, s.Endpoint("CONNECT_DLQ_URL")); err != nil || len(dead) != 0 {
		t.Errorf("the Connect DLQ holds %v (%v), want nothing: a target outage is no permanent failure", dead, err)
	}

	healed := time.Now()
	simFaults(t, s.Endpoint("CONNECT_ENDPOINT"), map[string]any{"op": "*", "serverErrorRate": 0})
	group := s.Config.Connect.Groups[0]
	within(t, 5*time.Minute, "the agent after the heal", func() string {
		u, why := tg.agent(ctx, login)
		if u == nil {
			return why
		}
		if aws.ToString(u.RoutingProfileId) != group.RoutingProfileID || len(u.SecurityProfileIds) != 1 ||
			u.SecurityProfileIds[0] != group.SecurityProfileIDs[0] {
			return fmt.Sprintf("agent profiles %v / %s", u.SecurityProfileIds, aws.ToString(u.RoutingProfileId))
		}
		return ""
	})
	t.Logf("agent %.1f s after the heal", time.Since(healed).Seconds())
	created := 0
	for _, e := range audit(t, s, ben) {
		if e.Target == domain.TargetConnect && e.Outcome == domain.OutcomeApplied && e.Op == domain.OpCreate {
			created++
			t.Logf("agent created by a %s event (%s)", e.Kind, e.Source)
		}
	}
	if created != 1 {
		t.Errorf("%d applied Connect creates, want 1", created)
	}
	if n := len(s.Connect.Users(s.Endpoint("CONNECT_INSTANCE_ID"))); n != 1 {
		t.Errorf("%d Connect users, want 1", n)
	}
}

// audit is every ledger row of one person.
func audit(t *testing.T, s *localrun.Stack, key string) []domain.LedgerEntry {
	t.Helper()
	var out []domain.LedgerEntry
	q := store.AuditQuery{PersonKey: key, PageSize: 500}
	for {
		page, err := s.Store.Audit(testenv.Context(t), q)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page.Entries...)
		if page.Cursor == "" {
			return out
		}
		q.Cursor = page.Cursor
	}
}
