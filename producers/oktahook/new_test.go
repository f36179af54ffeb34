package oktahook_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/producers/oktahook"
	"github.com/idsync/idsync/store"
)

type nopLedger struct{}

func (nopLedger) RecordReceivedAll(_ context.Context, events []domain.Event) []error {
	return make([]error, len(events))
}

func (nopLedger) Append(_ context.Context, entries ...domain.LedgerEntry) ([]domain.LedgerEntry, error) {
	return entries, nil
}

// nopPeople knows nobody; nopBrake grants everything.
type nopPeople struct{}

func (nopPeople) FindByOktaID(_ context.Context, id string) (store.Record, error) {
	return store.Record{}, fmt.Errorf("person %s: %w", id, store.ErrNotFound)
}

func (nopPeople) JoinReceived(context.Context, string) (bool, error) { return false, nil }

type nopBrake struct{}

func (nopBrake) TakeRemovals(_ context.Context, _ domain.Target, want int, _ domain.RemovalBrake) (int, error) {
	return want, nil
}

type nopPublisher struct{}

func (nopPublisher) Publish(context.Context, []domain.Event) error { return nil }

type staticSecrets oktahook.Secrets

func (s staticSecrets) Secrets(context.Context) (oktahook.Secrets, error) {
	return oktahook.Secrets(s), nil
}

func TestNewRequiresCollaborators(t *testing.T) {
	full := oktahook.Options{Secrets: staticSecrets{Current: "s"}, Ledger: nopLedger{}, Publisher: nopPublisher{}, People: nopPeople{}, Brake: nopBrake{}}
	for name, mod := range map[string]func(*oktahook.Options){
		"no secrets":     func(o *oktahook.Options) { o.Secrets = nil },
		"no ledger":      func(o *oktahook.Options) { o.Ledger = nil },
		"no publisher":   func(o *oktahook.Options) { o.Publisher = nil },
		"no people":      func(o *oktahook.Options) { o.People = nil },
		"no brake":       func(o *oktahook.Options) { o.Brake = nil },
		"negative brake": func(o *oktahook.Options) { o.Config.Hook.RemovalBrake.Max = -1 },
	} {
		t.Run(name, func(t *testing.T) {
			o := full
			mod(&o)
			if h, err := oktahook.New(o); !errors.Is(err, oktahook.ErrInvalid) || h != nil {
				t.Errorf("New = %v, %v; want nil and ErrInvalid", h, err)
			}
		})
	}
}

// TestDefaultsAndSettings: with only the collaborators set the hook serves
// (default header, logger and clock); MaxBody and AuthHeader are honoured.
func TestDefaultsAndSettings(t *testing.T) {
	serve := func(o oktahook.Options, req *http.Request) int {
		t.Helper()
		o.Secrets, o.Ledger, o.Publisher, o.People, o.Brake = staticSecrets{Current: "s3cret"}, nopLedger{}, nopPublisher{}, nopPeople{}, nopBrake{}
		h, err := oktahook.New(o)
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	verify := func(header string) *http.Request {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set(header, "s3cret")
		req.Header.Set(oktahook.VerificationHeader, "challenge")
		return req
	}
	if code := serve(oktahook.Options{}, verify(oktahook.DefaultAuthHeader)); code != http.StatusOK {
		t.Errorf("verification with defaults: %d, want 200", code)
	}
	if code := serve(oktahook.Options{AuthHeader: "X-Hook-Secret"}, verify(oktahook.DefaultAuthHeader)); code != http.StatusUnauthorized {
		t.Errorf("secret in the default header when another is configured: %d, want 401", code)
	}
	if code := serve(oktahook.Options{AuthHeader: "X-Hook-Secret"}, verify("X-Hook-Secret")); code != http.StatusOK {
		t.Errorf("secret in the configured header: %d, want 200", code)
	}
	post := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(strings.Repeat("x", 100)))
	post.Header.Set(oktahook.DefaultAuthHeader, "s3cret")
	if code := serve(oktahook.Options{MaxBody: 10}, post); code != http.StatusRequestEntityTooLarge {
		t.Errorf("body over MaxBody: %d, want 413", code)
	}
}
