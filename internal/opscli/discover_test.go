package opscli_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin"
	ssotypes "github.com/aws/aws-sdk-go-v2/service/ssoadmin/types"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/awsclient"
	"github.com/idsync/idsync/internal/localrun"
	"github.com/idsync/idsync/internal/opscli"
	"github.com/idsync/idsync/internal/settings"
	"github.com/idsync/idsync/internal/testenv"
)

// discoverClients are discover's clients for the stack, built as the CLI
// builds them from endpoints.env.
func discoverClients(t *testing.T, s *localrun.Stack) opscli.DiscoverClients {
	t.Helper()
	set := s.Settings
	set.Okta = settings.OktaAPI{OrgURL: s.Endpoint("OKTA_ORG_URL"), APIToken: s.Endpoint("OKTA_API_TOKEN")}
	c, err := opscli.DiscoverClientsOf(testenv.Context(t), set)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// demoArgs name the demo's groups and profiles as an operator would.
func demoArgs() opscli.DiscoverArgs {
	return opscli.DiscoverArgs{
		WorkMailGroups: []string{localrun.WorkMailGroupName},
		ConnectGroups: []opscli.ConnectGroupSpec{
			{Name: localrun.ConnectGroupName, Priority: 2, SecurityProfiles: []string{"Agent"}, RoutingProfile: "Basic Routing Profile"},
			{Name: localrun.SupervisorGroupName, Priority: 1, SecurityProfiles: []string{"Agent", "Supervisor"}, RoutingProfile: "Supervisor Routing Profile"},
		},
		Format: opscli.FormatCSV,
	}
}

func TestDiscoverWritesTheConfigurationTheDemoNeeds(t *testing.T) {
	s := startStack(t, localrun.Options{})
	ctx := testenv.Context(t)
	c := discoverClients(t, s)

	var out bytes.Buffer
	found, err := opscli.Discover(ctx, c, &out, demoArgs())
	if err != nil {
		t.Fatalf("discover: %v\n%s", err, out.String())
	}
	if out.Len() != 0 {
		t.Errorf("discover listed candidates without an ambiguity:\n%s", out.String())
	}
	parsed, err := domain.ParseConfig(found.Document)
	if err != nil {
		t.Fatalf("the written document does not validate: %v\n%s", err, found.Document)
	}
	// The document maps exactly what the demo's own configuration maps.
	want := s.Config
	want.WorkMail.MailDomain = localrun.MailDomain
	for _, cmp := range []struct {
		what      string
		got, want any
	}{
		{"identity store", parsed.Snapshot.IdentityStoreID, want.Snapshot.IdentityStoreID},
		{"organisation", parsed.WorkMail.OrganizationID, want.WorkMail.OrganizationID},
		{"mail domain", parsed.WorkMail.MailDomain, want.WorkMail.MailDomain},
		{"WorkMail groups", parsed.WorkMail.Groups, want.WorkMail.Groups},
		{"WorkMail IdC instance and application", []string{parsed.WorkMail.IdentityCenter.InstanceARN, parsed.WorkMail.IdentityCenter.ApplicationARN},
			[]string{s.Endpoint("IDC_INSTANCE_ARN"), s.Endpoint("WORKMAIL_APPLICATION_ARN")}},
		{"Connect instance", parsed.Connect.InstanceID, want.Connect.InstanceID},
	} {
		if !equalJSON(t, cmp.got, cmp.want) {
			t.Errorf("%s: got %v, want %v", cmp.what, cmp.got, cmp.want)
		}
	}
	if len(parsed.Connect.Groups) != 2 {
		t.Fatalf("connect groups %+v", parsed.Connect.Groups)
	}
	for i, g := range parsed.Connect.Groups {
		w := want.Connect.Groups[i]
		if g.GroupRef != w.GroupRef || !slices.Equal(g.SecurityProfileIDs, w.SecurityProfileIDs) || g.RoutingProfileID != w.RoutingProfileID || g.Priority != w.Priority {
			t.Errorf("connect group %d: got %+v, want %+v", i, g, w)
		}
	}
	var report bytes.Buffer
	if err := opscli.PrintFound(&report, found.Found); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"IAM Identity Center", s.Endpoint("IDC_INSTANCE_ARN"), "WorkMail application", s.Endpoint("WORKMAIL_APPLICATION_ARN"),
		"hierarchy groups", "not listed"} {
		if !strings.Contains(report.String(), w) {
			t.Errorf("the report lacks %q:\n%s", w, report.String())
		}
	}

	// Written to a file, not over an existing one unless forced.
	path := filepath.Join(t.TempDir(), "idsync.json")
	if err := opscli.WriteConfig(&out, path, found.Document, false); err != nil {
		t.Fatal(err)
	}
	if err := opscli.WriteConfig(&out, path, found.Document, false); !errors.Is(err, opscli.ErrUsage) {
		t.Fatalf("overwrote without --force: %v", err)
	}
	if b, err := os.ReadFile(path); err != nil || !bytes.Equal(b, found.Document) {
		t.Fatalf("file %q %v", b, err)
	}
}

