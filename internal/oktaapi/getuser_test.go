package oktaapi_test

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/oktaapi"
	"github.com/idsync/idsync/internal/sim/simkit"
	"github.com/idsync/idsync/internal/sim/simokta"
)

// wantUser checks the profile and status GetUser returned for person().
func wantUser(t *testing.T, u oktaapi.User, id string, at time.Time) {
	t.Helper()
	p := person()
	want := oktaapi.Profile{Login: p.Login, FirstName: p.FirstName, LastName: p.LastName, DisplayName: p.DisplayName,
		Email: p.Email, Department: p.Department, Title: p.Title}
	if u.ID != id || u.Status != oktaapi.StatusActive || u.Profile != want {
		t.Errorf("GetUser = %s with another profile than created; id %s", u, id)
	}
	if !u.LastUpdated.Equal(at) || !u.Created.Equal(at) {
		t.Errorf("GetUser created/lastUpdated = %v/%v, want %v", u.Created, u.LastUpdated, at)
	}
}

// wantKind checks err's kind, its mark and that it is an *oktaapi.Error
// with the code.
func wantKind(t *testing.T, err, kind error, mark domain.ErrorKind, code string) *oktaapi.Error {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("err = %v, want %v", err, kind)
	}
	if got := domain.KindOf(err); got != mark {
		t.Errorf("KindOf(%v) = %v, want %v", err, got, mark)
	}
	oe, ok := errors.AsType[*oktaapi.Error](err)
	if !ok {
		t.Fatalf("err %v is not an *oktaapi.Error", err)
	}
	if oe.Code != code {
		t.Errorf("code = %q, want %q (%v)", oe.Code, code, err)
	}
	return oe
}

func TestGetUserWithAPIToken(t *testing.T) {
	o := newOrg(t, simokta.Options{})
	id := o.User(person())
	c := o.Client(o.sswsSecret(), nil)
	u, err := c.GetUser(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	wantUser(t, u, id, startTime())
	calls := o.Calls("/api/v1/users/")
	if len(calls) != 1 || calls[0].Header.Get("Authorization") != "SSWS "+apiToken {
		t.Errorf("calls = %+v, want one with the SSWS token", calls)
	}
	if len(o.Calls("/oauth2/")) != 0 {
		t.Error("an API token must not request access tokens")
	}
}

func TestGetUserAsServiceApp(t *testing.T) {
	for _, tc := range []struct {
		name string
		key  func(*testing.T) crypto.Signer
		form func(*org, *testing.T, string, string, crypto.Signer) secret
	}{
		{"RSA PEM", func(t *testing.T) crypto.Signer { return newRSA(t) }, (*org).pemSecret},
		{"RSA JWK", func(t *testing.T) crypto.Signer { return newRSA(t) }, (*org).jwkSecret},
		{"EC JWK", func(t *testing.T) crypto.Signer { return newEC(t) }, (*org).jwkSecret},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := newOrg(t, simokta.Options{})
			id := o.User(person())
			key := tc.key(t)
			clientID := o.ReadApp(key, "kid-1")
			c := o.Client(tc.form(o, t, clientID, "kid-1", key), nil)
			for range 3 {
				u, err := c.GetUser(context.Background(), id)
				if err != nil {
					t.Fatal(err)
				}
				wantUser(t, u, id, startTime())
			}
			if n := len(o.Calls("/oauth2/v1/token")); n != 1 {
				t.Errorf("%d token requests for three calls, want 1 (the token is cached)", n)
			}
			for _, cl := range o.Calls("/api/v1/users/") {
				if !strings.HasPrefix(cl.Header.Get("Authorization"), "Bearer ") {
					t.Errorf("API call without a Bearer token: %q", cl.Header.Get("Authorization"))
				}
			}
		})
	}
}

