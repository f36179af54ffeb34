// Package simokta is idsync's stand-in for an Okta org: an http.Handler that
// serves the slice of the Okta management API an administrator uses
// (users and their lifecycle, groups and membership, event hooks, the System
// Log), with SSWS API-token auth and Okta's error objects, and that delivers
// event hooks as Okta does: one-time verification, the configured auth and
// custom headers, the envelope of the event hook request, batching, a 3 s
// timeout with exactly one retry on timeout or 5xx (none on 4xx), and
// optional, seeded delivery faults (duplicates, reordering, drops). Every
// change is recorded as an Okta LogEvent. Changes are mirrored into an
// IdentityStore (the real aws-sdk-go-v2 client, e.g. pointed at idsync's
// IdentityStore stand-in) after a configurable lag, as Okta's SCIM push to
// IAM Identity Center would.
//
// Routes (all under /api/v1; "Authorization: SSWS <API token>", or
// "Authorization: Bearer <access token>" of a registered service app with
// the operation's scope, see oauth.go):
//
//	POST   /users?activate=true|false    GET /users (limit, after, q, filter, search)
//	GET    /users/{id|login}             POST /users/{id} (partial)   PUT /users/{id}
//	DELETE /users/{id}                   POST /users/{id}/lifecycle/{activate|deactivate|suspend|unsuspend|reactivate}
//	GET    /users/{id}/groups
//	POST   /groups   GET /groups (q, limit, after)   GET|DELETE /groups/{id}
//	GET    /groups/{id}/users            PUT|DELETE /groups/{id}/users/{userId}
//	POST   /eventHooks   GET /eventHooks   GET|DELETE /eventHooks/{id}
//	POST   /eventHooks/{id}/lifecycle/{verify|activate|deactivate}
//	GET    /logs (since, until, filter, limit, after)
//
// and POST /oauth2/v1/token (client credentials with a private_key_jwt
// client assertion; oauth.go). Okta's per-minute rate limits with their
// X-Rate-Limit-* headers: ratelimit.go.
//
// The /_sim control surface (no auth) adds to simkit's routes (counters,
// faults, quotas, seed, state): GET /_sim/deliveries, GET|POST
// /_sim/hook-faults, POST /_sim/flush, POST /_sim/groups/{id}/push
// {"pushed":bool}, POST /_sim/users/{id}/complete-activation,
// GET|POST /_sim/service-apps (a ServiceApp → {"clientId":…}), GET|POST
// /_sim/rate-limits {"op":"GetUser","perMinute":N}.
//
// Behaviour chosen where Okta's documentation leaves room, or where the
// stand-in simplifies:
//   - Lifecycle operations complete synchronously (no transitioningToStatus).
//     Activating a user with a password makes it ACTIVE, without one
//     PROVISIONED (Okta's "pending user action"); CompleteActivation (or
//     /_sim/users/{id}/complete-activation) stands in for the user finishing
//     the activation email, emitting user.lifecycle.activate as Okta does.
//     Activating a DEPROVISIONED user emits user.lifecycle.activate (Okta
//     emits user.lifecycle.reactivate only for provisioning imports); the
//     reactivate operation (PROVISIONED users only) emits
//     user.lifecycle.reactivate. Disallowed transitions answer 400 E0000001,
//     except activating a user that is not STAGED or DEPROVISIONED, which
//     answers 403 E0000016 as Okta does.
//   - DELETE of a user that is not DEPROVISIONED deactivates it; DELETE of a
//     DEPROVISIONED user deletes it (user.lifecycle.delete.initiated) and
//     drops its group memberships without membership events. Deleting a
//     group emits group.lifecycle.delete only.
//   - There is no built-in Everyone group and no custom profile schema: only
//     Okta's base user profile attributes are accepted.
//   - The API token belongs to an admin who is not listed as a user; log
//     events name that admin as actor.
//   - Event hook URIs may be http:// (local receivers); Okta requires https.
//   - Timestamps use the injected clock; batching windows, timeouts and the
//     mirror lag are real durations.
//   - Mirroring into IdentityStore: see IdentityStore.
package simokta

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/idsync/idsync/internal/sim/simkit"
)

