package opscli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/connect"
	cntypes "github.com/aws/aws-sdk-go-v2/service/connect/types"

	consumersconnect "github.com/idsync/idsync/consumers/connect"
	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/awsclient"
	"github.com/idsync/idsync/internal/localrun"
	"github.com/idsync/idsync/internal/opscli"
	"github.com/idsync/idsync/internal/testenv"
	"github.com/idsync/idsync/store"
)

// TestAdoptConnectTakesOverTheSamplesAgents: agents made before idsync
// (as AWS's Okta → Connect sample makes them: the login as username, no
// ownership tag) are refused by the Connect consumer as not idsync's. The
// dry run lists the one whose username is a managed person's and changes
// nothing; --apply tags it, records it as the person's agent and writes a
// ledger row; an agent tagged for another person is never adopted; a
// second run lists nothing new; and idsync then manages the adopted agent
// (a leave deletes it).
func TestAdoptConnectTakesOverTheSamplesAgents(t *testing.T) {
	s := startStack(t, localrun.Options{})
	ctx := testenv.Context(t)
	cfg, err := awsclient.Config(context.Background(), awsclient.Options{Local: true})
	if err != nil {
		t.Fatal(err)
	}
	cn := awsclient.Connect(cfg, s.Endpoint("CONNECT_ENDPOINT"))
	instance := s.Endpoint("CONNECT_INSTANCE_ID")
	g := s.Config.Connect.Groups[0]
	sample := func(username string, tags map[string]string) string {
		out, err := cn.CreateUser(ctx, &connect.CreateUserInput{InstanceId: aws.String(instance), Username: aws.String(username),
			PhoneConfig:        &cntypes.UserPhoneConfig{PhoneType: cntypes.PhoneTypeSoftPhone},
			SecurityProfileIds: g.SecurityProfileIDs, RoutingProfileId: aws.String(g.RoutingProfileID),
			IdentityInfo: &cntypes.UserIdentityInfo{FirstName: aws.String(strings.Split(username, ".")[0]), LastName: aws.String("Sample")},
			Tags:         tags})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.UserId)
	}
	anaAgent := sample("ana.silva@example.com", nil)
	benAgent := sample("ben.okafor@example.com", map[string]string{consumersconnect.DefaultTagKey: "00uSomeoneElse0000001"})

	ana := addToGroup(t, s, "OKTA_CONNECT_GROUP_ID", "ana.silva@example.com")
	ben := addToGroup(t, s, "OKTA_CONNECT_GROUP_ID", "ben.okafor@example.com")
	refused := func(key string) func() string {
		return func() string {
			page, err := s.Store.Audit(ctx, store.AuditQuery{PersonKey: key, PageSize: 100})
			if err != nil {
				return err.Error()
			}
			for _, e := range page.Entries {
				if e.Target == domain.TargetConnect && e.Outcome == domain.OutcomeFailed && strings.HasPrefix(e.Reason, "permanent") {
					return ""
				}
			}
			return "not refused yet"
		}
	}
	testenv.Eventually(t, "the consumer refuses Ana's existing agent", refused(ana))
	testenv.Eventually(t, "the consumer refuses Ben's existing agent", refused(ben))

	d, err := opscli.AdoptConnectDepsOf(operator(t, s, nil))
	if err != nil {
		t.Fatal(err)
	}
	run := func(apply bool) ([]opscli.AdoptRow, string) {
		t.Helper()
		var out, log bytes.Buffer
		if _, err := opscli.AdoptConnect(ctx, d, &out, &log, opscli.AdoptConnectArgs{Apply: apply, Format: opscli.FormatJSON}); err != nil {
			t.Fatalf("adopt connect (apply %v): %v\n%s%s", apply, err, log.String(), out.String())
		}
		var rows []opscli.AdoptRow
		dec := json.NewDecoder(&out)
		for dec.More() {
			var r opscli.AdoptRow
			if err := dec.Decode(&r); err != nil {
				t.Fatal(err)
			}
			rows = append(rows, r)
		}
		return rows, log.String()
	}
	tags := func(id string) map[string]string {
		out, err := cn.DescribeUser(ctx, &connect.DescribeUserInput{InstanceId: aws.String(instance), UserId: aws.String(id)})
		if err != nil {
			t.Fatal(err)
		}
		return out.User.Tags
	}
	byAgent := func(rows []opscli.AdoptRow) map[string]opscli.AdoptRow {
		m := map[string]opscli.AdoptRow{}
		for _, r := range rows {
			m[r.AgentID] = r
		}
		return m
	}

	// The dry run.
	rows, log := run(false)
	got := byAgent(rows)
	if len(rows) != 2 || got[anaAgent].Outcome != opscli.AdoptWould || got[anaAgent].PersonKey != ana ||
		got[benAgent].Outcome != opscli.AdoptForeign {
		t.Fatalf("dry run rows %+v", rows)
	}
	if !strings.Contains(log, "dry run") || len(tags(anaAgent)) != 0 {
		t.Fatalf("the dry run changed something: tags %v, log %s", tags(anaAgent), log)
	}
	if rec, err := s.Store.FindByOktaID(ctx, ana); err != nil || rec.Target(domain.TargetConnect).Managed {
		t.Fatalf("the dry run recorded Ana's agent: %+v, %v", rec.Target(domain.TargetConnect), err)
	}

	// --apply.
	rows, _ = run(true)
	got = byAgent(rows)
	if got[anaAgent].Outcome != opscli.AdoptDone || got[benAgent].Outcome != opscli.AdoptForeign {
		t.Fatalf("apply rows %+v", rows)
	}
	if tg := tags(anaAgent); tg[consumersconnect.DefaultTagKey] != ana {
		t.Errorf("Ana's agent tags %v, want the ownership tag naming her", tg)
	}
	if tg := tags(benAgent); tg[consumersconnect.DefaultTagKey] != "00uSomeoneElse0000001" {
		t.Errorf("Ben's agent tags changed: %v", tg)
	}
	rec, err := s.Store.FindByOktaID(ctx, ana)
	if err != nil {
		t.Fatal(err)
	}
	if st := rec.Target(domain.TargetConnect); !st.Managed || st.RemoteID != anaAgent || st.Status != domain.RemoteEnabled || st.Name != "ana.silva@example.com" {
		t.Errorf("Ana's Connect state %+v", st)
	}
	page, err := s.Store.Audit(ctx, store.AuditQuery{PersonKey: rec.Key, PageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	var adoptedRow bool
	for _, e := range page.Entries {
		adoptedRow = adoptedRow || e.Target == domain.TargetConnect && e.Outcome == domain.OutcomeApplied && e.RemoteID == anaAgent && e.Detail["adopted"] == "true"
	}
	if !adoptedRow {
		t.Errorf("no adoption row in Ana's ledger: %+v", page.Entries)
	}
	if brec, err := s.Store.FindByOktaID(ctx, ben); err != nil || brec.Target(domain.TargetConnect).Managed {
		t.Errorf("Ben's agent recorded: %+v, %v", brec.Target(domain.TargetConnect), err)
	}

	// Again: Ana's agent is managed now, Ben's still refused.
	rows, _ = run(true)
	if len(rows) != 1 || rows[0].AgentID != benAgent || rows[0].Outcome != opscli.AdoptForeign {
		t.Fatalf("second run rows %+v", rows)
	}

	// idsync manages the adopted agent: a leave deletes it.
	oktaAPI(t, s, http.MethodDelete, "/api/v1/groups/"+s.Endpoint("OKTA_CONNECT_GROUP_ID")+"/users/"+ana)
	testenv.Eventually(t, "Ana's adopted agent deleted on leave", func() string {
		_, err := cn.DescribeUser(ctx, &connect.DescribeUserInput{InstanceId: aws.String(instance), UserId: aws.String(anaAgent)})
		if err == nil {
			return "still there"
		}
		return ""
	})
	if _, err := cn.DescribeUser(ctx, &connect.DescribeUserInput{InstanceId: aws.String(instance), UserId: aws.String(benAgent)}); err != nil {
		t.Errorf("Ben's agent (not idsync's): %v", err)
	}
}
