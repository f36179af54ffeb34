package localrun_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/connect"
	cntypes "github.com/aws/aws-sdk-go-v2/service/connect/types"
	"github.com/aws/aws-sdk-go-v2/service/workmail"
	wmtypes "github.com/aws/aws-sdk-go-v2/service/workmail/types"

	idconnect "github.com/idsync/idsync/consumers/connect"
	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/app"
	"github.com/idsync/idsync/internal/localrun"
	"github.com/idsync/idsync/internal/settings"
	"github.com/idsync/idsync/internal/testenv"
	"github.com/idsync/idsync/producers/idcsnapshot"
	"github.com/idsync/idsync/store"
)

// snapshotRun runs one IdC snapshot of s with the drift mode given, on a
// clock shifted by skew (a later day, for the next drift check).
func snapshotRun(t *testing.T, s *localrun.Stack, mode domain.DriftMode, skew time.Duration) idcsnapshot.Summary {
	t.Helper()
	ctx := testenv.Context(t)
	st := s.Settings
	st.Config.Snapshot.Drift = mode
	a, err := app.New(ctx, app.Options{Settings: st, Component: settings.Snapshot, Clock: func() time.Time { return time.Now().Add(skew) }})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := a.Snapshotter()
	if err != nil {
		t.Fatal(err)
	}
	sum, err := snap.Run(ctx)
	if err != nil {
		t.Fatalf("snapshot (drift %s): %v", mode, err)
	}
	return sum
}

