package simokta

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"
)

// HookFaults are the event hook delivery faults, drawn per delivery from
// the server's seeded generator. Rates are probabilities in [0,1].
type HookFaults struct {
	// DuplicateRate: the delivery is sent a second time, as a separate
	// delivery (new eventId) with the same events.
	DuplicateRate float64 `json:"duplicateRate,omitempty"`
	// ReorderRate: the delivery's events are shuffled and the delivery is
	// held back by ReorderDelay, so later deliveries overtake it.
	ReorderRate float64 `json:"reorderRate,omitempty"`
	// DropRate: the delivery is never sent (Okta gave up on it).
	DropRate float64 `json:"dropRate,omitempty"`
	// ReorderDelay is how long a reordered delivery is held back; zero
	// means the batch window (at least 50 ms).
	ReorderDelay time.Duration `json:"reorderDelay,omitempty"`
}

// Kinds of DeliveryAttempt.
const (
	KindDelivery     = "delivery"
	KindVerification = "verification"
)

// DeliveryAttempt records one outbound call to an event hook (or a
// delivery dropped by an injected fault).
type DeliveryAttempt struct {
	Kind    string `json:"kind"`
	HookID  string `json:"hookId"`
	EventID string `json:"eventId,omitempty"` // the envelope's eventId
	// Attempt is 1 for the first call, 2 for the retry, 0 for a dropped
	// delivery that was never sent.
	Attempt int `json:"attempt"`
	// Status is the receiver's HTTP status; 0 when there was none (timeout,
	// transport error, dropped).
	Status int    `json:"status,omitempty"`
	Error  string `json:"error,omitempty"`
	// Events are the uuids of the delivered LogEvents, in delivery order.
	Events    []string  `json:"events,omitempty"`
	Duplicate bool      `json:"duplicate,omitempty"`
	Reordered bool      `json:"reordered,omitempty"`
	Dropped   bool      `json:"dropped,omitempty"`
	At        time.Time `json:"at"`
}

// Envelope is the body of an event hook delivery.
type Envelope struct {
	EventType          string       `json:"eventType"`
	EventTypeVersion   string       `json:"eventTypeVersion"`
	CloudEventsVersion string       `json:"cloudEventsVersion"`
	Source             string       `json:"source"`
	EventID            string       `json:"eventId"`
	Data               EnvelopeData `json:"data"`
	EventTime          string       `json:"eventTime"`
	ContentType        string       `json:"contentType"`
}

// EnvelopeData carries the delivered LogEvents.
type EnvelopeData struct {
	Events []LogEvent `json:"events"`
}

// batch is the open batch of one hook (keyed by hook id in s.batches; by
// hook id and event uuid when batching is off).
type batch struct {
	order    int64 // creation order, so due batches start in order
	hookID   string
	events   []LogEvent
	deadline time.Time
}

type delivery struct {
	target    hookTarget
	eventID   string
	events    []LogEvent
	delay     time.Duration
	duplicate bool
	reordered bool
}

// SetHookFaults replaces the delivery faults; deliveries whose batch has
// already closed keep the faults they drew. It cannot fail. Idempotent.
func (s *Server) SetHookFaults(f HookFaults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = f
}

// HookFaults returns the current delivery faults. It cannot fail.
func (s *Server) HookFaults() HookFaults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults
}

// Deliveries returns a copy of every recorded hook call (deliveries and
// verifications), oldest first. It cannot fail.
func (s *Server) Deliveries() []DeliveryAttempt {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]DeliveryAttempt, len(s.attempts))
	for i, a := range s.attempts {
		a.Events = slices.Clone(a.Events)
		out[i] = a
	}
	return out
}

// LogEvents returns a copy of the System Log, oldest first. It cannot fail.
func (s *Server) LogEvents() []LogEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.logs)
}

// enqueueLocked adds ev to the open batch of every ACTIVE, VERIFIED hook
// subscribed to its type, opening a batch window where none is open;
// s.mu must be held.
func (s *Server) enqueueLocked(ev LogEvent) {
	added := false
	for _, h := range s.hooks {
		if !h.deliverable() || !h.subscribes(ev.EventType) {
			continue
		}
		key := h.id
		if s.o.BatchWindow < 0 {
			key += "/" + ev.UUID // no batching: a batch of its own
		}
		b := s.batches[key]
		if b == nil {
			s.batchSeq++
			b = &batch{order: s.batchSeq, hookID: h.id, deadline: time.Now().Add(max(s.o.BatchWindow, 0))}
			s.batches[key] = b
		}
		b.events = append(b.events, ev)
		added = true
	}
	if added {
		poke(s.wake)
	}
}

