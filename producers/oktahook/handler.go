// Package oktahook is idsync's Okta event-hook endpoint: an http.Handler
// that answers Okta's one-time verification, authenticates every request by
// its auth header (current or previous secret, compared in constant time),
// normalises each delivery into identity events, records each as received
// in the ledger and queues it for every target, answering 200 only when all
// of it is durably queued.
//
// Answers: 200 verification JSON or delivery accepted; 204 for an empty
// delivery; 401 wrong or missing secret (nothing recorded, nothing queued);
// 405 other methods; 413 body over the limit; 400 malformed delivery (Okta
// does not retry 4xx); 503 when recording or queueing failed (Okta retries
// once, and the retry is deduplicated).
package oktahook

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/emf"
)

// VerificationHeader is the header of Okta's one-time verification request.
const VerificationHeader = "X-Okta-Verification-Challenge"

// Defaults.
const (
	DefaultAuthHeader = "Authorization"
	DefaultMaxBody    = 1 << 20
	DefaultDeadline   = 2500 * time.Millisecond // well inside Okta's 3 s
)

// Ledger records facts as received (store.Store satisfies it), several at
// a time, returning one error per event in order. It must be idempotent by
// event id: recording a fact again gives an error that domain.KindOf
// classifies as stale (a duplicate), which the hook accepts.
type Ledger interface {
	RecordReceivedAll(ctx context.Context, events []domain.Event) []error
}

// Publisher queues events for every target; nil error means durably queued.
type Publisher interface {
	Publish(ctx context.Context, events []domain.Event) error
}

// SecretSource gives the accepted auth-header values.
type SecretSource interface {
	Secrets(ctx context.Context) (Secrets, error)
}

// ErrInvalid is returned by New for an unusable setup.
var ErrInvalid = errors.New("oktahook: invalid setup")

// Options configure a Handler: its collaborators (Secrets, Ledger and
// Publisher are required) and its behaviour. Zero values mean the defaults.
type Options struct {
	// AuthHeader is the header carrying the secret (default
	// DefaultAuthHeader, Authorization).
	AuthHeader string
	// MaxBody bounds a delivery's body in bytes (default DefaultMaxBody,
	// 1 MiB); a larger one is answered 413.
	MaxBody int64
	// Deadline is the work budget per request (default DefaultDeadline,
	// 2.5 s, inside Okta's 3 s).
	Deadline time.Duration
	// GroupMapped says which Okta groups idsync maps
	// (domain.Config.GroupMapped); membership events of other groups are
	// ignored. Default: no group is mapped.
	GroupMapped func(domain.GroupRef) bool
	// Secrets gives the accepted auth-header values (required; a
	// *SecretCache).
	Secrets SecretSource
	// Ledger records each event as received (required; *store.Store).
	Ledger Ledger
	// Publisher queues the events for every target (required;
	// *publish.Publisher).
	Publisher Publisher
	// Logger gets one line per event and per failure (default: discarded).
	Logger *slog.Logger
	// Metrics gets EMF metrics, flushed after each request (nil: none).
	Metrics *emf.Metrics
	// Clock times deliveries and stamps received events (default time.Now).
	Clock func() time.Time
}

// Handler serves the hook. Build it with New.
type Handler struct {
	authHeader  string
	maxBody     int64
	deadline    time.Duration
	groupMapped func(domain.GroupRef) bool
	secrets     SecretSource
	ledger      Ledger
	pub         Publisher
	log         *slog.Logger
	metrics     *emf.Metrics
	now         func() time.Time
}

// New returns a Handler. It is safe for concurrent use.
//
// Errors: ErrInvalid when Secrets, Ledger or Publisher is nil.
func New(o Options) (*Handler, error) {
	if o.Secrets == nil || o.Ledger == nil || o.Publisher == nil {
		return nil, fmt.Errorf("%w: secrets, ledger and publisher are required", ErrInvalid)
	}
	h := &Handler{
		authHeader: o.AuthHeader, maxBody: o.MaxBody, deadline: o.Deadline, groupMapped: o.GroupMapped,
		secrets: o.Secrets, ledger: o.Ledger, pub: o.Publisher, log: o.Logger, metrics: o.Metrics, now: o.Clock,
	}
	if h.authHeader == "" {
		h.authHeader = DefaultAuthHeader
	}
	if h.maxBody <= 0 {
		h.maxBody = DefaultMaxBody
	}
	if h.deadline <= 0 {
		h.deadline = DefaultDeadline
	}
	if h.groupMapped == nil {
		h.groupMapped = func(domain.GroupRef) bool { return false }
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.now == nil {
		h.now = time.Now
	}
	return h, nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), h.deadline)
	defer cancel()
	defer func() { _ = h.metrics.Flush() }()

	ok, err := h.authorised(ctx, r)
	if err != nil {
		h.log.ErrorContext(ctx, "hook secret unavailable", "err", err.Error())
		h.metrics.Add(emf.HookSecretErrors, 1)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "secret unavailable"})
		return
	}
	if !ok {
		h.metrics.Add(emf.HookRejected, 1)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "unauthorized"})
		return
	}
	switch r.Method {
	case http.MethodGet:
		h.verify(w, r)
	case http.MethodPost:
		h.deliver(ctx, w, r)
	default:
		w.Header().Set("Allow", "GET, POST")
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "method not allowed"})
	}
}

