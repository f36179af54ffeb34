package simworkmail_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/internal/sim/simworkmail"
)

// TestWireFormat replays the request bodies an AWS client sends
// (testdata/*.request.json) and compares the answers with the expected
// awsJson1_1 bodies (testdata/*.response.json): member names, epoch-second
// timestamps as JSON numbers, "__type" error bodies.
func TestWireFormat(t *testing.T) {
	f := setup(t, simworkmail.Options{}, 1)
	steps := []struct {
		op, request, response string
		status                int
		advance               time.Duration
	}{
		{"CreateUser", "create_user", "create_user", 200, 0},
		{"CreateUser", "create_user", "create_user_taken", 400, 0},
		{"RegisterToWorkMail", "register_to_work_mail", "empty", 200, 61500 * time.Millisecond},
		{"DescribeUser", "describe_user", "describe_user", 200, 0},
		{"ListUsers", "list_users", "list_users", 200, 0},
		{"DescribeUser", "bad_org", "bad_org", 400, 0},
	}
	for _, st := range steps {
		f.clock.Advance(st.advance)
		body, err := os.ReadFile(filepath.Join("testdata", st.request+".request.json"))
		if err != nil {
			t.Fatal(err)
		}
		req, err := http.NewRequest(http.MethodPost, f.url+"/", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		req.Header.Set("X-Amz-Target", "WorkMailService."+st.op)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != st.status {
			t.Fatalf("%s %s: status %d, want %d: %s", st.op, st.request, resp.StatusCode, st.status, got)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
			t.Fatalf("%s: Content-Type %q", st.op, ct)
		}
		want, err := os.ReadFile(filepath.Join("testdata", st.response+".response.json"))
		if err != nil {
			t.Fatal(err)
		}
		var w, g any
		if err := json.Unmarshal(want, &w); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(got, &g); err != nil {
			t.Fatalf("%s: answer is not JSON: %s", st.op, got)
		}
		if diff := cmp.Diff(w, g); diff != "" {
			t.Fatalf("%s %s body (-want +got):\n%s", st.op, st.request, diff)
		}
	}
}

// TestUnknownOperation: a target WorkMail does not have is refused the way
// awsJson services refuse it.
func TestUnknownOperation(t *testing.T) {
	f := setup(t, simworkmail.Options{}, 1)
	req, _ := http.NewRequest(http.MethodPost, f.url+"/", bytes.NewReader([]byte("{}")))
	req.Header.Set("X-Amz-Target", "WorkMailService.CreateGroupX")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Type string `json:"__type"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != 400 || body.Type != "UnknownOperationException" {
		t.Fatalf("status %d type %q err %v", resp.StatusCode, body.Type, err)
	}
}

// TestSimState: GET /_sim/state shows organisations and their users.
func TestSimState(t *testing.T) {
	f := setup(t, simworkmail.Options{}, 1)
	if _, err := f.sim.SeedUser(f.org, "unmanaged", "unmanaged@example.com"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(f.url + "/_sim/state")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var orgs []simworkmail.Organization
	if err := json.NewDecoder(resp.Body).Decode(&orgs); err != nil {
		t.Fatal(err)
	}
	if len(orgs) != 1 || len(orgs[0].Users) != 1 || orgs[0].Users[0].Email != "unmanaged@example.com" ||
		orgs[0].Users[0].State != simworkmail.StateEnabled || !orgs[0].Users[0].EnabledDate.Equal(t0) {
		t.Fatalf("state = %+v", orgs)
	}
	want := []string{"example.com", "example.org", "example.awsapps.com"}
	if diff := cmp.Diff(want, orgs[0].MailDomains); diff != "" {
		t.Fatalf("mail domains (-want +got):\n%s", diff)
	}
}

// TestHTTPSeeding: organisations and users can be seeded over HTTP, and the
// SDK then sees them.
func TestHTTPSeeding(t *testing.T) {
	f := setup(t, simworkmail.Options{}, 1)
	post := func(path, body string) (int, map[string]any) {
		t.Helper()
		resp, err := http.Post(f.url+path, "application/json", bytes.NewReader([]byte(body)))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, out
	}
	status, out := post("/_sim/organizations", `{"alias":"corp","defaultDomain":"corp.example"}`)
	org, _ := out["organizationId"].(string)
	if status != 200 || len(org) != 34 {
		t.Fatalf("add organisation: %d %v", status, out)
	}
	status, out = post("/_sim/users", `{"organizationId":"`+org+`","user":{"name":"ops","displayName":"Ops","email":"ops@corp.example","identityProviderUserId":"9067e4a2b1-11111111-2222-3333-4444-555555555555"}}`)
	if status != 200 || out["state"] != "ENABLED" {
		t.Fatalf("add user: %d %v", status, out)
	}
	f.org = org
	d := f.describe(t, "ops@corp.example")
	if aws.ToString(d.IdentityProviderUserId) != "9067e4a2b1-11111111-2222-3333-4444-555555555555" {
		t.Fatalf("seeded user over HTTP: %+v", d)
	}
	tests := []struct {
		name, path, body string
		status           int
	}{
		{"taken name", "/_sim/users", `{"organizationId":"` + org + `","user":{"name":"ops"}}`, 400},
		{"unknown organisation", "/_sim/users", `{"organizationId":"m-ffffffffffffffffffffffffffffffff","user":{"name":"x"}}`, 404},
		{"organisation without alias", "/_sim/organizations", `{}`, 400},
	}
	for _, tc := range tests {
		if status, out := post(tc.path, tc.body); status != tc.status {
			t.Errorf("%s: %d %v, want %d", tc.name, status, out, tc.status)
		}
	}
}
