package simokta_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/idsync/idsync/internal/sim/simkit"
	"github.com/idsync/idsync/internal/sim/simokta"
)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// serviceApp is a test service app: its client id and private key.
type serviceApp struct {
	clientID string
	key      crypto.Signer
	kid      string
	alg      jose.SignatureAlgorithm
}

func newECApp(t *testing.T, kid string) *serviceApp {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &serviceApp{key: k, kid: kid, alg: jose.ES256}
}

func (a *serviceApp) jwks(t *testing.T) json.RawMessage {
	t.Helper()
	raw, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: a.key.Public(), KeyID: a.kid, Use: "sig", Algorithm: string(a.alg)}}})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// assertion signs a client assertion with the app's key, letting edit
// change the claims first.
func (a *serviceApp) assertion(t *testing.T, aud string, now time.Time, edit func(*jwt.Claims)) string {
	t.Helper()
	c := jwt.Claims{Issuer: a.clientID, Subject: a.clientID, Audience: jwt.Audience{aud},
		IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(5 * time.Minute)), ID: simkit.NewID(12)}
	if edit != nil {
		edit(&c)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: a.alg, Key: jose.JSONWebKey{Key: a.key, KeyID: a.kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jwt.Signed(signer).Claims(c).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

type tokenAnswer struct {
	status  int
	body    map[string]any
	headers http.Header
}

// postToken calls POST /oauth2/v1/token with a form.
func (o *org) postToken(form url.Values) tokenAnswer {
	o.t.Helper()
	resp, err := http.Post(o.ts.URL+"/oauth2/v1/token", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		o.t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, _ := io.ReadAll(resp.Body)
	var body map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &body); err != nil {
			o.t.Fatalf("token answer %q: %v", raw, err)
		}
	}
	return tokenAnswer{status: resp.StatusCode, body: body, headers: resp.Header}
}

func tokenForm(assertion, scope string) url.Values {
	return url.Values{"grant_type": {"client_credentials"}, "scope": {scope},
		"client_assertion_type": {simokta.ClientAssertionType}, "client_assertion": {assertion}}
}

func (o *org) tokenURL() string { return o.srv.OrgURL() + "/oauth2/v1/token" }

// oauthOrg starts an org on a fake clock with one user and a service app
// registered through /_sim/service-apps.
func oauthOrg(t *testing.T, app appSpec) (*org, *clock, *serviceApp, userObj) {
	t.Helper()
	clk := &clock{now: time.Date(2026, 3, 2, 9, 0, 30, 0, time.UTC)}
	o := newOrg(t, simokta.Options{Seed: 70, Clock: clk.Now})
	u := o.createUser("ana.silva@example.com", true, true)
	a := newECApp(t, "key-1")
	var got struct {
		ClientID string `json:"clientId"`
	}
	resp := o.doAuth("", http.MethodPost, "/_sim/service-apps", simokta.ServiceApp{
		ClientID: app.clientID, JWKS: a.jwks(t), Scopes: app.scopes, AdminRoles: app.roles, RequireDPoP: app.dpop}, &got)
	if resp.StatusCode != http.StatusOK || got.ClientID == "" {
		t.Fatalf("register service app: %d %+v", resp.StatusCode, got)
	}
	a.clientID = got.ClientID
	return o, clk, a, u
}

// appSpec is what oauthOrg registers.
type appSpec struct {
	clientID string
	scopes   []string
	roles    []string
	dpop     bool
}

func readerApp() appSpec {
	return appSpec{scopes: []string{"okta.users.read"}, roles: []string{simokta.RoleReadOnlyAdmin}}
}

// TestServiceAppReadsUserWithBearerToken: the client credentials flow with
// a private_key_jwt assertion gives a one-hour Bearer token for the granted
// scope, which reads a user by id; the token does not allow what its scope
// does not.
func TestServiceAppReadsUserWithBearerToken(t *testing.T) {
	o, clk, app, u := oauthOrg(t, readerApp())
	ans := o.postToken(tokenForm(app.assertion(t, o.tokenURL(), clk.Now(), nil), "okta.users.read"))
	if ans.status != http.StatusOK || ans.body["token_type"] != "Bearer" || ans.body["expires_in"] != float64(3600) ||
		ans.body["scope"] != "okta.users.read" || ans.headers.Get("Cache-Control") == "" {
		t.Fatalf("token answer %d %v", ans.status, ans.body)
	}
	access := ans.body["access_token"].(string)
	// The token is a JWT of the org's issuer for the client.
	tok, err := jwt.ParseSigned(access, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatalf("access token is not an RS256 JWT: %v", err)
	}
	var claims struct {
		jwt.Claims
		Cid string   `json:"cid"`
		Scp []string `json:"scp"`
	}
	if err := tok.UnsafeClaimsWithoutVerification(&claims); err != nil || claims.Cid != app.clientID ||
		claims.Issuer != o.srv.OrgURL() || len(claims.Scp) != 1 || !claims.Expiry.Time().Equal(clk.Now().Add(time.Hour)) {
		t.Fatalf("access token claims %+v %v", claims, err)
	}

	var got userObj
	resp := o.doAuth("Bearer "+access, http.MethodGet, "/api/v1/users/"+u.ID, nil, &got)
	if resp.StatusCode != http.StatusOK || got.ID != u.ID || got.Profile["login"] != "ana.silva@example.com" {
		t.Fatalf("GET user with the token: %d %+v", resp.StatusCode, got)
	}
	// The app's share of GetUser's 600 per minute is 50 %.
	if resp.Header.Get("X-Rate-Limit-Limit") != "300" || resp.Header.Get("X-Rate-Limit-Remaining") != "299" {
		t.Fatalf("rate-limit headers %v", resp.Header)
	}

	// Writing users and reading groups need other scopes: 403, no body.
	for _, call := range []struct{ method, path, scope string }{
		{http.MethodPost, "/api/v1/users/" + u.ID, "okta.users.manage"},
		{http.MethodGet, "/api/v1/groups", "okta.groups.read"},
	} {
		req, _ := http.NewRequest(call.method, o.ts.URL+call.path, strings.NewReader(`{"profile":{"title":"x"}}`))
		req.Header.Set("Authorization", "Bearer "+access)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		wa := resp.Header.Get("WWW-Authenticate")
		if resp.StatusCode != http.StatusForbidden || len(body) != 0 || !strings.Contains(wa, `error="insufficient_scope"`) ||
			!strings.Contains(wa, `scope="`+call.scope+`"`) || !strings.Contains(wa, `resource="`+call.path+`"`) {
			t.Fatalf("%s %s: %d %q %q", call.method, call.path, resp.StatusCode, body, wa)
		}
	}

	// The token lives one hour.
	clk.Advance(time.Hour)
	var e oktaError
	resp = o.doAuth("Bearer "+access, http.MethodGet, "/api/v1/users/"+u.ID, nil, &e)
	if resp.StatusCode != http.StatusUnauthorized || e.ErrorCode != "E0000011" ||
		!strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Fatalf("expired token: %d %+v %v", resp.StatusCode, e, resp.Header)
	}
}

