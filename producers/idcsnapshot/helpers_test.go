package idcsnapshot_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/oklog/ulid/v2"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/awsclient"
	"github.com/idsync/idsync/internal/emf"
	"github.com/idsync/idsync/internal/sim/simidentitystore"
	"github.com/idsync/idsync/internal/sim/simkit"
	"github.com/idsync/idsync/internal/testenv"
	"github.com/idsync/idsync/producers/idcsnapshot"
	"github.com/idsync/idsync/producers/publish"
	"github.com/idsync/idsync/store"
)

// Placeholders in testdata/config.json that the fixture replaces with the
// stand-in's minted ids.
const (
	placeholderStore  = "d-1234567890"
	placeholderMail   = "11111111-1111-4111-8111-111111111111"
	placeholderAgents = "22222222-2222-4222-8222-222222222222"
	oktaMail          = "okta:00g1mailusers00001"
	oktaAgents        = "okta:00g1agents00000002"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// ids makes ULIDs at the clock's time, monotonic within a millisecond.
type ids struct {
	mu      sync.Mutex
	clock   *clock
	entropy *ulid.MonotonicEntropy
}

func (g *ids) New() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return ulid.MustNew(ulid.Timestamp(g.clock.Now()), g.entropy).String()
}

// hit is one request the stand-in received.
type hit struct {
	at     time.Time
	op     string
	status int
}

// recorder sits in front of the stand-in: it records every request and
// answers 500 InternalServerException to those fail matches.
type recorder struct {
	next http.Handler

	mu     sync.Mutex
	fail   func(op string, body []byte) bool
	failed int
	hits   []hit
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	op := strings.TrimPrefix(req.Header.Get("X-Amz-Target"), simidentitystore.TargetPrefix)
	body, _ := io.ReadAll(req.Body)
	req.Body = io.NopCloser(bytes.NewReader(body))
	r.mu.Lock()
	fail := r.fail != nil && r.fail(op, body)
	if fail {
		r.failed++
	}
	r.mu.Unlock()
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	if fail {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		sw.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, `{"__type":"InternalServerException","Message":"injected fault"}`)
	} else {
		r.next.ServeHTTP(sw, req)
	}
	r.mu.Lock()
	r.hits = append(r.hits, hit{at: time.Now(), op: op, status: sw.status})
	r.mu.Unlock()
}

func (r *recorder) setFail(f func(op string, body []byte) bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fail, r.failed = f, 0
}

func (r *recorder) failures() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed
}

func (r *recorder) requests() []hit {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.hits)
}

// fixture is the Identity Store stand-in (behind httptest and a recorder),
// DynamoDB Local tables, a fauxqs FIFO queue and the configuration.
type fixture struct {
	sim     *simidentitystore.Server
	rec     *recorder
	url     string
	storeID string
	groups  map[string]string                // "mail", "agents" → IdC group id
	users   map[string]string                // UserName → IdC user id
	seeded  map[string]simidentitystore.User // UserName → as seeded
	cfg     domain.Config
	clock   *clock
	ids     *ids
	db      *dynamodb.Client
	state   string
	st      *store.Store
	sqs     *sqs.Client
	queues  map[domain.Target]testenv.Queue
	pub     *publish.Publisher
	metrics *bytes.Buffer
}

