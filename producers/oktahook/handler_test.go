package oktahook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/awsclient"
	"github.com/idsync/idsync/internal/emf"
	"github.com/idsync/idsync/internal/testenv"
	"github.com/idsync/idsync/producers/oktahook"
	"github.com/idsync/idsync/producers/publish"
	"github.com/idsync/idsync/store"
)

const (
	mappedGroup   = "00g3vcxkvkIPY52jL4x7" // the group in the documented sample payload, mapped for both targets
	workmailGroup = "00gWORKMAIL00000001"  // mapped for WorkMail only (testdata/removals.json)
	connectGroup  = "00gCONNECT000000002"  // mapped for Connect only
)

// secretBox is a rotatable secret store behind a SecretCache.
type secretBox struct {
	mu sync.Mutex
	s  oktahook.Secrets
}

func (b *secretBox) set(s oktahook.Secrets) { b.mu.Lock(); b.s = s; b.mu.Unlock() }
func (b *secretBox) fetch(context.Context) (oktahook.Secrets, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.s, nil
}

// switchable sends through the real publisher, or through a broken one
// (an SQS endpoint nobody listens on) during an outage.
type switchable struct {
	mu         sync.Mutex
	down       bool
	good, dead oktahook.Publisher
}

func (s *switchable) setDown(down bool) { s.mu.Lock(); s.down = down; s.mu.Unlock() }

func (s *switchable) Publish(ctx context.Context, evs []domain.Event) error {
	s.mu.Lock()
	p := s.good
	if s.down {
		p = s.dead
	}
	s.mu.Unlock()
	return p.Publish(ctx, evs)
}

type fixture struct {
	url     string
	box     *secretBox
	now     *time.Time
	pub     *switchable
	st      *store.Store
	sqs     *sqs.Client
	queues  []testenv.Queue
	wm, cn  testenv.Queue
	logs    *syncBuffer
	metrics *syncBuffer
}

