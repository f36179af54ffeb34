package simkit

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// APIError is an error answer in a service's own terms: the HTTP status, the
// modelled exception name (e.g. "ResourceNotFoundException"), a message, and
// any extra modelled members of the exception body or headers.
type APIError struct {
	Status  int
	Code    string
	Message string
	Fields  map[string]any    // extra body members, e.g. "Reason", "RetryAfterSeconds"
	Header  map[string]string // extra headers, e.g. "Retry-After"
}

// Error implements error.
func (e *APIError) Error() string { return e.Code + ": " + e.Message }

// Errorf returns an APIError with a formatted message.
func Errorf(status int, code, format string, args ...any) *APIError {
	return &APIError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Protocol writes answers in one AWS wire protocol.
type Protocol int

// Wire protocols.
const (
	AWSJSON11 Protocol = iota // awsJson1_1: X-Amz-Target routing, "__type" in error bodies
	RESTJSON1                 // restJson1: HTTP-bound routes, X-Amzn-ErrorType header
)

func (p Protocol) contentType() string {
	if p == AWSJSON11 {
		return "application/x-amz-json-1.1"
	}
	return "application/json"
}

// WriteJSON answers status with v as the JSON body.
func (p Protocol) WriteJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		p.WriteError(w, Errorf(http.StatusInternalServerError, "InternalServerException", "encode: %v", err))
		return
	}
	w.Header().Set("Content-Type", p.contentType())
	w.Header().Set("X-Amzn-RequestId", requestID())
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// WriteError answers with e as the service would.
func (p Protocol) WriteError(w http.ResponseWriter, e *APIError) {
	body := map[string]any{}
	for k, v := range e.Fields {
		body[k] = v
	}
	if p == AWSJSON11 {
		body["__type"] = e.Code
		body["message"] = e.Message
	} else {
		body["message"] = e.Message
		body["Message"] = e.Message
	}
	for k, v := range e.Header {
		w.Header().Set(k, v)
	}
	w.Header().Set("X-Amzn-ErrorType", e.Code)
	raw, _ := json.Marshal(body)
	w.Header().Set("Content-Type", p.contentType())
	w.Header().Set("X-Amzn-RequestId", requestID())
	w.WriteHeader(e.Status)
	_, _ = w.Write(raw)
}

// Gate applies c's faults and quotas to one request for op. It returns true
// when the request should be served; otherwise it has already answered (or
// dropped the connection). throttle builds the service's throttling error.
func (c *Control) Gate(w http.ResponseWriter, r *http.Request, p Protocol, op string, throttle func() *APIError) bool {
	return c.Screen(w, r, op, func(d Decision) {
		switch d {
		case Drop:
			p.WriteError(w, Errorf(http.StatusServiceUnavailable, "ServiceUnavailableException", "connection dropped (injected)"))
		case ServerError:
			p.WriteError(w, Errorf(http.StatusInternalServerError, "InternalServerException", "internal error (injected)"))
		case Throttle:
			p.WriteError(w, throttle())
		}
	})
}

// Screen applies c's faults and quotas to one request for op, for stand-ins
// that answer in their own error format. It waits out any injected latency
// (returning false, unanswered, when the request's context ends first) and
// drops the connection on Drop when w can be hijacked. Otherwise, for any
// decision but Pass it calls reject(decision), which must answer the
// request: Drop (the connection could not be dropped), ServerError or
// Throttle. It returns true when the request should be served.
func (c *Control) Screen(w http.ResponseWriter, r *http.Request, op string, reject func(Decision)) bool {
	d, latency := c.Admit(op)
	if latency > 0 {
		t := time.NewTimer(latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return false
		}
	}
	if d == Pass {
		return true
	}
	if d == Drop {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return false
			}
		}
	}
	reject(d)
	return false
}

// JSONOp is one awsJson1_1 operation: it decodes its own input from body.
type JSONOp func(ctx context.Context, body []byte) (any, error)

// Op adapts a typed operation to a JSONOp; malformed JSON becomes the
// SerializationException AWS answers with.
func Op[In any, Out any](fn func(ctx context.Context, in *In) (*Out, error)) JSONOp {
	return func(ctx context.Context, body []byte) (any, error) {
		in := new(In)
		if len(strings.TrimSpace(string(body))) > 0 {
			if err := json.Unmarshal(body, in); err != nil {
				return nil, Errorf(http.StatusBadRequest, "SerializationException", "could not decode request: %v", err)
			}
		}
		return fn(ctx, in)
	}
}

// JSONService routes awsJson1_1 requests by X-Amz-Target to operations and
// serves the /_sim control surface.
type JSONService struct {
	Prefix   string // e.g. "WorkMailService."
	Control  *Control
	Ops      map[string]JSONOp
	Throttle func() *APIError
	Dump     func() any // state for GET /_sim/state
}

