package localrun_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/connect"
	cntypes "github.com/aws/aws-sdk-go-v2/service/connect/types"
	"github.com/aws/aws-sdk-go-v2/service/identitystore"
	"github.com/aws/aws-sdk-go-v2/service/identitystore/document"
	idstypes "github.com/aws/aws-sdk-go-v2/service/identitystore/types"
	"github.com/aws/aws-sdk-go-v2/service/workmail"
	wmtypes "github.com/aws/aws-sdk-go-v2/service/workmail/types"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/app"
	"github.com/idsync/idsync/internal/awsclient"
	"github.com/idsync/idsync/internal/localrun"
	"github.com/idsync/idsync/internal/settings"
	"github.com/idsync/idsync/internal/sim/simokta"
	"github.com/idsync/idsync/internal/testenv"
	"github.com/idsync/idsync/store"
)

// targets reads the stand-ins through the real SDK clients.
type targets struct {
	wm       *workmail.Client
	cn       *connect.Client
	ids      *identitystore.Client
	org      string
	instance string
	store    string
}

func newTargets(t *testing.T, s *localrun.Stack) targets {
	t.Helper()
	cfg, err := awsclient.Config(context.Background(), awsclient.Options{Local: true})
	if err != nil {
		t.Fatal(err)
	}
	return targets{
		wm: awsclient.WorkMail(cfg, s.Endpoint("WORKMAIL_ENDPOINT")), cn: awsclient.Connect(cfg, s.Endpoint("CONNECT_ENDPOINT")),
		ids: awsclient.IdentityStore(cfg, s.Endpoint("IDENTITYSTORE_ENDPOINT")),
		org: s.Endpoint("WORKMAIL_ORGANIZATION_ID"), instance: s.Endpoint("CONNECT_INSTANCE_ID"), store: s.Endpoint("IDENTITY_STORE_ID"),
	}
}

// mailbox is the WorkMail user named name, or why there is none.
func (tg targets) mailbox(ctx context.Context, name string) (*workmail.DescribeUserOutput, string) {
	out, err := tg.wm.ListUsers(ctx, &workmail.ListUsersInput{OrganizationId: aws.String(tg.org),
		Filters: &wmtypes.ListUsersFilters{UsernamePrefix: aws.String(name)}})
	if err != nil {
		return nil, err.Error()
	}
	if len(out.Users) != 1 {
		return nil, fmt.Sprintf("%d WorkMail users named %s", len(out.Users), name)
	}
	d, err := tg.wm.DescribeUser(ctx, &workmail.DescribeUserInput{OrganizationId: aws.String(tg.org), UserId: out.Users[0].Id})
	if err != nil {
		return nil, err.Error()
	}
	return d, ""
}

// agent is the Connect user with that username, or why there is none
// (ListUsers and DescribeUser, which do not lag as SearchUsers does).
func (tg targets) agent(ctx context.Context, username string) (*cntypes.User, string) {
	p := connect.NewListUsersPaginator(tg.cn, &connect.ListUsersInput{InstanceId: aws.String(tg.instance)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err.Error()
		}
		for _, u := range page.UserSummaryList {
			if aws.ToString(u.Username) != username {
				continue
			}
			d, err := tg.cn.DescribeUser(ctx, &connect.DescribeUserInput{InstanceId: aws.String(tg.instance), UserId: u.Id})
			if err != nil {
				return nil, err.Error()
			}
			return d.User, ""
		}
	}
	return nil, "no Connect user " + username
}

// idcUserID is the IdC user with that userName ("" while IdC does not
// know it).
func (tg targets) idcUserID(ctx context.Context, userName string) string {
	out, err := tg.ids.GetUserId(ctx, &identitystore.GetUserIdInput{IdentityStoreId: aws.String(tg.store),
		AlternateIdentifier: &idstypes.AlternateIdentifierMemberUniqueAttribute{Value: idstypes.UniqueAttribute{
			AttributePath: aws.String("userName"), AttributeValue: document.NewLazyDocument(userName)}}})
	if err != nil {
		return ""
	}
	return aws.ToString(out.UserId)
}

// oktaUserID finds an Okta user's id by login through the management API.
func oktaUserID(t *testing.T, s *localrun.Stack, login string) string {
	t.Helper()
	var user struct{ ID string }
	if err := json.Unmarshal(okta(t, s, http.MethodGet, "/api/v1/users/"+login), &user); err != nil || user.ID == "" {
		t.Fatalf("find Okta user %s: %v", login, err)
	}
	return user.ID
}

