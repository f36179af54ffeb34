// Package lambdart is a small AWS Lambda Runtime API server (API version
// 2018-06-01) for running idsync's built `bootstrap` binaries locally, the
// way Lambda runs them: the binary polls for invocations over HTTP and posts
// back a buffered response, a streamed response (Lambda Function URLs in
// RESPONSE_STREAM mode), or an error.
//
// It implements the part of the Runtime API that aws-lambda-go's runtime
// client uses:
//
//	GET  /2018-06-01/runtime/invocation/next
//	POST /2018-06-01/runtime/invocation/{id}/response
//	POST /2018-06-01/runtime/invocation/{id}/error
//	POST /2018-06-01/runtime/init/error
//
// A Server is an http.Handler; RunBinary also serves it on a loopback port
// and starts a binary against it with a Lambda-like environment. Invoke
// queues one invocation and waits for its outcome.
package lambdart

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Runtime API header names and values.
const (
	HeaderRequestID          = "Lambda-Runtime-Aws-Request-Id"
	HeaderDeadlineMs         = "Lambda-Runtime-Deadline-Ms"
	HeaderInvokedFunctionARN = "Lambda-Runtime-Invoked-Function-Arn"
	HeaderTraceID            = "Lambda-Runtime-Trace-Id"
	HeaderErrorType          = "Lambda-Runtime-Function-Error-Type"
	HeaderResponseMode       = "Lambda-Runtime-Function-Response-Mode"
	// TrailerErrorType and TrailerErrorBody are the trailers a runtime sends
	// when a response body fails part-way (the body is the base64 of the
	// error JSON).
	TrailerErrorType = "Lambda-Runtime-Function-Error-Type"
	TrailerErrorBody = "Lambda-Runtime-Function-Error-Body"
	// ContentTypeHTTPIntegration is the content type of a Function URL
	// streamed response: a JSON prelude, 8 NUL bytes, then the body.
	ContentTypeHTTPIntegration = "application/vnd.awslambda.http-integration-response"
	// ResponseModeStreaming is HeaderResponseMode's value for a streamed response.
	ResponseModeStreaming = "streaming"
)

// Limits, as Lambda's.
const (
	// MaxBufferedResponse is Lambda's limit on a buffered response payload.
	MaxBufferedResponse = 6291556
	// MaxStreamedResponse is Lambda's (default) limit on a streamed response.
	MaxStreamedResponse = 20 << 20
	// DefaultTimeout is Lambda's default function timeout, used by Invoke
	// when it is given no positive timeout.
	DefaultTimeout = 3 * time.Second
)

// Errors returned by Invoke (wrapped with details). A function's own error
// is not among them: it is Result.Error.
var (
	// ErrTimedOut: the function did not answer within its timeout.
	ErrTimedOut = errors.New("lambdart: task timed out")
	// ErrInitFailed: the runtime reported an initialisation error (wrapped
	// together with the *FunctionError it posted).
	ErrInitFailed = errors.New("lambdart: runtime init failed")
	// ErrRuntimeExited: the binary started by RunBinary exited before
	// answering (wrapped with its exit status and the end of its stderr).
	ErrRuntimeExited = errors.New("lambdart: runtime exited")
	// ErrClosed: the Server was closed.
	ErrClosed = errors.New("lambdart: server closed")
	// ErrBadResponse: the runtime posted a response the server cannot
	// decode (a streamed Function URL response without its prelude).
	ErrBadResponse = errors.New("lambdart: malformed response")
)

// FunctionError is an error reported by the function or the runtime, in
// Lambda's error format.
type FunctionError struct {
	Type       string          `json:"errorType"`
	Message    string          `json:"errorMessage"`
	StackTrace json.RawMessage `json:"stackTrace,omitempty"`
}

// Error implements error.
func (e *FunctionError) Error() string { return e.Type + ": " + e.Message }

// StreamedResponse is a decoded Function URL streamed response.
type StreamedResponse struct {
	Status  int
	Headers map[string]string
	Cookies []string
	Body    []byte
}

