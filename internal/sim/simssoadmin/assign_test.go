package simssoadmin_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin/types"

	"github.com/idsync/idsync/internal/sim/simidentitystore"
	"github.com/idsync/idsync/internal/sim/simssoadmin"
)

// TestAssignmentChecker: a user counts as assigned to an application by a
// USER assignment or through a GROUP assignment of a group it belongs to,
// read at call time; other users, other applications, removed memberships
// and deleted users do not.
func TestAssignmentChecker(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, simssoadmin.Options{NoQuota: true})
	check := e.srv.AssignmentChecker(e.ids)
	direct, member, outsider := e.user(t, 1), e.user(t, 2), e.user(t, 3)
	group, err := e.ids.SeedGroup(e.storeID, simidentitystore.Group{DisplayName: "workmail-users"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.ids.SeedMembership(e.storeID, group, member); err != nil {
		t.Fatal(err)
	}
	other := e.srv.AddApplication(e.instance, "Other", workmailProvider)

	for _, id := range []string{direct, member, outsider} {
		if check.UserAssigned(e.app, id) {
			t.Fatalf("user %s assigned before any assignment", id)
		}
	}
	assign := func(typ types.PrincipalType, id string) {
		t.Helper()
		if _, err := e.client.CreateApplicationAssignment(ctx, &ssoadmin.CreateApplicationAssignmentInput{
			ApplicationArn: aws.String(e.app), PrincipalType: typ, PrincipalId: aws.String(id)}); err != nil {
			t.Fatal(err)
		}
	}
	assign(types.PrincipalTypeUser, direct)
	assign(types.PrincipalTypeGroup, group)

	for _, tc := range []struct {
		name, app, user string
		want            bool
	}{
		{"user assignment", e.app, direct, true},
		{"group assignment", e.app, member, true},
		{"not assigned", e.app, outsider, false},
		{"other application", other, direct, false},
		{"unknown application", "arn:aws:sso::123456789012:application/ssoins-0000000000000000/apl-0000000000000000", direct, false},
		{"unknown user", e.app, "9067e4a2b1-00000000-0000-4000-8000-000000000000", false},
	} {
		if got := check.UserAssigned(tc.app, tc.user); got != tc.want {
			t.Errorf("%s: UserAssigned = %v, want %v", tc.name, got, tc.want)
		}
	}

	if err := e.ids.RemoveMembership(e.storeID, group, member); err != nil {
		t.Fatal(err)
	}
	if check.UserAssigned(e.app, member) {
		t.Error("still assigned after leaving the group")
	}
	if err := e.ids.RemoveUser(e.storeID, direct); err != nil {
		t.Fatal(err)
	}
	if check.UserAssigned(e.app, direct) {
		t.Error("a deleted user is still assigned")
	}
}
