package oktahook_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/producers/oktahook"
)

type nopLedger struct{}

func (nopLedger) RecordReceivedAll(_ context.Context, events []domain.Event) []error {
	return make([]error, len(events))
}

type nopPublisher struct{}

func (nopPublisher) Publish(context.Context, []domain.Event) error { return nil }

type staticSecrets oktahook.Secrets

func (s staticSecrets) Secrets(context.Context) (oktahook.Secrets, error) {
	return oktahook.Secrets(s), nil
}

func TestNewRequiresCollaborators(t *testing.T) {
	full := oktahook.Options{Secrets: staticSecrets{Current: "s"}, Ledger: nopLedger{}, Publisher: nopPublisher{}}
	for name, mod := range map[string]func(*oktahook.Options){
		"no secrets":   func(o *oktahook.Options) { o.Secrets = nil },
		"no ledger":    func(o *oktahook.Options) { o.Ledger = nil },
		"no publisher": func(o *oktahook.Options) { o.Publisher = nil },
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
		o.Secrets, o.Ledger, o.Publisher = staticSecrets{Current: "s3cret"}, nopLedger{}, nopPublisher{}
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
