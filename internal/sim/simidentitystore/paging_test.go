package simidentitystore_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/identitystore"
	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/internal/sim/simidentitystore"
)

func TestPaginatorsWalkEveryMemberOnce(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, simidentitystore.Options{NoQuota: true})
	users := e.seedUsers(t, 260)
	gid, err := e.srv.SeedGroup(e.storeID, simidentitystore.Group{DisplayName: "everyone"})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		if _, err := e.srv.SeedMembership(e.storeID, gid, u); err != nil {
			t.Fatal(err)
		}
	}

	tests := []struct {
		name      string
		limit     int32
		wantPages int
	}{
		{"default page size", 0, 3},
		{"100 per page", 100, 3},
		{"7 per page", 7, 38},
	}
	for _, tc := range tests {
		t.Run("memberships/"+tc.name, func(t *testing.T) {
			in := &identitystore.ListGroupMembershipsInput{IdentityStoreId: aws.String(e.storeID), GroupId: aws.String(gid)}
			if tc.limit > 0 {
				in.MaxResults = aws.Int32(tc.limit)
			}
			p := identitystore.NewListGroupMembershipsPaginator(e.client, in)
			var got []string
			pages := 0
			for p.HasMorePages() {
				out, err := p.NextPage(ctx)
				if err != nil {
					t.Fatal(err)
				}
				pages++
				for _, m := range out.GroupMemberships {
					got = append(got, memberUser(m.MemberId))
				}
			}
			if pages != tc.wantPages {
				t.Errorf("pages = %d, want %d", pages, tc.wantPages)
			}
			if d := cmp.Diff(users, got); d != "" {
				t.Fatalf("members (-want +got):\n%s", d)
			}
		})
		t.Run("users/"+tc.name, func(t *testing.T) {
			in := &identitystore.ListUsersInput{IdentityStoreId: aws.String(e.storeID)}
			if tc.limit > 0 {
				in.MaxResults = aws.Int32(tc.limit)
			}
			p := identitystore.NewListUsersPaginator(e.client, in)
			var got []string
			pages := 0
			for p.HasMorePages() {
				out, err := p.NextPage(ctx)
				if err != nil {
					t.Fatal(err)
				}
				pages++
				for _, u := range out.Users {
					got = append(got, aws.ToString(u.UserId))
				}
			}
			if pages != tc.wantPages {
				t.Errorf("pages = %d, want %d", pages, tc.wantPages)
			}
			if d := cmp.Diff(users, got); d != "" {
				t.Fatalf("users (-want +got):\n%s", d)
			}
		})
	}
}

// A page token is a position, not an offset: users deleted between pages
// shift nothing, so no remaining user is skipped or repeated.
func TestDeletesBetweenPagesSkipNobody(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, simidentitystore.Options{NoQuota: true})
	users := e.seedUsers(t, 30)
	in := &identitystore.ListUsersInput{IdentityStoreId: aws.String(e.storeID), MaxResults: aws.Int32(10)}
	first, err := e.client.ListUsers(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range users[:5] { // delete half of the page already read
		if err := e.srv.RemoveUser(e.storeID, id); err != nil {
			t.Fatal(err)
		}
	}
	in.NextToken = first.NextToken
	second, err := e.client.ListUsers(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(second.Users[0].UserId); got != users[10] {
		t.Fatalf("second page starts at %s, want users[10] %s", got, users[10])
	}
}

func BenchmarkListGroupMemberships10k(b *testing.B) {
	ctx := context.Background()
	e := newEnv(b, simidentitystore.Options{NoQuota: true})
	users := e.seedUsers(b, 10_000)
	gid, err := e.srv.SeedGroup(e.storeID, simidentitystore.Group{DisplayName: "everyone"})
	if err != nil {
		b.Fatal(err)
	}
	for _, u := range users {
		if _, err := e.srv.SeedMembership(e.storeID, gid, u); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		p := identitystore.NewListGroupMembershipsPaginator(e.client, &identitystore.ListGroupMembershipsInput{
			IdentityStoreId: aws.String(e.storeID), GroupId: aws.String(gid), MaxResults: aws.Int32(100)})
		n := 0
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				b.Fatal(err)
			}
			n += len(out.GroupMemberships)
		}
		if n != len(users) {
			b.Fatalf("listed %d memberships, want %d", n, len(users))
		}
	}
	b.ReportMetric(float64(len(users)), "memberships/op")
}

// BenchmarkListUsersLastPage reads the last page of a 100,000-user store;
// its cost per call matches a first page's (O(page), not O(store)).
func BenchmarkListUsersLastPage(b *testing.B) {
	for _, n := range []int{1_000, 100_000} {
		b.Run(fmt.Sprintf("users=%d", n), func(b *testing.B) {
			ctx := context.Background()
			e := newEnv(b, simidentitystore.Options{NoQuota: true})
			e.seedUsers(b, n)
			// Find the last page's token once.
			in := &identitystore.ListUsersInput{IdentityStoreId: aws.String(e.storeID), MaxResults: aws.Int32(100)}
			var last *string
			p := identitystore.NewListUsersPaginator(e.client, in)
			for p.HasMorePages() {
				out, err := p.NextPage(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if out.NextToken != nil && len(out.Users) == 100 {
					last = out.NextToken
				}
			}
			in.NextToken = last
			b.ResetTimer()
			for b.Loop() {
				if _, err := e.client.ListUsers(ctx, in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSeedUser is the Go seeding path bulk loads use (validation
// included).
func BenchmarkSeedUser(b *testing.B) {
	srv := simidentitystore.New(simidentitystore.Options{NoQuota: true})
	store := srv.AddIdentityStore()
	i := 0
	for b.Loop() {
		if _, err := srv.SeedUser(store, simidentitystore.User{UserName: fmt.Sprintf("user%07d", i), GivenName: "Given", FamilyName: "Family",
			Email: fmt.Sprintf("user%07d@example.com", i), Title: "Engineer", Department: "R&D",
			ExternalIDs: []simidentitystore.ExternalID{{Issuer: "https://example.okta.com", ID: oktaID(i)}}}); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// Readers page through a group while a writer keeps adding members: every
// page is consistent (no duplicates, creation order) and the race detector
// sees no unguarded state.
func TestConcurrentSeedingAndListing(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, simidentitystore.Options{NoQuota: true})
	users := e.seedUsers(t, 400)
	gid, err := e.srv.SeedGroup(e.storeID, simidentitystore.Group{DisplayName: "growing"})
	if err != nil {
		t.Fatal(err)
	}
	pos := map[string]int{}
	for i, u := range users {
		pos[u] = i
	}
	done := make(chan error, 1)
	go func() {
		for _, u := range users {
			if _, err := e.srv.SeedMembership(e.storeID, gid, u); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for range 5 {
		p := identitystore.NewListGroupMembershipsPaginator(e.client, &identitystore.ListGroupMembershipsInput{
			IdentityStoreId: aws.String(e.storeID), GroupId: aws.String(gid), MaxResults: aws.Int32(50)})
		last := -1
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range out.GroupMemberships {
				i := pos[memberUser(m.MemberId)]
				if i <= last {
					t.Fatalf("member %d listed after %d", i, last)
				}
				last = i
			}
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
