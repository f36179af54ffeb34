package simconnect_test

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/connect"
	"github.com/aws/aws-sdk-go-v2/service/connect/types"

	"github.com/idsync/idsync/internal/sim/simconnect"
)

// search answers the usernames SearchUsers finds for a username prefix
// and, when lastName is not empty, that last name.
func (e *env) search(t *testing.T, prefix, lastName string) []string {
	t.Helper()
	crit := &types.UserSearchCriteria{StringCondition: &types.StringCondition{FieldName: aws.String("Username"),
		Value: aws.String(prefix), ComparisonType: types.StringComparisonTypeStartsWith}}
	if lastName != "" {
		crit = &types.UserSearchCriteria{AndConditions: []types.UserSearchCriteria{*crit, {StringCondition: &types.StringCondition{
			FieldName: aws.String("LastName"), Value: aws.String(lastName), ComparisonType: types.StringComparisonTypeExact}}}}
	}
	out, err := e.client.SearchUsers(context.Background(), &connect.SearchUsersInput{InstanceId: aws.String(e.instance), SearchCriteria: crit})
	if err != nil {
		t.Fatalf("SearchUsers: %v", err)
	}
	var names []string
	for _, u := range out.Users {
		names = append(names, aws.ToString(u.Username))
	}
	return names
}

// TestSearchUsersLagsBehindChanges: SearchUsers is eventually consistent
// (Connect's "eventual consistency" page); with the default lag of one
// second a new user is not found at once while CreateUser of the same name
// already answers DuplicateResourceException and DescribeUser finds it; an
// update is found as it was, a deletion still found, until the lag has
// passed. Seeded users are found at once.
func TestSearchUsersLagsBehindChanges(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, quotasOff())
	if _, err := e.sim.SeedUser(e.instance, "lag-seeded"); err != nil {
		t.Fatal(err)
	}
	if got := e.search(t, "lag-", ""); !slices.Equal(got, []string{"lag-seeded"}) {
		t.Fatalf("seeded user: search = %v", got)
	}

	id := e.mustCreate(t, "lag-new")
	if got := e.search(t, "lag-new", ""); len(got) != 0 {
		t.Fatalf("search right after CreateUser = %v, want nothing yet", got)
	}
	if _, err := e.client.CreateUser(ctx, e.createInput("LAG-NEW")); !as[*types.DuplicateResourceException](err) || httpStatus(err) != http.StatusConflict {
		t.Fatalf("CreateUser of the same name during the lag: %v, want DuplicateResourceException (409)", err)
	}
	if _, err := e.client.DescribeUser(ctx, &connect.DescribeUserInput{InstanceId: aws.String(e.instance), UserId: aws.String(id)}); err != nil {
		t.Fatalf("DescribeUser during the lag: %v", err)
	}
	e.clock.Advance(simconnect.DefaultSearchLag - time.Millisecond)
	if got := e.search(t, "lag-new", ""); len(got) != 0 {
		t.Fatalf("search 1 ms before the lag has passed = %v", got)
	}
	e.clock.Advance(time.Millisecond)
	if got := e.search(t, "lag-new", ""); !slices.Equal(got, []string{"lag-new"}) {
		t.Fatalf("search after the lag = %v", got)
	}

	if _, err := e.client.UpdateUserIdentityInfo(ctx, &connect.UpdateUserIdentityInfoInput{InstanceId: aws.String(e.instance),
		UserId: aws.String(id), IdentityInfo: &types.UserIdentityInfo{FirstName: aws.String("Jane"), LastName: aws.String("Roe")}}); err != nil {
		t.Fatal(err)
	}
	if got, old := e.search(t, "lag-new", "Roe"), e.search(t, "lag-new", "Doe"); len(got) != 0 || len(old) != 1 {
		t.Fatalf("during the update's lag: new name %v, old name %v; want the old one only", got, old)
	}
	e.clock.Advance(simconnect.DefaultSearchLag)
	if got, old := e.search(t, "lag-new", "Roe"), e.search(t, "lag-new", "Doe"); len(got) != 1 || len(old) != 0 {
		t.Fatalf("after the update's lag: new name %v, old name %v; want the new one only", got, old)
	}

	if _, err := e.client.DeleteUser(ctx, &connect.DeleteUserInput{InstanceId: aws.String(e.instance), UserId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	if got := e.search(t, "lag-new", ""); len(got) != 1 {
		t.Fatalf("search right after DeleteUser = %v, want the deleted user still", got)
	}
	e.clock.Advance(simconnect.DefaultSearchLag)
	if got := e.search(t, "lag-new", ""); len(got) != 0 {
		t.Fatalf("search after the deletion's lag = %v", got)
	}
}

// TestSearchLagKnob: the lag is set by Options.SearchLag or NoSearchLag,
// SetSearchLag and GET/POST /_sim/search-lag; changes reach the index in
// the order they were made even when the lag is shortened in between.
func TestSearchLagKnob(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, simconnect.Options{NoQuota: true, SearchLag: 10 * time.Second})
	control := func(method, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, e.url+"/_sim/search-lag", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(raw))
	}
	if code, body := control(http.MethodGet, ""); code != http.StatusOK || body != `{"lagMs":10000}` {
		t.Fatalf("GET /_sim/search-lag = %d %s", code, body)
	}

	id := e.mustCreate(t, "knob")
	if code, _ := control(http.MethodPost, `{"lagMs":0}`); code != http.StatusNoContent {
		t.Fatalf("POST /_sim/search-lag: %d", code)
	}
	if _, err := e.client.UpdateUserIdentityInfo(ctx, &connect.UpdateUserIdentityInfoInput{InstanceId: aws.String(e.instance),
		UserId: aws.String(id), IdentityInfo: &types.UserIdentityInfo{FirstName: aws.String("Jane"), LastName: aws.String("Roe")}}); err != nil {
		t.Fatal(err)
	}
	// The update queues behind the create, which still has 10 s to go.
	if got := e.search(t, "knob", ""); len(got) != 0 {
		t.Fatalf("search before the create's lag = %v", got)
	}
	e.clock.Advance(10 * time.Second)
	if got := e.search(t, "knob", "Roe"); len(got) != 1 {
		t.Fatalf("search after the create's lag = %v, want the updated user", got)
	}
	// With no lag a new change is seen at once.
	e.mustCreate(t, "knob2")
	if got := e.search(t, "knob2", ""); len(got) != 1 {
		t.Fatalf("search with no lag = %v", got)
	}
	e.sim.SetSearchLag(time.Minute)
	if e.sim.SearchLag() != time.Minute {
		t.Fatalf("SearchLag = %v", e.sim.SearchLag())
	}
	for _, bad := range []string{`{"lagMs":-1}`, `{}`, `nope`} {
		if code, _ := control(http.MethodPost, bad); code != http.StatusBadRequest {
			t.Errorf("POST %s: %d, want 400", bad, code)
		}
	}

	instant := newEnv(t, simconnect.Options{NoQuota: true, NoSearchLag: true})
	instant.mustCreate(t, "now")
	if got := instant.search(t, "now", ""); len(got) != 1 {
		t.Fatalf("NoSearchLag: search = %v", got)
	}
}
