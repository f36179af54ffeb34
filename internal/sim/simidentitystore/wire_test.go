package simidentitystore_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/internal/sim/simidentitystore"
)

// post sends one raw awsJson1_1 request and decodes the JSON answer.
func post(t *testing.T, url, target, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Amz-Target", target)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("answer is not JSON: %s", raw)
	}
	return resp.StatusCode, out
}

func readFile(t *testing.T, name, store string) string {
	t.Helper()
	raw, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(string(raw), "{{store}}", store)
}

func TestWireErrors(t *testing.T) {
	e := newEnv(t, simidentitystore.Options{NoQuota: true})
	var cases []struct {
		Name   string
		Target string
		Body   string
		Status int
		Type   string
		Fields map[string]any
	}
	if err := json.Unmarshal([]byte(readFile(t, "wire-cases.json", "{{store}}")), &cases); err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			status, out := post(t, e.url, tc.Target, strings.ReplaceAll(tc.Body, "{{store}}", e.storeID))
			if status != tc.Status {
				t.Fatalf("status %d, want %d (%v)", status, tc.Status, out)
			}
			if tc.Type != "" && out["__type"] != tc.Type {
				t.Fatalf("__type %v, want %s (%v)", out["__type"], tc.Type, out)
			}
			for k, v := range tc.Fields {
				if out[k] != v {
					t.Errorf("%s = %v, want %v", k, out[k], v)
				}
			}
		})
	}
}

// A documented CreateUser request round-trips: DescribeUser answers every
// attribute in the model's shape, byte-for-byte repeatable under one seed.
func TestCreateUserPayloadRoundTrips(t *testing.T) {
	e := newEnv(t, simidentitystore.Options{NoQuota: true, Seed: 42})
	status, created := post(t, e.url, "AWSIdentityStore.CreateUser", readFile(t, "create-user.json", e.storeID))
	if status != http.StatusOK {
		t.Fatalf("CreateUser: %d %v", status, created)
	}
	status, got := post(t, e.url, "AWSIdentityStore.DescribeUser",
		`{"IdentityStoreId":"`+e.storeID+`","UserId":"`+created["UserId"].(string)+`","Extensions":["aws:identitystore:enterprise"]}`)
	if status != http.StatusOK {
		t.Fatalf("DescribeUser: %d %v", status, got)
	}
	var want map[string]any
	if err := json.Unmarshal([]byte(readFile(t, "describe-user.golden.json", e.storeID)), &want); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("DescribeUser (-want +got):\n%s", d)
	}
}

func TestStateDumpAndSeedErrors(t *testing.T) {
	e := newEnv(t, simidentitystore.Options{NoQuota: true})
	users := e.seedUsers(t, 2)
	gid, err := e.srv.SeedGroup(e.storeID, simidentitystore.Group{DisplayName: "g"})
	if err != nil {
		t.Fatal(err)
	}
	mid, err := e.srv.SeedMembership(e.storeID, gid, users[1])
	if err != nil {
		t.Fatal(err)
	}

	seedErrs := []struct {
		name string
		err  error
		want error
	}{
		{"unknown store", func() error { _, err := e.srv.SeedUser("d-0000000000", simidentitystore.User{}); return err }(), simidentitystore.ErrInvalid},
		{"unknown store, valid user", func() error {
			_, err := e.srv.SeedUser("d-0000000000", simidentitystore.User{UserName: "x", GivenName: "x", FamilyName: "y"})
			return err
		}(), simidentitystore.ErrNotFound},
		{"duplicate user", func() error {
			_, err := e.srv.SeedUser(e.storeID, simidentitystore.User{UserName: "user00000", GivenName: "x", FamilyName: "y"})
			return err
		}(), simidentitystore.ErrConflict},
		{"duplicate okta id", func() error {
			_, err := e.srv.SeedUser(e.storeID, simidentitystore.User{UserName: "other", GivenName: "x", FamilyName: "y",
				ExternalIDs: []simidentitystore.ExternalID{{Issuer: "https://example.okta.com", ID: oktaID(0)}}})
			return err
		}(), simidentitystore.ErrConflict},
		{"duplicate membership", func() error { _, err := e.srv.SeedMembership(e.storeID, gid, users[1]); return err }(), simidentitystore.ErrConflict},
		{"member of unknown group", func() error {
			_, err := e.srv.SeedMembership(e.storeID, "11111111-2222-3333-4444-555555555555", users[1])
			return err
		}(), simidentitystore.ErrNotFound},
		{"remove non-membership", e.srv.RemoveMembership(e.storeID, gid, users[0]), simidentitystore.ErrNotFound},
		{"replace unknown user", e.srv.ReplaceUser(e.storeID, "11111111-2222-3333-4444-555555555555",
			simidentitystore.User{UserName: "x", GivenName: "x", FamilyName: "y"}), simidentitystore.ErrNotFound},
	}
	for _, tc := range seedErrs {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, tc.err, tc.want)
		}
	}

	if err := e.srv.ReplaceUser(e.storeID, users[0], simidentitystore.User{UserName: "renamed", GivenName: "Re", FamilyName: "Named",
		Department: "Ops", Title: "Lead"}); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(e.url + "/_sim/state")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var st simidentitystore.State
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	want := simidentitystore.State{IdentityStores: []simidentitystore.StoreState{{
		IdentityStoreID: e.storeID,
		Users: []simidentitystore.User{
			{UserID: users[0], UserName: "renamed", DisplayName: "Re Named", GivenName: "Re", FamilyName: "Named", Title: "Lead", Department: "Ops"},
			{UserID: users[1], UserName: "user00001", DisplayName: "Given Family00001", GivenName: "Given", FamilyName: "Family00001",
				Email: "user00001@example.com", ExternalIDs: []simidentitystore.ExternalID{{Issuer: "https://example.okta.com", ID: oktaID(1)}}},
		},
		Groups:      []simidentitystore.Group{{GroupID: gid, DisplayName: "g"}},
		Memberships: []simidentitystore.Membership{{MembershipID: mid, GroupID: gid, UserID: users[1]}},
	}}}
	if d := cmp.Diff(want, st); d != "" {
		t.Fatalf("state (-want +got):\n%s", d)
	}
	if d := cmp.Diff(want, e.srv.State()); d != "" {
		t.Fatalf("State() (-want +got):\n%s", d)
	}
}