// Result is the outcome of one invocation. Exactly one of Body (buffered
// response), Streamed (Function URL streamed response) and Error is set,
// except that a response whose body failed part-way carries what arrived
// as well as the Error.
type Result struct {
	RequestID   string
	ContentType string
	Body        []byte
	Streamed    *StreamedResponse
	Error       *FunctionError
}

// Option configures a Server.
type Option func(*Server)

// WithClock sets the clock used for deadlines (default time.Now).
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithRequestIDs sets the request id generator (default random UUIDs).
func WithRequestIDs(next func() string) Option { return func(s *Server) { s.newID = next } }

// WithFunction sets the function name and region that appear in the
// invoked-function ARN and in RunBinary's environment (default "function"
// in us-east-1).
func WithFunction(name, region string) Option {
	return func(s *Server) { s.name, s.region = name, region }
}

// Server is a Lambda Runtime API server hosting one function. It is safe for
// concurrent use: several Invokes may be queued at once, and a runtime may
// poll with several concurrent /next requests (AWS_LAMBDA_MAX_CONCURRENCY).
type Server struct {
	now          func() time.Time
	newID        func() string
	name, region string
	mux          *http.ServeMux
	queue        chan *invocation // unbuffered: an invocation is handed to one waiting /next
	closed       chan struct{}
	initFailed   chan struct{}

	mu       sync.Mutex
	inflight map[string]*invocation
	initErr  *FunctionError
	runtime  *runtimeState
	http     *http.Server
	addr     string
	once     sync.Once
}

type invocation struct {
	id      string
	payload []byte
	timeout time.Duration
	done    chan outcome // capacity 1: answering never blocks
}

type outcome struct {
	res Result
	err error
}

// runtimeState tracks one process started by RunBinary.
type runtimeState struct {
	gone chan struct{} // closed when the process exited
	err  error         // why, set before gone is closed
}

// New returns a Server.
func New(opts ...Option) *Server {
	s := &Server{
		now:        time.Now,
		newID:      randomUUID,
		name:       "function",
		region:     "us-east-1",
		queue:      make(chan *invocation),
		closed:     make(chan struct{}),
		initFailed: make(chan struct{}),
		inflight:   map[string]*invocation{},
	}
	for _, o := range opts {
		o(s)
	}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", s.handleNext)
	s.mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", s.handleResponse)
	s.mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", s.handleInvocationError)
	s.mux.HandleFunc("POST /2018-06-01/runtime/init/error", s.handleInitError)
	return s
}