// Defaults of Options.
const (
	DefaultOrgURL      = "https://idsync.okta.local"
	DefaultAPIToken    = "00local-okta-api-token-for-idsync"
	DefaultBatchWindow = 500 * time.Millisecond
	DefaultHookTimeout = 3 * time.Second
	// DefaultExternalIDIssuer is the Issuer of the ExternalId that the
	// mirror gives each IdentityStore user, {Issuer: DefaultExternalIDIssuer,
	// Id: <Okta user id>}, as IAM Identity Center stores the externalId of a
	// user provisioned over SCIM: the issuer is IdC's SCIM endpoint,
	// "https://scim.aws.com/<n>", and names neither Okta nor the Okta org.
	// Sources: public code written against real IdC takes the provisioning
	// IdP's user id from the ExternalId whose Issuer has the prefix
	// "https://scim.aws.com/", and public test fixtures of IdC users show
	// {"Issuer": "https://scim.aws.com/1223122", "Id": "00aaaaabbbbb"} (an
	// Okta-style id) and "https://scim.aws.com/1234". The shape of <n> is
	// not published (the fixtures show digits); the stand-in uses a 7-digit
	// number, so a client must match the prefix or be configured with the
	// exact issuer, never look for "okta" in it.
	DefaultExternalIDIssuer = "https://scim.aws.com/4820611"
	// SCIMIssuerPrefix is what every IdC SCIM externalId issuer starts with.
	SCIMIssuerPrefix = "https://scim.aws.com/"
	// DefaultIdentityStoreID is the identity store the mirror writes to when
	// Options.IdentityStoreID is empty.
	DefaultIdentityStoreID = "d-1234567890"
)

// Options configures a Server. The zero value is usable.
type Options struct {
	// OrgURL is the org's base URL, used in event hook envelopes' source and,
	// when set, in response links. Default DefaultOrgURL for the source;
	// links then use the request's own host.
	OrgURL string
	// APIToken is the SSWS token every /api/v1 request must carry.
	// Default DefaultAPIToken.
	APIToken string
	// Seed seeds ids, event uuids and delivery faults, so runs repeat.
	Seed uint64
	// Clock stamps users, groups, log events and deliveries. Default time.Now.
	Clock func() time.Time
	// BatchWindow is how long events for one hook are collected into one
	// delivery. Zero means DefaultBatchWindow; negative sends every event on
	// its own.
	BatchWindow time.Duration
	// HookTimeout bounds each delivery and verification attempt. Default
	// DefaultHookTimeout (Okta's 3 s).
	HookTimeout time.Duration
	// HTTPClient makes the outbound hook calls. Default a plain client
	// (attempts are bounded by HookTimeout).
	HTTPClient *http.Client
	// Faults are the delivery faults to start with.
	Faults HookFaults
	// Quota is every API operation's rate quota (a token bucket, simkit);
	// zero means none. Okta's own per-minute limits are RateLimits.
	Quota simkit.Quota
	// RateLimits are Okta's per-minute rate limits by operation (Okta SDK
	// names, e.g. "GetUser"), added to the default GetUser limit
	// (DefaultGetUserRateLimit); a value of zero or less removes one.
	// NoRateLimits starts without the default (kinder than Okta: for
	// focused tests only). See ratelimit.go.
	RateLimits   map[string]int
	NoRateLimits bool
	// Mirror receives Okta's SCIM push as IdentityStore calls; nil turns
	// mirroring off.
	Mirror IdentityStore
	// IdentityStoreID is the identity store mirrored into. Default
	// DefaultIdentityStoreID.
	IdentityStoreID string
	// ExternalIDIssuer is the Issuer of mirrored users' ExternalIds.
	// Default DefaultExternalIDIssuer (IdC's SCIM issuer format); another
	// value models another provisioning path and is not what Okta's SCIM
	// push to IdC produces.
	ExternalIDIssuer string
	// MirrorLag delays each mirror change, as Okta's provisioning does
	// (zero: at once; a local run might use 2 s).
	MirrorLag time.Duration
	// Logger receives one line per delivery and mirror outcome (ids only).
	// Default: discard.
	Logger *slog.Logger
	// Context bounds the background work (deliveries, mirroring); Close
	// stops it too. Default context.Background().
	Context context.Context
}

// Server is the Okta org stand-in. It is safe for concurrent use. Close it
// to stop its background work.
type Server struct {
	o         Options
	orgSet    bool
	ctl       *simkit.Control
	mux       *http.ServeMux
	log       *slog.Logger
	client    *http.Client
	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once

	rngMu sync.Mutex
	ids   *mrand.Rand

	mu         sync.Mutex
	now        func() time.Time
	faultRng   *mrand.Rand
	seq        int64
	userTypeID string
	actor      Actor
	users      map[string]*user
	groups     map[string]*group
	hooks      map[string]*hook
	logs       []LogEvent
	faults     HookFaults
	batches    map[string]*batch
	batchSeq   int64
	inflight   int
	attempts   []DeliveryAttempt
	wake       chan struct{}
	mirror     mirrorState
	mirrorWake chan struct{}

	oauth oauthState
	rates *rateLimits
}