// TestTokenEndpointRefusals: the assertion rules and the answers for each.
func TestTokenEndpointRefusals(t *testing.T) {
	o, clk, app, _ := oauthOrg(t, appSpec{scopes: []string{"okta.users.read", "okta.groups.read"},
		roles: []string{simokta.RoleReadOnlyAdmin}})
	now := clk.Now()
	other := newECApp(t, "key-1")
	other.clientID = app.clientID
	tests := []struct {
		name   string
		form   url.Values
		status int
		code   string
		desc   string
	}{
		{"audience", tokenForm(app.assertion(t, "https://other.okta.example/oauth2/v1/token", now, nil), "okta.users.read"),
			401, "invalid_client", "audience"},
		{"exp over an hour", tokenForm(app.assertion(t, o.tokenURL(), now, func(c *jwt.Claims) {
			c.Expiry = jwt.NewNumericDate(now.Add(time.Hour + time.Minute))
		}), "okta.users.read"), 401, "invalid_client", "The client_assertion token has an expiration too far into the future."},
		{"expired", tokenForm(app.assertion(t, o.tokenURL(), now, func(c *jwt.Claims) {
			c.IssuedAt, c.Expiry = jwt.NewNumericDate(now.Add(-time.Hour)), jwt.NewNumericDate(now.Add(-time.Second))
		}), "okta.users.read"), 401, "invalid_client", "The client_assertion token is expired."},
		{"no exp", tokenForm(app.assertion(t, o.tokenURL(), now, func(c *jwt.Claims) { c.Expiry = nil }), "okta.users.read"),
			401, "invalid_client", "exp"},
		{"sub differs", tokenForm(app.assertion(t, o.tokenURL(), now, func(c *jwt.Claims) { c.Subject = "someone" }), "okta.users.read"),
			401, "invalid_client", "iss and sub"},
		{"unknown client", tokenForm(app.assertion(t, o.tokenURL(), now, func(c *jwt.Claims) { c.Issuer, c.Subject = "0oanobody", "0oanobody" }),
			"okta.users.read"), 401, "invalid_client", "client_id"},
		{"other key", tokenForm(other.assertion(t, o.tokenURL(), now, nil), "okta.users.read"), 401, "invalid_client", "signature"},
		{"no scope", tokenForm(app.assertion(t, o.tokenURL(), now, nil), ""), 400, "invalid_scope", "'scope' must be provided"},
		{"scope not granted", tokenForm(app.assertion(t, o.tokenURL(), now, nil), "okta.users.manage"), 400, "invalid_scope", ""},
		{"grant type", func() url.Values {
			f := tokenForm(app.assertion(t, o.tokenURL(), now, nil), "okta.users.read")
			f.Set("grant_type", "password")
			return f
		}(), 400, "unsupported_grant_type", ""},
		{"no assertion", url.Values{"grant_type": {"client_credentials"}, "scope": {"okta.users.read"}}, 401, "invalid_client", ""},
		{"client secret", func() url.Values {
			f := tokenForm(app.assertion(t, o.tokenURL(), now, nil), "okta.users.read")
			f.Set("client_secret", "s3cr3t")
			return f
		}(), 401, "invalid_client", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ans := o.with(t).postToken(tt.form)
			if ans.status != tt.status || ans.body["error"] != tt.code || !strings.Contains(fmt.Sprint(ans.body["error_description"]), tt.desc) {
				t.Fatalf("got %d %v, want %d %s %q", ans.status, ans.body, tt.status, tt.code, tt.desc)
			}
			if len(ans.body) != 2 {
				t.Fatalf("error body %v, want error and error_description only", ans.body)
			}
		})
	}

	// A jti is single-use.
	a := app.assertion(t, o.tokenURL(), now, nil)
	if ans := o.postToken(tokenForm(a, "okta.users.read")); ans.status != http.StatusOK {
		t.Fatalf("first use: %d %v", ans.status, ans.body)
	}
	if ans := o.postToken(tokenForm(a, "okta.users.read")); ans.status != http.StatusUnauthorized ||
		ans.body["error"] != "invalid_client" || !strings.Contains(fmt.Sprint(ans.body["error_description"]), "already been used") {
		t.Fatalf("replayed assertion: %d %v", ans.status, ans.body)
	}
	// Without a jti an assertion may be reused until it expires, as Okta does.
	noJTI := app.assertion(t, o.tokenURL(), now, func(c *jwt.Claims) { c.ID = "" })
	for range 2 {
		if ans := o.postToken(tokenForm(noJTI, "okta.users.read")); ans.status != http.StatusOK {
			t.Fatalf("assertion without jti: %d %v", ans.status, ans.body)
		}
	}
	// Scopes not granted are dropped when another is granted.
	ans := o.postToken(tokenForm(app.assertion(t, o.tokenURL(), now, nil), "okta.users.read okta.apps.read okta.groups.read"))
	if ans.status != http.StatusOK || ans.body["scope"] != "okta.users.read okta.groups.read" {
		t.Fatalf("partly granted scopes: %d %v", ans.status, ans.body)
	}
	// A JSON body is not a token request.
	resp, err := http.Post(o.ts.URL+"/oauth2/v1/token", "application/json", strings.NewReader(`{"grant_type":"client_credentials"}`))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("JSON token request: %d", resp.StatusCode)
	}
}