// FunctionARN is the ARN the runtime is told it was invoked as.
func (s *Server) FunctionARN() string {
	return "arn:aws:lambda:" + s.region + ":123456789012:function:" + s.name
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Invoke queues payload as one invocation, waits until a runtime takes it
// and answers, and returns the outcome. timeout is the function's timeout
// (DefaultTimeout when not positive): the runtime is told the deadline, and
// Invoke gives up with ErrTimedOut when it passes (a late answer is then
// accepted and dropped).
//
// A function error is not an error here: it is Result.Error, with err nil.
// Errors: ctx's (while queued or running), ErrTimedOut, ErrInitFailed,
// ErrRuntimeExited, ErrClosed, ErrBadResponse (with the raw body in Result).
// Invoke is not idempotent: every call is a new invocation with a new id.
func (s *Server) Invoke(ctx context.Context, payload []byte, timeout time.Duration) (Result, error) {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	inv := &invocation{id: s.newID(), payload: payload, timeout: timeout, done: make(chan outcome, 1)}
	gone, goneErr := s.runtimeGone()
	select {
	case s.queue <- inv:
	case <-ctx.Done():
		return Result{RequestID: inv.id}, fmt.Errorf("lambdart: invocation %s not taken by a runtime: %w", inv.id, ctx.Err())
	case <-gone:
		return Result{RequestID: inv.id}, goneErr()
	case <-s.initFailed:
		return Result{RequestID: inv.id}, s.initFailure()
	case <-s.closed:
		return Result{RequestID: inv.id}, ErrClosed
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var err error
	select {
	case out := <-inv.done:
		return out.res, out.err
	case <-timer.C:
		err = fmt.Errorf("%w after %v (request %s)", ErrTimedOut, timeout, inv.id)
	case <-ctx.Done():
		err = fmt.Errorf("lambdart: invocation %s: %w", inv.id, ctx.Err())
	case <-gone:
		err = goneErr()
	case <-s.closed:
		err = ErrClosed
	}
	// An answer that arrived together with the failure wins (a runtime
	// reports a panic and then exits).
	select {
	case out := <-inv.done:
		return out.res, out.err
	default:
		return Result{RequestID: inv.id}, err
	}
}

// runtimeGone returns the channel closed when the current RunBinary process
// exits (nil, never ready, when there is none) and a function giving why.
func (s *Server) runtimeGone() (<-chan struct{}, func() error) {
	s.mu.Lock()
	rt := s.runtime
	s.mu.Unlock()
	if rt == nil {
		return nil, nil
	}
	return rt.gone, func() error { return rt.err }
}

func (s *Server) initFailure() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fmt.Errorf("%w: %w", ErrInitFailed, s.initErr)
}

// handleNext hands the runtime the next invocation, blocking until there is one.
func (s *Server) handleNext(w http.ResponseWriter, r *http.Request) {
	var inv *invocation
	select {
	case inv = <-s.queue:
	case <-r.Context().Done():
		return
	case <-s.closed:
		writeJSON(w, http.StatusInternalServerError, FunctionError{Type: "ServerClosed", Message: "the Runtime API server is closed"})
		return
	}
	s.mu.Lock()
	s.inflight[inv.id] = inv
	s.mu.Unlock()
	deadline := s.now().Add(inv.timeout)
	h := w.Header()
	h.Set(HeaderRequestID, inv.id)
	h.Set(HeaderDeadlineMs, strconv.FormatInt(deadline.UnixMilli(), 10))
	h.Set(HeaderInvokedFunctionARN, s.FunctionARN())
	h.Set(HeaderTraceID, traceID(inv.id, s.now()))
	h.Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(inv.payload) // a runtime gone mid-write is noticed by RunBinary's watcher
}

// take removes and returns the in-flight invocation id, writing the
// Runtime API's error answer and returning nil when there is none.
func (s *Server) take(w http.ResponseWriter, id string) *invocation {
	s.mu.Lock()
	inv := s.inflight[id]
	delete(s.inflight, id)
	s.mu.Unlock()
	if inv == nil {
		writeJSON(w, http.StatusBadRequest, FunctionError{Type: "InvalidRequestID", Message: "no invocation in flight with request id " + id})
	}
	return inv
}

func (s *Server) handleResponse(w http.ResponseWriter, r *http.Request) {
	inv := s.take(w, r.PathValue("id"))
	if inv == nil {
		return
	}
	ct := r.Header.Get("Content-Type")
	media, _, _ := mime.ParseMediaType(ct)
	integration := media == ContentTypeHTTPIntegration
	limit := int64(MaxBufferedResponse)
	if integration || r.Header.Get(HeaderResponseMode) == ResponseModeStreaming {
		limit = MaxStreamedResponse
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	res := Result{RequestID: inv.id, ContentType: ct}
	switch {
	case err != nil:
		inv.done <- outcome{res: res, err: fmt.Errorf("%w: reading response of %s: %w", ErrBadResponse, inv.id, err)}
		writeJSON(w, http.StatusBadRequest, FunctionError{Type: "InvalidResponse", Message: err.Error()})
		return
	case int64(len(body)) > limit:
		res.Error = &FunctionError{Type: "Function.ResponseSizeTooLarge",
			Message: fmt.Sprintf("Response payload size exceeded maximum allowed payload size (%d bytes).", limit)}
		inv.done <- outcome{res: res}
		writeJSON(w, http.StatusRequestEntityTooLarge, FunctionError{Type: "RequestEntityTooLarge", Message: res.Error.Message})
		return
	}
	res.Error = trailerError(r.Trailer)
	var out error
	if integration {
		res.Streamed, out = decodeStream(body)
		if out != nil {
			res.Body = body
			out = fmt.Errorf("request %s: %w", inv.id, out)
		}
	} else {
		res.Body = body
	}
	inv.done <- outcome{res: res, err: out}
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "OK"})
}