// ServeHTTP implements http.Handler.
func (s *JSONService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_sim/") {
		s.Control.ServeControl(w, r, s.Dump)
		return
	}
	p := AWSJSON11
	target := r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, s.Prefix)
	fn := s.Ops[op]
	if r.Method != http.MethodPost || !ok || fn == nil {
		p.WriteError(w, Errorf(http.StatusBadRequest, "UnknownOperationException", "unknown operation %q", target))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		p.WriteError(w, Errorf(http.StatusBadRequest, "SerializationException", "read body: %v", err))
		return
	}
	if !s.Control.Gate(w, r, p, op, s.Throttle) {
		return
	}
	out, err := fn(r.Context(), body)
	if err != nil {
		var apiErr *APIError
		if !errors.As(err, &apiErr) {
			apiErr = Errorf(http.StatusInternalServerError, "InternalServerException", "%v", err)
		}
		p.WriteError(w, apiErr)
		return
	}
	p.WriteJSON(w, http.StatusOK, out)
}

// ServeControl serves the control surface:
//
//	GET  /_sim/counters          per-operation counters
//	POST /_sim/counters/reset    zero them
//	POST /_sim/faults            {"op":"CreateUser"|"*", "throttleRate":0.2, "serverErrorRate":0.05, "dropRate":0, "latencyMs":0}
//	POST /_sim/quotas            {"op":"CreateUser"|"*"|"collective", "rate":2, "burst":5}
//	POST /_sim/seed              {"seed":42}
//	GET  /_sim/state             the stand-in's state as JSON
func (c *Control) ServeControl(w http.ResponseWriter, r *http.Request, dump func() any) {
	p := RESTJSON1
	var req struct {
		Op              string  `json:"op"`
		ThrottleRate    float64 `json:"throttleRate"`
		ServerErrorRate float64 `json:"serverErrorRate"`
		DropRate        float64 `json:"dropRate"`
		LatencyMs       int     `json:"latencyMs"`
		Rate            float64 `json:"rate"`
		Burst           int     `json:"burst"`
		Seed            uint64  `json:"seed"`
	}
	if r.Method == http.MethodPost && r.URL.Path != "/_sim/counters/reset" {
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&req); err != nil {
			p.WriteError(w, Errorf(http.StatusBadRequest, "InvalidRequestException", "decode: %v", err))
			return
		}
		if req.Op == "" {
			req.Op = EachOp
		}
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/_sim/counters":
		p.WriteJSON(w, http.StatusOK, c.Counters())
	case r.Method == http.MethodPost && r.URL.Path == "/_sim/counters/reset":
		c.ResetCounters()
		w.WriteHeader(http.StatusNoContent)
	case r.Method == http.MethodPost && r.URL.Path == "/_sim/faults":
		c.SetFaults(req.Op, Faults{ThrottleRate: req.ThrottleRate, ServerErrorRate: req.ServerErrorRate,
			DropRate: req.DropRate, Latency: time.Duration(req.LatencyMs) * time.Millisecond})
		w.WriteHeader(http.StatusNoContent)
	case r.Method == http.MethodPost && r.URL.Path == "/_sim/quotas":
		c.SetQuota(req.Op, Quota{Rate: req.Rate, Burst: req.Burst})
		w.WriteHeader(http.StatusNoContent)
	case r.Method == http.MethodPost && r.URL.Path == "/_sim/seed":
		c.Reseed(req.Seed)
		w.WriteHeader(http.StatusNoContent)
	case r.Method == http.MethodGet && r.URL.Path == "/_sim/state" && dump != nil:
		p.WriteJSON(w, http.StatusOK, dump())
	default:
		p.WriteError(w, Errorf(http.StatusNotFound, "ResourceNotFoundException", "no control route %s %s", r.Method, r.URL.Path))
	}
}

// PageToken encodes a list offset as an opaque NextToken.
func PageToken(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("o:" + strconv.Itoa(offset)))
}

// ParsePageToken decodes a NextToken made by PageToken; "" is offset 0. A
// token it did not make is an error (services answer InvalidNextToken /
// ValidationException for it).
func ParsePageToken(tok string) (int, error) {
	if tok == "" {
		return 0, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, fmt.Errorf("invalid next token: %w", err)
	}
	n, err := strconv.Atoi(strings.TrimPrefix(string(raw), "o:"))
	if err != nil || !strings.HasPrefix(string(raw), "o:") || n < 0 {
		return 0, fmt.Errorf("invalid next token %q", tok)
	}
	return n, nil
}

// Page returns the slice of items for one page and the next token ("" on
// the last page).
func Page[T any](items []T, offset, max int) ([]T, string) {
	if offset > len(items) {
		offset = len(items)
	}
	end := offset + max
	if end >= len(items) {
		return items[offset:], ""
	}
	return items[offset:end], PageToken(end)
}

// NewID returns a random hex id of n bytes, for remote ids the stand-ins mint.
func NewID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func requestID() string {
	b := NewID(16)
	return b[0:8] + "-" + b[8:12] + "-" + b[12:16] + "-" + b[16:20] + "-" + b[20:32]
}
