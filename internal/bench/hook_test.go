package bench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/settings"
)

// oktaGroup is the group of Okta's documented sample delivery
// (domain/testdata/okta/group_membership_add.json).
const oktaGroup = "00g3vcxkvkIPY52jL4x7"

func hookBenchConfig(b *testing.B) domain.Config {
	b.Helper()
	cfg, err := domain.ParseConfig([]byte(`{"snapshot":{"identityStoreId":"d-1234567890"},"workmail":{"organizationId":"m-0123456789abcdef0123456789abcdef","mailDomain":"example.com",
	  "groups":[{"oktaId":"` + oktaGroup + `","name":"Mail"}]},
	  "connect":{"instanceId":"4f1d0a3e-7b2c-4c9e-9a51-2f1e8d6c0b7a","groups":[{"oktaId":"` + oktaGroup + `","idcId":"a1b2c3d4-0000-4000-8000-000000000001","name":"Agents",
	  "securityProfileIds":["9a0b7c2e-1f3d-4e5a-8b6c-7d8e9f0a1b2c"],"routingProfileId":"0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e","priority":1}]}}`))
	if err != nil {
		b.Fatal(err)
	}
	return cfg
}

// deliveries makes Okta event-hook deliveries of n membership-add events
// from the documented sample, each delivery's events new facts (their own
// uuids) about their own people.
type deliveries struct {
	env  map[string]any
	tmpl []byte
	n    int
	seq  atomic.Int64
}

func newDeliveries(b *testing.B, n int) *deliveries {
	b.Helper()
	raw, err := os.ReadFile("../../domain/testdata/okta/group_membership_add.json")
	if err != nil {
		b.Fatal(err)
	}
	d := &deliveries{n: n}
	if err := json.Unmarshal(raw, &d.env); err != nil {
		b.Fatal(err)
	}
	if d.tmpl, err = json.Marshal(d.env["data"].(map[string]any)["events"].([]any)[0]); err != nil {
		b.Fatal(err)
	}
	return d
}

func (d *deliveries) next() []byte {
	k := d.seq.Add(1)
	var evs []any
	for i := range d.n {
		var e map[string]any
		_ = json.Unmarshal(d.tmpl, &e)
		e["uuid"] = fmt.Sprintf("5e1a%04x-0000-4000-8000-%012d", i, k)
		e["published"] = time.Now().UTC().Format(time.RFC3339Nano)
		user := e["target"].([]any)[0].(map[string]any)
		user["id"] = fmt.Sprintf("00ub%08d%04d", k, i)
		user["alternateId"] = fmt.Sprintf("p%d-%d@example.com", k, i)
		evs = append(evs, e)
	}
	env := map[string]any{}
	for k, v := range d.env {
		env[k] = v
	}
	data := map[string]any{"events": evs}
	env["data"] = data
	out, _ := json.Marshal(env)
	return out
}

// step is one open-loop load step's outcome.
type step struct {
	rate      float64
	sent      int
	p99       time.Duration
	failures  int // 5xx answers and transport errors
	completed float64
}

// openLoop sends deliveries at rate per second for d, each on its own
// goroutine whatever the answers (open loop), and waits for the answers.
func openLoop(url string, client *http.Client, ds *deliveries, rate float64, d time.Duration) step {
	var (
		mu   sync.Mutex
		lats []time.Duration
		fail int
		wg   sync.WaitGroup
	)
	interval := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	n := int(rate * d.Seconds())
	bodies := make([][]byte, n)
	for i := range bodies {
		bodies[i] = ds.next()
	}
	for i := range n {
		if wait := time.Until(start.Add(time.Duration(i) * interval)); wait > 0 {
			time.Sleep(wait)
		}
		wg.Go(func() {
			t0 := time.Now()
			req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(bodies[i]))
			req.Header.Set(settings.DefaultAuthHeader, "bench-secret")
			resp, err := client.Do(req)
			lat := time.Since(t0)
			bad := err != nil
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				bad = resp.StatusCode >= 500
			}
			mu.Lock()
			lats = append(lats, lat)
			if bad {
				fail++
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.Sort(lats)
	return step{rate: rate, sent: n, p99: lats[min(len(lats)-1, len(lats)*99/100)], failures: fail,
		completed: float64(n) / time.Since(start).Seconds()}
}

// rawLimit is the rate of deliveries the engines take when the hook's own
// calls for one delivery (record its events as received, queue them to
// both targets' queues) are made directly, by workers in a closed loop.
func rawLimit(b *testing.B, dep deployment, ds *deliveries, workers int, d time.Duration) float64 {
	b.Helper()
	a := dep.app(b, settings.Hook)
	pub, err := a.Publisher()
	if err != nil {
		b.Fatal(err)
	}
	cfg := dep.settings.Config
	var done atomic.Int64
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				norm, err := domain.NormaliseOktaHook(ds.next(), cfg.GroupMapped, time.Now())
				if err != nil {
					b.Error(err)
					return
				}
				for _, err := range a.Store.RecordReceivedAll(ctx, norm.Events) {
					if err != nil && ctx.Err() == nil {
						b.Error(err)
						return
					}
				}
				if err := pub.Publish(ctx, norm.Events); err != nil {
					if ctx.Err() == nil {
						b.Error(err)
					}
					return
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	return float64(done.Load()) / time.Since(start).Seconds()
}

// BenchmarkHook: the hook as make run serves it (built by internal/app,
// over HTTP, against the local engines) under open-loop load of
// deliveries of 1 and of 20 events at rising rates (×1.25 from 2/s,
// 3 s each); held-rate is the highest rate answered with a p99 under
// 250 ms and no 5xx. raw-rate is what the same engines reach, in the same
// run, for the hook's own DynamoDB and SQS calls made directly (32
// workers, closed loop); ratio = held-rate ÷ raw-rate (target ≥ 0.8).
// over-p99-ms is the p99 at twice the held rate, where the hook sheds
// load (503 at once) rather than answering late.
func BenchmarkHook(b *testing.B) {
	dep := deploy(b, hookBenchConfig(b), settings.Endpoints{})
	h, err := dep.app(b, settings.Hook).Hook()
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(h)
	b.Cleanup(srv.Close)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1024, MaxIdleConns: 1024}}
	for _, n := range []int{1, 20} {
		b.Run(fmt.Sprintf("events=%d", n), func(b *testing.B) {
			ds := newDeliveries(b, n)
			for b.Loop() {
				raw := rawLimit(b, dep, ds, 32, 3*time.Second)
				held := step{}
				var last step
				for rate := 2.0; rate < 4*raw+20; rate *= 1.25 {
					last = openLoop(srv.URL, client, ds, rate, 3*time.Second)
					b.Logf("%d events: %.0f/s sent %d, p99 %v, %d failed", n, rate, last.sent, last.p99, last.failures)
					if last.p99 >= 250*time.Millisecond || last.failures > 0 {
						break
					}
					held = last
				}
				over := openLoop(srv.URL, client, ds, 2*max(held.rate, 10), 3*time.Second)
				b.ReportMetric(held.rate, "held-deliveries/s")
				b.ReportMetric(raw, "raw-deliveries/s")
				b.ReportMetric(held.rate/raw, "ratio")
				b.ReportMetric(float64(held.p99.Microseconds())/1000, "held-p99-ms")
				b.ReportMetric(float64(over.p99.Microseconds())/1000, "over-p99-ms")
				b.ReportMetric(float64(over.failures)/float64(over.sent), "over-5xx-share")
			}
		})
	}
}