func (s *Server) handleInvocationError(w http.ResponseWriter, r *http.Request) {
	inv := s.take(w, r.PathValue("id"))
	if inv == nil {
		return
	}
	fe := readError(r)
	inv.done <- outcome{res: Result{RequestID: inv.id, ContentType: r.Header.Get("Content-Type"), Error: fe}}
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "OK"})
}

func (s *Server) handleInitError(w http.ResponseWriter, r *http.Request) {
	fe := readError(r)
	s.mu.Lock()
	first := s.initErr == nil
	if first {
		s.initErr = fe
	}
	s.mu.Unlock()
	if !first {
		writeJSON(w, http.StatusForbidden, FunctionError{Type: "InvalidStateTransition", Message: "init error already reported"})
		return
	}
	close(s.initFailed)
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "OK"})
}

// readError reads a posted error: Lambda's JSON error format, falling back
// to the error-type header and the raw body.
func readError(r *http.Request) *FunctionError {
	body, _ := io.ReadAll(io.LimitReader(r.Body, MaxBufferedResponse))
	fe := &FunctionError{}
	if err := json.Unmarshal(body, fe); err != nil || fe.Type == "" && fe.Message == "" {
		fe = &FunctionError{Message: string(body)}
	}
	if fe.Type == "" {
		fe.Type = r.Header.Get(HeaderErrorType)
	}
	if fe.Type == "" {
		fe.Type = "Unhandled"
	}
	return fe
}

// trailerError decodes a mid-body failure reported in trailers, or nil.
func trailerError(tr http.Header) *FunctionError {
	typ := tr.Get(TrailerErrorType)
	if typ == "" {
		return nil
	}
	fe := &FunctionError{}
	raw, err := base64.StdEncoding.DecodeString(tr.Get(TrailerErrorBody))
	if err != nil || json.Unmarshal(raw, fe) != nil {
		fe = &FunctionError{}
	}
	if fe.Type == "" {
		fe.Type = typ
	}
	return fe
}

// preludeEnd separates a streamed response's JSON prelude from its body.
var preludeEnd = []byte{0, 0, 0, 0, 0, 0, 0, 0}

// decodeStream splits a Function URL streamed response into its prelude
// ({statusCode, headers, cookies}) and body. A prelude without statusCode
// means 200, as Function URLs treat it.
//
// Errors: ErrBadResponse when the separator is missing or the prelude is
// not that JSON object.
func decodeStream(b []byte) (*StreamedResponse, error) {
	i := bytes.Index(b, preludeEnd)
	if i < 0 {
		return nil, fmt.Errorf("%w: streamed response without the 8-NUL prelude separator", ErrBadResponse)
	}
	var p struct {
		StatusCode int               `json:"statusCode"`
		Headers    map[string]string `json:"headers"`
		Cookies    []string          `json:"cookies"`
	}
	if err := json.Unmarshal(b[:i], &p); err != nil {
		return nil, fmt.Errorf("%w: streamed response prelude: %w", ErrBadResponse, err)
	}
	if p.StatusCode == 0 {
		p.StatusCode = http.StatusOK
	}
	return &StreamedResponse{Status: p.StatusCode, Headers: p.Headers, Cookies: p.Cookies, Body: b[i+len(preludeEnd):]}, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// randomUUID returns a version-4 UUID.
func randomUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// traceID returns an X-Ray trace header for a request, derived from its id
// and the time: Root=1-<epoch seconds hex>-<24 hex>;Parent=<16 hex>;Sampled=0.
func traceID(requestID string, now time.Time) string {
	sum := sha256.Sum256([]byte(requestID))
	h := hex.EncodeToString(sum[:])
	return fmt.Sprintf("Root=1-%08x-%s;Parent=%s;Sampled=0", now.Unix(), h[:24], h[24:40])
}
