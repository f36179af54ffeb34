package simworkmail_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/workmail"
	"github.com/aws/aws-sdk-go-v2/service/workmail/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/idsync/idsync/internal/sim/simworkmail"
)

func TestUserLifecycle(t *testing.T) {
	ctx := context.Background()
	f := setup(t, simworkmail.Options{}, 1)
	org := aws.String(f.org)
	const idcUser = "9067e4a2b1-11111111-2222-3333-4444-555555555555"

	created, err := f.client.CreateUser(ctx, &workmail.CreateUserInput{
		OrganizationId: org, Name: aws.String("jdoe"), DisplayName: aws.String("Jane Doe"),
		FirstName: aws.String("Jane"), LastName: aws.String("Doe"), Password: aws.String("Sup3r-Secret!"),
		IdentityProviderUserId: aws.String(idcUser),
	})
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	id := aws.ToString(created.UserId)
	if id != "00000000-0000-4000-8000-000000000002" {
		t.Fatalf("UserId = %q, want the second generated UUID", id)
	}

	d := f.describe(t, id)
	if d.State != types.EntityStateDisabled || d.Email != nil || d.EnabledDate != nil || d.UserRole != types.UserRoleUser {
		t.Fatalf("new user: state %s email %v enabled %v role %s; want DISABLED, no email, no date, USER",
			d.State, d.Email, d.EnabledDate, d.UserRole)
	}
	if aws.ToString(d.IdentityProviderUserId) != idcUser || aws.ToString(d.FirstName) != "Jane" {
		t.Fatalf("new user attributes: %+v", d)
	}

	// Register: ENABLED with the primary address, dated by the clock.
	f.clock.Advance(time.Minute)
	if _, err := f.client.RegisterToWorkMail(ctx, &workmail.RegisterToWorkMailInput{
		OrganizationId: org, EntityId: aws.String(id), Email: aws.String("jane.doe@example.com"),
	}); err != nil {
		t.Fatalf("RegisterToWorkMail: %v", err)
	}
	d = f.describe(t, "jane.doe@example.com") // by email
	if d.State != types.EntityStateEnabled || aws.ToString(d.Email) != "jane.doe@example.com" ||
		!aws.ToTime(d.EnabledDate).Equal(t0.Add(time.Minute)) || !aws.ToTime(d.MailboxProvisionedDate).Equal(t0.Add(time.Minute)) {
		t.Fatalf("registered: state %s email %s enabled %v", d.State, aws.ToString(d.Email), d.EnabledDate)
	}

	// UpdateUser changes only what it is given.
	if _, err := f.client.UpdateUser(ctx, &workmail.UpdateUserInput{
		OrganizationId: org, UserId: aws.String("jdoe"), // by name
		DisplayName: aws.String("Jane Q. Doe"), Department: aws.String("Support"), JobTitle: aws.String("Agent"),
		HiddenFromGlobalAddressList: aws.Bool(true), Role: types.UserRoleRemoteUser,
	}); err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	d = f.describe(t, id)
	if aws.ToString(d.DisplayName) != "Jane Q. Doe" || aws.ToString(d.Department) != "Support" ||
		aws.ToString(d.JobTitle) != "Agent" || !d.HiddenFromGlobalAddressList || d.UserRole != types.UserRoleRemoteUser ||
		aws.ToString(d.FirstName) != "Jane" || aws.ToString(d.IdentityProviderUserId) != idcUser {
		t.Fatalf("updated: %+v", d)
	}
	// An empty IdentityProviderUserId clears it (the model allows ^$).
	if _, err := f.client.UpdateUser(ctx, &workmail.UpdateUserInput{
		OrganizationId: org, UserId: aws.String(id), IdentityProviderUserId: aws.String(""),
	}); err != nil {
		t.Fatalf("UpdateUser clear IdP id: %v", err)
	}
	if d = f.describe(t, id); d.IdentityProviderUserId != nil {
		t.Fatalf("IdentityProviderUserId = %q, want cleared", aws.ToString(d.IdentityProviderUserId))
	}

	// UpdatePrimaryEmailAddress: the old address stays the user's, as an alias.
	if _, err := f.client.UpdatePrimaryEmailAddress(ctx, &workmail.UpdatePrimaryEmailAddressInput{
		OrganizationId: org, EntityId: aws.String(id), Email: aws.String("jane@example.org"),
	}); err != nil {
		t.Fatalf("UpdatePrimaryEmailAddress: %v", err)
	}
	if d = f.describe(t, "jane.doe@example.com"); aws.ToString(d.Email) != "jane@example.org" {
		t.Fatalf("by old address: email %s, want jane@example.org", aws.ToString(d.Email))
	}

	// Deregister: DISABLED, dated, the address still reserved.
	f.clock.Advance(time.Hour)
	if _, err := f.client.DeregisterFromWorkMail(ctx, &workmail.DeregisterFromWorkMailInput{
		OrganizationId: org, EntityId: aws.String(id),
	}); err != nil {
		t.Fatalf("DeregisterFromWorkMail: %v", err)
	}
	d = f.describe(t, id)
	if d.State != types.EntityStateDisabled || !aws.ToTime(d.DisabledDate).Equal(t0.Add(61*time.Minute)) ||
		aws.ToString(d.Email) != "jane@example.org" {
		t.Fatalf("deregistered: state %s disabled %v email %s", d.State, d.DisabledDate, aws.ToString(d.Email))
	}

	// Re-register restores it.
	if _, err := f.client.RegisterToWorkMail(ctx, &workmail.RegisterToWorkMailInput{
		OrganizationId: org, EntityId: aws.String(id), Email: aws.String("jane@example.org"),
	}); err != nil {
		t.Fatalf("re-register: %v", err)
	}
	if d = f.describe(t, id); d.State != types.EntityStateEnabled || d.DisabledDate != nil {
		t.Fatalf("re-registered: state %s disabled %v", d.State, d.DisabledDate)
	}
	if _, err := f.client.DeregisterFromWorkMail(ctx, &workmail.DeregisterFromWorkMailInput{
		OrganizationId: org, EntityId: aws.String(id),
	}); err != nil {
		t.Fatalf("DeregisterFromWorkMail: %v", err)
	}

	// Delete: DELETED but still described and listed; name and address free.
	if _, err := f.client.DeleteUser(ctx, &workmail.DeleteUserInput{OrganizationId: org, UserId: aws.String(id)}); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	if d = f.describe(t, id); d.State != types.EntityStateDeleted || d.Email != nil {
		t.Fatalf("deleted: state %s email %v", d.State, d.Email)
	}
	again := f.enabledUser(t, "jdoe", "jane@example.org")
	if again == id {
		t.Fatal("recreated user reuses the deleted user's id")
	}
	if d = f.describe(t, "jdoe"); aws.ToString(d.UserId) != again {
		t.Fatalf("by name after re-create: %s, want the live user %s", aws.ToString(d.UserId), again)
	}

	want := []simworkmail.User{
		{UserID: id, Name: "jdoe", DisplayName: "Jane Q. Doe", FirstName: "Jane", LastName: "Doe",
			State: simworkmail.StateDeleted, Role: "REMOTE_USER", HiddenFromGlobalAddressList: true,
			Department: "Support", JobTitle: "Agent"},
		{UserID: again, Name: "jdoe", DisplayName: "jdoe", Email: "jane@example.org", State: simworkmail.StateEnabled, Role: "USER"},
	}
	got := f.sim.Users(f.org)
	if diff := cmp.Diff(want, got, cmpopts.IgnoreTypes(time.Time{})); diff != "" {
		t.Fatalf("Users() (-want +got):\n%s", diff)
	}
}

