// Package oktahook is idsync's Okta event-hook endpoint: an http.Handler
// that answers Okta's one-time verification, authenticates every request by
// its auth header (current or previous secret, compared in constant time),
// normalises each delivery into identity events, drops lifecycle and profile
// events about Okta users idsync does not manage, brakes removals per
// target, records each remaining event as received in the ledger and
// queues it for its targets, answering 200 only when all of it is durably
// queued.
//
// # Only managed people
//
// A lifecycle or profile event (anything but membership of a mapped group)
// about an Okta user idsync has no person for is acknowledged and dropped:
// no ledger row, no queue message, one log line with the Okta event uuid
// only, and the EventsUnknownUser metric. Every Okta user's churn would
// otherwise land in DynamoDB and in the snapshot's memory.
//
// # Removal brake
//
// Removals arriving through hooks (member-removed of a group mapped for a
// target; suspended, deactivated and deleted for each target the person
// has an account in) count against the target's hook.removalBrake, a
// DynamoDB counter per target per window (store.TakeRemovals). Removals
// beyond it are held for that target: not queued to its queue (the event
// still goes to the other targets' queues, as one copy per target with
// Event.Target set), a ledger row in the SYSTEM partition (outcome
// skipped, reason "held by the removal brake", the event id and target, no
// personal data), the RemovalsHeld metric. They are left to the IdC
// snapshot, whose removal cap then applies (IdC has no user status, so a
// held suspension stays held until Okta sends another lifecycle event or
// an operator replays it from the ledger's event id).
//
// Answers: 200 verification JSON or delivery accepted; 204 when nothing in
// the delivery concerns a mapped group or a managed user; 401 wrong or
// missing secret (nothing recorded, nothing queued); 405 other methods; 413
// body over the limit; 400 malformed delivery (Okta does not retry 4xx);
// 503 when a lookup, the brake, recording or queueing failed, on any queue
// (Okta retries once, and the retry is deduplicated per queue).
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
	"slices"
	"sync"
	"time"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/emf"
	"github.com/idsync/idsync/store"
)

// VerificationHeader is the header of Okta's one-time verification request.
const VerificationHeader = "X-Okta-Verification-Challenge"

// Defaults.
const (
	DefaultAuthHeader = "Authorization"
	// DefaultMaxBody is what a Lambda Function URL accepts (a synchronous
	// invocation's 6 MB payload): every delivery Lambda hands the hook is
	// read. Answering 413 to a large batch would lose it (Okta never
	// retries a 4xx) until the next snapshot.
	DefaultMaxBody = 6 << 20
	// LargeBody is the size above which a delivery is counted as large
	// (emf.HookLargeDeliveries) and logged, so an operator sees batches
	// growing towards the limit.
	LargeBody       = 1 << 20
	DefaultDeadline = 2500 * time.Millisecond // well inside Okta's 3 s
	// DefaultMaxInFlight bounds the deliveries one Handler works on at
	// once; past it a delivery is answered 503 at once (see
	// Options.MaxInFlight).
	DefaultMaxInFlight = 64
)

// Ledger records facts as received (store.Store satisfies it), several at
// a time, returning one error per event in order, and appends the rows of
// held removals (at most store.MaxAppendEntries per call). Recording must
// be idempotent by event id: recording a fact again gives an error that
// domain.KindOf classifies as stale (a duplicate), which the hook accepts.
type Ledger interface {
	RecordReceivedAll(ctx context.Context, events []domain.Event) []error
	Append(ctx context.Context, entries ...domain.LedgerEntry) ([]domain.LedgerEntry, error)
}

// Publisher queues events (*publish.Publisher): an event for every target
// to every queue, an event with Event.Target to that target's queue; nil
// error means every queue has every event.
type Publisher interface {
	Publish(ctx context.Context, events []domain.Event) error
}

// People finds the person an Okta user id belongs to (*store.Store). It
// returns an error matching store.ErrNotFound for a user idsync does not
// manage. JoinReceived reports whether a join of the person (a
// member-added of a mapped group) was recorded and may not be folded yet.
type People interface {
	FindByOktaID(ctx context.Context, id string) (store.Record, error)
	JoinReceived(ctx context.Context, key string) (bool, error)
}