// TestServiceAppNeedsAdminRoleAndNoDPoP: a token of an app without an admin
// role reads nothing (403 E0000006); an app that requires DPoP gets no
// token without a DPoP proof.
func TestServiceAppNeedsAdminRoleAndNoDPoP(t *testing.T) {
	o, clk, app, u := oauthOrg(t, appSpec{scopes: []string{"okta.users.read"}})
	ans := o.postToken(tokenForm(app.assertion(t, o.tokenURL(), clk.Now(), nil), "okta.users.read"))
	if ans.status != http.StatusOK {
		t.Fatalf("token: %d %v", ans.status, ans.body)
	}
	var e oktaError
	resp := o.doAuth("Bearer "+ans.body["access_token"].(string), http.MethodGet, "/api/v1/users/"+u.ID, nil, &e)
	if resp.StatusCode != http.StatusForbidden || e.ErrorCode != "E0000006" {
		t.Fatalf("app without admin role: %d %+v", resp.StatusCode, e)
	}

	d, dclk, dapp, _ := oauthOrg(t, appSpec{scopes: []string{"okta.users.read"}, roles: []string{simokta.RoleSuperAdmin}, dpop: true})
	ans = d.postToken(tokenForm(dapp.assertion(t, d.tokenURL(), dclk.Now(), nil), "okta.users.read"))
	if ans.status != http.StatusBadRequest || ans.body["error"] != "invalid_dpop_proof" ||
		ans.body["error_description"] != "The DPoP proof JWT header is missing." {
		t.Fatalf("DPoP app: %d %v", ans.status, ans.body)
	}
}