// maxAuthHeader bounds the auth header idsync looks at: anything longer is
// no secret of ours and is refused without reading the secret.
const maxAuthHeader = 4096

// authorised compares the auth header with the current and previous
// secrets. A request without the header (or with an absurdly long one) is
// refused before the secret is even looked at, so a flood of anonymous
// requests costs no secret fetch. Otherwise both comparisons always run,
// in constant time, on SHA-256 digests, so neither the secrets' contents
// nor their lengths show in the timing.
func (h *Handler) authorised(ctx context.Context, r *http.Request) (bool, error) {
	got := r.Header.Get(h.authHeader)
	if got == "" || len(got) > maxAuthHeader {
		return false, nil
	}
	s, err := h.secrets.Secrets(ctx)
	if err != nil {
		return false, err
	}
	g := sha256.Sum256([]byte(got))
	c := sha256.Sum256([]byte(s.Current))
	cur := subtle.ConstantTimeCompare(g[:], c[:])
	p := sha256.Sum256([]byte(s.Previous))
	prev := subtle.ConstantTimeCompare(g[:], p[:]) // got is not empty, so an unset Previous never matches
	return cur|prev == 1, nil
}

func (h *Handler) verify(w http.ResponseWriter, r *http.Request) {
	challenge := r.Header.Get(VerificationHeader) // canonical: any case matches
	if challenge == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "missing " + VerificationHeader})
		return
	}
	h.log.InfoContext(r.Context(), "hook verified")
	writeJSON(w, http.StatusOK, map[string]string{"verification": challenge})
}

func (h *Handler) deliver(ctx context.Context, w http.ResponseWriter, r *http.Request) {
	start := h.now()
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.metrics.Add(emf.HookRejected, 1)
			writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": "body over limit"})
			return
		}
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unreadable body"})
		return
	}
	norm, err := domain.NormaliseOktaHook(body, h.groupMapped, start)
	if err != nil {
		h.metrics.Add(emf.HookMalformed, 1)
		h.log.WarnContext(ctx, "hook delivery malformed", "err", err.Error())
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	for _, ig := range norm.Ignored {
		h.log.InfoContext(ctx, "event ignored", "uuid", ig.UUID, "eventType", ig.EventType, "reason", ig.Reason)
	}
	h.metrics.Add(emf.HookEventsIgnored, float64(len(norm.Ignored)))
	h.metrics.Add(emf.HookEventsReceived, float64(len(norm.Events)))
	if len(norm.Events) == 0 {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	for _, err := range h.ledger.RecordReceivedAll(ctx, norm.Events) {
		switch {
		case err == nil:
		case domain.KindOf(err) == domain.ErrorStale:
			h.metrics.Add(emf.HookEventsDuplicate, 1) // an Okta redelivery of a fact already recorded
		default:
			h.fail(ctx, w, "record received", err, len(norm.Events))
			return
		}
	}
	if err := h.pub.Publish(ctx, norm.Events); err != nil {
		h.fail(ctx, w, "queue", err, len(norm.Events))
		return
	}
	for _, e := range norm.Events {
		h.log.InfoContext(ctx, "event queued", "eventId", e.ID, "person", e.Subject.Key(), "kind", string(e.Kind), "uuid", e.SourceEventID)
	}
	h.metrics.Add(emf.HookEventsQueued, float64(len(norm.Events)))
	h.metrics.Set(emf.HookDeliveryMs, "Milliseconds", float64(h.now().Sub(start).Milliseconds()))
	writeJSON(w, http.StatusOK, map[string]int{"queued": len(norm.Events), "ignored": len(norm.Ignored)})
}

func (h *Handler) fail(ctx context.Context, w http.ResponseWriter, step string, err error, n int) {
	h.metrics.Add(emf.HookDeliveryFailures, 1)
	h.log.ErrorContext(ctx, "hook delivery not queued", "step", step, "events", n, "err", err.Error())
	writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": step + " failed; retry"})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