func TestDiscoverAssignsTheWorkMailGroupsOnce(t *testing.T) {
	s := startStack(t, localrun.Options{})
	ctx := testenv.Context(t)
	c := discoverClients(t, s)
	cfg, err := awsclient.Config(ctx, awsclient.Options{Local: true})
	if err != nil {
		t.Fatal(err)
	}
	// The demo comes assigned; take the assignment away first.
	app, group := s.Endpoint("WORKMAIL_APPLICATION_ARN"), s.Endpoint("IDC_WORKMAIL_GROUP_ID")
	if _, err := awsclient.SSOAdmin(cfg, s.Settings.Endpoints.SSOAdmin).DeleteApplicationAssignment(ctx, &ssoadmin.DeleteApplicationAssignmentInput{
		ApplicationArn: aws.String(app), PrincipalId: aws.String(group), PrincipalType: ssotypes.PrincipalTypeGroup}); err != nil {
		t.Fatal(err)
	}
	assigned := func() int {
		n := 0
		for _, in := range s.SSOAdmin.State().Instances {
			for _, a := range in.Applications {
				for _, x := range a.Assignments {
					if a.ApplicationArn == app && x.PrincipalID == group && x.PrincipalType == "GROUP" {
						n++
					}
				}
			}
		}
		return n
	}
	args := opscli.DiscoverArgs{WorkMailGroups: []string{localrun.WorkMailGroupName}, Assign: true}
	for _, want := range []string{"assigned to the WorkMail application", "already assigned to the WorkMail application"} {
		var out bytes.Buffer
		found, err := opscli.Discover(ctx, c, &out, args)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(found.Found, func(f opscli.Found) bool { return f.What == "assignment" && f.Note == want }) {
			t.Errorf("found %+v, want %q", found.Found, want)
		}
		if n := assigned(); n != 1 {
			t.Fatalf("%d assignments of the group", n)
		}
	}
}

func TestDiscoverRefusesAmbiguity(t *testing.T) {
	s := startStack(t, localrun.Options{})
	ctx := testenv.Context(t)
	c := discoverClients(t, s)
	secondOrg := s.WorkMail.AddOrganization("other-org", "example.org")
	secondInstance := s.Connect.AddInstance("other-instance", "SAML")

	for _, tc := range []struct {
		name       string
		mod        func(*opscli.DiscoverArgs)
		wantErr    error
		candidates []string // listed on stdout
	}{
		{name: "two WorkMail organisations", mod: func(*opscli.DiscoverArgs) {},
			wantErr: opscli.ErrUsage, candidates: []string{s.Endpoint("WORKMAIL_ORGANIZATION_ID"), secondOrg}},
		{name: "two Connect instances", mod: func(a *opscli.DiscoverArgs) { a.WorkMailOrg = "idsync-demo" },
			wantErr: opscli.ErrUsage, candidates: []string{s.Endpoint("CONNECT_INSTANCE_ID"), secondInstance}},
		{name: "a group without its security profile", mod: func(a *opscli.DiscoverArgs) {
			a.WorkMailOrg, a.ConnectInstance = "idsync-demo", "idsync-demo"
			a.ConnectGroups[0].SecurityProfiles = nil
		}, wantErr: opscli.ErrUsage, candidates: []string{"Agent", "Supervisor"}},
		{name: "a flag that matches nothing", mod: func(a *opscli.DiscoverArgs) { a.WorkMailOrg = "nope" },
			wantErr: opscli.ErrUsage, candidates: []string{secondOrg}},
		{name: "a group found nowhere", mod: func(a *opscli.DiscoverArgs) { a.WorkMailGroups = []string{"no such group"} },
			wantErr: opscli.ErrUsage},
		{name: "no group named", mod: func(a *opscli.DiscoverArgs) { a.WorkMailGroups, a.ConnectGroups = nil, nil },
			wantErr: opscli.ErrUsage},
		{name: "every choice made", mod: func(a *opscli.DiscoverArgs) {
			a.WorkMailOrg, a.ConnectInstance = s.Endpoint("WORKMAIL_ORGANIZATION_ID"), "idsync-demo"
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := demoArgs()
			tc.mod(&a)
			var out bytes.Buffer
			found, err := opscli.Discover(ctx, c, &out, a)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v\n%s", err, tc.wantErr, out.String())
			}
			for _, cand := range tc.candidates {
				if !strings.Contains(out.String(), cand) {
					t.Errorf("candidates lack %s:\n%s", cand, out.String())
				}
			}
			if tc.wantErr == nil {
				if _, err := domain.ParseConfig(found.Document); err != nil {
					t.Fatal(err)
				}
			} else if found.Document != nil {
				t.Errorf("a document after an error")
			}
		})
	}
}

func TestParseConnectGroup(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    opscli.ConnectGroupSpec
		wantErr bool
	}{
		{in: "Agents", want: opscli.ConnectGroupSpec{Name: "Agents"}},
		{in: "Agents=2", want: opscli.ConnectGroupSpec{Name: "Agents", Priority: 2}},
		{in: "Amazon Connect Agents=2:Agent:Basic Routing Profile", want: opscli.ConnectGroupSpec{Name: "Amazon Connect Agents", Priority: 2,
			SecurityProfiles: []string{"Agent"}, RoutingProfile: "Basic Routing Profile"}},
		{in: "Sup=1:Agent, Supervisor:Sup Routing:Tier 2", want: opscli.ConnectGroupSpec{Name: "Sup", Priority: 1,
			SecurityProfiles: []string{"Agent", "Supervisor"}, RoutingProfile: "Sup Routing", HierarchyGroup: "Tier 2"}},
		{in: "=1", wantErr: true},
		{in: "Agents=high", wantErr: true},
		{in: "Agents=1:a:b:c:d", wantErr: true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := opscli.ParseConnectGroup(tc.in)
			if tc.wantErr {
				if !errors.Is(err, opscli.ErrUsage) {
					t.Fatalf("err = %v, want ErrUsage", err)
				}
				return
			}
			if err != nil || got.Name != tc.want.Name || got.Priority != tc.want.Priority || !slices.Equal(got.SecurityProfiles, tc.want.SecurityProfiles) ||
				got.RoutingProfile != tc.want.RoutingProfile || got.HierarchyGroup != tc.want.HierarchyGroup {
				t.Fatalf("got %+v %v, want %+v", got, err, tc.want)
			}
		})
	}
}
