package simconnect_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/connect"
	"github.com/aws/aws-sdk-go-v2/service/connect/types"

	"github.com/idsync/idsync/internal/sim/simconnect"
)

func TestListUsersPaginator(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, quotasOff())
	want := map[string]bool{}
	for i := range 250 {
		id, err := e.sim.SeedUser(e.instance, fmt.Sprintf("agent%03d", i))
		if err != nil {
			t.Fatal(err)
		}
		want[id] = true
	}
	p := connect.NewListUsersPaginator(e.client, &connect.ListUsersInput{InstanceId: aws.String(e.instance), MaxResults: aws.Int32(100)})
	got := map[string]bool{}
	var names []string
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("page %d: %v", pages+1, err)
		}
		pages++
		for _, u := range out.UserSummaryList {
			if got[aws.ToString(u.Id)] {
				t.Errorf("user %s listed twice", aws.ToString(u.Id))
			}
			got[aws.ToString(u.Id)] = true
			names = append(names, aws.ToString(u.Username))
		}
	}
	if pages != 3 || len(got) != 250 {
		t.Errorf("%d pages, %d users; want 3 pages, 250 users", pages, len(got))
	}
	for id := range want {
		if !got[id] {
			t.Errorf("user %s not listed", id)
		}
	}
	if !slices.IsSorted(names) {
		t.Errorf("users not in username order")
	}
}

// Deleting users between pages must not make the listing skip users that
// are still there (tokens are keyed by the last user served, not offsets).
func TestListUsersSurvivesDeletesBetweenPages(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, quotasOff())
	var ids []string
	for i := range 10 {
		id, err := e.sim.SeedUser(e.instance, fmt.Sprintf("u%02d", i))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	first, err := e.client.ListUsers(ctx, &connect.ListUsersInput{InstanceId: aws.String(e.instance), MaxResults: aws.Int32(5)})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids[:3] {
		if _, err := e.client.DeleteUser(ctx, &connect.DeleteUserInput{InstanceId: aws.String(e.instance), UserId: aws.String(id)}); err != nil {
			t.Fatal(err)
		}
	}
	second, err := e.client.ListUsers(ctx, &connect.ListUsersInput{InstanceId: aws.String(e.instance), MaxResults: aws.Int32(5), NextToken: first.NextToken})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, u := range second.UserSummaryList {
		got = append(got, aws.ToString(u.Id))
	}
	if !slices.Equal(got, ids[5:]) || second.NextToken != nil {
		t.Errorf("second page = %v (next %v), want %v", got, second.NextToken, ids[5:])
	}
}

func TestSearchUsersPaginator(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, quotasOff())
	for i := range 120 {
		if _, err := e.sim.SeedUser(e.instance, fmt.Sprintf("agent%03d", i)); err != nil {
			t.Fatal(err)
		}
		if _, err := e.sim.SeedUser(e.instance, fmt.Sprintf("other%03d", i)); err != nil {
			t.Fatal(err)
		}
	}
	p := connect.NewSearchUsersPaginator(e.client, &connect.SearchUsersInput{
		InstanceId: aws.String(e.instance),
		SearchCriteria: &types.UserSearchCriteria{StringCondition: &types.StringCondition{
			FieldName: aws.String("Username"), Value: aws.String("agent"), ComparisonType: types.StringComparisonTypeStartsWith,
		}},
	}, func(o *connect.SearchUsersPaginatorOptions) { o.Limit = 50 })
	seen := map[string]bool{}
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("page %d: %v", pages+1, err)
		}
		pages++
		if aws.ToInt64(out.ApproximateTotalCount) != 120 {
			t.Errorf("ApproximateTotalCount = %d, want 120", aws.ToInt64(out.ApproximateTotalCount))
		}
		for _, u := range out.Users {
			name := aws.ToString(u.Username)
			if seen[name] || name[:5] != "agent" {
				t.Errorf("unexpected or repeated user %s", name)
			}
			seen[name] = true
		}
	}
	if pages != 3 || len(seen) != 120 {
		t.Errorf("%d pages, %d users; want 3 pages, 120 users", pages, len(seen))
	}
}

