package oktahook_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/producers/oktahook"
)

type noLedger struct{}

func (noLedger) RecordReceivedAll(context.Context, []domain.Event) []error { return nil }
func (noLedger) Append(context.Context, ...domain.LedgerEntry) ([]domain.LedgerEntry, error) {
	return nil, nil
}

type noPublisher struct{}

func (noPublisher) Publish(context.Context, []domain.Event) error { return nil }

type noBrake struct{}

func (noBrake) TakeRemovals(context.Context, domain.Target, int, domain.RemovalBrake) (int, error) {
	return 0, nil
}

// countingSource counts fetches and fails while err is set.
type countingSource struct {
	fetches atomic.Int32
	err     error
}

func (c *countingSource) fetch(context.Context) (oktahook.Secrets, error) {
	c.fetches.Add(1)
	if c.err != nil {
		return oktahook.Secrets{}, c.err
	}
	return oktahook.Secrets{Current: "s3cret-current"}, nil
}

func authHandler(t *testing.T, src *countingSource, now *time.Time) *oktahook.Handler {
	t.Helper()
	clock := func() time.Time { return *now }
	h, err := oktahook.New(oktahook.Options{
		Secrets: oktahook.NewSecretCache(oktahook.SecretCacheOptions{Fetch: src.fetch, TTL: time.Minute, Clock: clock}),
		Ledger:  noLedger{}, Publisher: noPublisher{}, People: nopPeople{}, Brake: noBrake{}, Clock: clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func status(h http.Handler, header string) int {
	req := httptest.NewRequest(http.MethodGet, "/okta/events", nil)
	req.Header.Set(oktahook.VerificationHeader, "abc")
	if header != "" {
		req.Header.Set("Authorization", header)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code
}

func TestAnonymousRequestsAreRefusedWithoutFetchingTheSecret(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	src := &countingSource{}
	h := authHandler(t, src, &now)
	for _, header := range []string{"", strings.Repeat("x", 5000)} {
		for range 100 {
			if code := status(h, header); code != http.StatusUnauthorized {
				t.Fatalf("header of %d bytes: %d, want 401", len(header), code)
			}
		}
	}
	if n := src.fetches.Load(); n != 0 {
		t.Fatalf("200 anonymous requests fetched the secret %d times, want 0", n)
	}
	if code := status(h, "s3cret-current"); code != http.StatusOK {
		t.Fatalf("right secret: %d", code)
	}
	for _, wrong := range []string{"s3cret-curren", "s3cret-currentX", "S3cret-current"} {
		if code := status(h, wrong); code != http.StatusUnauthorized {
			t.Errorf("%q: %d, want 401", wrong, code)
		}
	}
	if n := src.fetches.Load(); n != 1 {
		t.Fatalf("fetches = %d, want 1 (cached)", n)
	}
}

func TestFailedSecretFetchIsNotRepeatedPerRequest(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	src := &countingSource{err: errors.New("secrets manager unavailable")}
	h := authHandler(t, src, &now)
	for range 50 {
		if code := status(h, "s3cret-current"); code != http.StatusServiceUnavailable {
			t.Fatalf("secret store down: %d, want 503", code)
		}
	}
	if n := src.fetches.Load(); n != 1 {
		t.Fatalf("50 requests within a second fetched %d times, want 1", n)
	}
	now = now.Add(1100 * time.Millisecond)
	src.err = nil
	if code := status(h, "s3cret-current"); code != http.StatusOK {
		t.Fatalf("after the backoff, with the store back: %d", code)
	}
	if n := src.fetches.Load(); n != 2 {
		t.Fatalf("fetches = %d, want 2", n)
	}
}
