package opscli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/app"
	"github.com/idsync/idsync/internal/awsclient"
	"github.com/idsync/idsync/internal/localrun"
	"github.com/idsync/idsync/internal/settings"
	"github.com/idsync/idsync/internal/testenv"
)

// startStack starts the whole local pipeline on the stand-ins, without the
// snapshot schedule unless o says otherwise.
func startStack(t *testing.T, o localrun.Options) *localrun.Stack {
	t.Helper()
	env := testenv.Get(t)
	o.DynamoDBEndpoint, o.SQSEndpoint = env.DynamoDBEndpoint, env.SQSEndpoint
	o.RequireIdCAssignment = true // as make run does
	if o.Prefix == "" {
		o.Prefix = testenv.UniqueName(t, "ops", 60)
	}
	if o.RetryDelay == 0 {
		o.RetryDelay = time.Second
	}
	if o.Log == nil {
		o.Log = slog.New(slog.NewJSONHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	s, err := localrun.Start(testenv.Context(t), o)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// operator builds the App an operator command uses against the stack, as
// the CLI does from endpoints.env; cfg, when set, replaces its AWS
// configuration.
func operator(t *testing.T, s *localrun.Stack, cfg *aws.Config) *app.App {
	t.Helper()
	a, err := app.New(testenv.Context(t), app.Options{Settings: s.Settings, Component: settings.Operator, AWS: cfg,
		Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// oktaAPI calls the Okta stand-in's management API as an admin would.
func oktaAPI(t *testing.T, s *localrun.Stack, method, path string) []byte {
	t.Helper()
	req, err := http.NewRequest(method, s.Endpoint("OKTA_ORG_URL")+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "SSWS "+s.Endpoint("OKTA_API_TOKEN"))
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, body)
	}
	return body
}

// oktaUserID returns the Okta id of a login.
func oktaUserID(t *testing.T, s *localrun.Stack, login string) string {
	t.Helper()
	var u struct{ ID string }
	if err := json.Unmarshal(oktaAPI(t, s, http.MethodGet, "/api/v1/users/"+login), &u); err != nil || u.ID == "" {
		t.Fatalf("find %s: %v", login, err)
	}
	return u.ID
}

// addToGroup adds a login to the Okta group named by the endpoint key
// (OKTA_WORKMAIL_GROUP_ID, …).
func addToGroup(t *testing.T, s *localrun.Stack, groupKey, login string) string {
	t.Helper()
	id := oktaUserID(t, s, login)
	oktaAPI(t, s, http.MethodPut, "/api/v1/groups/"+s.Endpoint(groupKey)+"/users/"+id)
	return id
}

// depth is a queue's message count (visible, in flight and delayed).
func depth(t *testing.T, s *localrun.Stack, url string) int {
	t.Helper()
	cfg, err := awsclient.Config(context.Background(), awsclient.Options{Local: true})
	if err != nil {
		t.Fatal(err)
	}
	out, err := awsclient.SQS(cfg, s.Settings.Endpoints.SQS).GetQueueAttributes(testenv.Context(t), &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible, sqstypes.QueueAttributeNameApproximateNumberOfMessagesDelayed}})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, v := range out.Attributes {
		i, _ := strconv.Atoi(v)
		n += i
	}
	return n
}

// queue returns target t's queue settings.
func queue(s *localrun.Stack, t domain.Target) settings.Queue { return s.Settings.Queues[t] }

// equalJSON compares two values by their JSON.
func equalJSON(t *testing.T, a, b any) bool {
	t.Helper()
	x, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	y, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Equal(x, y)
}
