package bintest_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/lambdart"
	"github.com/idsync/idsync/internal/settings"
	"github.com/idsync/idsync/internal/sim/simconnect"
	"github.com/idsync/idsync/internal/sim/simidentitystore"
	"github.com/idsync/idsync/internal/sim/simworkmail"
	"github.com/idsync/idsync/internal/testenv"
	"github.com/idsync/idsync/store"
)

const (
	module = "github.com/idsync/idsync"

	hookSecret = "okta-hook-secret-for-tests"
	hookParam  = "/idsync/test/okta-hook-secret"

	// The group and user of domain/testdata/okta/group_membership_add.json.
	mappedOktaGroup = "00g3vcxkvkIPY52jL4x7"
	hookUser        = "00ufh433fil4JtjEw4x7"

	// Placeholders in testdata/config.json, replaced by the stand-in's ids.
	placeholderStore           = "d-0000000000"
	placeholderGroup           = "00000000-0000-4000-8000-000000000000"
	placeholderOrg             = "m-0123456789abcdef0123456789abcdef"
	placeholderInstance        = "4f1c2e3d-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
	placeholderSecurityProfile = "7b1e2d3c-0000-4000-8000-00000000a9e1"
	placeholderRoutingProfile  = "3c2b1a09-0000-4000-8000-0000000b0a51"
)

// ssmFake answers SSM GetParameter (awsJson1_1) from a fixed map and
// records the calls.
type ssmFake struct {
	params map[string]string

	mu    sync.Mutex
	calls []ssmCall
}

type ssmCall struct {
	Name           string
	WithDecryption bool
}

func (f *ssmFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fail := func(status int, typ, msg string) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
	}
	if r.Method != http.MethodPost || r.Header.Get("X-Amz-Target") != "AmazonSSM.GetParameter" {
		fail(http.StatusBadRequest, "UnknownOperationException", "only GetParameter is served")
		return
	}
	var in struct {
		Name           string
		WithDecryption *bool
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		fail(http.StatusBadRequest, "SerializationException", err.Error())
		return
	}
	f.mu.Lock()
	f.calls = append(f.calls, ssmCall{Name: in.Name, WithDecryption: in.WithDecryption != nil && *in.WithDecryption})
	f.mu.Unlock()
	v, ok := f.params[in.Name]
	if !ok {
		fail(http.StatusBadRequest, "ParameterNotFound", "")
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(map[string]any{"Parameter": map[string]any{
		"ARN": "arn:aws:ssm:us-east-1:123456789012:parameter" + in.Name, "DataType": "text",
		"LastModifiedDate": 1715677924.118, "Name": in.Name, "Type": "SecureString", "Value": v, "Version": 1,
	}})
}