func newFixture(t testing.TB, so simidentitystore.Options) *fixture {
	t.Helper()
	env := testenv.Get(t)
	c := &clock{t: time.Date(2024, 5, 15, 9, 0, 0, 0, time.UTC)}
	f := &fixture{
		groups: map[string]string{}, users: map[string]string{}, seeded: map[string]simidentitystore.User{},
		clock: c, ids: &ids{clock: c, entropy: ulid.Monotonic(rand.Reader, 0)},
		metrics: &bytes.Buffer{},
	}
	f.sim = simidentitystore.New(so)
	f.rec = &recorder{next: f.sim}
	hs := httptest.NewServer(f.rec)
	t.Cleanup(hs.Close)
	f.url = hs.URL
	f.storeID = f.sim.AddIdentityStore()
	for _, name := range []string{"mail", "agents"} {
		id, err := f.sim.SeedGroup(f.storeID, simidentitystore.Group{DisplayName: name})
		if err != nil {
			t.Fatal(err)
		}
		f.groups[name] = id
	}

	raw, err := os.ReadFile("testdata/config.json")
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.NewReplacer(placeholderStore, f.storeID,
		placeholderMail, f.groups["mail"], placeholderAgents, f.groups["agents"]).Replace(string(raw))
	if f.cfg, err = domain.ParseConfig([]byte(doc)); err != nil {
		t.Fatalf("testdata/config.json: %v", err)
	}

	f.db = env.DynamoDB(t)
	f.state = env.CreateTable(t, f.db, store.StateTableSpec().CreateTableInput("state"))
	ledger := env.CreateTable(t, f.db, store.LedgerTableSpec().CreateTableInput("ledger"))
	if f.st, err = store.New(store.Options{DB: f.db, StateTable: f.state, LedgerTable: ledger, Clock: c.Now, NewID: f.ids.New}); err != nil {
		t.Fatal(err)
	}
	f.sqs = env.SQS(t)
	f.queues = map[domain.Target]testenv.Queue{
		domain.TargetWorkMail: env.CreateFIFOQueue(t, f.sqs, "idcsnap-wm", 3, 30*time.Second),
		domain.TargetConnect:  env.CreateFIFOQueue(t, f.sqs, "idcsnap-cn", 3, 30*time.Second),
	}
	urls := map[domain.Target]string{}
	for tg, q := range f.queues {
		urls[tg] = q.URL
	}
	if f.pub, err = publish.New(publish.Options{SQS: f.sqs, Queues: urls}); err != nil {
		t.Fatal(err)
	}
	return f
}

// seededUser is one entry of testdata/users.json.
type seededUser struct {
	User   simidentitystore.User `json:"user"`
	Groups []string              `json:"groups"`
}

// seedTestdata seeds the users of testdata/users.json and their memberships.
func (f *fixture) seedTestdata(t *testing.T) {
	t.Helper()
	raw, err := os.ReadFile("testdata/users.json")
	if err != nil {
		t.Fatal(err)
	}
	var us []seededUser
	if err := json.Unmarshal(raw, &us); err != nil {
		t.Fatal(err)
	}
	for _, u := range us {
		f.addUser(t, u.User, u.Groups...)
	}
}

// addUser seeds a user and adds them to the named groups.
func (f *fixture) addUser(t testing.TB, u simidentitystore.User, groups ...string) string {
	t.Helper()
	id, err := f.sim.SeedUser(f.storeID, u)
	if err != nil {
		t.Fatalf("seed %s: %v", u.UserName, err)
	}
	f.users[u.UserName], f.seeded[u.UserName] = id, u
	for _, g := range groups {
		f.join(t, u.UserName, g)
	}
	return id
}

func (f *fixture) join(t testing.TB, userName, group string) {
	t.Helper()
	if _, err := f.sim.SeedMembership(f.storeID, f.groups[group], f.users[userName]); err != nil {
		t.Fatalf("add %s to %s: %v", userName, group, err)
	}
}

func (f *fixture) leave(t testing.TB, userName, group string) {
	t.Helper()
	if err := f.sim.RemoveMembership(f.storeID, f.groups[group], f.users[userName]); err != nil {
		t.Fatalf("remove %s from %s: %v", userName, group, err)
	}
}

// genUser is a generated user with an Okta id.
func genUser(i int) simidentitystore.User {
	return simidentitystore.User{
		UserName: fmt.Sprintf("user%05d@example.com", i), GivenName: "Gen", FamilyName: fmt.Sprintf("User%05d", i),
		Email:       fmt.Sprintf("user%05d@example.com", i),
		ExternalIDs: []simidentitystore.ExternalID{{Issuer: "https://scim.aws.com/4820611", ID: fmt.Sprintf("00u1gen%011d", i)}},
	}
}

// setup says how to build a Snapshotter.
type setup struct {
	attempts int // SDK attempts (default 8)
	cfg      *domain.Config
	store    idcsnapshot.Store
	pub      idcsnapshot.Publisher
	opts     idcsnapshot.Options
	logTo    io.Writer // also gets the run's log lines
}

