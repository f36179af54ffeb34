package simworkmail_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/workmail"
	"github.com/aws/aws-sdk-go-v2/service/workmail/types"
	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/internal/sim/simworkmail"
)

func TestListUsersPaginator(t *testing.T) {
	ctx := context.Background()
	f := setup(t, simworkmail.Options{}, 1)
	const n = 260
	var want []string
	for i := range n {
		want = append(want, f.createUser(t, fmt.Sprintf("user%03d", i)))
	}
	p := workmail.NewListUsersPaginator(f.client, &workmail.ListUsersInput{
		OrganizationId: aws.String(f.org), MaxResults: aws.Int32(100),
	})
	var got []string
	var sizes []int
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("page %d: %v", len(sizes)+1, err)
		}
		sizes = append(sizes, len(page.Users))
		for _, u := range page.Users {
			got = append(got, aws.ToString(u.Id))
		}
	}
	if !slices.Equal(sizes, []int{100, 100, 60}) {
		t.Fatalf("page sizes %v, want [100 100 60]", sizes)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("listed ids (-want +got):\n%s", diff)
	}
}

// TestListUsersDefaultPageAndExactEnd: no MaxResults means pages of 100; a
// page that ends exactly at the last user carries no NextToken.
func TestListUsersDefaultPageAndExactEnd(t *testing.T) {
	ctx := context.Background()
	f := setup(t, simworkmail.Options{}, 1)
	for i := range 200 {
		if _, err := f.sim.SeedUser(f.org, fmt.Sprintf("u%d", i), ""); err != nil {
			t.Fatal(err)
		}
	}
	out, err := f.client.ListUsers(ctx, &workmail.ListUsersInput{OrganizationId: aws.String(f.org)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Users) != 100 || out.NextToken == nil {
		t.Fatalf("first page: %d users, token %v, err %v; want 100 and a token", len(out.Users), out.NextToken, err)
	}
	out, err = f.client.ListUsers(ctx, &workmail.ListUsersInput{OrganizationId: aws.String(f.org), NextToken: out.NextToken})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Users) != 100 || out.NextToken != nil {
		t.Fatalf("second page: %d users, token %v, err %v; want 100 and no token", len(out.Users), aws.ToString(out.NextToken), err)
	}
}

// TestListUsersTokenSurvivesChanges: users created or deleted between pages
// neither repeat nor hide the others.
func TestListUsersTokenSurvivesChanges(t *testing.T) {
	ctx := context.Background()
	f := setup(t, simworkmail.Options{}, 1)
	var ids []string
	for i := range 5 {
		ids = append(ids, f.createUser(t, fmt.Sprintf("u%d", i)))
	}
	first, err := f.client.ListUsers(ctx, &workmail.ListUsersInput{
		OrganizationId: aws.String(f.org), MaxResults: aws.Int32(2), Filters: &types.ListUsersFilters{State: types.EntityStateDisabled},
	})
	if err != nil {
		t.Fatal(err)
	}
	// u0 (already listed) is deleted; a new user arrives.
	if _, err := f.client.DeleteUser(ctx, &workmail.DeleteUserInput{OrganizationId: aws.String(f.org), UserId: aws.String(ids[0])}); err != nil {
		t.Fatal(err)
	}
	late := f.createUser(t, "late")
	got := []string{aws.ToString(first.Users[0].Id), aws.ToString(first.Users[1].Id)}
	rest := workmail.NewListUsersPaginator(f.client, &workmail.ListUsersInput{
		OrganizationId: aws.String(f.org), MaxResults: aws.Int32(2), NextToken: first.NextToken,
		Filters: &types.ListUsersFilters{State: types.EntityStateDisabled},
	})
	for rest.HasMorePages() {
		page, err := rest.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range page.Users {
			got = append(got, aws.ToString(u.Id))
		}
	}
	want := append(slices.Clone(ids), late)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("ids across pages (-want +got):\n%s", diff)
	}
}

