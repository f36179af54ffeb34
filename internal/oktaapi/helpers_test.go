package oktaapi_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/idsync/idsync/internal/oktaapi"
	"github.com/idsync/idsync/internal/sim/simokta"
)

const apiToken = "00test-api-token-for-oktaapi"

// startTime is the test clock's first reading: 30 s into a minute, so that
// a per-minute window resets 30 s later.
func startTime() time.Time { return time.Date(2026, 3, 2, 12, 0, 30, 0, time.UTC) }

// clock is a fake clock shared by the stand-in and the client; Sleep
// advances it and records the wait.
type clock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func newClock() *clock { return &clock{now: startTime()} }

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

func (c *clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	return nil
}

func (c *clock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

// call is one request the stand-in answered.
type call struct {
	Method, Path string
	Status       int
	Header       http.Header // the request's
}

// org is the Okta stand-in behind an httptest server whose answers carry
// the fake clock's Date (as Okta's carry its own), recording every call.
type org struct {
	t     *testing.T
	srv   *simokta.Server
	ts    *httptest.Server
	clock *clock

	mu       sync.Mutex
	calls    []call
	failNext []int             // statuses to answer the next API calls with
	refuse   func(string) bool // Bearer tokens to answer 401 for (revoked)
}

func newOrg(t *testing.T, o simokta.Options) *org {
	t.Helper()
	c := newClock()
	o.Clock = c.Now
	if o.APIToken == "" {
		o.APIToken = apiToken
	}
	srv := simokta.New(o)
	org := &org{t: t, srv: srv, clock: c}
	org.ts = httptest.NewServer(http.HandlerFunc(org.serve))
	t.Cleanup(func() {
		org.ts.Close()
		srv.Close()
	})
	return org
}

func (o *org) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Date", o.clock.Now().UTC().Format(http.TimeFormat))
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	defer func() {
		o.mu.Lock()
		o.calls = append(o.calls, call{Method: r.Method, Path: r.URL.Path, Status: rec.status, Header: r.Header.Clone()})
		o.mu.Unlock()
	}()
	o.mu.Lock()
	var fail int
	if strings.HasPrefix(r.URL.Path, "/api/") && len(o.failNext) > 0 {
		fail, o.failNext = o.failNext[0], o.failNext[1:]
	}
	refuse := o.refuse
	o.mu.Unlock()
	if fail != 0 {
		rec.Header().Set("Content-Type", "application/json")
		rec.WriteHeader(fail)
		_, _ = rec.Write([]byte(`{"errorCode":"E0000009","errorSummary":"Internal Server Error","errorCauses":[]}`))
		return
	}
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && refuse != nil && refuse(tok) {
		// A revoked token, answered as Okta answers an invalid one.
		rec.Header().Set("WWW-Authenticate", `Bearer authorization_uri="x", realm="x", error="invalid_token", error_description="The access token is invalid."`)
		rec.Header().Set("Content-Type", "application/json")
		rec.WriteHeader(http.StatusUnauthorized)
		_, _ = rec.Write([]byte(`{"errorCode":"E0000011","errorSummary":"Invalid token provided","errorCauses":[]}`))
		return
	}
	o.srv.ServeHTTP(rec, r)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

// Hijack lets the stand-in drop a connection.
func (s *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(s.ResponseWriter).Hijack()
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// Calls returns the calls made so far to paths with the given prefix.
func (o *org) Calls(prefix string) []call {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []call
	for _, c := range o.calls {
		if strings.HasPrefix(c.Path, prefix) {
			out = append(out, c)
		}
	}
	return out
}

func statuses(calls []call) []int {
	out := make([]int, len(calls))
	for i, c := range calls {
		out[i] = c.Status
	}
	return out
}

// FailNext answers the next API calls with these statuses.
func (o *org) FailNext(statuses ...int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.failNext = append(o.failNext, statuses...)
}

// Refuse answers 401 for Bearer tokens f matches.
func (o *org) Refuse(f func(token string) bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.refuse = f
}

// person is a profile with values that appear nowhere else, so that a
// test can look for them in logs and errors.
func person() simokta.Profile {
	return simokta.Profile{
		Login: "zuleika.quist@example.com", Email: "zuleika.quist@example.com",
		FirstName: "Zuleika", LastName: "Oyelaran-Quist", DisplayName: "Zuleika Oyelaran-Quist",
		Department: "Cartography", Title: "Chief Mapmaker",
	}
}

// piiValues are person's values.
func piiValues() []string {
	return []string{"zuleika", "Zuleika", "Oyelaran", "Quist", "Cartography", "Mapmaker"}
}

// User creates and activates a user with p and returns its id.
func (o *org) User(p simokta.Profile) string {
	o.t.Helper()
	id, err := o.srv.CreateUser(p, true)
	if err != nil {
		o.t.Fatal(err)
	}
	return id
}

// newRSA returns a 2048-bit RSA key.
func newRSA(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newEC(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// App registers a service app with key's public half under kid and the
// given scopes and roles, and returns its client id.
func (o *org) App(key crypto.Signer, kid string, scopes, roles []string, edit func(*simokta.ServiceApp)) string {
	o.t.Helper()
	jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: key.Public(), KeyID: kid, Use: "sig"}}})
	if err != nil {
		o.t.Fatal(err)
	}
	app := simokta.ServiceApp{JWKS: jwks, Scopes: scopes, AdminRoles: roles}
	if edit != nil {
		edit(&app)
	}
	id, err := o.srv.RegisterServiceApp(app)
	if err != nil {
		o.t.Fatal(err)
	}
	return id
}

// ReadApp registers a service app allowed to read users.
func (o *org) ReadApp(key crypto.Signer, kid string) string {
	return o.App(key, kid, []string{oktaapi.ScopeUsersRead}, []string{simokta.RoleReadOnlyAdmin}, nil)
}

// secret is a stored credentials document.
type secret map[string]any

func (s secret) JSON(t *testing.T) []byte {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (o *org) sswsSecret() secret { return secret{"orgUrl": o.ts.URL, "ssws": apiToken} }

// pemSecret stores key as PKCS#8 PEM.
func (o *org) pemSecret(t *testing.T, clientID, kid string, key crypto.Signer) secret {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	p := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	return secret{"orgUrl": o.ts.URL, "clientId": clientID, "keyId": kid, "privateKeyPem": string(p)}
}

// jwkSecret stores key as a private JWK carrying kid.
func (o *org) jwkSecret(t *testing.T, clientID, kid string, key crypto.Signer) secret {
	t.Helper()
	raw, err := jose.JSONWebKey{Key: key, KeyID: kid}.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return secret{"orgUrl": o.ts.URL, "clientId": clientID, "privateKeyJwk": json.RawMessage(raw)}
}

// harness is a client under test with its log.
type harness struct {
	*oktaapi.Client
	log *bytes.Buffer
}

// Client builds a client from a stored secret, on the org's clock, with
// no client-side limiter unless edit sets one.
func (o *org) Client(s secret, edit func(*oktaapi.Options)) harness {
	o.t.Helper()
	creds, err := oktaapi.ParseCredentials(s.JSON(o.t))
	if err != nil {
		o.t.Fatal(err)
	}
	var buf bytes.Buffer
	opts := oktaapi.Options{
		Credentials: oktaapi.Static(creds),
		Rate:        -1,
		Logger:      slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Clock:       o.clock.Now,
		Sleep:       o.clock.Sleep,
	}
	if edit != nil {
		edit(&opts)
	}
	c, err := oktaapi.New(opts)
	if err != nil {
		o.t.Fatal(err)
	}
	return harness{Client: c, log: &buf}
}