// New returns a Server and starts its deliverer (and mirror, when
// o.Mirror is set).
func New(o Options) *Server {
	s := &Server{orgSet: o.OrgURL != ""}
	if o.OrgURL == "" {
		o.OrgURL = DefaultOrgURL
	}
	o.OrgURL = strings.TrimRight(o.OrgURL, "/")
	if o.APIToken == "" {
		o.APIToken = DefaultAPIToken
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.BatchWindow == 0 {
		o.BatchWindow = DefaultBatchWindow
	}
	if o.HookTimeout <= 0 {
		o.HookTimeout = DefaultHookTimeout
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{}
	}
	if o.IdentityStoreID == "" {
		o.IdentityStoreID = DefaultIdentityStoreID
	}
	if o.ExternalIDIssuer == "" {
		o.ExternalIDIssuer = DefaultExternalIDIssuer
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Context == nil {
		o.Context = context.Background()
	}
	s.o = o
	s.log = o.Logger
	s.client = o.HTTPClient
	s.now = o.Clock
	s.ctl = simkit.NewControl(simkit.Options{Seed: o.Seed, PerOp: o.Quota, Clock: o.Clock})
	s.ids = mrand.New(mrand.NewPCG(o.Seed, o.Seed^0x5851f42d4c957f2d))
	s.faultRng = mrand.New(mrand.NewPCG(o.Seed^0x2545f4914f6cdd1d, o.Seed))
	s.users = map[string]*user{}
	s.groups = map[string]*group{}
	s.hooks = map[string]*hook{}
	s.batches = map[string]*batch{}
	s.faults = o.Faults
	s.wake = make(chan struct{}, 1)
	s.mirrorWake = make(chan struct{}, 1)
	s.mirror = newMirrorState()
	s.oauth = oauthState{apps: map[string]*serviceApp{}, jtis: map[string]time.Time{}, tokens: map[string]*accessToken{}}
	s.rates = newRateLimits(o)
	s.userTypeID = "oty" + s.randString(17)
	host := strings.TrimPrefix(strings.TrimPrefix(o.OrgURL, "https://"), "http://")
	host, _, _ = strings.Cut(host, ":")
	s.actor = Actor{ID: "00u" + s.randString(17), Type: "User", AlternateID: "admin@" + host, DisplayName: "Okta Admin"}
	s.ctx, s.cancel = context.WithCancel(o.Context)
	s.routes()
	s.wg.Go(s.runBatcher)
	if o.Mirror != nil {
		s.wg.Go(s.runMirror)
	}
	return s
}

// Control returns the stand-in's quotas, API faults and counters (the
// operation names are Okta SDK style: CreateUser, ListUsers, GetUser,
// UpdateUser, ReplaceUser, DeleteUser, UserLifecycle, ListUserGroups,
// CreateGroup, ListGroups, GetGroup, DeleteGroup, ListGroupUsers,
// AssignUserToGroup, UnassignUserFromGroup, CreateEventHook,
// ListEventHooks, GetEventHook, DeleteEventHook, EventHookLifecycle,
// ListLogEvents).
func (s *Server) Control() *simkit.Control { return s.ctl }

// OrgURL returns the org's base URL as used in hook envelopes.
func (s *Server) OrgURL() string { return s.o.OrgURL }

// APIToken returns the SSWS token the API expects.
func (s *Server) APIToken() string { return s.o.APIToken }

// Close stops the deliverer and the mirror; queued deliveries and mirror
// changes are abandoned and in-flight hook calls cancelled. It waits for the
// background goroutines to end and is idempotent.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.cancel()
		s.wg.Wait()
	})
}