// TestRegisterServiceAppRS256: an RSA key registered through the Go method
// works with RS256 assertions; malformed key sets are refused.
func TestRegisterServiceAppRS256(t *testing.T) {
	clk := &clock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	o := newOrg(t, simokta.Options{Seed: 71, Clock: clk.Now})
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	app := &serviceApp{key: k, kid: "rsa-1", alg: jose.RS256}
	id, err := o.srv.RegisterServiceApp(simokta.ServiceApp{ClientID: "0oaidsyncreader0001", JWKS: app.jwks(t),
		Scopes: []string{"okta.users.read"}, AdminRoles: []string{simokta.RoleReadOnlyAdmin}})
	if err != nil || id != "0oaidsyncreader0001" {
		t.Fatalf("RegisterServiceApp: %q %v", id, err)
	}
	app.clientID = id
	if ans := o.postToken(tokenForm(app.assertion(t, o.tokenURL(), clk.Now(), nil), "okta.users.read")); ans.status != http.StatusOK {
		t.Fatalf("RS256 token: %d %v", ans.status, ans.body)
	}
	private, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: k, KeyID: "p"}}})
	noKid, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: k.Public()}}})
	for name, jwks := range map[string]json.RawMessage{"private key": private, "no kid": noKid, "empty": json.RawMessage(`{"keys":[]}`),
		"not json": json.RawMessage(`"x"`)} {
		if _, err := o.srv.RegisterServiceApp(simokta.ServiceApp{JWKS: jwks, Scopes: []string{"okta.users.read"}}); err == nil {
			t.Errorf("%s: registered", name)
		}
	}
	if apps := o.srv.ServiceApps(); len(apps) != 1 || apps[0].ClientID != id {
		t.Fatalf("ServiceApps %+v", apps)
	}
}

