package bench_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/app"
	"github.com/idsync/idsync/internal/lambdart"
	"github.com/idsync/idsync/internal/settings"
	"github.com/idsync/idsync/internal/sim/simkit"
	"github.com/idsync/idsync/internal/testenv"
	"github.com/idsync/idsync/store"
)

// identityStoreChild runs the Identity Store stand-in in a process of its
// own (this test binary re-executed) and returns what it seeded.
func identityStoreChild(b *testing.B, users, members int) directory {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=identitystore", fmt.Sprintf("USERS=%d", users), fmt.Sprintf("MEMBERS=%d", members))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = stdin.Close(); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatalf("identity store child: %v", err)
	}
	var d directory
	if err := json.Unmarshal([]byte(line), &d); err != nil {
		b.Fatalf("identity store child said %q: %v", line, err)
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	return d
}

func (d directory) post(b *testing.B, path string) {
	b.Helper()
	resp, err := http.Post(d.URL+path, "", nil)
	if err != nil {
		b.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("POST %s: %s", path, resp.Status)
	}
}

func (d directory) requests(b *testing.B) (calls, throttled int64) {
	b.Helper()
	resp, err := http.Get(d.URL + "/_bench/counters")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var byOp map[string]simkit.Counter
	if err := json.NewDecoder(resp.Body).Decode(&byOp); err != nil {
		b.Fatal(err)
	}
	for _, c := range byOp {
		calls += c.Requests
		throttled += c.Throttled
	}
	return calls, throttled
}

// buildLambda builds cmd/<name> for this machine as a Lambda bootstrap.
func buildLambda(b *testing.B, name string) string {
	b.Helper()
	out := filepath.Join(b.TempDir(), name, "bootstrap")
	cmd := exec.Command("go", "build", "-trimpath", "-tags", "lambda.norpc", "-o", out, "./cmd/"+name)
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("build cmd/%s: %v\n%s", name, err, msg)
	}
	return out
}

// deployment is the local engines' tables and queues for a configuration,
// and the settings every component is built from.
type deployment struct {
	settings   settings.Settings
	configFile string
}

func deploy(b *testing.B, cfg domain.Config, endpoints settings.Endpoints) deployment {
	b.Helper()
	env := testenv.Get(b)
	db := env.DynamoDB(b)
	sq := env.SQS(b)
	s := settings.Settings{
		Config: cfg, HasConfig: true, Local: true, Region: "us-east-1", Endpoints: endpoints,
		StateTable:  env.CreateTable(b, db, store.StateTableSpec().CreateTableInput("state")),
		LedgerTable: env.CreateTable(b, db, store.LedgerTableSpec().CreateTableInput("ledger")),
		Queues:      map[domain.Target]settings.Queue{}, Rates: map[domain.Target]float64{},
		Hook: settings.HookSecret{Value: "bench-secret", Header: settings.DefaultAuthHeader, TTL: time.Hour},
	}
	s.Endpoints.DynamoDB, s.Endpoints.SQS = os.Getenv(settings.EnvDynamoDBEndpoint), os.Getenv(settings.EnvSQSEndpoint)
	for _, t := range settings.Targets(cfg) {
		dlq := env.CreateFIFOQueue(b, sq, "dlq-"+string(t), 1000, time.Minute)
		q := env.CreateFIFOQueue(b, sq, string(t), 5, 3*time.Minute)
		s.Queues[t] = settings.Queue{URL: q.URL, DLQURL: dlq.URL}
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		b.Fatal(err)
	}
	file := filepath.Join(b.TempDir(), "config.json")
	if err := os.WriteFile(file, raw, 0o600); err != nil {
		b.Fatal(err)
	}
	return deployment{settings: s, configFile: file}
}

func (d deployment) environ() []string {
	var out []string
	for _, kv := range d.settings.Environ(d.configFile) {
		out = append(out, kv[0]+"="+kv[1])
	}
	return out
}