// Flush closes every open batching window and lifts the mirror lag at once,
// then waits until every queued delivery (with its retry, duplicates and
// delayed reorderings) and every queued mirror change is done.
//
// Errors: ctx's error (wrapped) when ctx ends first; ErrClosed when the
// server is closed or its context cancelled before the work is done.
func (s *Server) Flush(ctx context.Context) error {
	if s.ctx.Err() != nil {
		return ErrClosed
	}
	s.mu.Lock()
	now := time.Now()
	for _, b := range s.batches {
		b.deadline = now
	}
	for i := range s.mirror.queue {
		s.mirror.queue[i].due = now
	}
	s.mu.Unlock()
	poke(s.wake)
	poke(s.mirrorWake)
	t := time.NewTicker(2 * time.Millisecond)
	defer t.Stop()
	for {
		s.mu.Lock()
		idle := len(s.batches) == 0 && s.inflight == 0 &&
			(s.o.Mirror == nil || (len(s.mirror.queue) == 0 && !s.mirror.busy))
		s.mu.Unlock()
		if s.ctx.Err() != nil {
			return ErrClosed
		}
		if idle {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("okta: flush: %w", ctx.Err())
		case <-s.ctx.Done():
			return ErrClosed
		case <-t.C:
		}
	}
}

func poke(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

const idAlphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

// randString returns n characters from Okta's id alphabet, from the seeded
// generator (entity ids, uuids).
func (s *Server) randString(n int) string {
	s.rngMu.Lock()
	defer s.rngMu.Unlock()
	b := make([]byte, n)
	for i := range b {
		b[i] = idAlphabet[s.ids.IntN(len(idAlphabet))]
	}
	return string(b)
}

// uuid returns a version-4 UUID from the seeded generator.
func (s *Server) uuid() string {
	s.rngMu.Lock()
	var b [16]byte
	for i := range b {
		b[i] = byte(s.ids.Uint32())
	}
	s.rngMu.Unlock()
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// opaque returns a random token from crypto/rand, for values that must not
// disturb the seeded sequence (request ids, verification challenges).
func opaque(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return string(b)
}

// nextSeq returns the next creation sequence number; s.mu must be held.
func (s *Server) nextSeq() int64 {
	s.seq++
	return s.seq
}

type handler func(w http.ResponseWriter, r *http.Request)

func (s *Server) routes() {
	m := http.NewServeMux()
	api := func(pattern, op string, h handler) {
		m.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			p, err := s.authenticate(r)
			if !s.authorize(w, r, op, p, err) || !s.rateLimit(w, op, p) || !s.admit(w, r, op) {
				return
			}
			h(w, r)
		})
	}
	api("POST /api/v1/users", "CreateUser", s.handleCreateUser)
	api("GET /api/v1/users", "ListUsers", s.handleListUsers)
	api("GET /api/v1/users/{id}", "GetUser", s.handleGetUser)
	api("POST /api/v1/users/{id}", "UpdateUser", s.handleUpdateUser(true))
	api("PUT /api/v1/users/{id}", "ReplaceUser", s.handleUpdateUser(false))
	api("DELETE /api/v1/users/{id}", "DeleteUser", s.handleDeleteUser)
	api("POST /api/v1/users/{id}/lifecycle/{op}", "UserLifecycle", s.handleUserLifecycle)
	api("GET /api/v1/users/{id}/groups", "ListUserGroups", s.handleListUserGroups)
	api("POST /api/v1/groups", "CreateGroup", s.handleCreateGroup)
	api("GET /api/v1/groups", "ListGroups", s.handleListGroups)
	api("GET /api/v1/groups/{id}", "GetGroup", s.handleGetGroup)
	api("DELETE /api/v1/groups/{id}", "DeleteGroup", s.handleDeleteGroup)
	api("GET /api/v1/groups/{id}/users", "ListGroupUsers", s.handleListGroupUsers)
	api("PUT /api/v1/groups/{id}/users/{uid}", "AssignUserToGroup", s.handleMembership(true))
	api("DELETE /api/v1/groups/{id}/users/{uid}", "UnassignUserFromGroup", s.handleMembership(false))
	api("POST /api/v1/eventHooks", "CreateEventHook", s.handleCreateHook)
	api("GET /api/v1/eventHooks", "ListEventHooks", s.handleListHooks)
	api("GET /api/v1/eventHooks/{id}", "GetEventHook", s.handleGetHook)
	api("DELETE /api/v1/eventHooks/{id}", "DeleteEventHook", s.handleDeleteHook)
	api("POST /api/v1/eventHooks/{id}/lifecycle/{op}", "EventHookLifecycle", s.handleHookLifecycle)
	api("GET /api/v1/logs", "ListLogEvents", s.handleListLogs)
	m.HandleFunc("POST /oauth2/v1/token", s.handleToken)
	m.HandleFunc("/_sim/", s.serveControl)
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if _, err := s.authenticate(r); err != nil {
			s.writeError(w, &APIError{Status: http.StatusUnauthorized, Code: codeInvalidToken, Summary: "Invalid token provided"})
			return
		}
		s.writeError(w, &APIError{Status: http.StatusNotFound, Code: "E0000008", Summary: "The requested path was not found"})
	})
	s.mux = m
}

