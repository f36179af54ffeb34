package localrun_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/connect"
	cntypes "github.com/aws/aws-sdk-go-v2/service/connect/types"
	"github.com/aws/aws-sdk-go-v2/service/workmail"
	wmtypes "github.com/aws/aws-sdk-go-v2/service/workmail/types"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/awsclient"
	"github.com/idsync/idsync/internal/localrun"
	"github.com/idsync/idsync/internal/testenv"
	"github.com/idsync/idsync/store"
)

// okta calls the Okta stand-in's management API as an admin would.
func okta(t *testing.T, s *localrun.Stack, method, path string) []byte {
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

func TestLocalPipelineJoinerAndLeaverEndToEnd(t *testing.T) {
	env := testenv.Get(t)
	dir := t.TempDir()
	ctx := testenv.Context(t)
	term := &syncBuffer{}
	feed, err := localrun.NewFeed(localrun.FeedOptions{Terminal: term, Dir: filepath.Join(dir, "logs")})
	if err != nil {
		t.Fatal(err)
	}
	s, err := localrun.Start(ctx, localrun.Options{
		DynamoDBEndpoint: env.DynamoDBEndpoint, SQSEndpoint: env.SQSEndpoint,
		Prefix: testenv.UniqueName(t, "ls", 60), Dir: dir, RetryDelay: time.Second, SnapshotEvery: 2 * time.Second,
		Log: slog.New(feed.Handler()), RequireIdCAssignment: true,
		// Okta's delivery faults, as make run has them. A dropped removal
		// is repaired by a snapshot once the settle window has passed: a
		// short one here (the mirror pushes at once), so that a scheduled
		// run repairs it within the test's wait.
		HookFaults: localrun.DefaultHookFaults(),
		Configure:  func(c *domain.Config) { c.Snapshot.SettleWindow = domain.Duration(3 * time.Second) },
	})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { s.Close(); _ = feed.Close() })
	feed.Attach(s.Store, s.Config)

	raw, err := os.ReadFile(filepath.Join(dir, "endpoints.env"))
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"HOOK_URL", "HOOK_AUTH_HEADER", "HOOK_SECRET", "OKTA_ORG_URL", "OKTA_API_TOKEN",
		"DYNAMODB_ENDPOINT", "SQS_ENDPOINT", "WORKMAIL_ENDPOINT", "CONNECT_ENDPOINT", "IDENTITYSTORE_ENDPOINT",
		"WORKMAIL_ORGANIZATION_ID", "CONNECT_INSTANCE_ID", "IDENTITY_STORE_ID", "STATE_TABLE", "LEDGER_TABLE",
		"WORKMAIL_QUEUE_URL", "WORKMAIL_DLQ_URL", "CONNECT_QUEUE_URL", "CONNECT_DLQ_URL",
		"OKTA_WORKMAIL_GROUP_ID", "OKTA_CONNECT_GROUP_ID", "IDC_WORKMAIL_GROUP_ID",
		"SSOADMIN_ENDPOINT", "IDC_INSTANCE_ARN", "WORKMAIL_APPLICATION_ARN"} {
		if !strings.Contains(string(raw), "\n"+key+"=") || s.Endpoint(key) == "" {
			t.Errorf("endpoints.env lacks %s", key)
		}
	}

	// An admin adds Ana to both demo groups through the Okta API.
	var user struct{ ID string }
	if err := json.Unmarshal(okta(t, s, http.MethodGet, "/api/v1/users/ana.silva@example.com"), &user); err != nil || user.ID == "" {
		t.Fatalf("find user: %v", err)
	}
	okta(t, s, http.MethodPut, "/api/v1/groups/"+s.Endpoint("OKTA_WORKMAIL_GROUP_ID")+"/users/"+user.ID)
	okta(t, s, http.MethodPut, "/api/v1/groups/"+s.Endpoint("OKTA_CONNECT_GROUP_ID")+"/users/"+user.ID)

	cfg, err := awsclient.Config(ctx, awsclient.Options{Local: true})
	if err != nil {
		t.Fatal(err)
	}
	wm := awsclient.WorkMail(cfg, s.Endpoint("WORKMAIL_ENDPOINT"))
	cn := awsclient.Connect(cfg, s.Endpoint("CONNECT_ENDPOINT"))
	org, instance := s.Endpoint("WORKMAIL_ORGANIZATION_ID"), s.Endpoint("CONNECT_INSTANCE_ID")
	mailbox := func() (*wmtypes.User, string) {
		out, err := wm.ListUsers(ctx, &workmail.ListUsersInput{OrganizationId: aws.String(org),
			Filters: &wmtypes.ListUsersFilters{UsernamePrefix: aws.String("ana.silva")}})
		if err != nil {
			return nil, err.Error()
		}
		if len(out.Users) != 1 {
			return nil, fmt.Sprintf("%d WorkMail users named ana.silva", len(out.Users))
		}
		return &out.Users[0], ""
	}
	agent := func() (*cntypes.User, string) {
		out, err := cn.SearchUsers(ctx, &connect.SearchUsersInput{InstanceId: aws.String(instance),
			SearchCriteria: &cntypes.UserSearchCriteria{StringCondition: &cntypes.StringCondition{
				FieldName: aws.String("Username"), Value: aws.String("ana.silva@example.com"), ComparisonType: cntypes.StringComparisonTypeExact}}})
		if err != nil {
			return nil, err.Error()
		}
		if len(out.Users) == 0 {
			return nil, "no Connect user"
		}
		d, err := cn.DescribeUser(ctx, &connect.DescribeUserInput{InstanceId: aws.String(instance), UserId: out.Users[0].Id})
		if err != nil {
			return nil, err.Error()
		}
		return d.User, ""
	}

	testenv.Eventually(t, "an enabled mailbox", func() string {
		u, why := mailbox()
		if u == nil {
			return why
		}
		if u.State != wmtypes.EntityStateEnabled || aws.ToString(u.Email) != "ana.silva@example.com" {
			return fmt.Sprintf("mailbox state %s email %q", u.State, aws.ToString(u.Email))
		}
		return ""
	})
	testenv.Eventually(t, "an agent with the mapped profiles", func() string {
		u, why := agent()
		if u == nil {
			return why
		}
		if len(u.SecurityProfileIds) != 1 || aws.ToString(u.RoutingProfileId) != s.Config.Connect.Groups[0].RoutingProfileID ||
			u.SecurityProfileIds[0] != s.Config.Connect.Groups[0].SecurityProfileIDs[0] {
			return fmt.Sprintf("agent profiles %v / %s", u.SecurityProfileIds, aws.ToString(u.RoutingProfileId))
		}
		return ""
	})

	// A scheduled snapshot reads Ana from IdC once Okta has pushed her
	// there, finds what only IdC says of her and shows its run on the
	// terminal. The pipeline is fast enough for the removal below to come
	// before any run has seen her: wait for that line first.
	snapshotLine := regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d  IdC snapshot: \d+ members, `)
	testenv.Eventually(t, "a snapshot run on the terminal", func() string {
		if !snapshotLine.MatchString(term.String()) {
			return "no snapshot line yet"
		}
		return ""
	})

	// The admin removes Ana from both groups.
	okta(t, s, http.MethodDelete, "/api/v1/groups/"+s.Endpoint("OKTA_WORKMAIL_GROUP_ID")+"/users/"+user.ID)
	okta(t, s, http.MethodDelete, "/api/v1/groups/"+s.Endpoint("OKTA_CONNECT_GROUP_ID")+"/users/"+user.ID)
	testenv.Eventually(t, "the mailbox disabled", func() string {
		u, why := mailbox()
		if u == nil {
			return why
		}
		if u.State != wmtypes.EntityStateDisabled {
			return "mailbox " + string(u.State)
		}
		return ""
	})
	testenv.Eventually(t, "the agent removed", func() string {
		if u, _ := agent(); u != nil {
			return "agent still there"
		}
		return ""
	})

	// The ledger shows each step.
	page, err := s.Store.Audit(ctx, store.AuditQuery{PersonKey: user.ID, PageSize: 200})
	if err != nil {
		t.Fatal(err)
	}
	steps := map[string]bool{}
	for _, e := range page.Entries {
		if e.Outcome == domain.OutcomeApplied {
			steps[string(e.Target)+":"+string(e.Op)] = true
		}
	}
	for _, want := range []string{"workmail:create", "workmail:register", "workmail:disable", "connect:create", "connect:delete"} {
		if !steps[want] {
			t.Errorf("ledger lacks an applied %s row; has %v", want, steps)
		}
	}

	// The terminal showed a readable line per fact and per change, and the
	// JSON records went to the files.
	s.Close()
	if err := feed.Close(); err != nil {
		t.Fatal(err)
	}
	lines := term.String()
	t.Logf("feed:\n%s", lines)
	wants := []*regexp.Regexp{
		regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d  ana\.silva@example\.com +\S+ +→ connect +applied create$`),
		snapshotLine,
	}
	// The lines of the hook's facts, unless Okta dropped a delivery (then
	// the snapshot brought that fact, under its own kind).
	if dropped := droppedDeliveries(s); dropped == 0 {
		wants = append(wants,
			regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d  ana\.silva@example\.com +member-added workmail_users \(Okta hook\)$`),
			regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d  ana\.silva@example\.com +member-added +→ workmail +applied create, register$`),
			regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d  ana\.silva@example\.com +member-removed +→ workmail +applied disable$`))
	} else {
		t.Logf("Okta dropped %d deliveries: the hook's own feed lines are not asserted", dropped)
	}
	for _, want := range wants {
		if !want.MatchString(lines) {
			t.Errorf("the feed lacks a line matching %s:\n%s", want, lines)
		}
	}
	if strings.Contains(lines, `"level"`) {
		t.Errorf("the feed shows JSON:\n%s", lines)
	}
	for file, want := range map[string]string{localrun.IdsyncLogFile: `"eventId":`, localrun.OktaLogFile: `"component":"okta-standin"`} {
		b, err := os.ReadFile(filepath.Join(dir, "logs", file))
		if err != nil || !strings.Contains(string(b), want) {
			t.Errorf("%s lacks %s (%v)", file, want, err)
		}
	}
}

// droppedDeliveries counts the hook deliveries the Okta stand-in dropped.
func droppedDeliveries(s *localrun.Stack) int {
	n := 0
	for _, d := range s.Okta.Deliveries() {
		if d.Dropped {
			n++
		}
	}
	return n
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
