package simokta_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/internal/sim/simkit"
	"github.com/idsync/idsync/internal/sim/simokta"
)

func TestSSWSAuth(t *testing.T) {
	o := newOrg(t, simokta.Options{Seed: 20})
	tests := []struct {
		name   string
		auth   string
		status int
	}{
		{"no header", "", http.StatusUnauthorized},
		{"wrong token", "SSWS not-the-token", http.StatusUnauthorized},
		{"bearer scheme", "Bearer " + token, http.StatusUnauthorized},
		{"token without scheme", token, http.StatusUnauthorized},
		{"right token", "SSWS " + token, http.StatusOK},
	}
	for _, tc := range tests {
		for _, path := range []string{"/api/v1/users", "/api/v1/groups", "/api/v1/eventHooks", "/api/v1/logs"} {
			t.Run(tc.name+" "+path, func(t *testing.T) {
				var e oktaError
				var out any = &e
				if tc.status != http.StatusUnauthorized {
					out = nil
				}
				resp := o.with(t).doAuth(tc.auth, http.MethodGet, path, nil, out)
				if resp.StatusCode != tc.status {
					t.Fatalf("status = %d, want %d", resp.StatusCode, tc.status)
				}
				if tc.status != http.StatusUnauthorized {
					return
				}
				if e.ErrorCode != "E0000011" || e.ErrorSummary != "Invalid token provided" || e.ErrorLink != "E0000011" ||
					e.ErrorID == "" || e.ErrorCauses == nil {
					t.Errorf("error body = %+v", e)
				}
			})
		}
	}
	// Nothing is changed by an unauthorised write.
	o.doAuth("SSWS wrong", http.MethodPost, "/api/v1/groups", `{"profile":{"name":"X"}}`, nil)
	if n := len(o.srv.State().Groups); n != 0 {
		t.Errorf("groups after unauthorised create = %d", n)
	}
}

func TestCreateUserFromDocumentedRequest(t *testing.T) {
	now := time.Date(2025, 3, 4, 5, 6, 7, 890_000_000, time.UTC)
	o := newOrg(t, simokta.Options{Seed: 21, Clock: func() time.Time { return now }})
	raw, err := os.ReadFile("testdata/create_user.json")
	if err != nil {
		t.Fatal(err)
	}
	var u userObj
	if resp := o.do(http.MethodPost, "/api/v1/users?activate=true", raw, &u); resp.StatusCode != http.StatusOK {
		t.Fatalf("create = %d", resp.StatusCode)
	}
	if !regexp.MustCompile(`^00u[0-9A-Za-z]{17}$`).MatchString(u.ID) {
		t.Errorf("id %q is not 00u + 17 characters", u.ID)
	}
	stamp := "2025-03-04T05:06:07.890Z"
	if u.Status != simokta.StatusActive || u.Created != stamp || u.LastUpdated != stamp || u.Activated == nil || *u.Activated != stamp ||
		u.StatusChanged == nil {
		t.Errorf("user = %+v", u)
	}
	want := map[string]string{"firstName": "Isaac", "lastName": "Brock", "email": "isaac.brock@example.com",
		"login": "isaac.brock@example.com", "mobilePhone": "555-415-1337", "department": "Engineering", "title": "Engineer"}
	if diff := cmp.Diff(want, u.Profile); diff != "" {
		t.Errorf("profile (-want +got):\n%s", diff)
	}
	if !strings.HasSuffix(u.Links["self"].Href, "/api/v1/users/"+u.ID) || u.Links["suspend"].Href == "" {
		t.Errorf("_links = %+v", u.Links)
	}
	var types []string
	for _, e := range o.srv.LogEvents() {
		types = append(types, e.EventType)
	}
	if diff := cmp.Diff([]string{simokta.EventUserCreate, simokta.EventUserActivate}, types); diff != "" {
		t.Errorf("log events (-want +got):\n%s", diff)
	}
	// By id and by login.
	for _, key := range []string{u.ID, "isaac.brock@example.com", "ISAAC.BROCK@example.com"} {
		var got userObj
		if resp := o.do(http.MethodGet, "/api/v1/users/"+key, nil, &got); resp.StatusCode != 200 || got.ID != u.ID {
			t.Errorf("GET /users/%s = %d %s", key, resp.StatusCode, got.ID)
		}
	}
}