func TestAccessTokenRenewedBeforeItExpires(t *testing.T) {
	o := newOrg(t, simokta.Options{})
	id := o.User(person())
	key := newRSA(t)
	c := o.Client(o.pemSecret(t, o.ReadApp(key, "k"), "k", key), nil)
	get := func() {
		t.Helper()
		if _, err := c.GetUser(context.Background(), id); err != nil {
			t.Fatal(err)
		}
	}
	get()
	o.clock.Advance(57 * time.Minute) // still more than two minutes left
	get()
	if n := len(o.Calls("/oauth2/v1/token")); n != 1 {
		t.Fatalf("%d token requests after 57 min, want 1", n)
	}
	o.clock.Advance(time.Minute + time.Second) // under two minutes left
	get()
	if n := len(o.Calls("/oauth2/v1/token")); n != 2 {
		t.Fatalf("%d token requests after 58 min, want 2", n)
	}
	o.clock.Advance(2 * time.Hour) // long expired (a Lambda thawed later)
	get()
	if n := len(o.Calls("/oauth2/v1/token")); n != 3 {
		t.Fatalf("%d token requests after expiry, want 3", n)
	}
	if got := statuses(o.Calls("/api/v1/users/")); slices.ContainsFunc(got, func(s int) bool { return s != http.StatusOK }) {
		t.Errorf("API statuses %v: an expired token was sent", got)
	}
}