// TestGetUserRateLimit: GET /api/v1/users/{id} reports Okta's per-minute
// window on every answer and answers 429 E0000047 over it, for the org and
// for a service app's share; injected throttles answer the same way.
func TestGetUserRateLimit(t *testing.T) {
	o, clk, app, u := oauthOrg(t, readerApp())
	resp := o.doAuth("", http.MethodPost, "/_sim/rate-limits", map[string]any{"op": "GetUser", "perMinute": 4}, nil)
	if resp.StatusCode != http.StatusNoContent || o.srv.RateLimits()["GetUser"] != 4 {
		t.Fatalf("POST /_sim/rate-limits: %d %v", resp.StatusCode, o.srv.RateLimits())
	}
	reset := strconv.FormatInt(clk.Now().Truncate(time.Minute).Add(time.Minute).Unix(), 10)
	get := func(auth string) (*http.Response, oktaError) {
		var e oktaError
		r := o.doAuth(auth, http.MethodGet, "/api/v1/users/"+u.ID, nil, &e)
		return r, e
	}
	for i := range 4 {
		r, _ := get("SSWS " + token)
		if r.StatusCode != http.StatusOK || r.Header.Get("X-Rate-Limit-Limit") != "4" ||
			r.Header.Get("X-Rate-Limit-Remaining") != strconv.Itoa(3-i) || r.Header.Get("X-Rate-Limit-Reset") != reset {
			t.Fatalf("call %d: %d %v", i, r.StatusCode, r.Header)
		}
	}
	r, e := get("SSWS " + token)
	if r.StatusCode != http.StatusTooManyRequests || e.ErrorCode != "E0000047" || r.Header.Get("X-Rate-Limit-Remaining") != "0" ||
		r.Header.Get("X-Rate-Limit-Reset") != reset {
		t.Fatalf("over the limit: %d %+v %v", r.StatusCode, e, r.Header)
	}
	clk.Advance(time.Minute)
	if r, _ := get("SSWS " + token); r.StatusCode != http.StatusOK {
		t.Fatalf("next window: %d", r.StatusCode)
	}

	// The app gets half of the 4: 2 per minute, whatever the org has left.
	clk.Advance(time.Minute)
	ans := o.postToken(tokenForm(app.assertion(t, o.tokenURL(), clk.Now(), nil), "okta.users.read"))
	bearer := "Bearer " + ans.body["access_token"].(string)
	for range 2 {
		if r, _ := get(bearer); r.StatusCode != http.StatusOK || r.Header.Get("X-Rate-Limit-Limit") != "2" {
			t.Fatalf("app within its share: %d %v", r.StatusCode, r.Header)
		}
	}
	if r, e := get(bearer); r.StatusCode != http.StatusTooManyRequests || e.ErrorCode != "E0000047" {
		t.Fatalf("app over its share: %d %+v", r.StatusCode, e)
	}
	if r, _ := get("SSWS " + token); r.StatusCode != http.StatusOK {
		t.Fatalf("the org still has room: %d", r.StatusCode)
	}

	// Injected throttles carry the headers too.
	o.srv.Control().SetFaults("GetUser", simkit.Faults{ThrottleRate: 1})
	clk.Advance(time.Minute)
	if r, e := get("SSWS " + token); r.StatusCode != http.StatusTooManyRequests || e.ErrorCode != "E0000047" ||
		r.Header.Get("X-Rate-Limit-Limit") != "4" || r.Header.Get("X-Rate-Limit-Reset") == "" {
		t.Fatalf("injected throttle: %d %+v %v", r.StatusCode, e, r.Header)
	}
}