func (f *fixture) snapshotter(t testing.TB, s setup) *idcsnapshot.Snapshotter {
	t.Helper()
	if s.attempts == 0 {
		s.attempts = 8
	}
	awsCfg, err := awsclient.Config(context.Background(), awsclient.Options{Local: true, NoRetryRateLimit: true, MaxAttempts: s.attempts})
	if err != nil {
		t.Fatal(err)
	}
	cfg := f.cfg
	if s.cfg != nil {
		cfg = *s.cfg
	}
	var st idcsnapshot.Store = f.st
	if s.store != nil {
		st = s.store
	}
	var pub idcsnapshot.Publisher = f.pub
	if s.pub != nil {
		pub = s.pub
	}
	o := s.opts
	o.Config, o.IdentityStore, o.Store, o.Publisher = cfg, awsclient.IdentityStore(awsCfg, f.url), st, pub
	o.Clock, o.NewID = f.clock.Now, f.ids.New
	var logw io.Writer = t.Output()
	if s.logTo != nil {
		logw = io.MultiWriter(t.Output(), s.logTo)
	}
	o.Logger = slog.New(slog.NewJSONHandler(logw, nil))
	o.Metrics = emf.New(f.metrics, "idcsnapshot", f.clock.Now)
	snap, err := idcsnapshot.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// drain receives and deletes every message queued to either target's
// queue and returns the events once each (an event for every target is on
// both queues), in the order the WorkMail queue and then the Connect queue
// delivered them. It checks that an event for one target is on that
// target's queue only.
func (f *fixture) drain(t *testing.T) []domain.Event {
	t.Helper()
	var got []domain.Event
	seen := map[string]domain.Target{}
	for _, tg := range []domain.Target{domain.TargetWorkMail, domain.TargetConnect} {
		for _, e := range f.drainQueue(t, f.queues[tg].URL) {
			if e.Target != "" && e.Target != tg {
				t.Errorf("event %s for %s on the %s queue", describe(e), e.Target, tg)
			}
			if _, dup := seen[e.ID]; dup {
				continue
			}
			seen[e.ID] = tg
			got = append(got, e)
		}
	}
	return got
}

// drainQueue receives and deletes every message queued to url.
func (f *fixture) drainQueue(t *testing.T, url string) []domain.Event {
	t.Helper()
	ctx := testenv.Context(t)
	var got []domain.Event
	for empty := 0; empty < 2; {
		out, err := f.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(url), MaxNumberOfMessages: 10,
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			empty++
			continue
		}
		var del []sqstypes.DeleteMessageBatchRequestEntry
		for i, m := range out.Messages {
			e, err := domain.DecodeEvent([]byte(aws.ToString(m.Body)))
			if err != nil {
				t.Fatalf("queued body does not decode: %v", err)
			}
			if g := m.Attributes["MessageGroupId"]; g != e.Subject.Key() {
				t.Errorf("message group %q, want person key %q", g, e.Subject.Key())
			}
			got = append(got, e)
			del = append(del, sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(i)), ReceiptHandle: m.ReceiptHandle})
		}
		if _, err := f.sqs.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(url), Entries: del}); err != nil {
			t.Fatal(err)
		}
	}
	return got
}

