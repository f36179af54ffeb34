package simworkmail_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin"
	ssotypes "github.com/aws/aws-sdk-go-v2/service/ssoadmin/types"
	"github.com/aws/aws-sdk-go-v2/service/workmail"
	"github.com/aws/aws-sdk-go-v2/service/workmail/types"

	"github.com/idsync/idsync/internal/awsclient"
	"github.com/idsync/idsync/internal/sim/simidentitystore"
	"github.com/idsync/idsync/internal/sim/simssoadmin"
	"github.com/idsync/idsync/internal/sim/simworkmail"
)

// TestIdentityCenterAssignmentRequired: once an organisation has an IAM
// Identity Center configuration, WorkMail links a mailbox only to an IdC
// user assigned to the configured application, directly or through a
// group; otherwise CreateUser and UpdateUser answer
// InvalidParameterException "… is not authorized …" (HTTP 400). Before the
// configuration any well-formed id is accepted. The stand-ins are wired as
// a local run wires them: simssoadmin's AssignmentChecker over
// simidentitystore.
func TestIdentityCenterAssignmentRequired(t *testing.T) {
	ctx := context.Background()
	ids := simidentitystore.New(simidentitystore.Options{NoQuota: true})
	store := ids.AddIdentityStore()
	sso := simssoadmin.New(simssoadmin.Options{NoQuota: true, Principals: ids})
	instance := sso.AddInstance(store)
	app := sso.AddApplication(instance, "WorkMail", "arn:aws:sso::aws:applicationProvider/custom")
	ssoSrv := httptest.NewServer(sso)
	t.Cleanup(ssoSrv.Close)
	cfg, err := awsclient.Config(ctx, awsclient.Options{Local: true, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	admin := awsclient.SSOAdmin(cfg, ssoSrv.URL)

	seed := func(name string) string {
		t.Helper()
		id, err := ids.SeedUser(store, simidentitystore.User{UserName: name, GivenName: name, FamilyName: "Test", Email: name + "@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	alice, bob, carol := seed("alice"), seed("bob"), seed("carol")
	group, err := ids.SeedGroup(store, simidentitystore.Group{DisplayName: "workmail-users"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ids.SeedMembership(store, group, alice); err != nil {
		t.Fatal(err)
	}

	f := setup(t, simworkmail.Options{IdentityCenter: sso.AssignmentChecker(ids)}, 1)
	create := func(name, idcUser string) error {
		_, err := f.client.CreateUser(ctx, &workmail.CreateUserInput{OrganizationId: aws.String(f.org),
			Name: aws.String(name), DisplayName: aws.String(name), IdentityProviderUserId: aws.String(idcUser)})
		return err
	}
	link := func(user, idcUser string) error {
		_, err := f.client.UpdateUser(ctx, &workmail.UpdateUserInput{OrganizationId: aws.String(f.org),
			UserId: aws.String(user), IdentityProviderUserId: aws.String(idcUser)})
		return err
	}
	refused := func(what string, err error) {
		t.Helper()
		var re *awshttp.ResponseError
		if !isA[*types.InvalidParameterException](err) || !strings.Contains(apiMessage(err), "is not authorized") ||
			!errors.As(err, &re) || re.HTTPStatusCode() != http.StatusBadRequest {
			t.Fatalf("%s: %v, want InvalidParameterException (400) saying the user is not authorized", what, err)
		}
	}

	// No IdC configuration yet: any well-formed id links.
	if err := create("early", carol); err != nil {
		t.Fatalf("CreateUser before the IdC configuration: %v", err)
	}
	if _, err := f.client.PutIdentityProviderConfiguration(ctx, &workmail.PutIdentityProviderConfigurationInput{
		OrganizationId:              aws.String(f.org),
		AuthenticationMode:          types.IdentityProviderAuthenticationModeIdentityProviderAndDirectory,
		IdentityCenterConfiguration: &types.IdentityCenterConfiguration{InstanceArn: aws.String(instance), ApplicationArn: aws.String(app)},
		PersonalAccessTokenConfiguration: &types.PersonalAccessTokenConfiguration{
			Status: types.PersonalAccessTokenConfigurationStatusInactive},
	}); err != nil {
		t.Fatal(err)
	}

	// Nobody is assigned yet, not even alice's group.
	refused("CreateUser, group not assigned", create("alice", alice))
	refused("CreateUser, user not assigned", create("bob", bob))
	refused("CreateUser, unknown IdC user", create("nobody", "9067e4a2b1-00000000-0000-4000-8000-00000000abcd"))
	plain := f.createUser(t, "plain") // no IdC id: not checked
	refused("UpdateUser, user not assigned", link(plain, bob))
	if got := f.describe(t, plain); aws.ToString(got.IdentityProviderUserId) != "" {
		t.Fatalf("refused UpdateUser still linked %s", aws.ToString(got.IdentityProviderUserId))
	}

	// The group's assignment lets its members link; bob still may not.
	if _, err := admin.CreateApplicationAssignment(ctx, &ssoadmin.CreateApplicationAssignmentInput{
		ApplicationArn: aws.String(app), PrincipalType: ssotypes.PrincipalTypeGroup, PrincipalId: aws.String(group)}); err != nil {
		t.Fatal(err)
	}
	if err := create("alice", alice); err != nil {
		t.Fatalf("CreateUser of a member of an assigned group: %v", err)
	}
	refused("CreateUser after the group assignment", create("bob", bob))

	// A user assignment lets bob link through UpdateUser.
	if _, err := admin.CreateApplicationAssignment(ctx, &ssoadmin.CreateApplicationAssignmentInput{
		ApplicationArn: aws.String(app), PrincipalType: ssotypes.PrincipalTypeUser, PrincipalId: aws.String(bob)}); err != nil {
		t.Fatal(err)
	}
	if err := link(plain, bob); err != nil {
		t.Fatalf("UpdateUser of an assigned user: %v", err)
	}
	if got := f.describe(t, plain); aws.ToString(got.IdentityProviderUserId) != bob {
		t.Fatalf("IdentityProviderUserId = %s, want %s", aws.ToString(got.IdentityProviderUserId), bob)
	}
	// Clearing the link is not checked.
	if err := link(plain, ""); err != nil {
		t.Fatalf("UpdateUser clearing the id: %v", err)
	}
}