// start starts a stack with o's other options for the hook path alone:
// no scheduled snapshot, WorkMail's IdC assignment rule on, make run's
// mirror lag, and Okta's duplicated and reordered deliveries as make run
// has them (not its drops: without a snapshot nothing repairs a drop;
// the tests that run the snapshot have them).
func start(t *testing.T, o localrun.Options) *localrun.Stack {
	t.Helper()
	env := testenv.Get(t)
	o.DynamoDBEndpoint, o.SQSEndpoint = env.DynamoDBEndpoint, env.SQSEndpoint
	o.Prefix, o.RequireIdCAssignment, o.SnapshotEvery = testenv.UniqueName(t, "lh", 60), true, 0
	o.HookFaults = localrun.DefaultHookFaults()
	o.HookFaults.DropRate = 0
	if o.MirrorLag == 0 {
		o.MirrorLag = time.Second
	}
	s, err := localrun.Start(testenv.Context(t), o)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// noSnapshotRan fails the test when the ledger holds a snapshot run.
func noSnapshotRan(t *testing.T, s *localrun.Stack) {
	t.Helper()
	page, err := s.Store.Audit(testenv.Context(t), store.AuditQuery{System: true, PageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range page.Entries {
		if e.Outcome == domain.OutcomeSnapshot {
			t.Errorf("a snapshot ran: %+v", e)
		}
	}
}

// TestHookAloneLinksMailboxAndNamesAgent is the hook path on its own, as
// `IDSYNC_SNAPSHOT_EVERY=0 make run` runs it: an admin adds Ana to the
// WorkMail and Connect groups through Okta's management API and, within
// five seconds and without any snapshot, she has one enabled mailbox
// linked to her IdC user (IdentityProviderUserId; WorkMail refuses the
// link until Okta's push has made her a member of the group assigned to
// its application, which the consumer retries) and one agent with the
// first and last name of her Okta profile (read from Okta's Users API by
// the Connect consumer with the service app make run registers) and the
// group's profiles.
func TestHookAloneLinksMailboxAndNamesAgent(t *testing.T) {
	s := start(t, localrun.Options{})
	ctx := testenv.Context(t)
	tg := newTargets(t, s)
	const login = "ana.silva@example.com"
	idc := tg.idcUserID(ctx, login)
	if idc == "" {
		t.Fatal("the seeded user is not in IdentityStore")
	}
	ana := oktaUserID(t, s, login)

	began := time.Now()
	okta(t, s, http.MethodPut, "/api/v1/groups/"+s.Endpoint("OKTA_WORKMAIL_GROUP_ID")+"/users/"+ana)
	okta(t, s, http.MethodPut, "/api/v1/groups/"+s.Endpoint("OKTA_CONNECT_GROUP_ID")+"/users/"+ana)

	group := s.Config.Connect.Groups[0]
	var mailboxAt, agentAt time.Duration
	var mailboxWhy, agentWhy string
	// How long it takes is measured and logged (README, Performance), not
	// asserted: a loaded machine is slower, not wrong.
	for time.Since(began) < time.Minute && (mailboxAt == 0 || agentAt == 0) {
		if mailboxAt == 0 {
			u, why := tg.mailbox(ctx, "ana.silva")
			switch {
			case u == nil:
				mailboxWhy = why
			case u.State != wmtypes.EntityStateEnabled || aws.ToString(u.IdentityProviderUserId) != idc:
				mailboxWhy = fmt.Sprintf("mailbox %s linked to %q", u.State, aws.ToString(u.IdentityProviderUserId))
			default:
				mailboxAt = time.Since(began)
			}
		}
		if agentAt == 0 {
			u, why := tg.agent(ctx, login)
			switch {
			case u == nil:
				agentWhy = why
			case u.IdentityInfo == nil || aws.ToString(u.IdentityInfo.FirstName) != "Ana" || aws.ToString(u.IdentityInfo.LastName) != "Silva" ||
				aws.ToString(u.RoutingProfileId) != group.RoutingProfileID || len(u.SecurityProfileIds) != 1 || u.SecurityProfileIds[0] != group.SecurityProfileIDs[0]:
				agentWhy = fmt.Sprintf("agent %+v", u)
			default:
				agentAt = time.Since(began)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("Okta group add → enabled mailbox linked to the IdC user: %.2f s; → named agent with the group's profiles: %.2f s",
		mailboxAt.Seconds(), agentAt.Seconds())
	if mailboxAt == 0 {
		t.Errorf("no mailbox after %s: %s", time.Since(began).Round(time.Millisecond), mailboxWhy)
	}
	if agentAt == 0 {
		t.Errorf("no agent after %s: %s", time.Since(began).Round(time.Millisecond), agentWhy)
	}
	noSnapshotRan(t, s)

	// The names came from Okta's Users API: a received okta-api fact.
	rows, err := s.Store.Audit(ctx, store.AuditQuery{PersonKey: ana, PageSize: 200})
	if err != nil {
		t.Fatal(err)
	}
	var fromAPI bool
	for _, e := range rows.Entries {
		fromAPI = fromAPI || e.Outcome == domain.OutcomeReceived && e.Source == domain.SourceOktaAPI
	}
	if !fromAPI {
		t.Errorf("no received okta-api fact in the ledger: %+v", rows.Entries)
	}
	rec, err := s.Store.FindByOktaID(ctx, ana)
	if err != nil {
		t.Fatal(err)
	}
	if got := rec.Target(domain.TargetWorkMail).IdentityProviderUserID; got != idc {
		t.Errorf("the WorkMail target state records link %q, want %s", got, idc)
	}
}

// TestOktaRateLimitOnTheConsumerPath: Okta answers the Connect consumer's
// read of the user with 429 (the org's per-minute window for GetUser is
// used up); the client waits for the window's reset as Okta's headers
// give it and reads again, and the agent gets Okta's names, with nothing
// dead-lettered. The Okta stand-in's clock stands still two seconds
// before a minute boundary until the consumer has met the 429, so the
// window cannot reset under it however slow the machine is; then it moves
// past the boundary.
func TestOktaRateLimitOnTheConsumerPath(t *testing.T) {
	var mu sync.Mutex
	oktaNow := time.Now().Truncate(time.Minute).Add(58 * time.Second)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return oktaNow }
	logs := &syncBuffer{}
	s := start(t, localrun.Options{OktaClock: clock, Log: slog.New(slog.NewJSONHandler(logs, nil))})
	ctx := testenv.Context(t)
	tg := newTargets(t, s)
	const login = "ben.okafor@example.com"
	ben := oktaUserID(t, s, login)
	s.Okta.SetRateLimit("GetUser", 1)
	okta(t, s, http.MethodGet, "/api/v1/users/"+ben) // uses up the org's window of this minute

	began := time.Now()
	okta(t, s, http.MethodPut, "/api/v1/groups/"+s.Endpoint("OKTA_CONNECT_GROUP_ID")+"/users/"+ben)
	const limited = `"msg":"okta rate limit exceeded","component":"okta-api","op":"GetUser"`
	testenv.Eventually(t, "the consumer's GetUser answered 429", func() string {
		if !strings.Contains(logs.String(), limited) {
			return "no 429 yet"
		}
		return ""
	})
	mu.Lock()
	oktaNow = oktaNow.Add(5 * time.Second) // the next minute's window
	mu.Unlock()
	testenv.Eventually(t, "an agent with Okta's names", func() string {
		u, why := tg.agent(ctx, login)
		if u == nil {
			return why
		}
		if aws.ToString(u.IdentityInfo.FirstName) != "Ben" || aws.ToString(u.IdentityInfo.LastName) != "Okafor" {
			return fmt.Sprintf("names %q %q", aws.ToString(u.IdentityInfo.FirstName), aws.ToString(u.IdentityInfo.LastName))
		}
		return ""
	})
	t.Logf("agent after %.2f s (one 429 waited out)", time.Since(began).Seconds())
	rows, err := s.Store.Audit(ctx, store.AuditQuery{PersonKey: ben, PageSize: 200})
	if err != nil {
		t.Fatal(err)
	}
	var fromAPI bool
	for _, e := range rows.Entries {
		if e.Outcome == domain.OutcomeFailed && strings.HasPrefix(e.Reason, "permanent") {
			t.Errorf("dead-lettered: %+v", e)
		}
		fromAPI = fromAPI || e.Outcome == domain.OutcomeReceived && e.Source == domain.SourceOktaAPI
	}
	if !fromAPI {
		t.Errorf("no received okta-api fact in the ledger")
	}
}

// TestProvisionalNamesCorrectedBySnapshot: without Okta API access the
// Connect agent is made from the hook alone with names split from the
// login (provisional: "mary.ann.smith" gives Mary / Ann Smith), and the
// next IdC snapshot corrects them to the profile's (Mary Ann / Smith).
func TestProvisionalNamesCorrectedBySnapshot(t *testing.T) {
	s := start(t, localrun.Options{NoOktaAPI: true, MirrorLag: time.Millisecond})
	ctx := testenv.Context(t)
	tg := newTargets(t, s)
	const login = "mary.ann.smith@example.com"
	mary, err := s.Okta.CreateUser(simokta.Profile{Login: login, Email: login, FirstName: "Mary Ann", LastName: "Smith"}, true)
	if err != nil {
		t.Fatal(err)
	}
	okta(t, s, http.MethodPut, "/api/v1/groups/"+s.Endpoint("OKTA_CONNECT_GROUP_ID")+"/users/"+mary)
	names := func(first, last string) func() string {
		return func() string {
			u, why := tg.agent(ctx, login)
			if u == nil {
				return why
			}
			if f, l := aws.ToString(u.IdentityInfo.FirstName), aws.ToString(u.IdentityInfo.LastName); f != first || l != last {
				return fmt.Sprintf("names %q %q", f, l)
			}
			return ""
		}
	}
	testenv.Eventually(t, "an agent with provisional names", names("Mary", "Ann Smith"))
	noSnapshotRan(t, s)

	if err := s.Okta.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	a, err := app.New(ctx, app.Options{Settings: s.Settings, Component: settings.Snapshot})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := a.Snapshotter()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := snap.Run(ctx); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "the agent's names corrected by the snapshot", names("Mary Ann", "Smith"))
}