// fold folds events into the state table, as the consumers do: each
// person's events in order, people in parallel.
func (f *fixture) fold(t *testing.T, events []domain.Event) {
	t.Helper()
	ctx := testenv.Context(t)
	byPerson := map[string][]domain.Event{}
	for _, e := range events {
		byPerson[e.Subject.Key()] = append(byPerson[e.Subject.Key()], e)
	}
	work := make(chan []domain.Event)
	errs := make(chan error, len(byPerson))
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for es := range work {
				for _, e := range es {
					if _, err := f.st.Fold(ctx, e); err != nil {
						errs <- fmt.Errorf("fold %s: %w", e.ID, err)
						break
					}
				}
			}
		}()
	}
	for _, es := range byPerson {
		work <- es
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// baseline runs a snapshot, folds its events and moves the clock on: the
// state a deployment is in after its first run was consumed.
func (f *fixture) baseline(t *testing.T) idcsnapshot.Summary {
	t.Helper()
	sum, err := f.snapshotter(t, setup{}).Run(testenv.Context(t))
	if err != nil {
		t.Fatalf("baseline run: %v", err)
	}
	f.fold(t, f.drain(t))
	f.clock.Advance(15 * time.Minute)
	return sum
}

// runRows returns the snapshot run rows of the ledger, oldest first.
func (f *fixture) runRows(t *testing.T) []domain.LedgerEntry {
	t.Helper()
	page, err := f.st.Audit(testenv.Context(t), store.AuditQuery{System: true, PageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	return page.Entries
}

// records returns the keys of the stored snapshot records.
func (f *fixture) records(t *testing.T) []string {
	t.Helper()
	recs, err := f.st.SnapshotRecords(testenv.Context(t))
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, r := range recs {
		keys = append(keys, r.Key)
	}
	return keys
}

// metricLines decodes the EMF lines written so far.
func (f *fixture) metricLines(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(f.metrics.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("EMF line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// simCalls sums the stand-in's request and throttle counters.
func simCalls(sim *simidentitystore.Server) (requests, throttled int64, byOp map[string]simkit.Counter) {
	byOp = sim.Control().Counters()
	for _, c := range byOp {
		requests += c.Requests
		throttled += c.Throttled
	}
	return requests, throttled, byOp
}

// describe renders an event as "kind key [group] [field=value ...]".
func describe(e domain.Event) string {
	parts := []string{string(e.Kind), e.Subject.Key()}
	if e.Group != nil {
		parts = append(parts, e.Group.Key())
	}
	if len(e.Groups) > 0 {
		var keys []string
		for _, g := range e.Groups {
			keys = append(keys, g.Key())
		}
		parts = append(parts, "groups="+strings.Join(keys, ","))
	}
	if e.Target != "" {
		parts = append(parts, "for "+string(e.Target))
	}
	if e.ReplacesIdCUserID != "" {
		parts = append(parts, "replacing "+e.ReplacesIdCUserID)
	}
	if p := e.Profile; p != nil {
		var fields []string
		add := func(name string, v *string) {
			if v != nil {
				fields = append(fields, name+"="+*v)
			}
		}
		add("login", p.Login)
		add("firstName", p.FirstName)
		add("lastName", p.LastName)
		add("displayName", p.DisplayName)
		add("email", p.Email)
		add("department", p.Department)
		add("title", p.Title)
		parts = append(parts, fields...)
	}
	return strings.Join(parts, " ")
}

func describeAll(events []domain.Event) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = describe(e)
	}
	sort.Strings(out)
	return out
}

// memStore is an in-memory Store for runs whose diff is too large to be
// worth writing to DynamoDB Local: it knows nobody and accepts every write.
// Its lease is always free and keeps the count the last release stored.
type memStore struct {
	mu         sync.Mutex
	entries    []domain.LedgerEntry
	put        int
	marks      int
	totalUsers int
	records    []store.Record // what AllRecords returns
	progress   []byte
	chunks     []store.RunChunk
}

func (m *memStore) RunProgress(context.Context, string) ([]byte, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.progress, m.progress != nil, nil
}

func (m *memStore) SaveRunProgress(_ context.Context, _ string, state []byte, chunks []store.RunChunk) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.progress, m.chunks = state, chunks
	return nil
}

func (m *memStore) RunChunks(_ context.Context, _ string, fn func(store.RunChunk) error) error {
	m.mu.Lock()
	chunks := slices.Clone(m.chunks)
	m.mu.Unlock()
	for _, c := range chunks {
		if err := fn(c); err != nil {
			return err
		}
	}
	return nil
}

func (m *memStore) ClearRun(context.Context, string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.progress, m.chunks = nil, nil
	return nil
}

func (m *memStore) AcquireLease(_ context.Context, _, owner string, d time.Duration) (store.LeaseHold, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return store.LeaseHold{Owner: owner, ExpiresAt: time.Now().Add(d), TotalUsers: m.totalUsers}, nil
}

func (m *memStore) ReleaseLease(_ context.Context, _, _ string, totalUsers int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if totalUsers > 0 {
		m.totalUsers = totalUsers
	}
	return nil
}

func (m *memStore) MarkDriftChecked(context.Context, string, string, time.Time) error { return nil }

func (m *memStore) AllRecords(context.Context) ([]store.Record, error) { return m.records, nil }
func (m *memStore) WriteMarks(_ context.Context, put, _ []store.Mark) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.marks += len(put)
	return nil
}
func (m *memStore) SnapshotRecords(context.Context) ([]store.SnapshotRecord, error) {
	return nil, nil
}
func (m *memStore) WriteSnapshotRecords(_ context.Context, put []store.SnapshotRecord, _ []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.put += len(put)
	return nil
}
func (m *memStore) RecordReceivedAll(_ context.Context, events []domain.Event) []error {
	return make([]error, len(events))
}
func (m *memStore) Append(_ context.Context, entries ...domain.LedgerEntry) ([]domain.LedgerEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.entries = append(m.entries, entries...)
	return entries, nil
}

// countingPublisher counts the events it is given.
type countingPublisher struct {
	mu     sync.Mutex
	events int
}

func (p *countingPublisher) Publish(_ context.Context, events []domain.Event) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.events += len(events)
	return nil
}
