package lambdart_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/internal/lambdart"
)

// fakeRuntime plays the runtime's side of the protocol by hand.
type fakeRuntime struct {
	t    *testing.T
	base string
}

func newFakeRuntime(t *testing.T, srv *lambdart.Server) *fakeRuntime {
	t.Helper()
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		_ = srv.Close()
		hs.Close()
	})
	return &fakeRuntime{t: t, base: hs.URL + "/2018-06-01/runtime/"}
}

// next polls for an invocation and returns its headers and payload.
func (f *fakeRuntime) next() (http.Header, string) {
	f.t.Helper()
	resp, err := http.Get(f.base + "invocation/next")
	if err != nil {
		f.t.Fatalf("next: %v", err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		f.t.Fatalf("next: %d %s", resp.StatusCode, b)
	}
	return resp.Header, string(b)
}

// post sends a body and returns the status and the decoded answer.
func (f *fakeRuntime) post(path string, header http.Header, body io.Reader) (int, map[string]string) {
	f.t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.base+path, body)
	if err != nil {
		f.t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatalf("post %s: %v", path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	var answer map[string]string
	_ = json.NewDecoder(resp.Body).Decode(&answer)
	return resp.StatusCode, answer
}

type invoked struct {
	res lambdart.Result
	err error
}

func invokeAsync(srv *lambdart.Server, payload string, timeout time.Duration) <-chan invoked {
	ch := make(chan invoked, 1)
	go func() {
		res, err := srv.Invoke(context.Background(), []byte(payload), timeout)
		ch <- invoked{res, err}
	}()
	return ch
}

func TestNextHandsOverTheInvocation(t *testing.T) {
	clock := time.UnixMilli(1_900_000_000_123)
	srv := lambdart.New(lambdart.WithClock(func() time.Time { return clock }),
		lambdart.WithRequestIDs(func() string { return "8476a536-e9f4-11e8-9739-2dfe598c3fcd" }),
		lambdart.WithFunction("hook", "ap-southeast-2"))
	rt := newFakeRuntime(t, srv)
	done := invokeAsync(srv, `{"hello":"world"}`, 2500*time.Millisecond)

	h, payload := rt.next()
	if payload != `{"hello":"world"}` {
		t.Errorf("payload %q", payload)
	}
	want := map[string]string{
		lambdart.HeaderRequestID:          "8476a536-e9f4-11e8-9739-2dfe598c3fcd",
		lambdart.HeaderDeadlineMs:         "1900000002623",
		lambdart.HeaderInvokedFunctionARN: "arn:aws:lambda:ap-southeast-2:123456789012:function:hook",
		"Content-Type":                    "application/json",
	}
	for k, v := range want {
		if got := h.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if tr := h.Get(lambdart.HeaderTraceID); !strings.HasPrefix(tr, "Root=1-713fb300-") || !strings.HasSuffix(tr, ";Sampled=0") {
		t.Errorf("trace id %q", tr)
	}

	status, _ := rt.post("invocation/8476a536-e9f4-11e8-9739-2dfe598c3fcd/response", nil, strings.NewReader(`"ok"`))
	if status != http.StatusAccepted {
		t.Errorf("response status %d, want 202", status)
	}
	got := <-done
	if got.err != nil || string(got.res.Body) != `"ok"` {
		t.Errorf("Invoke = %q, %v", got.res.Body, got.err)
	}
}

func TestResponses(t *testing.T) {
	integration := http.Header{"Content-Type": {lambdart.ContentTypeHTTPIntegration}}
	tests := []struct {
		name       string
		path       string // after invocation/{id}/
		header     http.Header
		body       string
		wantStatus int
		want       lambdart.Result
		wantErr    error
	}{
		{
			name: "buffered", path: "response", header: http.Header{"Content-Type": {"application/json"}}, body: `{"batchItemFailures":[]}`,
			wantStatus: 202, want: lambdart.Result{ContentType: "application/json", Body: []byte(`{"batchItemFailures":[]}`)},
		},
		{
			name: "streamed with prelude", path: "response", header: integration,
			body:       `{"statusCode":401,"headers":{"Content-Type":"application/json"},"cookies":["s=1"]}` + "\x00\x00\x00\x00\x00\x00\x00\x00" + `{"error":"unauthorized"}`,
			wantStatus: 202,
			want: lambdart.Result{ContentType: lambdart.ContentTypeHTTPIntegration, Streamed: &lambdart.StreamedResponse{
				Status: 401, Headers: map[string]string{"Content-Type": "application/json"}, Cookies: []string{"s=1"}, Body: []byte(`{"error":"unauthorized"}`)}},
		},
		{
			name: "streamed without a status means 200; the body may hold NULs", path: "response",
			header:     http.Header{"Content-Type": {lambdart.ContentTypeHTTPIntegration + "; charset=utf-8"}},
			body:       "{}\x00\x00\x00\x00\x00\x00\x00\x00a\x00\x00\x00\x00\x00\x00\x00\x00b",
			wantStatus: 202,
			want: lambdart.Result{ContentType: lambdart.ContentTypeHTTPIntegration + "; charset=utf-8",
				Streamed: &lambdart.StreamedResponse{Status: 200, Body: []byte("a\x00\x00\x00\x00\x00\x00\x00\x00b")}},
		},
		{
			name: "streaming mode with another content type stays raw", path: "response",
			header: http.Header{"Content-Type": {"text/event-stream"}, lambdart.HeaderResponseMode: {lambdart.ResponseModeStreaming}},
			body:   "data: 1\n\n", wantStatus: 202,
			want: lambdart.Result{ContentType: "text/event-stream", Body: []byte("data: 1\n\n")},
		},
		{
			name: "streamed without the separator", path: "response", header: integration, body: `{"statusCode":200}hello`,
			wantStatus: 202, wantErr: lambdart.ErrBadResponse,
			want: lambdart.Result{ContentType: lambdart.ContentTypeHTTPIntegration, Body: []byte(`{"statusCode":200}hello`)},
		},
		{
			name: "streamed with a prelude that is not JSON", path: "response", header: integration, body: "nope\x00\x00\x00\x00\x00\x00\x00\x00body",
			wantStatus: 202, wantErr: lambdart.ErrBadResponse,
			want: lambdart.Result{ContentType: lambdart.ContentTypeHTTPIntegration, Body: []byte("nope\x00\x00\x00\x00\x00\x00\x00\x00body")},
		},
		{
			name: "error in Lambda's format", path: "error",
			header:     http.Header{"Content-Type": {"application/vnd.aws.lambda.error+json"}, lambdart.HeaderErrorType: {"Ignored.Type"}},
			body:       `{"errorMessage":"no table","errorType":"ResourceNotFoundException","stackTrace":[{"path":"a.go","line":3,"label":"f"}]}`,
			wantStatus: 202,
			want: lambdart.Result{ContentType: "application/vnd.aws.lambda.error+json", Error: &lambdart.FunctionError{
				Type: "ResourceNotFoundException", Message: "no table", StackTrace: json.RawMessage(`[{"path":"a.go","line":3,"label":"f"}]`)}},
		},
		{
			name: "error that is not JSON takes the header's type", path: "error",
			header: http.Header{lambdart.HeaderErrorType: {"Runtime.Crash"}}, body: "segfault",
			wantStatus: 202, want: lambdart.Result{Error: &lambdart.FunctionError{Type: "Runtime.Crash", Message: "segfault"}},
		},
		{
			name: "error with neither type nor body", path: "error",
			wantStatus: 202, want: lambdart.Result{Error: &lambdart.FunctionError{Type: "Unhandled"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := lambdart.New(lambdart.WithRequestIDs(func() string { return "id-1" }))
			rt := newFakeRuntime(t, srv)
			done := invokeAsync(srv, `{}`, time.Minute)
			rt.next()
			status, _ := rt.post("invocation/id-1/"+tc.path, tc.header, strings.NewReader(tc.body))
			if status != tc.wantStatus {
				t.Errorf("status %d, want %d", status, tc.wantStatus)
			}
			got := <-done
			if !errors.Is(got.err, tc.wantErr) {
				t.Errorf("Invoke error = %v, want %v", got.err, tc.wantErr)
			}
			tc.want.RequestID = "id-1"
			if diff := cmp.Diff(tc.want, got.res); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAnswerRules(t *testing.T) {
	srv := lambdart.New(lambdart.WithRequestIDs(func() string { return "only" }))
	rt := newFakeRuntime(t, srv)

	if status, answer := rt.post("invocation/nobody/response", nil, strings.NewReader("x")); status != http.StatusBadRequest || answer["errorType"] != "InvalidRequestID" {
		t.Errorf("answer for an unknown id: %d %v", status, answer)
	}
	done := invokeAsync(srv, `1`, time.Minute)
	rt.next()
	if status, _ := rt.post("invocation/only/response", nil, strings.NewReader("1")); status != http.StatusAccepted {
		t.Fatalf("first answer: %d", status)
	}
	if status, answer := rt.post("invocation/only/error", nil, strings.NewReader("{}")); status != http.StatusBadRequest || answer["errorType"] != "InvalidRequestID" {
		t.Errorf("second answer: %d %v", status, answer)
	}
	if got := <-done; got.err != nil || string(got.res.Body) != "1" || got.res.Error != nil {
		t.Errorf("Invoke = %+v, %v: the second answer must not count", got.res, got.err)
	}

	resp, err := http.Get(rt.base + "invocation/only/response")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET on a POST route: %d", resp.StatusCode)
	}
	if status, _ := rt.post("bogus", nil, nil); status != http.StatusNotFound {
		t.Errorf("unknown path: %d", status)
	}
}

func TestResponseTooLarge(t *testing.T) {
	srv := lambdart.New(lambdart.WithRequestIDs(func() string { return "big" }))
	rt := newFakeRuntime(t, srv)
	done := invokeAsync(srv, `{}`, time.Minute)
	rt.next()
	status, answer := rt.post("invocation/big/response", nil, bytes.NewReader(make([]byte, lambdart.MaxBufferedResponse+1)))
	if status != http.StatusRequestEntityTooLarge || answer["errorType"] != "RequestEntityTooLarge" {
		t.Errorf("answer %d %v", status, answer)
	}
	got := <-done
	if got.err != nil || got.res.Error == nil || got.res.Error.Type != "Function.ResponseSizeTooLarge" || got.res.Body != nil {
		t.Errorf("Invoke = %+v, %v", got.res, got.err)
	}
}

func TestInitError(t *testing.T) {
	srv := lambdart.New()
	rt := newFakeRuntime(t, srv)
	queued := invokeAsync(srv, `{}`, time.Minute)
	status, _ := rt.post("init/error", http.Header{lambdart.HeaderErrorType: {"Runtime.ConfigError"}},
		strings.NewReader(`{"errorMessage":"STATE_TABLE is required","errorType":"Runtime.ConfigError"}`))
	if status != http.StatusAccepted {
		t.Fatalf("init error: %d", status)
	}
	if status, answer := rt.post("init/error", nil, strings.NewReader(`{}`)); status != http.StatusForbidden || answer["errorType"] != "InvalidStateTransition" {
		t.Errorf("second init error: %d %v", status, answer)
	}
	for name, got := range map[string]invoked{"queued before": <-queued, "invoked after": <-invokeAsync(srv, `{}`, time.Minute)} {
		var fe *lambdart.FunctionError
		if !errors.Is(got.err, lambdart.ErrInitFailed) || !errors.As(got.err, &fe) || fe.Message != "STATE_TABLE is required" {
			t.Errorf("%s: Invoke error = %v, want ErrInitFailed with the posted error", name, got.err)
		}
	}
}

func TestInvokeGivesUp(t *testing.T) {
	t.Run("context ends while queued", func(t *testing.T) {
		srv := lambdart.New()
		defer func() { _ = srv.Close() }()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := srv.Invoke(ctx, []byte(`{}`), time.Minute); !errors.Is(err, context.Canceled) {
			t.Errorf("Invoke error = %v, want context.Canceled", err)
		}
	})
	t.Run("context ends while running", func(t *testing.T) {
		srv := lambdart.New()
		rt := newFakeRuntime(t, srv)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := srv.Invoke(ctx, []byte(`{}`), time.Minute)
			done <- err
		}()
		rt.next()
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Invoke error = %v, want context.Canceled", err)
		}
	})
	t.Run("server closed", func(t *testing.T) {
		srv := lambdart.New()
		queued := invokeAsync(srv, `{}`, time.Minute)
		if err := srv.Close(); err != nil {
			t.Fatal(err)
		}
		if got := <-queued; !errors.Is(got.err, lambdart.ErrClosed) {
			t.Errorf("queued Invoke error = %v, want ErrClosed", got.err)
		}
		if _, err := srv.Invoke(context.Background(), []byte(`{}`), time.Minute); !errors.Is(err, lambdart.ErrClosed) {
			t.Errorf("Invoke after Close = %v, want ErrClosed", err)
		}
		if _, err := srv.Listen(); !errors.Is(err, lambdart.ErrClosed) {
			t.Errorf("Listen after Close = %v, want ErrClosed", err)
		}
	})
}