// syncBuffer is a bytes.Buffer safe for the handler's concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// hookConfig maps mappedGroup for both targets, workmailGroup for WorkMail
// and connectGroup for Connect, with a removal brake of 2 per 10 minutes.
func hookConfig() domain.Config {
	return domain.Config{
		WorkMail: &domain.WorkMailConfig{Groups: []domain.GroupRef{{OktaID: mappedGroup}, {OktaID: workmailGroup}}},
		Connect: &domain.ConnectConfig{Groups: []domain.ConnectGroup{
			{GroupRef: domain.GroupRef{OktaID: mappedGroup}, Priority: 1}, {GroupRef: domain.GroupRef{OktaID: connectGroup}, Priority: 2},
		}},
		Hook: domain.HookConfig{RemovalBrake: domain.RemovalBrake{Max: 2, Window: domain.Duration(10 * time.Minute)}},
	}
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	env := testenv.Get(t)
	db := env.DynamoDB(t)
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	st, err := store.New(store.Options{
		DB:          db,
		StateTable:  env.CreateTable(t, db, store.StateTableSpec().CreateTableInput("state")),
		LedgerTable: env.CreateTable(t, db, store.LedgerTableSpec().CreateTableInput("ledger")),
		Clock:       func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	client := env.SQS(t)
	wm := env.CreateFIFOQueue(t, client, "wm", 5, 30*time.Second)
	cn := env.CreateFIFOQueue(t, client, "cn", 5, 30*time.Second)
	queues := map[domain.Target]string{domain.TargetWorkMail: wm.URL, domain.TargetConnect: cn.URL}

	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	deadCfg, err := awsclient.Config(testenv.Context(t), awsclient.Options{Local: true, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	goodPub, err := publish.New(publish.Options{SQS: client, Queues: queues})
	if err != nil {
		t.Fatal(err)
	}
	deadPub, err := publish.New(publish.Options{SQS: awsclient.SQS(deadCfg, deadURL), Queues: queues, Attempts: 1, Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	pub := &switchable{good: goodPub, dead: deadPub}
	box := &secretBox{s: oktahook.Secrets{Current: "s3cret-current"}}
	f := &fixture{box: box, now: &now, pub: pub, st: st, sqs: client, queues: []testenv.Queue{wm, cn}, wm: wm, cn: cn,
		logs: &syncBuffer{}, metrics: &syncBuffer{}}
	clock := func() time.Time { return *f.now }
	cache := oktahook.NewSecretCache(oktahook.SecretCacheOptions{Fetch: box.fetch, TTL: time.Minute, Clock: clock})
	cfg := hookConfig()
	h, err := oktahook.New(oktahook.Options{
		GroupMapped: cfg.GroupMapped, Config: cfg, Secrets: cache, Ledger: st, Publisher: pub, People: st, Brake: st,
		// These tests are about what is recorded and queued, not about
		// Okta's 3 s: a loaded machine under the race detector must not
		// turn them into deadline answers.
		Deadline: time.Minute,
		Logger:   slog.New(slog.NewJSONHandler(f.logs, nil)), Metrics: emf.New(f.metrics, "oktahook", clock), Clock: clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	f.url = srv.URL
	return f
}

func (f *fixture) do(t *testing.T, method, secret string, body []byte, hdr map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, f.url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if secret != "" {
		req.Header.Set("Authorization", secret)
	}
	for k, v := range hdr {
		req.Header[k] = []string{v} // as sent, without canonicalising
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// delivery builds an Okta event-hook delivery of n membership-add events
// spread over people, from the documented sample payload.
func delivery(t testing.TB, n, people int) []byte {
	t.Helper()
	raw, err := os.ReadFile("../../domain/testdata/okta/group_membership_add.json")
	if err != nil {
		t.Fatal(err)
	}
	var env map[string]any
	if err := json.Unmarshal(raw, &env); err != nil {
		t.Fatal(err)
	}
	data := env["data"].(map[string]any)
	tmpl, err := json.Marshal(data["events"].([]any)[0])
	if err != nil {
		t.Fatal(err)
	}
	var evs []any
	base := time.Date(2026, 11, 21, 11, 0, 0, 0, time.UTC)
	for i := range n {
		var e map[string]any
		if err := json.Unmarshal(tmpl, &e); err != nil {
			t.Fatal(err)
		}
		e["uuid"] = fmt.Sprintf("5e1a0000-0000-4000-8000-%012d", i)
		e["published"] = base.Add(time.Duration(i) * time.Second).Format(time.RFC3339Nano)
		user := e["target"].([]any)[0].(map[string]any)
		user["id"] = fmt.Sprintf("00uperson%011d", i%people)
		user["alternateId"] = fmt.Sprintf("person%d@example.com", i%people)
		evs = append(evs, e)
	}
	data["events"] = evs
	out, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// queued drains a queue and returns the Okta uuids per person in order.
func queued(t *testing.T, client *sqs.Client, url string) map[string][]string {
	t.Helper()
	ctx := testenv.Context(t)
	got := map[string][]string{}
	for empty := 0; empty < 2; {
		out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
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
		for _, m := range out.Messages {
			e, err := domain.DecodeEvent([]byte(aws.ToString(m.Body)))
			if err != nil {
				t.Fatal(err)
			}
			got[e.Subject.Key()] = append(got[e.Subject.Key()], e.SourceEventID)
			if _, err := client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return got
}

func count(m map[string][]string) int {
	n := 0
	for _, v := range m {
		n += len(v)
	}
	return n
}

func TestVerificationAnyHeaderCase(t *testing.T) {
	f := newFixture(t)
	for _, name := range []string{"x-okta-verification-challenge", "X-OKTA-VERIFICATION-CHALLENGE"} {
		code, body := f.do(t, http.MethodGet, "s3cret-current", nil, map[string]string{name: "chal-" + name})
		var got struct{ Verification string }
		if err := json.Unmarshal([]byte(body), &got); err != nil || code != http.StatusOK || got.Verification != "chal-"+name {
			t.Errorf("%s: %d %s", name, code, body)
		}
	}
	if code, _ := f.do(t, http.MethodGet, "wrong", nil, map[string]string{"X-Okta-Verification-Challenge": "c"}); code != http.StatusUnauthorized {
		t.Errorf("verification with a wrong secret: %d, want 401", code)
	}
}

func TestAuthRotationAndRevocation(t *testing.T) {
	f := newFixture(t)
	body := delivery(t, 2, 2)
	cases := []struct {
		name, secret string
		want         int
	}{
		{"missing", "", http.StatusUnauthorized},
		{"wrong", "s3cret-wrong", http.StatusUnauthorized},
		{"prefix of the secret", "s3cret", http.StatusUnauthorized},
	}
	for _, c := range cases {
		if code, _ := f.do(t, http.MethodPost, c.secret, body, nil); code != c.want {
			t.Errorf("%s: %d, want %d", c.name, code, c.want)
		}
	}
	for _, q := range f.queues {
		if n := count(queued(t, f.sqs, q.URL)); n != 0 {
			t.Fatalf("rejected deliveries queued %d messages", n)
		}
	}
	// Rotate: both secrets work once the cache refreshes.
	f.box.set(oktahook.Secrets{Current: "s3cret-next", Previous: "s3cret-current"})
	*f.now = f.now.Add(2 * time.Minute)
	for _, s := range []string{"s3cret-current", "s3cret-next"} {
		if code, b := f.do(t, http.MethodPost, s, body, nil); code != http.StatusOK {
			t.Errorf("rotation, %s: %d %s", s, code, b)
		}
	}
	// Revoke the previous secret: it is refused after the next refresh.
	f.box.set(oktahook.Secrets{Current: "s3cret-next"})
	*f.now = f.now.Add(2 * time.Minute)
	if code, _ := f.do(t, http.MethodPost, "s3cret-current", delivery(t, 3, 3), nil); code != http.StatusUnauthorized {
		t.Errorf("revoked previous secret: %d, want 401", code)
	}
}

func TestBadRequests(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		name string
		body []byte
		want int
	}{
		{"malformed JSON", []byte(`{"eventType":"com.okta.event_hook","data":{"events":[}`), http.StatusBadRequest},
		{"wrong envelope type", []byte(`{"eventType":"something.else","data":{"events":[]}}`), http.StatusBadRequest},
		{"over 6 MiB", append([]byte(`{"pad":"`), append(bytes.Repeat([]byte("x"), 6<<20), '"', '}')...), http.StatusRequestEntityTooLarge},
		{"nothing mapped", []byte(`{"eventType":"com.okta.event_hook","eventTypeVersion":"1.0","data":{"events":[]}}`), http.StatusNoContent},
	}
	for _, c := range cases {
		code, body := f.do(t, http.MethodPost, "s3cret-current", c.body, nil)
		if code != c.want {
			t.Errorf("%s: %d %s, want %d", c.name, code, body, c.want)
		}
		if c.want == http.StatusBadRequest && !strings.Contains(body, "error") {
			t.Errorf("%s: no reason in %s", c.name, body)
		}
	}
	if code, _ := f.do(t, http.MethodPut, "s3cret-current", nil, nil); code != http.StatusMethodNotAllowed {
		t.Errorf("PUT: %d, want 405", code)
	}
}

func TestDeliveryOf50EventsIsQueuedOnceInPersonOrder(t *testing.T) {
	f := newFixture(t)
	body := delivery(t, 50, 8)
	if code, b := f.do(t, http.MethodPost, "s3cret-current", body, nil); code != http.StatusOK {
		t.Fatalf("delivery: %d %s", code, b)
	}
	// Okta redelivers the same delivery: FIFO dedup absorbs it, the ledger
	// keeps one received row per event.
	if code, b := f.do(t, http.MethodPost, "s3cret-current", body, nil); code != http.StatusOK {
		t.Fatalf("redelivery: %d %s", code, b)
	}
	want := map[string][]string{}
	for i := range 50 {
		k := fmt.Sprintf("00uperson%011d", i%8)
		want[k] = append(want[k], fmt.Sprintf("5e1a0000-0000-4000-8000-%012d", i))
	}
	for _, q := range f.queues {
		got := queued(t, f.sqs, q.URL)
		if count(got) != 50 || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("queue %s: %d messages\n got %v\nwant %v", q.URL, count(got), got, want)
		}
	}
	page, err := f.st.Audit(testenv.Context(t), store.AuditQuery{
		From: time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC),
		Outcomes: []domain.Outcome{domain.OutcomeReceived}, PageSize: 500,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Entries) != 50 {
		t.Fatalf("ledger has %d received rows, want 50", len(page.Entries))
	}
}

func TestQueueOutageAnswers5xxAndTheRetryQueuesEverything(t *testing.T) {
	f := newFixture(t)
	body := delivery(t, 12, 4)
	f.pub.setDown(true)
	if code, _ := f.do(t, http.MethodPost, "s3cret-current", body, nil); code < 500 {
		t.Fatalf("outage: %d, want 5xx so Okta retries", code)
	}
	f.pub.setDown(false)
	if code, b := f.do(t, http.MethodPost, "s3cret-current", body, nil); code != http.StatusOK {
		t.Fatalf("retry after recovery: %d %s", code, b)
	}
	for _, q := range f.queues {
		if n := count(queued(t, f.sqs, q.URL)); n != 12 {
			t.Fatalf("queue %s holds %d, want 12", q.URL, n)
		}
	}
}

// A delivery over 1 MiB (a large batch) is read and queued, not refused:
// Okta never retries a 413, so the batch would be lost until the next
// snapshot.
func TestLargeDeliveryIsAccepted(t *testing.T) {
	f := newFixture(t)
	var env map[string]any
	if err := json.Unmarshal(delivery(t, 1, 1), &env); err != nil {
		t.Fatal(err)
	}
	data := env["data"].(map[string]any)
	evs := data["events"].([]any)
	pad := strings.Repeat("p", 1000)
	for i := 0; i < 2200; i++ { // events idsync does not handle, about 1 KiB each
		evs = append(evs, map[string]any{"uuid": fmt.Sprintf("6e1a0000-0000-4000-8000-%012d", i), "eventType": "user.session.start",
			"published": "2026-11-21T11:00:00.000Z", "displayMessage": pad})
	}
	data["events"] = evs
	body, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	if len(body) <= oktahook.LargeBody || len(body) > oktahook.DefaultMaxBody {
		t.Fatalf("body of %d bytes is not a large delivery", len(body))
	}
	code, answer := f.do(t, http.MethodPost, "s3cret-current", body, nil)
	if code != http.StatusOK || !strings.Contains(answer, `"queued":1`) {
		t.Fatalf("large delivery: %d %s, want 200 with the one mapped event queued", code, answer)
	}
	for _, q := range f.queues {
		if n := count(queued(t, f.sqs, q.URL)); n != 1 {
			t.Errorf("queue %s holds %d messages, want 1", q.URL, n)
		}
	}
	if !strings.Contains(f.metrics.String(), `"LargeDeliveries":1`) {
		t.Errorf("metrics %s do not count one large delivery", f.metrics.String())
	}
	if !strings.Contains(f.logs.String(), `"msg":"large hook delivery"`) || !strings.Contains(f.logs.String(), fmt.Sprintf(`"bytes":%d`, len(body))) {
		t.Errorf("no warning with the delivery's size in the log:\n%s", f.logs.String())
	}
}