// ServeHTTP implements http.Handler: Okta's API under /api/v1 (errors as
// Okta's error object) and the /_sim control surface.
//
// Every answer's Date header is the stand-in's clock (Options.Clock), as a
// server's Date is its own clock: clients that compute waits from
// X-Rate-Limit-Reset minus Date, as Okta's SDKs do, see one clock.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Date", s.now().UTC().Format(http.TimeFormat))
	s.mux.ServeHTTP(w, r)
}

// admit applies the Control's faults and quotas to one request, answering
// as Okta would: 429 E0000047 with X-Rate-Limit-* headers, 500 E0000009, or
// a dropped connection.
func (s *Server) admit(w http.ResponseWriter, r *http.Request, op string) bool {
	return s.ctl.Screen(w, r, op, func(d simkit.Decision) {
		switch d {
		case simkit.Drop:
			s.writeError(w, &APIError{Status: http.StatusServiceUnavailable, Code: "E0000010", Summary: "Service is in read only mode"})
		case simkit.ServerError:
			s.writeError(w, &APIError{Status: http.StatusInternalServerError, Code: codeInternal, Summary: "Internal Server Error"})
		case simkit.Throttle:
			setRateHeaders(w, s.limitOf(op, DefaultGetUserRateLimit), 0, s.now().Truncate(time.Minute).Add(time.Minute))
			s.writeError(w, &APIError{Status: http.StatusTooManyRequests, Code: codeTooMany,
				Summary: "API call exceeded rate limit due to too many requests."})
		}
	})
}

// baseURL is where response links point: OrgURL when configured, else the
// request's own scheme and host.
func (s *Server) baseURL(r *http.Request) string {
	if s.orgSet {
		return s.o.OrgURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// decodeBody reads a JSON request body into v; a malformed body is Okta's
// E0000003.
func decodeBody(r *http.Request, v any) *APIError {
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err == nil {
		err = json.Unmarshal(raw, v)
	}
	if err != nil {
		return &APIError{Status: http.StatusBadRequest, Code: codeReader,
			Summary: "The request body was not well-formed.", Causes: []string{err.Error()}, kind: ErrInvalid}
	}
	return nil
}

// pageParams reads a list request's limit (default def, at most max) and
// after cursor.
func pageParams(q url.Values, def, max int) (limit int, after int64, err *APIError) {
	if limit, err = pageLimit(q, def, max); err != nil {
		return 0, 0, err
	}
	if after, err = parseCursor(q.Get("after")); err != nil {
		return 0, 0, err
	}
	return limit, after, nil
}

// pageLimit parses limit with Okta's default and maximum.
func pageLimit(q url.Values, def, max int) (int, *APIError) {
	v := q.Get("limit")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, &APIError{Status: http.StatusBadRequest, Code: "E0000029", Summary: "Invalid paging request.", kind: ErrInvalid}
	}
	return min(n, max), nil
}

// cursor encodes a creation sequence number as an opaque "after" cursor.
func cursor(seq int64) string { return "c" + strconv.FormatInt(seq, 36) }

func parseCursor(v string) (int64, *APIError) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(strings.TrimPrefix(v, "c"), 36, 64)
	if err != nil || !strings.HasPrefix(v, "c") {
		return 0, &APIError{Status: http.StatusBadRequest, Code: "E0000029", Summary: "Invalid paging request.", kind: ErrInvalid}
	}
	return n, nil
}

// setLinks writes Okta's Link header: rel="self", and rel="next" with the
// same query and the after cursor when there is a next page.
func setLinks(w http.ResponseWriter, r *http.Request, base string, next string) {
	self := base + r.URL.Path
	if r.URL.RawQuery != "" {
		self += "?" + r.URL.RawQuery
	}
	w.Header().Add("Link", "<"+self+`>; rel="self"`)
	if next != "" {
		q := r.URL.Query()
		q.Set("after", next)
		w.Header().Add("Link", "<"+base+r.URL.Path+"?"+q.Encode()+`>; rel="next"`)
	}
}