func (f *ssmFake) recorded() []ssmCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// fixture is everything one binary runs against: its own tables and queue
// on DynamoDB Local and fauxqs, the SSM fake and the IdentityStore, WorkMail
// and Connect stand-ins (each behind a loopback HTTP server), and the
// configuration document naming the stand-ins' ids.
type fixture struct {
	env           *testenv.Env
	sqs           *sqs.Client
	queue         testenv.Queue
	state, ledger string
	config        string

	ssm    *ssmFake
	ssmURL string

	idc     *simidentitystore.Server
	idcURL  string
	storeID string
	group   string // IdC id of the mapped group

	wm    *simworkmail.Server
	wmURL string
	wmOrg string

	cc                *simconnect.Server
	ccURL             string
	ccInstance        string
	ccSecurityProfile string
	ccRoutingProfile  string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{env: testenv.Get(t), ssm: &ssmFake{params: map[string]string{hookParam: hookSecret}}}
	db := f.env.DynamoDB(t)
	f.state = f.env.CreateTable(t, db, store.StateTableSpec().CreateTableInput("state"))
	f.ledger = f.env.CreateTable(t, db, store.LedgerTableSpec().CreateTableInput("ledger"))
	f.sqs = f.env.SQS(t)
	f.queue = f.env.CreateFIFOQueue(t, f.sqs, "bin", 3, 30*time.Second)

	ssmSrv := httptest.NewServer(f.ssm)
	t.Cleanup(ssmSrv.Close)
	f.ssmURL = ssmSrv.URL

	f.idc = simidentitystore.New(simidentitystore.Options{Seed: 1})
	idcSrv := httptest.NewServer(f.idc)
	t.Cleanup(idcSrv.Close)
	f.idcURL = idcSrv.URL
	f.storeID = f.idc.AddIdentityStore()
	var err error
	if f.group, err = f.idc.SeedGroup(f.storeID, simidentitystore.Group{DisplayName: "Support Agents"}); err != nil {
		t.Fatal(err)
	}

	f.wm = simworkmail.New(simworkmail.Options{Seed: 1, NoQuota: true})
	wmSrv := httptest.NewServer(f.wm)
	t.Cleanup(wmSrv.Close)
	f.wmURL = wmSrv.URL
	f.wmOrg = f.wm.AddOrganization("example", "example.com")

	f.cc = simconnect.New(simconnect.Options{Seed: 1, NoQuota: true})
	ccSrv := httptest.NewServer(f.cc)
	t.Cleanup(ccSrv.Close)
	f.ccURL = ccSrv.URL
	f.ccInstance = f.cc.AddInstance("idsync-test", simconnect.IdentitySAML)
	f.ccSecurityProfile = f.cc.AddSecurityProfile(f.ccInstance, "Agent")
	f.ccRoutingProfile = f.cc.AddRoutingProfile(f.ccInstance, "Support")

	raw := readFile(t, "testdata/config.json")
	f.config = strings.NewReplacer(placeholderStore, f.storeID, placeholderGroup, f.group, placeholderOrg, f.wmOrg,
		placeholderInstance, f.ccInstance, placeholderSecurityProfile, f.ccSecurityProfile, placeholderRoutingProfile, f.ccRoutingProfile,
	).Replace(string(raw))
	if _, err := domain.ParseConfig([]byte(f.config)); err != nil {
		t.Fatalf("testdata/config.json: %v", err)
	}
	return f
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// receiveAll receives and deletes every message on a queue and returns
// their bodies.
func (f *fixture) receiveAll(t *testing.T, url string) []string {
	t.Helper()
	ctx := testenv.Context(t)
	var bodies []string
	for {
		out, err := f.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
		})
		if err != nil {
			t.Fatalf("receive: %v", err)
		}
		if len(out.Messages) == 0 {
			return bodies
		}
		for _, m := range out.Messages {
			bodies = append(bodies, aws.ToString(m.Body))
			if _, err := f.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatalf("delete: %v", err)
			}
		}
	}
}

// drain receives, deletes and decodes every message on the fixture's queue.
func (f *fixture) drain(t *testing.T) []domain.Event {
	t.Helper()
	var got []domain.Event
	for _, b := range f.receiveAll(t, f.queue.URL) {
		e, err := domain.DecodeEvent([]byte(b))
		if err != nil {
			t.Errorf("queued message: %v", err)
		}
		got = append(got, e)
	}
	return got
}

// functionURL returns a Function URL event from testdata with the given
// headers added and body.
func functionURL(t *testing.T, file string, headers map[string]string, body string) []byte {
	t.Helper()
	var req events.LambdaFunctionURLRequest
	if err := json.Unmarshal(readFile(t, file), &req); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	for k, v := range headers {
		req.Headers[k] = v
	}
	req.Body = body
	b, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// streamed checks a Function URL streamed answer's status and JSON body.
func streamed(t *testing.T, res lambdart.Result, status int, body string) {
	t.Helper()
	if res.Error != nil {
		t.Fatalf("function error: %v", res.Error)
	}
	if res.Streamed == nil {
		t.Fatalf("want a streamed answer, got %s %q", res.ContentType, res.Body)
	}
	if res.Streamed.Status != status {
		t.Errorf("status %d, want %d (body %s)", res.Streamed.Status, status, res.Streamed.Body)
	}
	if ct := res.Streamed.Headers["Content-Type"]; ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	var got, want any
	if err := json.Unmarshal(res.Streamed.Body, &got); err != nil {
		t.Fatalf("body %q: %v", res.Streamed.Body, err)
	}
	if err := json.Unmarshal([]byte(body), &want); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}
}

