package simokta

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
)

type createHookBody struct {
	Name   string         `json:"name"`
	Events *subscriptions `json:"events"`
	// Channel keeps the auth secret: Okta accepts authScheme.value on
	// create but never answers it back.
	Channel *channelIn `json:"channel"`
}

type channelIn struct {
	Type    string    `json:"type"`
	Version string    `json:"version"`
	Config  *configIn `json:"config"`
}

type configIn struct {
	URI        string       `json:"uri"`
	Headers    []hookHeader `json:"headers"`
	AuthScheme *authScheme  `json:"authScheme"`
}

var eventTypePattern = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$`)

func (b *createHookBody) validate() []string {
	var causes []string
	if b.Name == "" {
		causes = append(causes, "name: The field cannot be left blank")
	}
	switch {
	case b.Events == nil:
		causes = append(causes, "events: The field cannot be left blank")
	case b.Events.Type != "EVENT_TYPE":
		causes = append(causes, "events.type: Must be EVENT_TYPE")
	case len(b.Events.Items) == 0:
		causes = append(causes, "events.items: The field cannot be left blank")
	default:
		for _, it := range b.Events.Items {
			if !eventTypePattern.MatchString(it) {
				causes = append(causes, "events.items: "+it+" is not an eligible event type")
			}
		}
	}
	if b.Channel == nil || b.Channel.Config == nil {
		return append(causes, "channel: The field cannot be left blank")
	}
	if b.Channel.Type != "HTTP" {
		causes = append(causes, "channel.type: Must be HTTP")
	}
	if b.Channel.Version != "1.0.0" {
		causes = append(causes, "channel.version: Must be 1.0.0")
	}
	u, err := url.Parse(b.Channel.Config.URI)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		causes = append(causes, "channel.config.uri: Must be a valid URL")
	}
	if a := b.Channel.Config.AuthScheme; a != nil {
		if a.Type != "HEADER" {
			causes = append(causes, "channel.config.authScheme.type: Must be HEADER")
		}
		if a.Key == "" || a.Value == "" {
			causes = append(causes, "channel.config.authScheme: key and value are required")
		}
	}
	for _, h := range b.Channel.Config.Headers {
		if h.Key == "" {
			causes = append(causes, "channel.config.headers: key is required")
		}
	}
	return causes
}

func (s *Server) handleCreateHook(w http.ResponseWriter, r *http.Request) {
	var body createHookBody
	if err := decodeBody(r, &body); err != nil {
		s.writeError(w, err)
		return
	}
	if causes := body.validate(); len(causes) > 0 {
		s.writeError(w, invalid(causes...))
		return
	}
	s.mu.Lock()
	h := s.addHookLocked(&body)
	doc := hookDocOf(s.baseURL(r), h)
	s.mu.Unlock()
	s.writeJSON(w, http.StatusOK, doc)
}

// addHookLocked registers a validated hook (ACTIVE, UNVERIFIED); s.mu must
// be held.
func (s *Server) addHookLocked(b *createHookBody) *hook {
	cfg := b.Channel.Config
	now := s.now()
	h := &hook{seq: s.nextSeq(), id: "who" + s.randString(17), name: b.Name, status: HookActive,
		verification: HookUnverified, created: now, lastUpdated: now, createdBy: s.actor.ID,
		events: slices.Compact(slices.Clone(b.Events.Items)), channelVersion: b.Channel.Version,
		uri: cfg.URI, headers: slices.Clone(cfg.Headers)}
	if cfg.AuthScheme != nil {
		h.authKey, h.authValue = cfg.AuthScheme.Key, cfg.AuthScheme.Value
	}
	s.hooks[h.id] = h
	return h
}

func (s *Server) handleListHooks(w http.ResponseWriter, r *http.Request) {
	base := s.baseURL(r)
	s.mu.Lock()
	hooks := slices.SortedFunc(maps.Values(s.hooks), func(a, b *hook) int { return int(a.seq - b.seq) })
	docs := []hookDoc{}
	for _, h := range hooks {
		docs = append(docs, hookDocOf(base, h))
	}
	s.mu.Unlock()
	s.writeJSON(w, http.StatusOK, docs)
}

func (s *Server) handleGetHook(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	h := s.hooks[id]
	var doc hookDoc
	if h != nil {
		doc = hookDocOf(s.baseURL(r), h)
	}
	s.mu.Unlock()
	if h == nil {
		s.writeError(w, hookNotFound(id))
		return
	}
	s.writeJSON(w, http.StatusOK, doc)
}

// handleDeleteHook deletes an event hook; Okta requires it to be INACTIVE.
func (s *Server) handleDeleteHook(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	h := s.hooks[id]
	var err *APIError
	switch {
	case h == nil:
		err = hookNotFound(id)
	case h.status == HookActive:
		err = invalid("status: Cannot delete an ACTIVE event hook; deactivate it first")
	default:
		delete(s.hooks, id) // its open batch is discarded when due
	}
	s.mu.Unlock()
	if err != nil {
		s.writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleHookLifecycle(w http.ResponseWriter, r *http.Request) {
	id, op := r.PathValue("id"), r.PathValue("op")
	var err error
	switch op {
	case "verify":
		err = s.VerifyEventHook(r.Context(), id)
	case "activate", "deactivate":
		err = s.setHookStatus(id, op == "activate")
	default:
		err = notFound("Resource not found: %s (lifecycle operation)", op)
	}
	if err != nil {
		s.writeError(w, asAPIError(err))
		return
	}
	s.mu.Lock()
	h := s.hooks[id]
	var doc hookDoc
	if h != nil {
		doc = hookDocOf(s.baseURL(r), h)
	}
	s.mu.Unlock()
	if h == nil {
		s.writeError(w, hookNotFound(id))
		return
	}
	s.writeJSON(w, http.StatusOK, doc)
}

func (s *Server) setHookStatus(id string, active bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.hooks[id]
	if h == nil {
		return hookNotFound(id)
	}
	h.status = HookInactive
	if active {
		h.status = HookActive
	}
	h.lastUpdated = s.now()
	return nil
}

// hookTarget is what one outbound call to a hook needs, copied out of the
// state so the call runs without the lock.
type hookTarget struct {
	id      string
	uri     string
	headers []hookHeader
	authKey string
	authVal string
}

func (h *hook) target() hookTarget {
	return hookTarget{id: h.id, uri: h.uri, headers: slices.Clone(h.headers), authKey: h.authKey, authVal: h.authValue}
}

// setHeaders puts the hook's custom headers, then its auth header, on req.
func (t hookTarget) setHeaders(req *http.Request) {
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "Okta Event Hooks (idsync stand-in)")
	for _, h := range t.headers {
		req.Header.Set(h.Key, h.Value)
	}
	if t.authKey != "" {
		req.Header.Set(t.authKey, t.authVal)
	}
}

// VerifyEventHook performs Okta's one-time verification: a GET to the
// hook's URI carrying X-Okta-Verification-Challenge (and the hook's auth and
// custom headers), which must be answered 200 with the JSON body
// {"verification": <the same value>} within HookTimeout. A timeout, a
// transport error or a 5xx answer is retried once. On success the hook
// becomes VERIFIED. Each attempt is recorded as a DeliveryAttempt of kind
// "verification".
//
// Errors: *APIError wrapping ErrNotFound (no such hook) or ErrVerification
// (400 E0000001, with the reason as cause). Idempotent.
func (s *Server) VerifyEventHook(ctx context.Context, hookID string) error {
	s.mu.Lock()
	h := s.hooks[hookID]
	var t hookTarget
	if h != nil {
		t = h.target()
	}
	s.mu.Unlock()
	if h == nil {
		return hookNotFound(hookID)
	}
	challenge := opaque(40)
	var reason string
	for attempt := 1; attempt <= 2; attempt++ {
		status, retry, err := s.verifyOnce(ctx, t, challenge)
		a := DeliveryAttempt{Kind: KindVerification, HookID: hookID, Attempt: attempt, Status: status, At: s.now()}
		if err != nil {
			a.Error = err.Error()
			reason = err.Error()
		}
		s.mu.Lock()
		s.attempts = append(s.attempts, a)
		s.mu.Unlock()
		if err == nil {
			s.mu.Lock()
			defer s.mu.Unlock()
			if h := s.hooks[hookID]; h != nil {
				h.verification = HookVerified
				h.lastUpdated = s.now()
			}
			s.log.Info("okta event hook verified", "hook", hookID)
			return nil
		}
		if !retry {
			break
		}
	}
	s.log.Info("okta event hook verification failed", "hook", hookID, "reason", reason)
	return &APIError{Status: http.StatusBadRequest, Code: codeValidation,
		Summary: "Api validation failed: eventHook verification", kind: ErrVerification,
		Causes: []string{"Verification of the event hook endpoint failed: " + reason}}
}

// verifyOnce makes one verification call. retry reports whether the
// failure is one Okta retries (timeout, transport error, 5xx).
func (s *Server) verifyOnce(ctx context.Context, t hookTarget, challenge string) (status int, retry bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, s.o.HookTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.uri, nil)
	if err != nil {
		return 0, false, fmt.Errorf("build request: %w", err)
	}
	t.setHeaders(req)
	req.Header.Set("X-Okta-Verification-Challenge", challenge)
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, true, fmt.Errorf("call endpoint: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil {
		return resp.StatusCode, true, fmt.Errorf("read answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, resp.StatusCode >= 500, fmt.Errorf("endpoint answered %d", resp.StatusCode)
	}
	var body struct {
		Verification string `json:"verification"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		return resp.StatusCode, false, fmt.Errorf("answer is not JSON: %w", err)
	}
	if body.Verification != challenge {
		return resp.StatusCode, false, errors.New("answer's verification does not match the challenge")
	}
	return resp.StatusCode, false, nil
}

// CreateEventHook registers an event hook as POST /api/v1/eventHooks does
// (ACTIVE, UNVERIFIED) and returns its id. authKey and authValue name the
// auth header (both empty: none).
//
// Errors: *APIError wrapping ErrInvalid. Not idempotent.
func (s *Server) CreateEventHook(name, uri, authKey, authValue string, eventTypes ...string) (string, error) {
	body := createHookBody{Name: name, Events: &subscriptions{Type: "EVENT_TYPE", Items: eventTypes},
		Channel: &channelIn{Type: "HTTP", Version: "1.0.0", Config: &configIn{URI: uri}}}
	if authKey != "" || authValue != "" {
		body.Channel.Config.AuthScheme = &authScheme{Type: "HEADER", Key: authKey, Value: authValue}
	}
	if causes := body.validate(); len(causes) > 0 {
		return "", invalid(causes...)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addHookLocked(&body).id, nil
}