func (d deployment) app(b *testing.B, c settings.Component) *app.App {
	b.Helper()
	a, err := app.New(context.Background(), app.Options{Settings: d.settings, Component: c, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	return a
}

// mailConfig maps the stand-in's group to WorkMail (the snapshot's
// reconciliation plans WorkMail from the configuration alone).
func mailConfig(b *testing.B, d directory) domain.Config {
	b.Helper()
	raw := fmt.Sprintf(`{"snapshot":{"identityStoreId":%q,"removalCap":{"max":5000,"maxPercent":20}},
	  "workmail":{"organizationId":"m-0123456789abcdef0123456789abcdef","mailDomain":"example.com",
	  "groups":[{"oktaId":"00g1mailusers00001","idcId":%q,"name":"Mail users"}]}}`, d.StoreID, d.GroupID)
	cfg, err := domain.ParseConfig([]byte(raw))
	if err != nil {
		b.Fatal(err)
	}
	return cfg
}

// vmHWM reads a process's peak resident set size in bytes.
func vmHWM(b *testing.B, pid int) int64 {
	b.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb << 10
		}
	}
	b.Fatal("no VmHWM")
	return 0
}

// runSummary is the snapshot binary's run log line.
type runSummary struct {
	Msg      string `json:"msg"`
	Events   int    `json:"events"`
	Members  int    `json:"members"`
	Users    int    `json:"users"`
	APICalls int64  `json:"apiCalls"`
	Complete bool   `json:"complete"`
	Changes  int    `json:"changes"`
	Joiners  int    `json:"joiners"`
	Leavers  int    `json:"leavers"`
	// Continued: the invocation stopped with the run unfinished.
	Continued   bool `json:"continued"`
	Invocations int  `json:"invocations"`
}

func lastRun(b *testing.B, stdout string) runSummary {
	b.Helper()
	var got runSummary
	for _, line := range strings.Split(stdout, "\n") {
		var s runSummary
		if json.Unmarshal([]byte(line), &s) == nil && s.Msg == "snapshot run" {
			got = s
		}
	}
	if got.Msg == "" {
		b.Fatalf("no run line in the snapshot's output:\n%s", stdout)
	}
	return got
}

// snapshotInvocation runs the snapshot binary once, as a fresh process
// (a cold start) with 256 MB of function memory, and returns its peak RSS,
// the invocation's wall time and its run line.
func snapshotInvocation(b *testing.B, bin string, dep deployment) (int64, time.Duration, runSummary) {
	b.Helper()
	srv := lambdart.New(lambdart.WithFunction("idcsnapshot", "us-east-1"))
	defer srv.Close()
	proc, err := srv.RunBinary(context.Background(), bin, append(dep.environ(), "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256"))
	if err != nil {
		b.Fatal(err)
	}
	defer proc.Close()
	start := time.Now()
	res, err := srv.Invoke(context.Background(), []byte(`{"version":"0","detail-type":"Scheduled Event","source":"aws.events","detail":{}}`), 15*time.Minute)
	wall := time.Since(start)
	if err == nil && res.Error != nil {
		err = res.Error
	}
	if err != nil {
		b.Fatalf("invocation: %v\n%s", err, proc.Stderr())
	}
	return vmHWM(b, proc.Pid()), wall, lastRun(b, proc.Stdout())
}

// BenchmarkSnapshot: the snapshot binary (cmd/idcsnapshot, built for this
// machine) as its own process under a Lambda Runtime API server, with
// 256 MB of function memory, against the Identity Store stand-in in
// another process holding 100,000 users, 50,000 of them in the mapped
// group, at the service's quota of 20 requests/s. A first run finds
// everyone (50,000 joiners, each event recorded, queued and marked); then
// 1% of the users change (500 profile changes, 250 joiners, 250 leavers)
// and the measured run diffs all 50,000 members against the store, where
// every member's first event is still in flight (the consumers have not
// caught up: the marks hold them back) and queues the changes. It reports
// the measured run's peak RSS (VmHWM) and the first run's, the Identity
// Store requests against the minimum pages (membership pages + ListUsers
// pages) and the wall time of the invocation.
func BenchmarkSnapshot(b *testing.B) {
	const users, members = 100000, 50000
	d := identityStoreChild(b, users, members)
	dep := deploy(b, mailConfig(b, d), settings.Endpoints{IdentityStore: d.URL})
	bin := buildLambda(b, "idcsnapshot")
	d.post(b, "/_bench/quota?rate=0")
	firstRSS, firstWall, first := snapshotInvocation(b, bin, dep)
	b.Logf("first run: %v, peak RSS %d MiB, %+v", firstWall, firstRSS>>20, first)
	for i := 0; b.Loop(); i++ {
		d.post(b, fmt.Sprintf("/_bench/change?round=%d", i+1))
		d.post(b, "/_bench/quota?rate=20")
		d.post(b, "/_bench/reset")
		rss, wall, run := snapshotInvocation(b, bin, dep)
		calls, throttled := d.requests(b)
		minimum := int64((members+99)/100 + (users+99)/100)
		b.ReportMetric(float64(rss)/(1<<20), "peak-RSS-MiB")
		b.ReportMetric(float64(firstRSS)/(1<<20), "first-run-peak-RSS-MiB")
		b.ReportMetric(float64(calls), "requests")
		b.ReportMetric(float64(minimum), "min-requests")
		b.ReportMetric(float64(calls)/float64(minimum), "requests/min")
		b.ReportMetric(float64(throttled), "throttled")
		b.ReportMetric(wall.Seconds(), "wall-s")
		b.ReportMetric(float64(minimum)/20, "quota-min-s")
		b.ReportMetric(float64(run.Events), "events")
		b.Logf("measured run: %+v", run)
	}
}

