package idsyncstack_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/infra/idsyncstack"
	"github.com/idsync/idsync/internal/enrich"
	"github.com/idsync/idsync/internal/settings"
)

// idcOktaProps are baseProps over testdata/idc_okta.json: WorkMail linked
// to IAM Identity Center (instance and application), two WorkMail groups
// with an idcId and one without, and a Connect group known to Okta only,
// with the Okta API credentials' secret.
func idcOktaProps(t *testing.T) idsyncstack.Props {
	p := baseProps(t)
	p.ConfigFile = "testdata/idc_okta.json"
	p.OktaAPISecretName = "idsync/okta-api"
	return p
}

const workmailApp = "arn:aws:sso::111122223333:application/ssoins-72230a1b2c3d4e5f/apl-0a1b2c3d4e5f6a7b"

// TestWorkMailApplicationAssignment: with workmail.identityCenter's
// applicationArn the stack assigns each WorkMail group that has an idcId
// to WorkMail's IdC application (principal type GROUP), kept when the
// stack is deleted; SkipWorkMailAssignments, or a document without the
// application, assigns nothing.
func TestWorkMailApplicationAssignment(t *testing.T) {
	s := synth(t, idcOktaProps(t))
	got := map[string]obj{}
	for _, r := range s.resources("AWS::SSO::ApplicationAssignment") {
		got[props(r)["PrincipalId"].(string)] = r
	}
	want := []string{"90670a1b2c-0a1b2c3d-1111-4222-8333-444455556666", "90670a1b2c-0a1b2c3d-9999-4aaa-8bbb-ccccddddeeee"}
	if len(got) != len(want) || len(s.stack.WorkMailAssignments) != len(want) {
		t.Fatalf("assignments of %v, want one per WorkMail group with an idcId %v", got, want)
	}
	for _, g := range want {
		r, ok := got[g]
		if !ok {
			t.Errorf("group %s not assigned", g)
			continue
		}
		if d := cmp.Diff(obj{"ApplicationArn": workmailApp, "PrincipalType": "GROUP", "PrincipalId": g}, props(r)); d != "" {
			t.Errorf("assignment of %s (-want +got):\n%s", g, d)
		}
		if r["DeletionPolicy"] != "Retain" || r["UpdateReplacePolicy"] != "Retain" {
			t.Errorf("assignment of %s: deletion %v, replace %v; want Retain", g, r["DeletionPolicy"], r["UpdateReplacePolicy"])
		}
	}
	for _, r := range s.resources("AWS::SSO::ApplicationAssignment") {
		if strings.Contains(props(r)["PrincipalId"].(string), "2222") {
			t.Errorf("a Connect group assigned to WorkMail's application: %v", props(r))
		}
	}

	skip := idcOktaProps(t)
	skip.SkipWorkMailAssignments = true
	must(t, "no assignment when skipped", func() {
		synth(t, skip).tmpl.ResourceCountIs(str("AWS::SSO::ApplicationAssignment"), num(0))
	})
	must(t, "no assignment without an application", func() {
		synth(t, baseProps(t)).tmpl.ResourceCountIs(str("AWS::SSO::ApplicationAssignment"), num(0))
	})
}

// TestOktaAPISecret: the Connect consumer and the snapshot (status
// reconciliation) read the Okta API credentials' secret (named in their
// environment, GetSecretValue on that secret only); the hook and the
// WorkMail consumer are told it exists (their configuration check) and
// may not read it; every role still holds only what its code calls.
func TestOktaAPISecret(t *testing.T) {
	s := synth(t, idcOktaProps(t))
	secretARN := "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:idsync/okta-api-??????"
	for name, id := range map[string]string{
		"hook": s.id(s.stack.Hook), "workmail": s.id(s.stack.Targets[idsyncstack.FnWorkMail].Consumer),
		"connect":  s.id(s.stack.Targets[idsyncstack.FnConnect].Consumer),
		"snapshot": s.id(s.stack.Snapshot),
	} {
		vars := props(s.resource(t, id))["Environment"].(obj)["Variables"].(obj)
		if vars[settings.EnvOktaAPISecretID] != "idsync/okta-api" {
			t.Errorf("%s: %s = %v, want the secret's name", name, settings.EnvOktaAPISecretID, vars[settings.EnvOktaAPISecretID])
		}
		grants := s.grants(t, refID(props(s.resource(t, id))["Role"]), nil)
		has := slices.Contains(grants, "secretsmanager:GetSecretValue "+secretARN)
		reads := name == "connect" || name == "snapshot"
		if has != reads {
			t.Errorf("%s: may read the Okta API secret: %v, want %v (grants %v)", name, has, reads, grants)
		}
	}
	settingsAccept(t, s)
	grantsMatchCode(t, s)
	noWildcards(t, s)
}

// TestConnectGroupWithoutIdCNeedsOktaAPISecret: a Connect group known to
// Okta only is refused at synth without Okta API access (its members would
// never get real names), naming the group and the property that fixes it.
func TestConnectGroupWithoutIdCNeedsOktaAPISecret(t *testing.T) {
	p := idcOktaProps(t)
	p.OktaAPISecretName = ""
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir())})
	_, err := idsyncstack.New(app, "Idsync", p)
	if !errors.Is(err, idsyncstack.ErrInvalidProps) || !errors.Is(err, enrich.ErrInvalid) {
		t.Fatalf("err = %v, want ErrInvalidProps wrapping enrich.ErrInvalid", err)
	}
	for _, want := range []string{"connect.groups[2]", "00g5agentsokta1x7", "OktaAPISecretName"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}