func TestListUsersFilters(t *testing.T) {
	ctx := context.Background()
	f := setup(t, simworkmail.Options{}, 1)
	must := func(_ simworkmail.User, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(f.sim.AddUser(f.org, simworkmail.User{Name: "alice", DisplayName: "Alice Able", Email: "alice@example.com",
		IdentityProviderUserID: "9067e4a2b1-aaaaaaaa-0000-0000-0000-000000000001"}))
	must(f.sim.AddUser(f.org, simworkmail.User{Name: "albert", DisplayName: "Albert Baker", Email: "bert@example.org",
		IdentityProviderUserID: "9067e4a2b1-bbbbbbbb-0000-0000-0000-000000000002"}))
	must(f.sim.AddUser(f.org, simworkmail.User{Name: "bob", DisplayName: "Bob Able"}))
	gone, err := f.sim.AddUser(f.org, simworkmail.User{Name: "alfred", DisplayName: "Fred"})
	must(gone, err)
	if _, err := f.client.DeleteUser(ctx, &workmail.DeleteUserInput{OrganizationId: aws.String(f.org), UserId: aws.String(gone.UserID)}); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		filters *types.ListUsersFilters
		want    []string
	}{
		{"none", nil, []string{"alice", "albert", "bob", "alfred"}},
		{"username prefix, any case", &types.ListUsersFilters{UsernamePrefix: aws.String("AL")}, []string{"alice", "albert", "alfred"}},
		{"display name prefix", &types.ListUsersFilters{DisplayNamePrefix: aws.String("Al")}, []string{"alice", "albert"}},
		{"primary email prefix", &types.ListUsersFilters{PrimaryEmailPrefix: aws.String("bert@")}, []string{"albert"}},
		{"state ENABLED", &types.ListUsersFilters{State: types.EntityStateEnabled}, []string{"alice", "albert"}},
		{"state DISABLED", &types.ListUsersFilters{State: types.EntityStateDisabled}, []string{"bob"}},
		{"state DELETED", &types.ListUsersFilters{State: types.EntityStateDeleted}, []string{"alfred"}},
		{"identity provider user id prefix", &types.ListUsersFilters{IdentityProviderUserIdPrefix: aws.String("9067e4a2b1-bbbb")}, []string{"albert"}},
		{"exact identity provider user id", &types.ListUsersFilters{IdentityProviderUserIdPrefix: aws.String("9067e4a2b1-aaaaaaaa-0000-0000-0000-000000000001")}, []string{"alice"}},
		{"no match", &types.ListUsersFilters{UsernamePrefix: aws.String("zed")}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := workmail.NewListUsersPaginator(f.client, &workmail.ListUsersInput{
				OrganizationId: aws.String(f.org), Filters: tc.filters, MaxResults: aws.Int32(1),
			})
			var got []string
			for p.HasMorePages() {
				page, err := p.NextPage(ctx)
				if err != nil {
					t.Fatal(err)
				}
				for _, u := range page.Users {
					got = append(got, aws.ToString(u.Name))
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("names (-want +got):\n%s", diff)
			}
		})
	}
}

// TestListUsersOneFilterPerRequest: ListUsers documents "You can only use
// one filter per request" (ListUsersRequest.Filters); two filters, even
// with one of them empty, are refused with InvalidParameterException.
func TestListUsersOneFilterPerRequest(t *testing.T) {
	ctx := context.Background()
	f := setup(t, simworkmail.Options{}, 1)
	f.createUser(t, "alice")
	for name, filters := range map[string]*types.ListUsersFilters{
		"prefix and state":        {UsernamePrefix: aws.String("al"), State: types.EntityStateEnabled},
		"two prefixes":            {UsernamePrefix: aws.String("al"), DisplayNamePrefix: aws.String("Al")},
		"idc id and empty prefix": {IdentityProviderUserIdPrefix: aws.String("9067e4a2b1"), PrimaryEmailPrefix: aws.String("")},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := f.client.ListUsers(ctx, &workmail.ListUsersInput{OrganizationId: aws.String(f.org), Filters: filters})
			if !isA[*types.InvalidParameterException](err) || !strings.Contains(apiMessage(err), "one filter per request") {
				t.Fatalf("ListUsers with %s: %v, want InvalidParameterException", name, err)
			}
		})
	}
	out, err := f.client.ListUsers(ctx, &workmail.ListUsersInput{OrganizationId: aws.String(f.org),
		Filters: &types.ListUsersFilters{UsernamePrefix: aws.String("al")}})
	if err != nil || len(out.Users) != 1 {
		t.Fatalf("one filter: %v, %v", out, err)
	}
}

// TestListUsersSummaryFields: a summary carries what the model's User shape
// has, dates included.
func TestListUsersSummaryFields(t *testing.T) {
	ctx := context.Background()
	f := setup(t, simworkmail.Options{}, 1)
	if err := f.sim.SetIdentityStoreID(f.org, "d-1234567890"); err != nil {
		t.Fatal(err)
	}
	id, err := f.sim.AddUser(f.org, simworkmail.User{Name: "alice", DisplayName: "Alice", Email: "alice@example.com",
		IdentityProviderUserID: "9067e4a2b1-aaaaaaaa-0000-0000-0000-000000000001"})
	if err != nil {
		t.Fatal(err)
	}
	out, err := f.client.ListUsers(ctx, &workmail.ListUsersInput{OrganizationId: aws.String(f.org)})
	if err != nil {
		t.Fatal(err)
	}
	want := []types.User{{
		Id: aws.String(id.UserID), Name: aws.String("alice"), DisplayName: aws.String("Alice"),
		Email: aws.String("alice@example.com"), State: types.EntityStateEnabled, UserRole: types.UserRoleUser,
		EnabledDate: aws.Time(t0), IdentityProviderUserId: aws.String("9067e4a2b1-aaaaaaaa-0000-0000-0000-000000000001"),
		IdentityProviderIdentityStoreId: aws.String("d-1234567890"),
	}}
	if diff := cmp.Diff(want, out.Users, cmp.AllowUnexported(types.User{})); diff != "" {
		t.Fatalf("summary (-want +got):\n%s", diff)
	}
}
