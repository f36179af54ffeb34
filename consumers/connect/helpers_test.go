package connect_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	awsconnect "github.com/aws/aws-sdk-go-v2/service/connect"
	"github.com/aws/smithy-go/middleware"

	"github.com/idsync/idsync/consumers"
	"github.com/idsync/idsync/consumers/connect"
	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/awsclient"
	"github.com/idsync/idsync/internal/sim/simconnect"
)

// Group keys of the test configuration (testdata/config-*.json).
const (
	agents      = "okta:00g1agents"
	supervisors = "okta:00g1supervisors"
)

// writeOps are the Connect operations that change state.
var writeOps = []string{
	"CreateUser", "UpdateUserIdentityInfo", "UpdateUserSecurityProfiles",
	"UpdateUserRoutingProfile", "UpdateUserHierarchy", "DeleteUser",
}

// env is a Connect stand-in with one instance (SAML unless withIdentity
// says otherwise) and the profiles the test configurations name, served
// over HTTP to the real SDK client. The stand-in runs on the env's clock,
// which stands still until a test moves it, so that its search index lags
// writes (simconnect.DefaultSearchLag) for exactly as long as a test says.
type env struct {
	sim      *simconnect.Server
	clock    *clock
	url      string
	client   *awsconnect.Client
	instance string
	ids      map[string]string // placeholder name → id, e.g. SP_AGENT
	now      time.Time
}

// clock is a settable clock, safe for concurrent use.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// catchUp lets the stand-in's search index see every write made so far:
// the clock moves past its search lag.
func (e *env) catchUp() { e.clock.advance(e.sim.SearchLag() + time.Millisecond) }

type envOption func(*envConfig)

type envConfig struct {
	sim         simconnect.Options
	identity    string
	maxAttempts int
	wrap        func(http.Handler) http.Handler
	apiOptions  []func(*middleware.Stack) error
}

// withSim sets the stand-in's options (quotas are off by default; the
// env's clock unless o has one).
func withSim(o simconnect.Options) envOption { return func(c *envConfig) { c.sim = o } }

// withIdentity sets the instance's identity management type (default
// SAML).
func withIdentity(identityManagementType string) envOption {
	return func(c *envConfig) { c.identity = identityManagementType }
}

// withAttempts sets the SDK client's attempt limit (default 10).
func withAttempts(n int) envOption { return func(c *envConfig) { c.maxAttempts = n } }

// withAPIOptions installs API options (e.g. a meter) on the client.
func withAPIOptions(fns ...func(*middleware.Stack) error) envOption {
	return func(c *envConfig) { c.apiOptions = fns }
}

// withHandler wraps the stand-in's handler.
func withHandler(w func(http.Handler) http.Handler) envOption {
	return func(c *envConfig) { c.wrap = w }
}

