package simworkmail_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/workmail"
	"github.com/aws/aws-sdk-go-v2/service/workmail/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/idsync/idsync/internal/sim/simworkmail"
)

func TestDescribeOrganization(t *testing.T) {
	f := setup(t, simworkmail.Options{Region: "eu-west-1", AccountID: "111122223333"}, 1)
	out, err := f.client.DescribeOrganization(context.Background(), &workmail.DescribeOrganizationInput{OrganizationId: aws.String(f.org)})
	if err != nil {
		t.Fatal(err)
	}
	want := &workmail.DescribeOrganizationOutput{
		OrganizationId:    aws.String("m-00000000000040008000000000000001"),
		Alias:             aws.String("example"),
		State:             aws.String("Active"),
		DirectoryId:       aws.String("d-0000000001"),
		DirectoryType:     aws.String("WorkMailDirectory"),
		DefaultMailDomain: aws.String("example.com"),
		CompletedDate:     aws.Time(t0),
		ARN:               aws.String("arn:aws:workmail:eu-west-1:111122223333:organization/m-00000000000040008000000000000001"),
	}
	if diff := cmp.Diff(want, out, cmpopts.IgnoreFields(workmail.DescribeOrganizationOutput{}, "ResultMetadata"),
		cmpopts.IgnoreUnexported(workmail.DescribeOrganizationOutput{})); diff != "" {
		t.Fatalf("DescribeOrganization (-want +got):\n%s", diff)
	}
}

// TestOrganizationStateStillDescribed: a non-Active organisation is still
// described and listed, with its state.
func TestOrganizationStateStillDescribed(t *testing.T) {
	ctx := context.Background()
	f := setup(t, simworkmail.Options{}, 1)
	if err := f.sim.SetOrganizationState(f.org, "Deleting"); err != nil {
		t.Fatal(err)
	}
	out, err := f.client.DescribeOrganization(ctx, &workmail.DescribeOrganizationInput{OrganizationId: aws.String(f.org)})
	if err != nil || aws.ToString(out.State) != "Deleting" {
		t.Fatalf("DescribeOrganization: %v, %v", out, err)
	}
	_, err = f.client.DescribeUser(ctx, &workmail.DescribeUserInput{OrganizationId: aws.String(f.org), UserId: aws.String("x")})
	if !isA[*types.OrganizationStateException](err) {
		t.Fatalf("DescribeUser in a Deleting organisation: %v", err)
	}
	if err := f.sim.SetOrganizationState("m-ffffffffffffffffffffffffffffffff", "Active"); !errors.Is(err, simworkmail.ErrNoOrganization) {
		t.Fatalf("unknown organisation: %v", err)
	}
}

func TestListOrganizationsPaginator(t *testing.T) {
	f := setup(t, simworkmail.Options{}, 1)
	second := f.sim.AddOrganization("second", "")
	third := f.sim.AddOrganization("third", "third.example")
	p := workmail.NewListOrganizationsPaginator(f.client, &workmail.ListOrganizationsInput{MaxResults: aws.Int32(2)})
	var got []types.OrganizationSummary
	pages := 0
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		pages++
		got = append(got, page.OrganizationSummaries...)
	}
	want := []types.OrganizationSummary{
		{OrganizationId: aws.String(f.org), Alias: aws.String("example"), DefaultMailDomain: aws.String("example.com"), State: aws.String("Active")},
		{OrganizationId: aws.String(second), Alias: aws.String("second"), DefaultMailDomain: aws.String("second.awsapps.com"), State: aws.String("Active")},
		{OrganizationId: aws.String(third), Alias: aws.String("third"), DefaultMailDomain: aws.String("third.example"), State: aws.String("Active")},
	}
	if pages != 2 {
		t.Fatalf("%d pages, want 2", pages)
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreUnexported(types.OrganizationSummary{})); diff != "" {
		t.Fatalf("summaries (-want +got):\n%s", diff)
	}
}

// TestTestDomainAccepted: like WorkMail, every organisation can use
// <alias>.awsapps.com besides its own domains.
func TestTestDomainAccepted(t *testing.T) {
	f := setup(t, simworkmail.Options{}, 1)
	id := f.enabledUser(t, "tester", "tester@example.awsapps.com")
	if d := f.describe(t, id); aws.ToString(d.Email) != "tester@example.awsapps.com" {
		t.Fatalf("email %s", aws.ToString(d.Email))
	}
}

func TestIdentityProviderConfiguration(t *testing.T) {
	ctx := context.Background()
	f := setup(t, simworkmail.Options{}, 1)
	in := &workmail.PutIdentityProviderConfigurationInput{
		OrganizationId:     aws.String(f.org),
		AuthenticationMode: types.IdentityProviderAuthenticationModeIdentityProviderAndDirectory,
		IdentityCenterConfiguration: &types.IdentityCenterConfiguration{
			InstanceArn:    aws.String("arn:aws:sso:::instance/ssoins-72230a7c1d3cb9f4"),
			ApplicationArn: aws.String("arn:aws:sso::123456789012:application/ssoins-72230a7c1d3cb9f4/apl-0f4a1d6e5b6c7d8e"),
		},
		PersonalAccessTokenConfiguration: &types.PersonalAccessTokenConfiguration{
			Status: types.PersonalAccessTokenConfigurationStatusActive, LifetimeInDays: aws.Int32(90),
		},
	}
	if _, err := f.client.PutIdentityProviderConfiguration(ctx, in); err != nil {
		t.Fatalf("Put: %v", err)
	}
	out, err := f.client.DescribeIdentityProviderConfiguration(ctx, &workmail.DescribeIdentityProviderConfigurationInput{OrganizationId: aws.String(f.org)})
	if err != nil {
		t.Fatalf("Describe: %v", err)
	}
	if out.AuthenticationMode != in.AuthenticationMode ||
		aws.ToString(out.IdentityCenterConfiguration.ApplicationArn) != aws.ToString(in.IdentityCenterConfiguration.ApplicationArn) ||
		aws.ToString(out.IdentityCenterConfiguration.InstanceArn) != aws.ToString(in.IdentityCenterConfiguration.InstanceArn) ||
		out.PersonalAccessTokenConfiguration.Status != types.PersonalAccessTokenConfigurationStatusActive ||
		aws.ToInt32(out.PersonalAccessTokenConfiguration.LifetimeInDays) != 90 {
		t.Fatalf("Describe = %+v %+v %+v", out, out.IdentityCenterConfiguration, out.PersonalAccessTokenConfiguration)
	}
	if got := f.sim.Organizations()[0].IdentityProvider; got == nil || got.ApplicationArn != aws.ToString(in.IdentityCenterConfiguration.ApplicationArn) {
		t.Fatalf("snapshot identity provider = %+v", got)
	}
}
