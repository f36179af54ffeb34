package oktaapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/oktaapi"
	"github.com/idsync/idsync/internal/sim/simokta"
)

// statusOrg is an org of n users, every third suspended and every fifth
// (not suspended) deactivated; it returns the ids by status.
func statusOrg(t *testing.T, n int) (*org, map[string][]string) {
	t.Helper()
	o := newOrg(t, simokta.Options{})
	by := map[string][]string{}
	for i := range n {
		id := o.User(simokta.Profile{Login: fmt.Sprintf("u%03d@example.com", i), Email: fmt.Sprintf("u%03d@example.com", i),
			FirstName: "U", LastName: fmt.Sprint(i)})
		st := oktaapi.StatusActive
		switch {
		case i%3 == 0:
			st = oktaapi.StatusSuspended
			if err := o.srv.Lifecycle(id, simokta.OpSuspend); err != nil {
				t.Fatal(err)
			}
		case i%5 == 0:
			st = oktaapi.StatusDeprovisioned
			if err := o.srv.Lifecycle(id, simokta.OpDeactivate); err != nil {
				t.Fatal(err)
			}
		}
		by[st] = append(by[st], id)
	}
	return o, by
}

func listAll(t *testing.T, c harness, filter string) (map[string]string, int, error) {
	t.Helper()
	got := map[string]string{}
	pages, err := c.ListUsers(context.Background(), filter, func(us []oktaapi.User) error {
		for _, u := range us {
			if _, dup := got[u.ID]; dup {
				t.Errorf("user %s listed twice", u.ID)
			}
			got[u.ID] = u.Status
		}
		return nil
	})
	return got, pages, err
}

// The non-active users over two pages (Link rel="next"), DEPROVISIONED
// included because the filter asks for it.
func TestListUsersNonActivePaged(t *testing.T) {
	o, by := statusOrg(t, 630) // 210 suspended, 84 deprovisioned: 294, two pages
	c := o.Client(o.sswsSecret(), nil)
	got, pages, err := listAll(t, c, oktaapi.NonActiveFilter)
	if err != nil {
		t.Fatal(err)
	}
	if pages != 2 {
		t.Errorf("pages = %d, want 2", pages)
	}
	want := map[string]string{}
	for _, st := range []string{oktaapi.StatusSuspended, oktaapi.StatusDeprovisioned} {
		for _, id := range by[st] {
			want[id] = st
		}
	}
	if !maps.Equal(got, want) {
		t.Errorf("listed %d users, want %d (%d suspended, %d deprovisioned)", len(got), len(want),
			len(by[oktaapi.StatusSuspended]), len(by[oktaapi.StatusDeprovisioned]))
	}
	calls := o.Calls("/api/v1/users")
	if len(calls) != 2 {
		t.Fatalf("%d calls, want 2", len(calls))
	}
}

// Without a status in the filter Okta leaves DEPROVISIONED users out of
// an unfiltered list; a filter names exactly what it matches.
func TestListUsersFilterIsExact(t *testing.T) {
	o, by := statusOrg(t, 20)
	c := o.Client(o.sswsSecret(), nil)
	got, _, err := listAll(t, c, `status eq "SUSPENDED"`)
	if err != nil {
		t.Fatal(err)
	}
	if ids := slices.Sorted(maps.Keys(got)); !slices.Equal(ids, slices.Sorted(slices.Values(by[oktaapi.StatusSuspended]))) {
		t.Errorf("suspended filter listed %v", ids)
	}
	got, _, err = listAll(t, c, `status eq "DEPROVISIONED"`)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(by[oktaapi.StatusDeprovisioned]) {
		t.Errorf("deprovisioned filter listed %d, want %d", len(got), len(by[oktaapi.StatusDeprovisioned]))
	}
	// The unfiltered list (the stand-in's) has no DEPROVISIONED user.
	var all []map[string]any
	req, _ := http.NewRequest(http.MethodGet, o.ts.URL+"/api/v1/users", nil)
	req.Header.Set("Authorization", "SSWS "+apiToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if err := decodeJSON(resp, &all); err != nil {
		t.Fatal(err)
	}
	for _, u := range all {
		if u["status"] == oktaapi.StatusDeprovisioned {
			t.Errorf("unfiltered list has DEPROVISIONED user %v", u["id"])
		}
	}
	if len(all) != 20-len(by[oktaapi.StatusDeprovisioned]) {
		t.Errorf("unfiltered list has %d users, want %d", len(all), 20-len(by[oktaapi.StatusDeprovisioned]))
	}
}

// A page that keeps failing ends the listing with a retryable error and
// the pages read so far.
func TestListUsersFailedPage(t *testing.T) {
	o, _ := statusOrg(t, 630)
	c := o.Client(o.sswsSecret(), func(op *oktaapi.Options) { op.MaxRetries = 1 })
	// The first page works; the second fails twice (both attempts).
	var pages int
	_, err := c.ListUsers(context.Background(), oktaapi.NonActiveFilter, func([]oktaapi.User) error {
		pages++
		o.FailNext(500, 500)
		return nil
	})
	wantKind(t, err, oktaapi.ErrUnavailable, domain.ErrorRetryable, "E0000009")
	if pages != 1 {
		t.Errorf("pages handed over = %d, want 1", pages)
	}
	var e *oktaapi.Error
	if errors.As(err, &e) && e.Op != oktaapi.OpListUsers {
		t.Errorf("op = %s", e.Op)
	}
	if _, err := c.ListUsers(context.Background(), " ", func([]oktaapi.User) error { return nil }); !errors.Is(err, oktaapi.ErrInvalid) {
		t.Errorf("empty filter: %v", err)
	}
	if !strings.Contains(oktaapi.NonActiveFilter, " or ") {
		t.Error("NonActiveFilter is one filter with or")
	}
}

func decodeJSON(resp *http.Response, v any) error {
	return json.NewDecoder(resp.Body).Decode(v)
}