// Brake grants removals per target (*store.Store's TakeRemovals): how many
// of want the target's removal brake lets through now.
type Brake interface {
	TakeRemovals(ctx context.Context, t domain.Target, want int, limit domain.RemovalBrake) (int, error)
}

// Reasons the hook gives, in logs and ledger rows.
const (
	// ReasonUnknownUser: a lifecycle or profile event about an Okta user
	// idsync does not manage (logged with the event uuid only).
	ReasonUnknownUser = "user not managed by idsync"
	// ReasonHeld: a removal over the target's removal brake (ledger row
	// with outcome skipped).
	ReasonHeld = "held by the removal brake"
)

// lookupWorkers bounds the parallel person lookups of one delivery.
const lookupWorkers = 8

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
	// 6 MiB, what the Function URL itself accepts); a larger one is
	// answered 413.
	MaxBody int64
	// Deadline is the work budget per request (default DefaultDeadline,
	// 2.5 s, inside Okta's 3 s). Every downstream call (secret, lookups,
	// brake, ledger, queue) runs under it, so a request past its budget is
	// answered 503 instead of late.
	Deadline time.Duration
	// MaxInFlight bounds the requests the Handler works on at once (default
	// DefaultMaxInFlight). A request arriving while that many are in
	// flight is answered 503 with Retry-After at once, before its body is
	// read or the secret looked at: past its capacity the hook sheds load
	// within Okta's 3 s instead of answering everything late (Okta retries
	// a 503 once; the snapshot corrects anything still missing). In Lambda
	// an execution environment serves one request at a time, so the bound
	// matters where one process serves many (the local runner).
	MaxInFlight int
	// GroupMapped says which Okta groups idsync maps
	// (domain.Config.GroupMapped); membership events of other groups are
	// ignored. Default: no group is mapped.
	GroupMapped func(domain.GroupRef) bool
	// Secrets gives the accepted auth-header values (required; a
	// *SecretCache).
	Secrets SecretSource
	// Ledger records each event as received (required; *store.Store).
	Ledger Ledger
	// Publisher queues the events (required; *publish.Publisher with a
	// queue per target of Config).
	Publisher Publisher
	// People finds the person of an Okta user id (required; *store.Store).
	People People
	// Brake counts removals per target (required; *store.Store).
	Brake Brake
	// Config gives the targets (Config.Targets), which groups each maps
	// (Config.GroupTargets) and the removal brake (Config.Hook.RemovalBrake,
	// zero fields meaning the defaults). A Config without targets brakes
	// nothing.
	Config domain.Config
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
	inflight    chan struct{} // admission: one slot per request being worked on
	groupMapped func(domain.GroupRef) bool
	secrets     SecretSource
	ledger      Ledger
	pub         Publisher
	people      People
	brake       Brake
	cfg         domain.Config
	limit       domain.RemovalBrake
	log         *slog.Logger
	metrics     *emf.Metrics
	now         func() time.Time
}