func TestRefusedTokenIsReplacedOnce(t *testing.T) {
	o := newOrg(t, simokta.Options{})
	id := o.User(person())
	key := newRSA(t)
	c := o.Client(o.jwkSecret(t, o.ReadApp(key, "k"), "k", key), nil)
	if _, err := c.GetUser(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	first := strings.TrimPrefix(o.Calls("/api/v1/users/")[0].Header.Get("Authorization"), "Bearer ")
	o.Refuse(func(tok string) bool { return tok == first }) // revoked
	u, err := c.GetUser(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	wantUser(t, u, id, startTime())
	if got := statuses(o.Calls("/api/v1/users/")); !slices.Equal(got, []int{200, 401, 200}) {
		t.Errorf("API statuses %v, want [200 401 200]", got)
	}
	if n := len(o.Calls("/oauth2/v1/token")); n != 2 {
		t.Errorf("%d token requests, want 2", n)
	}

	t.Run("refused again", func(t *testing.T) {
		o.Refuse(func(string) bool { return true })
		_, err := c.GetUser(context.Background(), id)
		wantKind(t, err, oktaapi.ErrUnauthorized, domain.ErrorPermanent, "E0000011")
		if got := statuses(o.Calls("/api/v1/users/")); !slices.Equal(got[3:], []int{401, 401}) {
			t.Errorf("API statuses %v, want two more 401s (one renewal only)", got)
		}
		if n := len(o.Calls("/oauth2/v1/token")); n != 3 {
			t.Errorf("%d token requests, want 3", n)
		}
	})
}

func TestAPITokenRefusedIsPermanent(t *testing.T) {
	o := newOrg(t, simokta.Options{})
	id := o.User(person())
	s := o.sswsSecret()
	s["ssws"] = "00wrong-token"
	c := o.Client(s, nil)
	_, err := c.GetUser(context.Background(), id)
	wantKind(t, err, oktaapi.ErrUnauthorized, domain.ErrorPermanent, "E0000011")
	if n := len(o.Calls("/api/")); n != 1 {
		t.Errorf("%d calls, want 1 (an API token is not renewed)", n)
	}
}

func TestNotFound(t *testing.T) {
	o := newOrg(t, simokta.Options{})
	c := o.Client(o.sswsSecret(), nil)
	_, err := c.GetUser(context.Background(), "00u0000000000000none")
	oe := wantKind(t, err, oktaapi.ErrNotFound, domain.ErrorPermanent, "E0000007")
	if oe.Status != http.StatusNotFound || oe.Op != oktaapi.OpGetUser || oe.RequestID == "" {
		t.Errorf("error = %+v", oe)
	}
	if strings.Contains(err.Error(), "none") {
		t.Errorf("error text %q repeats what was asked for", err)
	}

	_, err = c.GetUser(context.Background(), "")
	wantKind(t, err, oktaapi.ErrInvalid, domain.ErrorPermanent, "")
}

func TestForbidden(t *testing.T) {
	o := newOrg(t, simokta.Options{})
	id := o.User(person())

	t.Run("token without okta.users.read", func(t *testing.T) {
		key := newRSA(t)
		app := o.App(key, "k", []string{"okta.groups.read"}, []string{simokta.RoleReadOnlyAdmin}, nil)
		s := o.pemSecret(t, app, "k", key)
		s["scopes"] = []string{"okta.users.read", "okta.groups.read"} // Okta drops the one not granted
		_, err := o.Client(s, nil).GetUser(context.Background(), id)
		oe := wantKind(t, err, oktaapi.ErrForbidden, domain.ErrorPermanent, "insufficient_scope")
		if oe.Status != http.StatusForbidden || !strings.Contains(oe.Detail, "okta.users.read") {
			t.Errorf("error = %+v", oe)
		}
	})
	t.Run("okta.users.read not granted at all", func(t *testing.T) {
		key := newRSA(t)
		app := o.App(key, "k", []string{"okta.users.manage"}, []string{simokta.RoleSuperAdmin}, nil)
		_, err := o.Client(o.pemSecret(t, app, "k", key), nil).GetUser(context.Background(), id)
		oe := wantKind(t, err, oktaapi.ErrForbidden, domain.ErrorPermanent, "invalid_scope")
		if oe.Op != oktaapi.OpToken {
			t.Errorf("op = %s, want Token", oe.Op)
		}
	})
	t.Run("no admin role", func(t *testing.T) {
		key := newRSA(t)
		app := o.App(key, "k", []string{"okta.users.read"}, nil, nil)
		_, err := o.Client(o.pemSecret(t, app, "k", key), nil).GetUser(context.Background(), id)
		wantKind(t, err, oktaapi.ErrForbidden, domain.ErrorPermanent, "E0000006")
	})
}

func TestClientAuthenticationRefused(t *testing.T) {
	o := newOrg(t, simokta.Options{})
	id := o.User(person())

	t.Run("wrong key", func(t *testing.T) {
		app := o.ReadApp(newRSA(t), "k")
		_, err := o.Client(o.pemSecret(t, app, "k", newRSA(t)), nil).GetUser(context.Background(), id)
		oe := wantKind(t, err, oktaapi.ErrUnauthorized, domain.ErrorPermanent, "invalid_client")
		if oe.Op != oktaapi.OpToken || !strings.Contains(oe.Detail, "signature") {
			t.Errorf("error = %+v, want Okta's description of the bad signature", oe)
		}
	})
	t.Run("unknown client", func(t *testing.T) {
		key := newRSA(t)
		o.ReadApp(key, "k")
		_, err := o.Client(o.pemSecret(t, "0oaunknown", "k", key), nil).GetUser(context.Background(), id)
		wantKind(t, err, oktaapi.ErrUnauthorized, domain.ErrorPermanent, "invalid_client")
	})
	t.Run("DPoP required", func(t *testing.T) {
		key := newRSA(t)
		app := o.App(key, "k", []string{"okta.users.read"}, []string{simokta.RoleReadOnlyAdmin},
			func(a *simokta.ServiceApp) { a.RequireDPoP = true })
		_, err := o.Client(o.pemSecret(t, app, "k", key), nil).GetUser(context.Background(), id)
		oe := wantKind(t, err, oktaapi.ErrUnauthorized, domain.ErrorPermanent, "invalid_dpop_proof")
		if !strings.Contains(oe.Detail, "untick") {
			t.Errorf("detail %q does not say what to do", oe.Detail)
		}
	})
}

func TestServerErrorsRetried(t *testing.T) {
	o := newOrg(t, simokta.Options{})
	id := o.User(person())
	c := o.Client(o.sswsSecret(), nil)
	o.FailNext(http.StatusInternalServerError, http.StatusServiceUnavailable)
	if _, err := c.GetUser(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	calls := o.Calls("/api/v1/users/")
	if got := statuses(calls); !slices.Equal(got, []int{500, 503, 200}) {
		t.Errorf("statuses %v, want [500 503 200]", got)
	}
	if got := o.clock.Sleeps(); !slices.Equal(got, []time.Duration{500 * time.Millisecond, time.Second}) {
		t.Errorf("backoff %v, want [500ms 1s]", got)
	}
	if calls[2].Header.Get("X-Okta-Retry-Count") != "2" {
		t.Errorf("third attempt's X-Okta-Retry-Count = %q, want 2", calls[2].Header.Get("X-Okta-Retry-Count"))
	}

	t.Run("until the retries run out", func(t *testing.T) {
		c := o.Client(o.sswsSecret(), func(op *oktaapi.Options) { op.MaxRetries = 2 })
		o.FailNext(500, 500, 500, 500)
		_, err := c.GetUser(context.Background(), id)
		wantKind(t, err, oktaapi.ErrUnavailable, domain.ErrorRetryable, "E0000009")
		if n := len(o.Calls("/api/v1/users/")); n != 6 {
			t.Errorf("%d calls in all, want 3 + 3", n)
		}
	})
}

func TestTimeoutIsRetryable(t *testing.T) {
	o := newOrg(t, simokta.Options{})
	id := o.User(person())
	o.srv.Control().SetFaults("GetUser", simkit.Faults{Latency: 300 * time.Millisecond})
	c := o.Client(o.sswsSecret(), func(op *oktaapi.Options) {
		op.HTTPClient = &http.Client{Timeout: 50 * time.Millisecond}
		op.MaxRetries = -1
	})
	_, err := c.GetUser(context.Background(), id)
	wantKind(t, err, oktaapi.ErrUnavailable, domain.ErrorRetryable, "")
	if !strings.Contains(err.Error(), "timeout") && !strings.Contains(err.Error(), "deadline") {
		t.Errorf("error %q does not say it timed out", err)
	}
	if strings.Contains(err.Error(), id) || strings.Contains(err.Error(), "http://") {
		t.Errorf("error %q repeats the URL", err)
	}

	t.Run("connection dropped", func(t *testing.T) {
		o.srv.Control().SetFaults("GetUser", simkit.Faults{DropRate: 1})
		_, err := o.Client(o.sswsSecret(), func(op *oktaapi.Options) { op.MaxRetries = 1 }).GetUser(context.Background(), id)
		wantKind(t, err, oktaapi.ErrUnavailable, domain.ErrorRetryable, "")
	})
	t.Run("context ended", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := o.Client(o.sswsSecret(), nil).GetUser(ctx, id)
		wantKind(t, err, oktaapi.ErrUnavailable, domain.ErrorRetryable, "")
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err %v does not wrap context.Canceled", err)
		}
	})
}

func TestNoProfileValuesInErrorsOrLogs(t *testing.T) {
	o := newOrg(t, simokta.Options{})
	id := o.User(person())
	key := newRSA(t)
	c := o.Client(o.pemSecret(t, o.ReadApp(key, "k"), "k", key), nil)
	o.srv.SetRateLimit("GetUser", 1)
	var texts []string
	u, err := c.GetUser(context.Background(), id) // uses the window up
	if err != nil {
		t.Fatal(err)
	}
	texts = append(texts, fmt.Sprint(u), fmt.Sprintf("%+v", u), fmt.Sprintf("%#v", u), fmt.Sprintf("%v", u.Profile))
	if _, err := c.GetUser(context.Background(), id); err != nil { // waits for the reset
		t.Fatal(err)
	}
	_, err = c.GetUser(context.Background(), person().Login) // by login: Okta's summary would echo it
	texts = append(texts, fmt.Sprint(err))
	o.FailNext(500)
	o.Refuse(func(string) bool { return true })
	_, err = c.GetUser(context.Background(), id)
	texts = append(texts, fmt.Sprint(err), c.log.String())
	for _, s := range texts {
		for _, v := range piiValues() {
			if strings.Contains(s, v) {
				t.Errorf("%q appears in %s", v, s)
			}
		}
	}
	if !strings.Contains(c.log.String(), "okta access token obtained") {
		t.Errorf("log lacks the token line:\n%s", c.log)
	}
}