func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	c := envConfig{sim: simconnect.Options{NoQuota: true, Seed: 7}, maxAttempts: 10, identity: simconnect.IdentitySAML}
	for _, o := range opts {
		o(&c)
	}
	e := &env{clock: &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}, now: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
	if c.sim.Clock == nil {
		c.sim.Clock = e.clock.Now
	}
	e.sim = simconnect.New(c.sim)
	var h http.Handler = e.sim
	if c.wrap != nil {
		h = c.wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	e.url = srv.URL
	cfg, err := awsclient.Config(context.Background(), awsclient.Options{
		Local: true, MaxAttempts: c.maxAttempts, MaxBackoff: 10 * time.Millisecond, NoRetryRateLimit: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.client = awsclient.Connect(cfg, srv.URL, c.apiOptions...)
	e.instance = e.sim.AddInstance("idsync-test", c.identity)
	e.ids = map[string]string{
		"INSTANCE":       e.instance,
		"SP_AGENT":       e.sim.AddSecurityProfile(e.instance, "Agent"),
		"SP_SUPERVISOR":  e.sim.AddSecurityProfile(e.instance, "Supervisor"),
		"SP_LEAVER":      e.sim.AddSecurityProfile(e.instance, "Leaver"),
		"RP_SUPPORT":     e.sim.AddRoutingProfile(e.instance, "Support"),
		"RP_PRIORITY":    e.sim.AddRoutingProfile(e.instance, "Priority"),
		"RP_LEAVER":      e.sim.AddRoutingProfile(e.instance, "No queues"),
		"HG_EMEA":        e.sim.AddHierarchyGroup(e.instance, "EMEA"),
		"HG_SUPERVISORS": e.sim.AddHierarchyGroup(e.instance, "Supervisors"),
	}
	return e
}

// config loads testdata/<name> with the env's ids filled in, through
// domain.ParseConfig.
func (e *env) config(t *testing.T, name string) domain.ConnectConfig {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for k, v := range e.ids {
		s = strings.ReplaceAll(s, "${"+k+"}", v)
	}
	cfg, err := domain.ParseConfig([]byte(s))
	if err != nil {
		t.Fatalf("ParseConfig(%s): %v", name, err)
	}
	return *cfg.Connect
}

// applier returns an Applier on the env's client for cfg, with o's other
// options (the env's clock unless o has one).
func (e *env) applier(t *testing.T, cfg domain.ConnectConfig, o connect.Options) *connect.Applier {
	t.Helper()
	o.API, o.Config = e.client, cfg
	if o.Clock == nil {
		o.Clock = e.clock.Now
	}
	a, err := connect.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// user returns the stand-in's user tagged for key, failing the test when
// there are several; ok is false when there is none.
func (e *env) user(t *testing.T, key string) (u simconnect.User, ok bool) {
	t.Helper()
	var found []simconnect.User
	for _, u := range e.sim.Users(e.instance) {
		if u.Tags[connect.DefaultTagKey] == key {
			found = append(found, u)
		}
	}
	if len(found) > 1 {
		t.Fatalf("%d users tagged for %s, want at most 1", len(found), key)
	}
	if len(found) == 0 {
		return simconnect.User{}, false
	}
	return found[0], true
}

// writes sums the requests of every write operation.
func (e *env) writes() int64 {
	var n int64
	for op, c := range e.sim.Control().Counters() {
		if slices.Contains(writeOps, op) {
			n += c.Requests
		}
	}
	return n
}

// requests is the number of requests of one operation.
func (e *env) requests(op string) int64 { return e.sim.Control().Counters()[op].Requests }

// jane loads testdata/jane.json.
func jane(t *testing.T) domain.Person {
	t.Helper()
	return loadPerson(t, "jane.json")
}

func loadPerson(t *testing.T, name string) domain.Person {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var p domain.Person
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	if p.Groups == nil {
		p.Groups = map[string]domain.Membership{}
	}
	return p
}

// person returns a copy of jane with another key and login, for tests with
// several people.
func person(t *testing.T, i int) domain.Person {
	p := jane(t)
	p.Key = fmt.Sprintf("00u%017d", i)
	p.OktaID = p.Key
	p.Login.Value = fmt.Sprintf("agent%02d@example.com", i)
	p.Email.Value = p.Login.Value
	p.FirstName.Value = fmt.Sprintf("Agent%02d", i)
	return p
}

// tick is the time of the n-th fact of a test: later facts win the fold.
func tick(n int) time.Time { return time.Date(2026, 3, 1, 0, n, 0, 0, time.UTC) }

// member records a membership fact.
func member(p domain.Person, group string, in bool, n int) domain.Person {
	g := make(map[string]domain.Membership, len(p.Groups)+1)
	for k, v := range p.Groups {
		g[k] = v
	}
	g[group] = domain.Membership{Member: in, At: tick(n), By: fmt.Sprintf("ev-%d", n)}
	p.Groups = g
	return p
}

// kinds lists the plan's op kinds.
func kinds(plan domain.Plan) []domain.OpKind {
	out := []domain.OpKind{}
	for _, op := range plan.Ops {
		out = append(out, op.Kind)
	}
	return out
}

// outcomes lists the results as "kind:outcome".
func outcomes(rs []consumers.OpResult) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, string(r.Op.Kind)+":"+string(r.Outcome))
	}
	return out
}

// sync plans and executes for p until the plan is empty, as the runner
// does (recording the create intent before a create), retrying retryable
// failures after the stand-in's search lag, as a redelivery would come
// later (at most tries rounds), and failing on a permanent one. It returns
// the final state and every op result.
func (e *env) sync(ctx context.Context, a *connect.Applier, p domain.Person, last domain.TargetState, tries int) (domain.TargetState, []consumers.OpResult, error) {
	var all []consumers.OpResult
	for range tries {
		plan, err := a.Plan(ctx, p, last, e.now)
		if err != nil {
			return last, all, err
		}
		if len(plan.Ops) == 0 {
			return plan.Next, all, nil
		}
		last, _ = consumers.Intent(domain.TargetConnect, last, plan, e.clock.Now())
		next, rs, err := consumers.Execute(ctx, a, p, last, plan, nil)
		all = append(all, rs...)
		last = next
		if err != nil && domain.KindOf(err) != domain.ErrorRetryable {
			return last, all, err
		}
		if err != nil {
			e.catchUp()
		}
	}
	return last, all, fmt.Errorf("no empty plan after %d rounds", tries)
}