// runBatcher closes batches whose window has ended and starts their
// deliveries, until the server's context ends.
func (s *Server) runBatcher() {
	for {
		s.mu.Lock()
		now := time.Now()
		var due []*batch
		var next time.Time
		for id, b := range s.batches {
			if !b.deadline.After(now) {
				due = append(due, b)
				delete(s.batches, id)
			} else if next.IsZero() || b.deadline.Before(next) {
				next = b.deadline
			}
		}
		slices.SortFunc(due, func(a, b *batch) int { return int(a.order - b.order) })
		for _, b := range due {
			s.startDeliveryLocked(b)
		}
		s.mu.Unlock()
		var timer *time.Timer
		var fire <-chan time.Time
		if !next.IsZero() {
			timer = time.NewTimer(time.Until(next))
			fire = timer.C
		}
		select {
		case <-s.ctx.Done():
			if timer != nil {
				timer.Stop()
			}
			return
		case <-s.wake:
		case <-fire:
		}
		if timer != nil {
			timer.Stop()
		}
	}
}

// startDeliveryLocked draws the batch's faults and starts its delivery (and
// duplicate); s.mu must be held.
func (s *Server) startDeliveryLocked(b *batch) {
	h := s.hooks[b.hookID]
	if h == nil || !h.deliverable() {
		return // deleted or deactivated while the window was open
	}
	f := s.faults
	d := delivery{target: h.target(), eventID: s.uuid(), events: slices.Clone(b.events)}
	if f.DropRate > 0 && s.faultRng.Float64() < f.DropRate {
		s.attempts = append(s.attempts, DeliveryAttempt{Kind: KindDelivery, HookID: h.id, EventID: d.eventID,
			Events: uuids(d.events), Dropped: true, At: s.now()})
		s.log.Info("okta hook delivery dropped (injected)", "hook", h.id, "eventId", d.eventID)
		return
	}
	if f.ReorderRate > 0 && s.faultRng.Float64() < f.ReorderRate {
		s.faultRng.Shuffle(len(d.events), func(i, j int) { d.events[i], d.events[j] = d.events[j], d.events[i] })
		d.reordered = true
		d.delay = f.ReorderDelay
		if d.delay <= 0 {
			d.delay = max(s.o.BatchWindow, 50*time.Millisecond)
		}
	}
	deliveries := []delivery{d}
	if f.DuplicateRate > 0 && s.faultRng.Float64() < f.DuplicateRate {
		dup := d
		dup.eventID, dup.duplicate, dup.events = s.uuid(), true, slices.Clone(d.events)
		deliveries = append(deliveries, dup)
	}
	for _, d := range deliveries {
		s.inflight++
		s.wg.Go(func() { s.deliver(d) })
	}
}

func uuids(evs []LogEvent) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.UUID
	}
	return out
}

// deliver POSTs one delivery, retrying exactly once after a timeout, a
// transport error or a 5xx answer, never after a 4xx.
func (s *Server) deliver(d delivery) {
	defer func() {
		s.mu.Lock()
		s.inflight--
		s.mu.Unlock()
	}()
	if d.delay > 0 {
		t := time.NewTimer(d.delay)
		select {
		case <-s.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
	env := Envelope{
		EventType: "com.okta.event_hook", EventTypeVersion: "1.0", CloudEventsVersion: "0.1",
		Source:  s.o.OrgURL + "/api/v1/eventHooks/" + d.target.id,
		EventID: d.eventID, Data: EnvelopeData{Events: d.events}, EventTime: fmtTime(s.now()),
		ContentType: "application/json",
	}
	body, err := json.Marshal(env)
	if err != nil {
		s.log.Error("okta hook delivery: encode", "hook", d.target.id, "err", err)
		return
	}
	for attempt := 1; attempt <= 2; attempt++ {
		status, err := s.post(d.target, body)
		if s.ctx.Err() != nil {
			return
		}
		a := DeliveryAttempt{Kind: KindDelivery, HookID: d.target.id, EventID: d.eventID, Attempt: attempt,
			Status: status, Events: uuids(d.events), Duplicate: d.duplicate, Reordered: d.reordered, At: s.now()}
		if err != nil {
			a.Error = err.Error()
		}
		s.mu.Lock()
		s.attempts = append(s.attempts, a)
		s.mu.Unlock()
		s.log.Info("okta hook delivery", "hook", d.target.id, "eventId", d.eventID, "attempt", attempt,
			"status", status, "events", len(d.events), "err", a.Error)
		if err == nil && status < 500 {
			return
		}
	}
}

// post makes one delivery call bounded by HookTimeout.
func (s *Server) post(t hookTarget, body []byte) (int, error) {
	ctx, cancel := context.WithTimeout(s.ctx, s.o.HookTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.uri, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	t.setHeaders(req)
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("call endpoint: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}