// TestPrimaryAddressSwapsWithAlias: promoting a former primary address (now
// an alias) swaps the two; the addresses stay the user's throughout.
func TestPrimaryAddressSwapsWithAlias(t *testing.T) {
	ctx := context.Background()
	f := setup(t, simworkmail.Options{}, 1)
	id := f.enabledUser(t, "sam", "sam@example.com")
	for _, email := range []string{"sam@example.org", "SAM@example.com"} {
		if _, err := f.client.UpdatePrimaryEmailAddress(ctx, &workmail.UpdatePrimaryEmailAddressInput{
			OrganizationId: aws.String(f.org), EntityId: aws.String(id), Email: aws.String(email),
		}); err != nil {
			t.Fatalf("UpdatePrimaryEmailAddress %s: %v", email, err)
		}
	}
	got := f.sim.Users(f.org)[0]
	if got.Email != "SAM@example.com" || !cmp.Equal(got.Aliases, []string{"sam@example.org"}) {
		t.Fatalf("email %s aliases %v; want SAM@example.com and [sam@example.org]", got.Email, got.Aliases)
	}
	// Same address again changes nothing.
	if _, err := f.client.UpdatePrimaryEmailAddress(ctx, &workmail.UpdatePrimaryEmailAddressInput{
		OrganizationId: aws.String(f.org), EntityId: aws.String(id), Email: aws.String("SAM@example.com"),
	}); err != nil {
		t.Fatal(err)
	}
	if again := f.sim.Users(f.org)[0]; !cmp.Equal(again.Aliases, got.Aliases) {
		t.Fatalf("aliases changed to %v", again.Aliases)
	}
	// The alias is still reserved for sam.
	other := f.createUser(t, "other")
	_, err := f.client.RegisterToWorkMail(ctx, &workmail.RegisterToWorkMailInput{
		OrganizationId: aws.String(f.org), EntityId: aws.String(other), Email: aws.String("sam@example.org"),
	})
	if !isA[*types.EmailAddressInUseException](err) {
		t.Fatalf("registering sam's alias: %v", err)
	}
}