// New returns a Handler. It is safe for concurrent use.
//
// Errors: ErrInvalid when Secrets, Ledger, Publisher, People or Brake is
// nil, or Config's removal brake is invalid (a negative field).
func New(o Options) (*Handler, error) {
	if o.Secrets == nil || o.Ledger == nil || o.Publisher == nil || o.People == nil || o.Brake == nil {
		return nil, fmt.Errorf("%w: secrets, ledger, publisher, people and brake are required", ErrInvalid)
	}
	limit := o.Config.Hook.RemovalBrake.WithDefaults()
	if limit.Max < 1 || limit.Window <= 0 {
		return nil, fmt.Errorf("%w: removal brake %+v", ErrInvalid, o.Config.Hook.RemovalBrake)
	}
	h := &Handler{
		authHeader: o.AuthHeader, maxBody: o.MaxBody, deadline: o.Deadline, groupMapped: o.GroupMapped,
		secrets: o.Secrets, ledger: o.Ledger, pub: o.Publisher, people: o.People, brake: o.Brake,
		cfg: o.Config, limit: limit, log: o.Logger, metrics: o.Metrics, now: o.Clock,
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
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = DefaultMaxInFlight
	}
	h.inflight = make(chan struct{}, o.MaxInFlight)
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
//
// Admission comes first: a request beyond Options.MaxInFlight is answered
// 503 (Retry-After: 1) without any other work.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	select {
	case h.inflight <- struct{}{}:
		defer func() { <-h.inflight }()
	default:
		h.metrics.Add(emf.HookShed, 1)
		_ = h.metrics.Flush()
		w.Header().Set("Retry-After", "1")
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "overloaded; retry"})
		return
	}
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
	if len(body) > LargeBody {
		h.metrics.Add(emf.HookLargeDeliveries, 1)
		h.log.WarnContext(ctx, "large hook delivery", "bytes", len(body), "limit", h.maxBody)
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
	evs, records, err := h.managed(ctx, norm.Events)
	if err != nil {
		h.fail(ctx, w, "look up people", err, len(norm.Events))
		return
	}
	h.metrics.Add(emf.HookEventsReceived, float64(len(evs)))
	if len(evs) == 0 {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	held, err := h.holdRemovals(ctx, evs, records)
	if err != nil {
		h.fail(ctx, w, "removal brake", err, len(evs))
		return
	}
	for _, err := range h.ledger.RecordReceivedAll(ctx, evs) {
		switch {
		case err == nil:
		case domain.KindOf(err) == domain.ErrorStale:
			h.metrics.Add(emf.HookEventsDuplicate, 1) // an Okta redelivery of a fact already recorded
		default:
			h.fail(ctx, w, "record received", err, len(evs))
			return
		}
	}
	out := h.route(evs, held)
	if err := h.pub.Publish(ctx, out); err != nil {
		h.fail(ctx, w, "queue", err, len(evs))
		return
	}
	queued := 0
	for i, e := range evs {
		if targets := h.cfg.Targets(); len(targets) > 0 && len(held[i]) == len(targets) {
			continue // held for every target: recorded below, queued nowhere
		}
		queued++
		h.log.InfoContext(ctx, "event queued", "eventId", e.ID, "person", e.Subject.Key(), "kind", string(e.Kind), "uuid", e.SourceEventID)
	}
	nHeld := h.recordHeld(ctx, evs, held)
	h.metrics.Add(emf.HookEventsQueued, float64(queued))
	h.metrics.Set(emf.HookDeliveryMs, "Milliseconds", float64(h.now().Sub(start).Milliseconds()))
	writeJSON(w, http.StatusOK, map[string]int{"queued": queued, "ignored": len(norm.Ignored) + len(norm.Events) - len(evs), "held": nHeld})
}

// managed drops the lifecycle and profile events about Okta users idsync
// has no person for, and returns the rest with the person record of each
// event that was looked up (nil when not). Membership events of mapped
// groups are kept unlooked-up: a member-added is how a person becomes
// managed. A person with no record yet whose join is earlier in the same
// delivery, or was recorded by an earlier one and not folded yet, is about
// to be managed: their events are kept (a suspension a moment after the
// join must not be lost). Lookups run in parallel; any lookup error (but
// not-found) is returned.
func (h *Handler) managed(ctx context.Context, events []domain.Event) ([]domain.Event, []*store.Record, error) {
	recs := make([]*store.Record, len(events))
	unknown := make([]bool, len(events))
	errs := make([]error, len(events))
	sem := make(chan struct{}, lookupWorkers)
	var wg sync.WaitGroup
	joined := map[string]bool{} // subjects with a member-added earlier in this delivery
	for i, e := range events {
		if e.Kind == domain.KindMemberAdded || e.Kind == domain.KindMemberRemoved {
			if e.Kind == domain.KindMemberAdded {
				joined[e.Subject.Key()] = true
			}
			continue
		}
		joinedHere := joined[e.Subject.Key()]
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			rec, err := h.people.FindByOktaID(ctx, e.Subject.OktaID)
			switch {
			case errors.Is(err, store.ErrNotFound) && joinedHere:
			case errors.Is(err, store.ErrNotFound):
				var pending bool
				if pending, err = h.people.JoinReceived(ctx, e.Subject.Key()); err != nil {
					errs[i] = err
				}
				unknown[i] = !pending
			case err != nil:
				errs[i] = err
			default:
				recs[i] = &rec
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	var out []domain.Event
	var outRecs []*store.Record
	for i, e := range events {
		if unknown[i] {
			h.metrics.Add(emf.HookEventsUnknownUser, 1)
			h.log.InfoContext(ctx, "event ignored", "uuid", e.SourceEventID, "reason", ReasonUnknownUser)
			continue
		}
		out, outRecs = append(out, e), append(outRecs, recs[i])
	}
	return out, outRecs, nil
}

// holdRemovals asks each target's brake for the delivery's removals for
// that target, in delivery order, and returns, per event, the targets it
// is held for.
func (h *Handler) holdRemovals(ctx context.Context, events []domain.Event, recs []*store.Record) ([][]domain.Target, error) {
	held := make([][]domain.Target, len(events))
	for _, t := range h.cfg.Targets() {
		var removals []int
		for i, e := range events {
			if h.removalFor(e, recs[i], t) {
				removals = append(removals, i)
			}
		}
		if len(removals) == 0 {
			continue
		}
		granted, err := h.brake.TakeRemovals(ctx, t, len(removals), h.limit)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t, err)
		}
		for _, i := range removals[granted:] {
			held[i] = append(held[i], t)
		}
	}
	return held, nil
}

// removalFor reports whether e takes something away from the person in
// target t: member-removed of a group t maps, or a lifecycle removal of a
// person with an account in t.
func (h *Handler) removalFor(e domain.Event, rec *store.Record, t domain.Target) bool {
	switch e.Kind {
	case domain.KindMemberRemoved:
		return e.Group != nil && slices.Contains(h.cfg.GroupTargets(*e.Group), t)
	case domain.KindSuspended, domain.KindDeactivated, domain.KindDeleted:
		if rec == nil {
			return false
		}
		st := rec.Target(t)
		return st.Managed && (st.Status == domain.RemoteEnabled || st.Status == domain.RemoteDisabled)
	}
	return false
}

// route returns what to publish: each event for every target when nothing
// holds it; a copy per remaining target (Event.Target set) when the brake
// holds it for some; nothing when it is held for every target.
func (h *Handler) route(events []domain.Event, held [][]domain.Target) []domain.Event {
	out := make([]domain.Event, 0, len(events))
	for i, e := range events {
		if len(held[i]) == 0 {
			out = append(out, e)
			continue
		}
		for _, t := range h.cfg.Targets() {
			if !slices.Contains(held[i], t) {
				c := e
				c.Target = t
				out = append(out, c)
			}
		}
	}
	return out
}

// recordHeld writes one ledger row per held removal and target (SYSTEM
// partition, no personal data), logs it and counts it; it returns how many
// were held. A failure to write the rows is logged: the decision stands.
func (h *Handler) recordHeld(ctx context.Context, events []domain.Event, held [][]domain.Target) int {
	var rows []domain.LedgerEntry
	for i, e := range events {
		for _, t := range held[i] {
			rows = append(rows, domain.LedgerEntry{
				At: h.now().UTC(), EventID: e.ID, Source: e.Source, Kind: e.Kind, Target: t,
				Outcome: domain.OutcomeSkipped, Reason: ReasonHeld,
			})
			h.log.WarnContext(ctx, "removal held", "eventId", e.ID, "target", string(t), "reason", ReasonHeld)
		}
	}
	h.metrics.Add(emf.HookRemovalsHeld, float64(len(rows)))
	for start := 0; start < len(rows); start += store.MaxAppendEntries {
		if _, err := h.ledger.Append(ctx, rows[start:min(start+store.MaxAppendEntries, len(rows))]...); err != nil {
			h.log.ErrorContext(ctx, "held removals not recorded", "rows", len(rows), "err", err.Error())
		}
	}
	return len(rows)
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