// record is one SQS message of a consumer's batch.
type record struct {
	id, group, body string
}

// sqsEvent returns an SQS event source batch (testdata/sqs_record.json as
// the template of each record).
func sqsEvent(t *testing.T, records ...record) []byte {
	t.Helper()
	var ev events.SQSEvent
	for _, r := range records {
		var m events.SQSMessage
		if err := json.Unmarshal(readFile(t, "testdata/sqs_record.json"), &m); err != nil {
			t.Fatal(err)
		}
		m.MessageId, m.Body = r.id, r.body
		m.Attributes["MessageGroupId"] = r.group
		ev.Records = append(ev.Records, m)
	}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// batchFailures decodes a partial batch response and returns the failed
// message ids.
func batchFailures(t *testing.T, res lambdart.Result) []string {
	t.Helper()
	if res.Error != nil {
		t.Fatalf("function error: %v", res.Error)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(res.Body, &raw); err != nil {
		t.Fatalf("answer %q: %v", res.Body, err)
	}
	if _, ok := raw["batchItemFailures"]; !ok {
		t.Fatalf("answer %s has no batchItemFailures", res.Body)
	}
	var resp events.SQSEventResponse
	if err := json.Unmarshal(res.Body, &resp); err != nil {
		t.Fatalf("answer %q: %v", res.Body, err)
	}
	ids := []string{}
	for _, f := range resp.BatchItemFailures {
		ids = append(ids, f.ItemIdentifier)
	}
	return ids
}

// call is one invocation of a running binary and what it must answer.
type call struct {
	name    string
	timeout time.Duration // the function's timeout; default 30 s
	payload func(t *testing.T, f *fixture) []byte
	check   func(t *testing.T, f *fixture, res lambdart.Result)
}

// binary is one Lambda main: its package, its environment (besides the
// Lambda runtime's own), and the invocations it is given, in order, in one
// process.
type binary struct {
	name  string // the function, for the subtest
	pkg   string
	env   func(f *fixture) []string
	calls []call
	after func(t *testing.T, f *fixture) // checks once every call is made
}

// common is the environment every function gets: local credentials, the
// engines, the configuration, the tables and (both targets sharing the
// fixture's one queue, where FIFO deduplication keeps one copy) the queues.
func (f *fixture) common() []string {
	env := []string{
		settings.EnvLocal + "=true", settings.EnvDynamoDBEndpoint + "=" + f.env.DynamoDBEndpoint,
		settings.EnvSQSEndpoint + "=" + f.env.SQSEndpoint, settings.EnvConfig + "=" + f.config,
		settings.EnvStateTable + "=" + f.state, settings.EnvLedgerTable + "=" + f.ledger,
	}
	for _, t := range settings.KnownTargets() {
		env = append(env, settings.QueueURLVar(t)+"="+f.queue.URL, settings.DLQURLVar(t)+"="+f.queue.DLQURL)
	}
	return env
}

func binaries() []binary {
	return []binary{
		{
			name: "oktahook", pkg: "cmd/oktahook",
			env: func(f *fixture) []string {
				return append([]string{
					settings.EnvSSMEndpoint + "=" + f.ssmURL, settings.EnvHookSecretParameter + "=" + hookParam,
				}, f.common()...)
			},
			calls: []call{
				{
					name: "verification",
					payload: func(t *testing.T, _ *fixture) []byte {
						return functionURL(t, "testdata/functionurl_get.json",
							map[string]string{"x-okta-verification-challenge": "abc", "authorization": hookSecret}, "")
					},
					check: func(t *testing.T, _ *fixture, res lambdart.Result) {
						streamed(t, res, http.StatusOK, `{"verification":"abc"}`)
					},
				},
				{
					name: "delivery with a wrong secret",
					payload: func(t *testing.T, _ *fixture) []byte {
						return functionURL(t, "testdata/functionurl_post.json", map[string]string{"authorization": "guess"},
							string(readFile(t, "../../../domain/testdata/okta/group_membership_add.json")))
					},
					check: func(t *testing.T, _ *fixture, res lambdart.Result) {
						streamed(t, res, http.StatusUnauthorized, `{"error":"unauthorized"}`)
					},
				},
				{
					name: "delivery",
					payload: func(t *testing.T, _ *fixture) []byte {
						return functionURL(t, "testdata/functionurl_post.json", map[string]string{"authorization": hookSecret},
							string(readFile(t, "../../../domain/testdata/okta/group_membership_add.json")))
					},
					check: func(t *testing.T, f *fixture, res lambdart.Result) {
						streamed(t, res, http.StatusOK, `{"queued":1,"ignored":0,"held":0}`)
						got := f.drain(t)
						if len(got) != 1 {
							t.Fatalf("queued %d events, want 1: %+v", len(got), got)
						}
						e := got[0]
						if e.Kind != domain.KindMemberAdded || e.Source != domain.SourceOktaHook || e.Subject.OktaID != hookUser ||
							e.Group == nil || e.Group.OktaID != mappedOktaGroup {
							t.Errorf("queued %+v (group %+v)", e, e.Group)
						}
					},
				},
			},
			after: func(t *testing.T, f *fixture) {
				// The secret is read once and cached across invocations of one process.
				want := []ssmCall{{Name: hookParam, WithDecryption: true}}
				if diff := cmp.Diff(want, f.ssm.recorded()); diff != "" {
					t.Errorf("SSM calls (-want +got):\n%s", diff)
				}
			},
		},
		{
			name: "idcsnapshot", pkg: "cmd/idcsnapshot",
			env: func(f *fixture) []string {
				return append([]string{settings.EnvIdentityStoreEndpoint + "=" + f.idcURL}, f.common()...)
			},
			calls: []call{
				{
					name: "scheduled run",
					payload: func(t *testing.T, f *fixture) []byte {
						uid, err := f.idc.SeedUser(f.storeID, simidentitystore.User{
							UserName: "ana.silva@example.com", GivenName: "Ana", FamilyName: "Silva", Email: "ana.silva@example.com",
							ExternalIDs: []simidentitystore.ExternalID{{Issuer: "https://scim.aws.com/4820611", ID: hookUser}},
						})
						if err != nil {
							t.Fatal(err)
						}
						if _, err := f.idc.SeedMembership(f.storeID, f.group, uid); err != nil {
							t.Fatal(err)
						}
						return readFile(t, "testdata/schedule.json")
					},
					// A joiner idsync does not know yet is one observed
					// event: the whole profile and the groups read.
					check: snapshotRun(domain.KindObserved),
				},
				{
					// Nothing folded the first run's event into the store,
					// but it is in flight (the run marked it emitted), so
					// the second run (same process, lease released) sends
					// nothing again.
					name: "second run",
					payload: func(t *testing.T, _ *fixture) []byte {
						return readFile(t, "testdata/schedule.json")
					},
					check: snapshotRun(),
				},
			},
		},
		consumer(domain.TargetWorkMail, func(f *fixture) string { return settings.EnvWorkMailEndpoint + "=" + f.wmURL }, (*fixture).oneMailbox),
		consumer(domain.TargetConnect, func(f *fixture) string { return settings.EnvConnectEndpoint + "=" + f.ccURL }, (*fixture).oneAgent),
	}
}

// consumer is the row of an SQS consumer: endpoint gives its target
// stand-in's endpoint variable, and applied checks the stand-in holds
// exactly what Jane's event makes (nothing before it is applied).
func consumer(target domain.Target, endpoint func(*fixture) string, applied func(*fixture, *testing.T, bool)) binary {
	noFailures := func(t *testing.T, res lambdart.Result) {
		t.Helper()
		if got := batchFailures(t, res); len(got) != 0 {
			t.Errorf("failures %v, want none", got)
		}
	}
	return binary{
		name: "consumer-" + string(target), pkg: "cmd/consumer",
		env: func(f *fixture) []string {
			return append([]string{settings.EnvTarget + "=" + string(target), endpoint(f)}, f.common()...)
		},
		calls: []call{
			{
				// Less time left than the runner keeps in reserve (10 s):
				// nothing is started and every record comes back.
				name: "too little time: every record deferred", timeout: 5 * time.Second,
				payload: consumerBatch,
				check: func(t *testing.T, f *fixture, res lambdart.Result) {
					if got, want := batchFailures(t, res), []string{"m-jane", "m-poison"}; !slices.Equal(got, want) {
						t.Errorf("failures %v, want %v", got, want)
					}
					applied(f, t, false)
				},
			},
			{
				name: "event applied, poison dead-lettered", timeout: time.Minute,
				payload: consumerBatch,
				check: func(t *testing.T, f *fixture, res lambdart.Result) {
					noFailures(t, res)
					applied(f, t, true)
					if got := f.receiveAll(t, f.queue.DLQURL); !slices.Equal(got, []string{poisonBody}) {
						t.Errorf("dead-lettered %q, want the poison message", got)
					}
				},
			},
			{
				name: "redelivery is a duplicate", timeout: time.Minute,
				payload: consumerBatch,
				check: func(t *testing.T, f *fixture, res lambdart.Result) {
					noFailures(t, res)
					applied(f, t, true)
				},
			},
		},
	}
}

const poisonBody = `{"v":1,"kind":"member-added"`

// consumerBatch is a consumer's batch: Jane observed in the WorkMail and
// the Connect group (testdata/events/jane_observed.json) and a message that is no event.
func consumerBatch(t *testing.T, _ *fixture) []byte {
	return sqsEvent(t,
		record{id: "m-jane", group: "00u1ab2cd3EF4gh5IJ6k7", body: string(readFile(t, "testdata/events/jane_observed.json"))},
		record{id: "m-poison", group: "poison", body: poisonBody})
}

// oneMailbox checks that the WorkMail stand-in holds Jane's mailbox alone,
// or nothing when !want.
func (f *fixture) oneMailbox(t *testing.T, want bool) {
	t.Helper()
	users := f.wm.Users(f.wmOrg)
	if !want && len(users) != 0 || want && (len(users) != 1 || users[0].Email != "jane.doe@example.com") {
		t.Errorf("WorkMail users %+v, want jane.doe@example.com alone: %v", users, want)
	}
}

// oneAgent checks that the Connect stand-in holds Jane as an agent with the
// group's profiles alone, or nothing when !want.
func (f *fixture) oneAgent(t *testing.T, want bool) {
	t.Helper()
	users := f.cc.Users(f.ccInstance)
	if !want {
		if len(users) != 0 {
			t.Errorf("Connect users %+v, want none", users)
		}
		return
	}
	if len(users) != 1 || users[0].Email != "jane.doe@example.com" ||
		!slices.Equal(users[0].SecurityProfileIDs, []string{f.ccSecurityProfile}) || users[0].RoutingProfileID != f.ccRoutingProfile {
		t.Errorf("Connect users %+v, want jane.doe@example.com alone with profiles %s and %s", users, f.ccSecurityProfile, f.ccRoutingProfile)
	}
}

// snapshotRun checks that a snapshot run succeeded and queued the new
// member's joining and profile for the mapped group.
// snapshotRun checks a run's answer and the kinds of the events it
// queued (sorted).
func snapshotRun(want ...domain.Kind) func(t *testing.T, f *fixture, res lambdart.Result) {
	return func(t *testing.T, f *fixture, res lambdart.Result) {
		t.Helper()
		checkSnapshotRun(t, f, res, want)
	}
}

func checkSnapshotRun(t *testing.T, f *fixture, res lambdart.Result, want []domain.Kind) {
	t.Helper()
	if res.Error != nil || string(res.Body) != "null" {
		t.Fatalf("answer %q, error %v", res.Body, res.Error)
	}
	var kinds []domain.Kind
	for _, e := range f.drain(t) {
		kinds = append(kinds, e.Kind)
		if e.Source != domain.SourceIdCSnapshot || e.Subject.OktaID != hookUser {
			t.Errorf("queued %+v", e)
		}
		if e.Kind == domain.KindObserved && !slices.ContainsFunc(e.Groups, func(g domain.GroupRef) bool {
			return g.OktaID == mappedOktaGroup && g.IdCID == f.group
		}) {
			t.Errorf("observed in groups %+v, want the mapped group", e.Groups)
		}
	}
	slices.Sort(kinds)
	if !slices.Equal(kinds, want) {
		t.Errorf("queued kinds %v, want %v", kinds, want)
	}
}

// build compiles pkg for the host as a Lambda bootstrap.
func build(t *testing.T, pkg string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "bootstrap")
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", out, module+"/"+pkg)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	return out
}

// TestBinaries builds each Lambda main once, runs it under the Runtime API
// server and gives it its invocations in order.
func TestBinaries(t *testing.T) {
	for _, b := range binaries() {
		t.Run(b.name, func(t *testing.T) {
			f := newFixture(t)
			bin := build(t, b.pkg)
			srv := lambdart.New(lambdart.WithFunction(filepath.Base(b.pkg), "us-east-1"))
			p, err := srv.RunBinary(context.Background(), bin, b.env(f))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				_ = p.Close()
				_ = srv.Close()
				if t.Failed() {
					t.Logf("%s stdout:\n%s\n%s stderr:\n%s", b.pkg, p.Stdout(), b.pkg, p.Stderr())
				}
			})
			for _, c := range b.calls {
				ok := t.Run(c.name, func(t *testing.T) {
					ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
					defer cancel()
					timeout := c.timeout
					if timeout == 0 {
						timeout = 30 * time.Second
					}
					res, err := srv.Invoke(ctx, c.payload(t, f), timeout)
					if err != nil {
						t.Fatalf("Invoke: %v", err)
					}
					c.check(t, f, res)
				})
				if !ok {
					return
				}
			}
			if b.after != nil {
				b.after(t, f)
			}
			select {
			case <-p.Done():
				t.Errorf("process exited: %v", p.ExitErr())
			default:
			}
		})
	}
}

// The rows must name every Lambda main in the repository (every command
// under cmd/ but the operator CLI), and the consumer main once per target.
func TestEveryBinaryHasARow(t *testing.T) {
	var rows []string
	for _, b := range binaries() {
		if !slices.Contains(rows, b.pkg) {
			rows = append(rows, b.pkg)
		}
	}
	var consumers []string
	for _, b := range binaries() {
		if b.pkg == "cmd/consumer" {
			consumers = append(consumers, strings.TrimPrefix(b.name, "consumer-"))
		}
	}
	var targets []string
	for _, t := range settings.KnownTargets() {
		targets = append(targets, string(t))
	}
	if !slices.Equal(consumers, targets) {
		t.Errorf("consumer rows %v, want one per target %v", consumers, targets)
	}
	var mains []string
	entries, err := os.ReadDir("../../../cmd")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() && e.Name() != "idsync" {
			mains = append(mains, "cmd/"+e.Name())
		}
	}
	slices.Sort(rows)
	slices.Sort(mains)
	if diff := cmp.Diff(mains, rows); diff != "" {
		t.Errorf("rows vs. Lambda mains (-mains +rows):\n%s", diff)
	}
}
