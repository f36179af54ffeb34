package oktahook_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/emf"
	"github.com/idsync/idsync/producers/oktahook"
)

// gatePublisher blocks every Publish until released (or its context
// ends), telling entered about each call.
type gatePublisher struct {
	entered chan struct{}
	release chan struct{}
}

func (g *gatePublisher) Publish(ctx context.Context, _ []domain.Event) error {
	g.entered <- struct{}{}
	select {
	case <-g.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TestOverloadIsShedAtOnce: with MaxInFlight deliveries being worked on,
// the next one is answered 503 with Retry-After before anything is
// recorded or queued, and counted as shed; once the first ones finish,
// deliveries are accepted again.
func TestOverloadIsShedAtOnce(t *testing.T) {
	t.Parallel()
	pub := &gatePublisher{entered: make(chan struct{}, 4), release: make(chan struct{})}
	metrics := &syncBuffer{}
	cfg := hookConfig()
	h, err := oktahook.New(oktahook.Options{
		GroupMapped: cfg.GroupMapped, Config: cfg, Secrets: staticSecrets{Current: "s3cret"},
		Ledger: nopLedger{}, Publisher: pub, People: nopPeople{}, Brake: nopBrake{}, MaxInFlight: 2,
		Metrics: emf.New(metrics, "oktahook", time.Now),
	})
	if err != nil {
		t.Fatal(err)
	}
	body := delivery(t, 1, 1)
	post := func() *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.Header.Set("Authorization", "s3cret")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	var wg sync.WaitGroup
	codes := make([]int, 2)
	for i := range 2 {
		wg.Go(func() { codes[i] = post().Code })
	}
	<-pub.entered
	<-pub.entered // both in flight, held in Publish

	shed := post()
	if shed.Code != http.StatusServiceUnavailable || shed.Header().Get("Retry-After") == "" {
		t.Errorf("third delivery while two are in flight: %d, Retry-After %q; want 503 with Retry-After", shed.Code, shed.Header().Get("Retry-After"))
	}
	if len(pub.entered) != 0 {
		t.Error("the shed delivery reached the publisher")
	}
	close(pub.release)
	wg.Wait()
	for i, c := range codes {
		if c != http.StatusOK {
			t.Errorf("in-flight delivery %d answered %d, want 200", i, c)
		}
	}
	if c := post().Code; c != http.StatusOK {
		t.Errorf("delivery after the load passed: %d, want 200", c)
	}
	if !bytes.Contains([]byte(metrics.String()), []byte(`"Shed":1`)) {
		t.Errorf("metrics do not count one shed request: %s", metrics.String())
	}
}

// TestDeadlineReachesTheQueue: a queue call that does not return is
// cancelled at the hook's deadline and the delivery answered 503, so Okta
// gets an answer it can retry instead of a timeout.
func TestDeadlineReachesTheQueue(t *testing.T) {
	t.Parallel()
	pub := &gatePublisher{entered: make(chan struct{}, 1), release: make(chan struct{})}
	cfg := hookConfig()
	var seen error
	h, err := oktahook.New(oktahook.Options{
		GroupMapped: cfg.GroupMapped, Config: cfg, Secrets: staticSecrets{Current: "s3cret"},
		Ledger: nopLedger{}, People: nopPeople{}, Brake: nopBrake{}, Deadline: 1,
		Publisher: publisherFunc(func(ctx context.Context, evs []domain.Event) error {
			seen = pub.Publish(ctx, evs)
			return seen
		}),
	})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(delivery(t, 1, 1)))
	req.Header.Set("Authorization", "s3cret")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable || !errors.Is(seen, context.DeadlineExceeded) {
		t.Errorf("answer %d, publisher saw %v; want 503 and the deadline", rec.Code, seen)
	}
}

type publisherFunc func(ctx context.Context, evs []domain.Event) error

func (f publisherFunc) Publish(ctx context.Context, evs []domain.Event) error { return f(ctx, evs) }