func TestCreateUserStatusByActivationAndPassword(t *testing.T) {
	tests := []struct {
		activate, password bool
		want               string
		wantActivated      bool
	}{
		{false, false, simokta.StatusStaged, false},
		{false, true, simokta.StatusStaged, false},
		{true, false, simokta.StatusProvisioned, false},
		{true, true, simokta.StatusActive, true},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("activate=%v password=%v", tc.activate, tc.password), func(t *testing.T) {
			o := newOrg(t, simokta.Options{Seed: 22})
			u := o.createUser("a@example.com", tc.activate, tc.password)
			if u.Status != tc.want || (u.Activated != nil) != tc.wantActivated {
				t.Errorf("status %s activated %v, want %s activated=%v", u.Status, u.Activated, tc.want, tc.wantActivated)
			}
		})
	}
}

func TestCreateUserValidation(t *testing.T) {
	o := newOrg(t, simokta.Options{Seed: 23})
	o.createUser("taken@example.com", true, true)
	tests := []struct {
		name      string
		body      string
		status    int
		code      string
		wantCause string
	}{
		{"missing names", `{"profile":{"email":"x@example.com","login":"x@example.com"}}`, 400, "E0000001", "firstName: The field cannot be left blank"},
		{"login not an email", `{"profile":{"firstName":"A","lastName":"B","email":"x@example.com","login":"x"}}`, 400, "E0000001", "login: Username must be in the form of an email address"},
		{"login taken (case-insensitive)", `{"profile":{"firstName":"A","lastName":"B","email":"x@example.com","login":"TAKEN@example.com"}}`, 400, "E0000001", "login: An object with this field already exists in the current organization"},
		{"undefined attribute", `{"profile":{"firstName":"A","lastName":"B","email":"x@example.com","login":"x@example.com","shoeSize":"9"}}`, 400, "E0000001", "shoeSize: Property name 'shoeSize' is not defined in profile schema"},
		{"non-string attribute", `{"profile":{"firstName":"A","lastName":"B","email":"x@example.com","login":"x@example.com","title":7}}`, 400, "E0000001", "title: Does not match required type string"},
		{"malformed JSON", `{"profile":`, 400, "E0000003", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var e oktaError
			resp := o.with(t).do(http.MethodPost, "/api/v1/users", tc.body, &e)
			if resp.StatusCode != tc.status || e.ErrorCode != tc.code {
				t.Fatalf("= %d %s, want %d %s", resp.StatusCode, e.ErrorCode, tc.status, tc.code)
			}
			if tc.wantCause == "" {
				return
			}
			var causes []string
			for _, c := range e.ErrorCauses {
				causes = append(causes, c.ErrorSummary)
			}
			if !contains(causes, tc.wantCause) {
				t.Errorf("causes %q lack %q", causes, tc.wantCause)
			}
		})
	}
	if n := len(o.srv.State().Users); n != 1 {
		t.Errorf("users = %d, want 1 (no failed create may leave a user)", n)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestUserLifecycleTransitions(t *testing.T) {
	// setup brings a fresh user to the named status.
	setup := map[string]func(o *org) string{
		simokta.StatusStaged:      func(o *org) string { return o.createUser("u@example.com", false, true).ID },
		simokta.StatusProvisioned: func(o *org) string { return o.createUser("u@example.com", true, false).ID },
		simokta.StatusActive:      func(o *org) string { return o.createUser("u@example.com", true, true).ID },
		simokta.StatusSuspended: func(o *org) string {
			id := o.createUser("u@example.com", true, true).ID
			o.do(http.MethodPost, "/api/v1/users/"+id+"/lifecycle/suspend", nil, nil)
			return id
		},
		simokta.StatusDeprovisioned: func(o *org) string {
			id := o.createUser("u@example.com", true, true).ID
			o.do(http.MethodPost, "/api/v1/users/"+id+"/lifecycle/deactivate", nil, nil)
			return id
		},
	}
	tests := []struct {
		from, op  string
		status    int
		code      string // error code, or "" for success
		to        string
		wantEvent string
	}{
		{simokta.StatusStaged, simokta.OpActivate, 200, "", simokta.StatusActive, simokta.EventUserActivate},
		{simokta.StatusStaged, simokta.OpSuspend, 400, "E0000001", simokta.StatusStaged, ""},
		{simokta.StatusStaged, simokta.OpDeactivate, 200, "", simokta.StatusDeprovisioned, simokta.EventUserDeactivate},
		{simokta.StatusProvisioned, simokta.OpActivate, 403, "E0000016", simokta.StatusProvisioned, ""},
		{simokta.StatusProvisioned, simokta.OpReactivate, 200, "", simokta.StatusProvisioned, simokta.EventUserReactivate},
		{simokta.StatusProvisioned, simokta.OpSuspend, 400, "E0000001", simokta.StatusProvisioned, ""},
		{simokta.StatusActive, simokta.OpActivate, 403, "E0000016", simokta.StatusActive, ""},
		{simokta.StatusActive, simokta.OpSuspend, 200, "", simokta.StatusSuspended, simokta.EventUserSuspend},
		{simokta.StatusActive, simokta.OpUnsuspend, 400, "E0000001", simokta.StatusActive, ""},
		{simokta.StatusActive, simokta.OpReactivate, 400, "E0000001", simokta.StatusActive, ""},
		{simokta.StatusActive, simokta.OpDeactivate, 200, "", simokta.StatusDeprovisioned, simokta.EventUserDeactivate},
		{simokta.StatusSuspended, simokta.OpUnsuspend, 200, "", simokta.StatusActive, simokta.EventUserUnsuspend},
		{simokta.StatusSuspended, simokta.OpSuspend, 400, "E0000001", simokta.StatusSuspended, ""},
		{simokta.StatusSuspended, simokta.OpDeactivate, 200, "", simokta.StatusDeprovisioned, simokta.EventUserDeactivate},
		{simokta.StatusDeprovisioned, simokta.OpActivate, 200, "", simokta.StatusActive, simokta.EventUserActivate},
		{simokta.StatusDeprovisioned, simokta.OpDeactivate, 400, "E0000001", simokta.StatusDeprovisioned, ""},
		{simokta.StatusDeprovisioned, simokta.OpSuspend, 400, "E0000001", simokta.StatusDeprovisioned, ""},
		{simokta.StatusDeprovisioned, simokta.OpUnsuspend, 400, "E0000001", simokta.StatusDeprovisioned, ""},
	}
	for _, tc := range tests {
		t.Run(tc.from+" "+tc.op, func(t *testing.T) {
			o := newOrg(t, simokta.Options{Seed: 24})
			id := setup[tc.from](o)
			before := len(o.srv.LogEvents())
			var e oktaError
			resp := o.do(http.MethodPost, "/api/v1/users/"+id+"/lifecycle/"+tc.op, nil, &e)
			if resp.StatusCode != tc.status || e.ErrorCode != tc.code {
				t.Fatalf("= %d %q, want %d %q", resp.StatusCode, e.ErrorCode, tc.status, tc.code)
			}
			var u userObj
			o.do(http.MethodGet, "/api/v1/users/"+id, nil, &u)
			if u.Status != tc.to {
				t.Errorf("status = %s, want %s", u.Status, tc.to)
			}
			var events []string
			for _, ev := range o.srv.LogEvents()[before:] {
				events = append(events, ev.EventType)
				if ev.Target[0].ID != id || ev.Target[0].Type != "User" {
					t.Errorf("event target = %+v", ev.Target)
				}
			}
			var want []string
			if tc.wantEvent != "" {
				want = []string{tc.wantEvent}
			}
			if diff := cmp.Diff(want, events); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLifecycleGoMethodErrors(t *testing.T) {
	o := newOrg(t, simokta.Options{Seed: 25})
	id, err := o.srv.CreateUser(simokta.Profile{Login: "g@example.com", Email: "g@example.com", FirstName: "G", LastName: "H"}, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.srv.Lifecycle(id, simokta.OpUnsuspend); !errors.Is(err, simokta.ErrLifecycle) {
		t.Errorf("unsuspend active user: %v, want ErrLifecycle", err)
	}
	var apiErr *simokta.APIError
	if err := o.srv.Lifecycle("00unknown", simokta.OpSuspend); !errors.Is(err, simokta.ErrNotFound) || !errors.As(err, &apiErr) || apiErr.Status != 404 {
		t.Errorf("unknown user: %v, want ErrNotFound 404", err)
	}
	if _, err := o.srv.CreateUser(simokta.Profile{Login: "bad"}, true); !errors.Is(err, simokta.ErrInvalid) {
		t.Errorf("invalid profile: %v, want ErrInvalid", err)
	}
	if err := o.srv.CompleteActivation(id); !errors.Is(err, simokta.ErrLifecycle) {
		t.Errorf("complete activation of ACTIVE user: %v, want ErrLifecycle", err)
	}
}

func TestCompleteActivation(t *testing.T) {
	o := newOrg(t, simokta.Options{Seed: 26})
	u := o.createUser("p@example.com", true, false)
	if u.Status != simokta.StatusProvisioned {
		t.Fatalf("status %s", u.Status)
	}
	resp, err := o.ts.Client().Post(o.ts.URL+"/_sim/users/"+u.ID+"/complete-activation", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("complete-activation = %d", resp.StatusCode)
	}
	var got userObj
	o.do(http.MethodGet, "/api/v1/users/"+u.ID, nil, &got)
	if got.Status != simokta.StatusActive || got.Activated == nil {
		t.Errorf("after completion: %s activated %v", got.Status, got.Activated)
	}
	evs := o.srv.LogEvents()
	if last := evs[len(evs)-1]; last.EventType != simokta.EventUserActivate {
		t.Errorf("last event = %s, want %s", last.EventType, simokta.EventUserActivate)
	}
}

func TestDeleteUserTwoStep(t *testing.T) {
	o := newOrg(t, simokta.Options{Seed: 27})
	u := o.createUser("d@example.com", true, true)
	g := o.createGroup("G")
	o.do(http.MethodPut, "/api/v1/groups/"+g.ID+"/users/"+u.ID, nil, nil)

	if resp := o.do(http.MethodDelete, "/api/v1/users/"+u.ID, nil, nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("first DELETE = %d", resp.StatusCode)
	}
	var got userObj
	if resp := o.do(http.MethodGet, "/api/v1/users/"+u.ID, nil, &got); resp.StatusCode != 200 || got.Status != simokta.StatusDeprovisioned || got.Activated != nil {
		t.Fatalf("after first DELETE: %d %s activated %v, want 200 DEPROVISIONED activated null", resp.StatusCode, got.Status, got.Activated)
	}
	if resp := o.do(http.MethodDelete, "/api/v1/users/"+u.ID, nil, nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("second DELETE = %d", resp.StatusCode)
	}
	var e oktaError
	if resp := o.do(http.MethodGet, "/api/v1/users/"+u.ID, nil, &e); resp.StatusCode != 404 || e.ErrorCode != "E0000007" {
		t.Errorf("after second DELETE: %d %s, want 404 E0000007", resp.StatusCode, e.ErrorCode)
	}
	if resp := o.do(http.MethodDelete, "/api/v1/users/"+u.ID, nil, &e); resp.StatusCode != 404 {
		t.Errorf("third DELETE = %d, want 404", resp.StatusCode)
	}
	var members []userObj
	o.do(http.MethodGet, "/api/v1/groups/"+g.ID+"/users", nil, &members)
	if len(members) != 0 {
		t.Errorf("deleted user still a member: %+v", members)
	}
	var types []string
	for _, ev := range o.srv.LogEvents() {
		types = append(types, ev.EventType)
	}
	want := []string{simokta.EventUserCreate, simokta.EventUserActivate, simokta.EventGroupCreate, simokta.EventGroupMemberAdd,
		simokta.EventUserDeactivate, simokta.EventUserDeleteInitiated}
	if diff := cmp.Diff(want, types); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestUpdateUserProfile(t *testing.T) {
	o := newOrg(t, simokta.Options{Seed: 28})
	u := o.createUser("e@example.com", true, true)
	var got userObj
	resp := o.do(http.MethodPost, "/api/v1/users/"+u.ID, `{"profile":{"title":"Lead","department":null}}`, &got)
	if resp.StatusCode != 200 || got.Profile["title"] != "Lead" || got.Profile["department"] != "" || got.Profile["login"] != "e@example.com" {
		t.Fatalf("partial update = %d %+v", resp.StatusCode, got.Profile)
	}
	evs := o.srv.LogEvents()
	last := evs[len(evs)-1]
	if last.EventType != simokta.EventUserUpdateProfile || last.DebugContext.DebugData["changedAttributes"] != "department,title" {
		t.Errorf("event = %s %v", last.EventType, last.DebugContext.DebugData)
	}
	// An update that changes nothing records nothing.
	n := len(o.srv.LogEvents())
	o.do(http.MethodPost, "/api/v1/users/"+u.ID, `{"profile":{"title":"Lead"}}`, nil)
	if len(o.srv.LogEvents()) != n {
		t.Errorf("no-op update recorded an event")
	}
	// PUT replaces the profile: attributes not given are gone, required ones must be given.
	var e oktaError
	if resp := o.do(http.MethodPut, "/api/v1/users/"+u.ID, `{"profile":{"title":"Only"}}`, &e); resp.StatusCode != 400 || e.ErrorCode != "E0000001" {
		t.Errorf("PUT without required attributes = %d %s", resp.StatusCode, e.ErrorCode)
	}
	body := `{"profile":{"firstName":"Eve","lastName":"New","email":"eve@example.com","login":"eve@example.com"}}`
	var replaced userObj
	if resp := o.do(http.MethodPut, "/api/v1/users/"+u.ID, body, &replaced); resp.StatusCode != 200 || replaced.Profile["title"] != "" || replaced.Profile["login"] != "eve@example.com" {
		t.Errorf("PUT = %d %+v", resp.StatusCode, replaced.Profile)
	}
}

func TestListUsersPaginationAndSearch(t *testing.T) {
	o := newOrg(t, simokta.Options{Seed: 29})
	var ids []string
	for i := range 5 {
		ids = append(ids, o.createUser(fmt.Sprintf("user%d@example.com", i), true, true).ID)
	}
	o.do(http.MethodPost, "/api/v1/users/"+ids[4]+"/lifecycle/deactivate", nil, nil)
	o.do(http.MethodPost, "/api/v1/users/"+ids[1]+"", `{"profile":{"department":"Sales"}}`, nil)

	// Walk the Link rel="next" chain.
	var got []string
	next := "/api/v1/users?limit=2"
	pages := 0
	for next != "" {
		var page []userObj
		resp := o.do(http.MethodGet, next, nil, &page)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s = %d", next, resp.StatusCode)
		}
		pages++
		for _, u := range page {
			got = append(got, u.ID)
		}
		next = ""
		for _, l := range resp.Header.Values("Link") {
			if strings.HasSuffix(l, `rel="next"`) {
				raw := strings.TrimPrefix(strings.SplitN(l, ">", 2)[0], "<")
				u, err := url.Parse(raw)
				if err != nil {
					t.Fatal(err)
				}
				if u.Query().Get("limit") != "2" {
					t.Errorf("next link lost limit: %s", raw)
				}
				next = u.RequestURI()
			}
		}
	}
	if diff := cmp.Diff(ids[:4], got); diff != "" {
		t.Errorf("listed users (-want +got; DEPROVISIONED excluded by default):\n%s", diff)
	}
	if pages != 2 {
		t.Errorf("pages = %d, want 2", pages)
	}

	tests := []struct {
		query string
		want  []string
	}{
		{`filter=status eq "DEPROVISIONED"`, ids[4:5]},
		{`search=profile.department eq "Sales"`, ids[1:2]},
		{`search=profile.department eq "engineering" and status eq "ACTIVE"`, []string{ids[0], ids[2], ids[3]}},
		{`search=profile.login sw "user3" or profile.login sw "user4"`, ids[3:5]},
		{`q=user2`, ids[2:3]},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			k, v, _ := strings.Cut(tc.query, "=")
			var page []userObj
			if resp := o.with(t).do(http.MethodGet, "/api/v1/users?"+url.Values{k: {v}}.Encode(), nil, &page); resp.StatusCode != 200 {
				t.Fatalf("= %d", resp.StatusCode)
			}
			var got []string
			for _, u := range page {
				got = append(got, u.ID)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	var e oktaError
	if resp := o.do(http.MethodGet, "/api/v1/users?"+url.Values{"search": {`status eq`}}.Encode(), nil, &e); resp.StatusCode != 400 || e.ErrorCode != "E0000031" {
		t.Errorf("bad search = %d %s, want 400 E0000031", resp.StatusCode, e.ErrorCode)
	}
}

func TestGroupsAndMembership(t *testing.T) {
	o := newOrg(t, simokta.Options{Seed: 30})
	raw, err := os.ReadFile("testdata/create_group.json")
	if err != nil {
		t.Fatal(err)
	}
	var g groupObj
	if resp := o.do(http.MethodPost, "/api/v1/groups", raw, &g); resp.StatusCode != 200 {
		t.Fatalf("create group = %d", resp.StatusCode)
	}
	if !regexp.MustCompile(`^00g[0-9A-Za-z]{17}$`).MatchString(g.ID) || g.Type != "OKTA_GROUP" ||
		g.Profile.Name != "West Coast Users" || g.Profile.Description != "All Users West of The Rockies" {
		t.Errorf("group = %+v", g)
	}
	var e oktaError
	if resp := o.do(http.MethodPost, "/api/v1/groups", raw, &e); resp.StatusCode != 400 || e.ErrorCode != "E0000001" {
		t.Errorf("duplicate name = %d %s", resp.StatusCode, e.ErrorCode)
	}
	o.createGroup("East Coast Users")
	var list []groupObj
	o.do(http.MethodGet, "/api/v1/groups?q=west", nil, &list)
	if len(list) != 1 || list[0].ID != g.ID {
		t.Errorf("q=west = %+v", list)
	}

	u := o.createUser("m@example.com", true, true)
	before := len(o.srv.LogEvents())
	for range 2 { // the second add is a no-op
		if resp := o.do(http.MethodPut, "/api/v1/groups/"+g.ID+"/users/"+u.ID, nil, nil); resp.StatusCode != http.StatusNoContent {
			t.Fatalf("PUT membership = %d", resp.StatusCode)
		}
	}
	var members []userObj
	o.do(http.MethodGet, "/api/v1/groups/"+g.ID+"/users", nil, &members)
	if len(members) != 1 || members[0].ID != u.ID {
		t.Errorf("members = %+v", members)
	}
	var ugroups []groupObj
	o.do(http.MethodGet, "/api/v1/users/"+u.ID+"/groups", nil, &ugroups)
	if len(ugroups) != 1 || ugroups[0].ID != g.ID {
		t.Errorf("user's groups = %+v", ugroups)
	}
	for range 2 {
		if resp := o.do(http.MethodDelete, "/api/v1/groups/"+g.ID+"/users/"+u.ID, nil, nil); resp.StatusCode != http.StatusNoContent {
			t.Fatalf("DELETE membership = %d", resp.StatusCode)
		}
	}
	var types []string
	for _, ev := range o.srv.LogEvents()[before:] {
		types = append(types, ev.EventType)
	}
	if diff := cmp.Diff([]string{simokta.EventGroupMemberAdd, simokta.EventGroupMemberRemove}, types); diff != "" {
		t.Errorf("membership events (-want +got):\n%s", diff)
	}
	for _, path := range []string{"/api/v1/groups/00gnope/users/" + u.ID, "/api/v1/groups/" + g.ID + "/users/00unope"} {
		if resp := o.do(http.MethodPut, path, nil, &e); resp.StatusCode != 404 || e.ErrorCode != "E0000007" {
			t.Errorf("PUT %s = %d %s, want 404 E0000007", path, resp.StatusCode, e.ErrorCode)
		}
	}
	if resp := o.do(http.MethodDelete, "/api/v1/groups/"+g.ID, nil, nil); resp.StatusCode != http.StatusNoContent {
		t.Errorf("DELETE group = %d", resp.StatusCode)
	}
	if resp := o.do(http.MethodGet, "/api/v1/groups/"+g.ID, nil, &e); resp.StatusCode != 404 {
		t.Errorf("GET deleted group = %d", resp.StatusCode)
	}
	evs := o.srv.LogEvents()
	if last := evs[len(evs)-1]; last.EventType != simokta.EventGroupDelete || last.Target[0].Type != "UserGroup" || last.Target[0].AlternateID != "unknown" {
		t.Errorf("last event = %s %+v", last.EventType, last.Target)
	}
}

func TestSystemLogAPI(t *testing.T) {
	o := newOrg(t, simokta.Options{Seed: 31})
	u := o.createUser("l@example.com", true, true)
	g := o.createGroup("G")
	o.do(http.MethodPut, "/api/v1/groups/"+g.ID+"/users/"+u.ID, nil, nil)
	tests := []struct {
		query string
		want  []string
	}{
		{"", []string{simokta.EventUserCreate, simokta.EventUserActivate, simokta.EventGroupCreate, simokta.EventGroupMemberAdd}},
		{`filter=eventType eq "group.user_membership.add"`, []string{simokta.EventGroupMemberAdd}},
		{`filter=target.id eq "` + g.ID + `"`, []string{simokta.EventGroupCreate, simokta.EventGroupMemberAdd}},
		{`filter=eventType sw "user.lifecycle"`, []string{simokta.EventUserCreate, simokta.EventUserActivate}},
		{"sortOrder=DESCENDING&limit=1", []string{simokta.EventGroupMemberAdd}},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			q := url.Values{}
			if tc.query != "" {
				for _, part := range strings.Split(tc.query, "&") {
					k, v, _ := strings.Cut(part, "=")
					q.Set(k, v)
				}
			}
			var evs []simokta.LogEvent
			if resp := o.with(t).do(http.MethodGet, "/api/v1/logs?"+q.Encode(), nil, &evs); resp.StatusCode != 200 {
				t.Fatalf("= %d", resp.StatusCode)
			}
			var got []string
			for _, e := range evs {
				got = append(got, e.EventType)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	// Paging with limit and after.
	var page []simokta.LogEvent
	resp := o.do(http.MethodGet, "/api/v1/logs?limit=3", nil, &page)
	if len(page) != 3 || !strings.Contains(strings.Join(resp.Header.Values("Link"), " "), `rel="next"`) {
		t.Errorf("first page: %d events, links %v", len(page), resp.Header.Values("Link"))
	}
}

func TestControlSurface(t *testing.T) {
	o := newOrg(t, simokta.Options{Seed: 32})
	o.srv.Control().SetFaults("ListUsers", simkit.Faults{ServerErrorRate: 1})
	var e oktaError
	if resp := o.do(http.MethodGet, "/api/v1/users", nil, &e); resp.StatusCode != 500 || e.ErrorCode != "E0000009" {
		t.Errorf("injected 5xx = %d %s, want 500 E0000009", resp.StatusCode, e.ErrorCode)
	}
	o.srv.Control().SetFaults("ListUsers", simkit.Faults{})
	o.srv.Control().SetQuota("ListGroups", simkit.Quota{Rate: 0.001, Burst: 1})
	o.do(http.MethodGet, "/api/v1/groups", nil, nil)
	resp := o.do(http.MethodGet, "/api/v1/groups", nil, &e)
	if resp.StatusCode != 429 || e.ErrorCode != "E0000047" || resp.Header.Get("X-Rate-Limit-Reset") == "" {
		t.Errorf("over quota = %d %s reset %q, want 429 E0000047 with X-Rate-Limit-Reset", resp.StatusCode, e.ErrorCode, resp.Header.Get("X-Rate-Limit-Reset"))
	}
	if c := o.srv.Control().Counters()["ListGroups"]; c.Requests != 2 || c.Throttled != 1 {
		t.Errorf("ListGroups counter = %+v", c)
	}

	gid, err := o.srv.CreateGroup("Pushed", "", false)
	if err != nil {
		t.Fatal(err)
	}
	r, err := o.ts.Client().Post(o.ts.URL+"/_sim/groups/"+gid+"/push", "application/json", strings.NewReader(`{"pushed":true}`))
	if err != nil {
		t.Fatal(err)
	}
	_ = r.Body.Close()
	if r.StatusCode != http.StatusNoContent {
		t.Fatalf("push = %d", r.StatusCode)
	}
	var st simokta.State
	stateResp, err := o.ts.Client().Get(o.ts.URL + "/_sim/state")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = stateResp.Body.Close() }()
	if err := decodeJSON(stateResp, &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Groups) != 1 || !st.Groups[0].Pushed || st.LogEvents != 1 {
		t.Errorf("state = %+v", st)
	}
}