func TestSearchCriteria(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, quotasOff())
	mk := func(username, first, last string, sp []string, rp string, group *string, tags map[string]string) string {
		in := e.createInput(username)
		in.IdentityInfo.FirstName, in.IdentityInfo.LastName = aws.String(first), aws.String(last)
		in.SecurityProfileIds, in.RoutingProfileId, in.HierarchyGroupId, in.Tags = sp, aws.String(rp), group, tags
		out, err := e.client.CreateUser(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.UserId)
	}
	ann := mk("ann@example.com", "Ann", "Lee", []string{e.sp1}, e.rp1, nil, map[string]string{"team": "sales"})
	bob := mk("bob@example.com", "Bob", "Leeds", []string{e.sp1, e.sp2}, e.rp2, aws.String(e.group), map[string]string{"team": "support"})
	cat := mk("cat@example.org", "Cat", "Ng", []string{e.sp2}, e.rp1, aws.String(e.group), nil)
	e.clock.Advance(simconnect.DefaultSearchLag) // until SearchUsers sees them

	str := func(field, value string, cmp types.StringComparisonType) *types.UserSearchCriteria {
		return &types.UserSearchCriteria{StringCondition: &types.StringCondition{FieldName: aws.String(field), Value: aws.String(value), ComparisonType: cmp}}
	}
	tests := []struct {
		name     string
		criteria *types.UserSearchCriteria
		filter   *types.UserSearchFilter
		want     []string // in username order
	}{
		{"no criteria", nil, nil, []string{ann, bob, cat}},
		{"username exact, case-insensitive", str("username", "Bob@Example.com", types.StringComparisonTypeExact), nil, []string{bob}},
		{"username exact is not a prefix match", str("Username", "bob@example", types.StringComparisonTypeExact), nil, nil},
		{"username contains", str("Username", "example.com", types.StringComparisonTypeContains), nil, []string{ann, bob}},
		{"last name starts with", str("LastName", "lee", types.StringComparisonTypeStartsWith), nil, []string{ann, bob}},
		{"first name", str("FirstName", "cat", types.StringComparisonTypeExact), nil, []string{cat}},
		{"resource id", str("resourceId", ann, types.StringComparisonTypeExact), nil, []string{ann}},
		{"security profile", str("SecurityProfileId", e.sp2, types.StringComparisonTypeExact), nil, []string{bob, cat}},
		{"routing profile", str("RoutingProfileId", e.rp1, types.StringComparisonTypeExact), nil, []string{ann, cat}},
		{"hierarchy group", &types.UserSearchCriteria{HierarchyGroupCondition: &types.HierarchyGroupCondition{
			Value: aws.String(e.group), HierarchyGroupMatchType: types.HierarchyGroupMatchTypeExact}}, nil, []string{bob, cat}},
		{"and", &types.UserSearchCriteria{AndConditions: []types.UserSearchCriteria{
			*str("SecurityProfileId", e.sp1, types.StringComparisonTypeExact),
			*str("RoutingProfileId", e.rp2, types.StringComparisonTypeExact),
		}}, nil, []string{bob}},
		{"or", &types.UserSearchCriteria{OrConditions: []types.UserSearchCriteria{
			*str("Username", "ann@example.com", types.StringComparisonTypeExact),
			*str("Username", "cat@example.org", types.StringComparisonTypeExact),
		}}, nil, []string{ann, cat}},
		{"tag filter", nil, &types.UserSearchFilter{TagFilter: &types.ControlPlaneTagFilter{
			TagCondition: &types.TagCondition{TagKey: aws.String("team"), TagValue: aws.String("sales")}}}, []string{ann}},
		{"tag filter or", str("LastName", "l", types.StringComparisonTypeStartsWith), &types.UserSearchFilter{TagFilter: &types.ControlPlaneTagFilter{
			OrConditions: [][]types.TagCondition{
				{{TagKey: aws.String("team"), TagValue: aws.String("support")}},
				{{TagKey: aws.String("team"), TagValue: aws.String("none")}},
			}}}, []string{bob}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := e.client.SearchUsers(ctx, &connect.SearchUsersInput{InstanceId: aws.String(e.instance), SearchCriteria: tt.criteria, SearchFilter: tt.filter})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, u := range out.Users {
				got = append(got, aws.ToString(u.Id))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestListInstancesPaginator(t *testing.T) {
	e := newEnv(t, quotasOff())
	for i := range 11 {
		e.sim.AddInstance(fmt.Sprintf("extra-%02d", i), simconnect.IdentityConnectManaged)
	}
	p := connect.NewListInstancesPaginator(e.client, &connect.ListInstancesInput{})
	var aliases []string
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, in := range out.InstanceSummaryList {
			aliases = append(aliases, aws.ToString(in.InstanceAlias))
		}
	}
	if pages != 2 || len(aliases) != 12 || aliases[0] != "idsync-test" || aliases[11] != "extra-10" {
		t.Errorf("%d pages: %v", pages, aliases)
	}
}

// Racing CreateUser calls for one username: exactly one wins, the others
// get DuplicateResourceException.
func TestConcurrentCreateOneWinner(t *testing.T) {
	e := newEnv(t, quotasOff())
	const n = 8
	errs := make(chan error, n)
	for range n {
		go func() {
			_, err := e.client.CreateUser(context.Background(), e.createInput("race@example.com"))
			errs <- err
		}()
	}
	wins, dups := 0, 0
	for range n {
		err := <-errs
		switch {
		case err == nil:
			wins++
		case as[*types.DuplicateResourceException](err):
			dups++
		default:
			t.Errorf("unexpected error %v", err)
		}
	}
	if wins != 1 || dups != n-1 || len(e.sim.Users(e.instance)) != 1 {
		t.Errorf("wins %d, duplicates %d, users %d", wins, dups, len(e.sim.Users(e.instance)))
	}
}