// BenchmarkSnapshot1MResumable: a first run over a directory of 1,000,000
// users, 50,000 of them in the mapped group, with the Identity Store quota
// and the Lambda time limit both scaled by IDSYNC_BENCH_1M_SCALE (default
// 10: 200 requests/s and 90 s invocations instead of 20/s and 15 minutes),
// the stand-in in its own process. The snapshot binary is
// invoked (one warm process, as Lambda reuses it) until the run no longer
// continues. It reports the invocations, the requests against the minimum
// pages, the wall time, the events and the process's peak RSS.
func BenchmarkSnapshot1MResumable(b *testing.B) {
	const users, members = 1000000, 50000
	scale := 10.0
	if f, err := strconv.ParseFloat(os.Getenv("IDSYNC_BENCH_1M_SCALE"), 64); err == nil && f > 0 {
		scale = f
	}
	d := identityStoreChild(b, users, members)
	dep := deploy(b, mailConfig(b, d), settings.Endpoints{IdentityStore: d.URL})
	bin := buildLambda(b, "idcsnapshot")
	limit := time.Duration(float64(15*time.Minute) / scale)
	for b.Loop() {
		d.post(b, fmt.Sprintf("/_bench/quota?rate=%g", 20*scale))
		d.post(b, "/_bench/reset")
		srv := lambdart.New(lambdart.WithFunction("idcsnapshot", "us-east-1"))
		proc, err := srv.RunBinary(context.Background(), bin, append(dep.environ(), "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=1024",
			fmt.Sprintf("IDC_RATE=%g", 20*scale)))
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		var run runSummary
		for inv := 1; ; inv++ {
			if inv > 200 {
				b.Fatal("run not finished after 200 invocations")
			}
			res, err := srv.Invoke(context.Background(), []byte(`{"version":"0","detail-type":"Scheduled Event","source":"aws.events","detail":{}}`), limit)
			if err == nil && res.Error != nil {
				err = res.Error
			}
			if err != nil {
				b.Fatalf("invocation %d: %v\n%s", inv, err, proc.Stderr())
			}
			run = lastRun(b, proc.Stdout())
			if !run.Continued {
				break
			}
		}
		wall := time.Since(start)
		rss := vmHWM(b, proc.Pid())
		_ = proc.Close()
		_ = srv.Close()
		calls, throttled := d.requests(b)
		minimum := int64((members+99)/100 + (users+99)/100)
		b.ReportMetric(float64(run.Invocations), "invocations")
		b.ReportMetric(limit.Seconds(), "invocation-limit-s")
		b.ReportMetric(float64(calls), "requests")
		b.ReportMetric(float64(minimum), "min-requests")
		b.ReportMetric(float64(calls)/float64(minimum), "requests/min")
		b.ReportMetric(float64(throttled), "throttled")
		b.ReportMetric(wall.Seconds(), "wall-s")
		b.ReportMetric(float64(minimum)/(20*scale), "quota-min-s")
		b.ReportMetric(float64(run.Events), "events")
		b.ReportMetric(float64(rss)/(1<<20), "peak-RSS-MiB")
		b.ReportMetric(scale, "scale")
		b.Logf("last run line: %+v", run)
	}
}