// driftRows are a person's ledger rows about drift in t, oldest first.
func driftRows(t *testing.T, s *localrun.Stack, key string, tg domain.Target) []domain.LedgerEntry {
	t.Helper()
	page, err := s.Store.Audit(testenv.Context(t), store.AuditQuery{PersonKey: key, Targets: []domain.Target{tg}, PageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	var out []domain.LedgerEntry
	for _, e := range page.Entries {
		if e.Outcome == domain.OutcomeDrift {
			out = append(out, e)
		}
	}
	return out
}

// TestDriftRepairEndToEnd: Ana has a mailbox and an agent made by idsync.
// By hand, in the consoles (here: the real SDK against the stand-ins),
// her mailbox is deregistered and her agent's security and routing
// profiles are changed; an account idsync does not manage gets the same
// changes (a legacy mailbox left disabled, an untagged agent and an agent
// tagged for nobody idsync knows, given other profiles). A drift check in
// report-only mode writes a drift row per drifted managed account and
// queues nothing; the next day's check in repair mode queues a repair
// per account, and her consumers re-enable the mailbox and restore the
// profiles, each with a drift row saying what drifted before the repair's
// applied rows. The unmanaged accounts are left as they were.
func TestDriftRepairEndToEnd(t *testing.T) {
	s := start(t, localrun.Options{MirrorLag: time.Millisecond})
	s.Connect.SetSearchLag(0)
	ctx := testenv.LongContext(t, 5*time.Minute)
	tg := newTargets(t, s)
	const login = "ana.silva@example.com"
	ana := oktaUserID(t, s, login)
	okta(t, s, http.MethodPut, "/api/v1/groups/"+s.Endpoint("OKTA_WORKMAIL_GROUP_ID")+"/users/"+ana)
	okta(t, s, http.MethodPut, "/api/v1/groups/"+s.Endpoint("OKTA_CONNECT_GROUP_ID")+"/users/"+ana)
	group := s.Config.Connect.Groups[0]

	var mailboxID, agentID string
	testenv.Eventually(t, "Ana's mailbox and agent", func() string {
		u, why := tg.mailbox(ctx, "ana.silva")
		if u == nil || u.State != wmtypes.EntityStateEnabled {
			return "mailbox: " + why
		}
		a, why := tg.agent(ctx, login)
		if a == nil {
			return "agent: " + why
		}
		mailboxID, agentID = aws.ToString(u.UserId), aws.ToString(a.Id)
		return ""
	})
	if err := s.Okta.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// Snapshots with drift off take in what IdC shows, until one finds
	// nothing to queue, so that the runs below have nothing else to queue.
	testenv.Eventually(t, "a snapshot with nothing to queue", func() string {
		if sum := snapshotRun(t, s, domain.DriftOff, 0); sum.Events > 0 || sum.InFlight > 0 {
			return fmt.Sprintf("%d events queued, %d in flight", sum.Events, sum.InFlight)
		}
		return ""
	})

	// Other profiles of the instance, for the hand edits.
	otherSP, otherRP := otherProfiles(t, ctx, tg, group)

	// Unmanaged accounts: a legacy mailbox never registered (DISABLED), an
	// untagged agent and one tagged for a person idsync does not know,
	// both given the other profiles.
	legacy, err := tg.wm.CreateUser(ctx, &workmail.CreateUserInput{OrganizationId: aws.String(tg.org), Name: aws.String("legacy.box"),
		DisplayName: aws.String("Legacy"), Password: aws.String("Legacy-Passw0rd!")})
	if err != nil {
		t.Fatal(err)
	}
	var unmanaged []string
	for i, tags := range []map[string]string{nil, {idconnect.DefaultTagKey: "00unobody0000000001"}} {
		out, err := tg.cn.CreateUser(ctx, &connect.CreateUserInput{InstanceId: aws.String(tg.instance), Username: aws.String(fmt.Sprintf("legacy%d", i)),
			IdentityInfo:       &cntypes.UserIdentityInfo{FirstName: aws.String("Leg"), LastName: aws.String("Acy")},
			PhoneConfig:        &cntypes.UserPhoneConfig{PhoneType: cntypes.PhoneTypeSoftPhone},
			SecurityProfileIds: group.SecurityProfileIDs, RoutingProfileId: aws.String(group.RoutingProfileID), Tags: tags})
		if err != nil {
			t.Fatal(err)
		}
		unmanaged = append(unmanaged, aws.ToString(out.UserId))
	}

	// The hand edits.
	if _, err := tg.wm.DeregisterFromWorkMail(ctx, &workmail.DeregisterFromWorkMailInput{OrganizationId: aws.String(tg.org), EntityId: aws.String(mailboxID)}); err != nil {
		t.Fatal(err)
	}
	for _, id := range append([]string{agentID}, unmanaged...) {
		if _, err := tg.cn.UpdateUserSecurityProfiles(ctx, &connect.UpdateUserSecurityProfilesInput{InstanceId: aws.String(tg.instance), UserId: aws.String(id),
			SecurityProfileIds: []string{otherSP}}); err != nil {
			t.Fatal(err)
		}
		if _, err := tg.cn.UpdateUserRoutingProfile(ctx, &connect.UpdateUserRoutingProfileInput{InstanceId: aws.String(tg.instance), UserId: aws.String(id),
			RoutingProfileId: aws.String(otherRP)}); err != nil {
			t.Fatal(err)
		}
	}

	// Report-only: rows, nothing queued.
	sum := snapshotRun(t, s, domain.DriftReportOnly, 0)
	if !sum.DriftChecked || sum.Drifted != 2 || sum.DriftRepairs != 0 || sum.Events != 0 || sum.DriftMissing != 0 {
		t.Errorf("report-only run: checked %v, drifted %d, repairs %d, events %d, missing %d; want 2 drifted, nothing queued",
			sum.DriftChecked, sum.Drifted, sum.DriftRepairs, sum.Events, sum.DriftMissing)
	}
	wantWM := "status: recorded enabled, found disabled"
	wantCN := fmt.Sprintf("securityProfileIds: recorded %s, found %s; routingProfileId: recorded %s, found %s",
		strings.Join(group.SecurityProfileIDs, ","), otherSP, group.RoutingProfileID, otherRP)
	for _, c := range []struct {
		target domain.Target
		remote string
		want   string
	}{{domain.TargetWorkMail, mailboxID, wantWM}, {domain.TargetConnect, agentID, wantCN}} {
		rows := driftRows(t, s, ana, c.target)
		if len(rows) != 1 || rows[0].RemoteID != c.remote || !strings.HasPrefix(rows[0].Reason, c.want) || rows[0].Detail["action"] != "reported" {
			t.Errorf("%s drift rows after report-only: %+v, want one reported row %q on %s", c.target, rows, c.want, c.remote)
		}
	}
	if u, _ := tg.mailbox(ctx, "ana.silva"); u == nil || u.State != wmtypes.EntityStateDisabled {
		t.Errorf("report-only changed the mailbox: %+v", u)
	}

	// Repair, a day later (the next drift check).
	sum = snapshotRun(t, s, domain.DriftRepair, 25*time.Hour)
	if !sum.DriftChecked || sum.Drifted != 2 || sum.DriftRepairs != 2 {
		t.Errorf("repair run: checked %v, drifted %d, repairs %d; want 2 repairs", sum.DriftChecked, sum.Drifted, sum.DriftRepairs)
	}
	testenv.Eventually(t, "the mailbox re-enabled and the agent's profiles restored", func() string {
		u, why := tg.mailbox(ctx, "ana.silva")
		if u == nil || u.State != wmtypes.EntityStateEnabled {
			return "mailbox: " + why
		}
		a, why := tg.agent(ctx, login)
		if a == nil {
			return why
		}
		if !slices.Equal(a.SecurityProfileIds, group.SecurityProfileIDs) || aws.ToString(a.RoutingProfileId) != group.RoutingProfileID {
			return fmt.Sprintf("agent profiles %v, %s", a.SecurityProfileIds, aws.ToString(a.RoutingProfileId))
		}
		return ""
	})
	for _, c := range []struct {
		target domain.Target
		want   string
		ops    []domain.OpKind
	}{{domain.TargetWorkMail, wantWM, []domain.OpKind{domain.OpEnable}},
		{domain.TargetConnect, wantCN, []domain.OpKind{domain.OpUpdateSecurityProfiles, domain.OpUpdateRoutingProfile}}} {
		page, err := s.Store.Audit(ctx, store.AuditQuery{PersonKey: ana, Targets: []domain.Target{c.target}, PageSize: 100, Descending: true})
		if err != nil {
			t.Fatal(err)
		}
		// Newest first: the repair's applied ops, then its drift row.
		var got []string
		for _, e := range page.Entries {
			if e.Outcome == domain.OutcomeDrift {
				got = append(got, "drift: "+e.Reason)
				break
			}
			if e.Outcome == domain.OutcomeApplied && e.Op != "" {
				got = append(got, "applied "+string(e.Op))
			}
		}
		var want []string
		for i := len(c.ops) - 1; i >= 0; i-- {
			want = append(want, "applied "+string(c.ops[i]))
		}
		want = append(want, "drift: "+c.want+"; repairing")
		if !slices.Equal(got, want) {
			t.Errorf("%s ledger, newest first: %q, want %q", c.target, got, want)
		}
	}

	// The unmanaged accounts are as they were made.
	d, err := tg.wm.DescribeUser(ctx, &workmail.DescribeUserInput{OrganizationId: aws.String(tg.org), UserId: legacy.UserId})
	if err != nil || d.State != wmtypes.EntityStateDisabled {
		t.Errorf("legacy mailbox: %v, %v; want it left DISABLED", d, err)
	}
	for _, id := range unmanaged {
		u, err := tg.cn.DescribeUser(ctx, &connect.DescribeUserInput{InstanceId: aws.String(tg.instance), UserId: aws.String(id)})
		if err != nil || !slices.Equal(u.User.SecurityProfileIds, []string{otherSP}) || aws.ToString(u.User.RoutingProfileId) != otherRP {
			t.Errorf("unmanaged agent %s: %v, %v; want the hand-set profiles kept", id, u, err)
		}
	}
}

// otherProfiles returns a security profile and a routing profile of the
// instance that group does not give.
func otherProfiles(t *testing.T, ctx context.Context, tg targets, group domain.ConnectGroup) (sp, rp string) {
	t.Helper()
	sps, err := tg.cn.ListSecurityProfiles(ctx, &connect.ListSecurityProfilesInput{InstanceId: aws.String(tg.instance)})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range sps.SecurityProfileSummaryList {
		if id := aws.ToString(p.Id); !slices.Contains(group.SecurityProfileIDs, id) {
			sp = id
			break
		}
	}
	rps, err := tg.cn.ListRoutingProfiles(ctx, &connect.ListRoutingProfilesInput{InstanceId: aws.String(tg.instance)})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range rps.RoutingProfileSummaryList {
		if id := aws.ToString(p.Id); id != group.RoutingProfileID {
			rp = id
			break
		}
	}
	if sp == "" || rp == "" {
		t.Fatalf("no other profiles in the instance (security %q, routing %q)", sp, rp)
	}
	return sp, rp
}
