package lambdart_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/idsync/idsync/internal/lambdart"
)

// buildFn builds testdata/fn as a Lambda bootstrap for the host.
func buildFn(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "bootstrap")
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", out, "./testdata/fn")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build testdata/fn: %v\n%s", err, b)
	}
	return out
}

// sequence returns request ids req-1, req-2, … (safe for concurrent use).
func sequence() func() string {
	var mu sync.Mutex
	n := 0
	return func() string {
		mu.Lock()
		defer mu.Unlock()
		n++
		return "req-" + strconv.Itoa(n)
	}
}

func start(t *testing.T, bin string, env []string, opts ...lambdart.Option) (*lambdart.Server, *lambdart.Process) {
	t.Helper()
	srv := lambdart.New(opts...)
	p, err := srv.RunBinary(context.Background(), bin, env)
	if err != nil {
		t.Fatalf("RunBinary: %v", err)
	}
	t.Cleanup(func() {
		_ = p.Close()
		_ = srv.Close()
		if t.Failed() {
			t.Logf("function stdout:\n%s\nfunction stderr:\n%s", p.Stdout(), p.Stderr())
		}
	})
	return srv, p
}

func invoke(t *testing.T, srv *lambdart.Server, payload string, timeout time.Duration) (lambdart.Result, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return srv.Invoke(ctx, []byte(payload), timeout)
}

type echoed struct {
	Value        json.RawMessage   `json:"value"`
	RequestID    string            `json:"requestId"`
	FunctionARN  string            `json:"functionArn"`
	FunctionName string            `json:"functionName"`
	TraceID      string            `json:"traceId"`
	DeadlineMs   int64             `json:"deadlineMs"`
	Env          map[string]string `json:"Env"`
}

func decodeEcho(t *testing.T, res lambdart.Result) echoed {
	t.Helper()
	if res.Error != nil || res.Streamed != nil {
		t.Fatalf("want a buffered answer, got error %v streamed %v", res.Error, res.Streamed)
	}
	var e echoed
	if err := json.Unmarshal(res.Body, &e); err != nil {
		t.Fatalf("echo answer %q: %v", res.Body, err)
	}
	return e
}

// TestBinary runs the real aws-lambda-go runtime client (testdata/fn, built
// with -tags lambda.norpc) against the server.
func TestBinary(t *testing.T) {
	bin := buildFn(t)

	t.Run("one process, answers of every kind", func(t *testing.T) {
		t.Setenv("LAMBDART_PARENT_ONLY", "leaked")
		clock := time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)
		srv, _ := start(t, bin, []string{"CUSTOM=yes", "AWS_REGION=eu-west-1"},
			lambdart.WithClock(func() time.Time { return clock }),
			lambdart.WithRequestIDs(sequence()),
			lambdart.WithFunction("fn-test", "eu-west-1"))

		tests := []struct {
			name    string
			payload string
			timeout time.Duration
			want    lambdart.Result
			wantErr error
			check   func(t *testing.T, res lambdart.Result)
		}{
			{
				name: "echo sees the invocation's context and a Lambda environment", payload: `{"op":"echo","value":{"n":1}}`, timeout: 5 * time.Second,
				check: func(t *testing.T, res lambdart.Result) {
					got := decodeEcho(t, res)
					want := echoed{
						Value: json.RawMessage(`{"n":1}`), RequestID: "req-2", // req-1 named the log stream
						FunctionARN: "arn:aws:lambda:eu-west-1:123456789012:function:fn-test", FunctionName: "fn-test",
						TraceID:    fmt.Sprintf("Root=1-%08x-", clock.Unix()),
						DeadlineMs: clock.Add(5 * time.Second).UnixMilli(),
						Env: map[string]string{"_HANDLER": "bootstrap", "AWS_REGION": "eu-west-1", "AWS_LAMBDA_FUNCTION_NAME": "fn-test",
							"AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/fn-test", "LAMBDA_TASK_ROOT": filepath.Dir(bin), "CUSTOM": "yes", "LAMBDART_PARENT_ONLY": ""},
					}
					if !strings.HasPrefix(got.TraceID, want.TraceID) || !strings.Contains(got.TraceID, ";Parent=") {
						t.Errorf("trace id %q, want prefix %q and a parent", got.TraceID, want.TraceID)
					}
					got.TraceID = want.TraceID
					if diff := cmp.Diff(want, got); diff != "" {
						t.Errorf("echo (-want +got):\n%s", diff)
					}
					if res.RequestID != "req-2" {
						t.Errorf("RequestID = %q", res.RequestID)
					}
				},
			},
			{
				name: "function error", payload: `{"op":"fail"}`,
				want: lambdart.Result{RequestID: "req-3", ContentType: "application/json",
					Error: &lambdart.FunctionError{Type: "quotaError", Message: "quota of 7 exceeded"}},
			},
			{
				name: "Function URL streamed response", payload: `{"op":"stream"}`,
				want: lambdart.Result{RequestID: "req-4", ContentType: lambdart.ContentTypeHTTPIntegration,
					Streamed: &lambdart.StreamedResponse{Status: 201,
						Headers: map[string]string{"X-Method": "PUT", "Content-Type": "text/plain"},
						Cookies: []string{"a=1", "b=2"}, Body: []byte("hello world")}},
			},
			{
				name: "stream failing part-way keeps what arrived and the error", payload: `{"op":"stream-fail"}`,
				want: lambdart.Result{RequestID: "req-5", ContentType: lambdart.ContentTypeHTTPIntegration,
					Streamed: &lambdart.StreamedResponse{Status: 200, Body: []byte("partial")},
					Error:    &lambdart.FunctionError{Type: "errorString", Message: "disk on fire"}},
			},
			{
				name: "unknown op is a function error", payload: `{"op":"nope"}`,
				want: lambdart.Result{RequestID: "req-6", ContentType: "application/json",
					Error: &lambdart.FunctionError{Type: "errorString", Message: `unknown op "nope"`}},
			},
			{
				name: "answer after the deadline times out", payload: `{"op":"late","delay":"600ms"}`, timeout: 200 * time.Millisecond,
				wantErr: lambdart.ErrTimedOut,
			},
			{
				name: "the late answer is dropped, the next invocation gets its own", payload: `{"op":"echo","value":"after"}`,
				check: func(t *testing.T, res lambdart.Result) {
					got := decodeEcho(t, res)
					if string(got.Value) != `"after"` || got.RequestID != "req-8" || res.RequestID != "req-8" {
						t.Errorf("got value %s for request %s (result %s)", got.Value, got.RequestID, res.RequestID)
					}
				},
			},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				res, err := invoke(t, srv, tc.payload, tc.timeout)
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Invoke error = %v, want %v", err, tc.wantErr)
				}
				if tc.check != nil {
					tc.check(t, res)
					return
				}
				if tc.wantErr != nil {
					return
				}
				if diff := cmp.Diff(tc.want, res); diff != "" {
					t.Errorf("result (-want +got):\n%s", diff)
				}
			})
		}
	})

	t.Run("concurrent pollers each answer their own invocation", func(t *testing.T) {
		srv, _ := start(t, bin, []string{"AWS_LAMBDA_MAX_CONCURRENCY=3"})
		const n = 9
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := srv.Invoke(context.Background(), fmt.Appendf(nil, `{"op":"echo","value":%d}`, i), 10*time.Second)
				if err != nil {
					errs <- err
					return
				}
				var e echoed
				if err := json.Unmarshal(res.Body, &e); err != nil {
					errs <- err
					return
				}
				if string(e.Value) != strconv.Itoa(i) || e.RequestID != res.RequestID {
					errs <- fmt.Errorf("invocation %d (%s) got value %s from request %s", i, res.RequestID, e.Value, e.RequestID)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})

	// Each of these ends the process; the next invocation must then fail
	// with ErrRuntimeExited instead of waiting.
	fatal := []struct {
		name     string
		payload  string
		want     *lambdart.FunctionError // nil: the invocation itself fails with ErrRuntimeExited
		exitText string
		stack    bool // the error carries a stack trace
	}{
		{name: "panic is reported, then the runtime exits", payload: `{"op":"panic"}`,
			want: &lambdart.FunctionError{Type: "string", Message: "boom"}, exitText: "exit status", stack: true},
		{name: "exit during the invocation", payload: `{"op":"exit"}`, exitText: "exit status 3"},
		{name: "response over 6 MB", payload: `{"op":"big"}`,
			want: &lambdart.FunctionError{Type: "Function.ResponseSizeTooLarge",
				Message: "Response payload size exceeded maximum allowed payload size (6291556 bytes)."}, exitText: "exit status"},
	}
	for _, tc := range fatal {
		t.Run(tc.name, func(t *testing.T) {
			srv, p := start(t, bin, nil)
			res, err := invoke(t, srv, tc.payload, 10*time.Second)
			if tc.want == nil {
				if !errors.Is(err, lambdart.ErrRuntimeExited) || !strings.Contains(err.Error(), tc.exitText) {
					t.Fatalf("Invoke error = %v, want ErrRuntimeExited with %q", err, tc.exitText)
				}
			} else {
				if err != nil {
					t.Fatalf("Invoke: %v", err)
				}
				if diff := cmp.Diff(tc.want, res.Error, cmpopts.IgnoreFields(lambdart.FunctionError{}, "StackTrace")); diff != "" {
					t.Errorf("function error (-want +got):\n%s", diff)
				}
				if tc.stack != (res.Error != nil && len(res.Error.StackTrace) > 2) {
					t.Errorf("stack trace %s, want one: %v", res.Error.StackTrace, tc.stack)
				}
			}
			<-p.Done()
			if p.ExitErr() == nil {
				t.Errorf("process exited with status 0")
			}
			_, err = invoke(t, srv, `{"op":"echo"}`, time.Second)
			if !errors.Is(err, lambdart.ErrRuntimeExited) || !strings.Contains(err.Error(), tc.exitText) {
				t.Errorf("next Invoke error = %v, want ErrRuntimeExited with %q", err, tc.exitText)
			}
		})
	}

	t.Run("a second process waits for the first to end", func(t *testing.T) {
		srv, p := start(t, bin, nil)
		if _, err := srv.RunBinary(context.Background(), bin, nil); err == nil {
			t.Fatal("RunBinary accepted a second process while the first runs")
		}
		_ = p.Close()
		p2, err := srv.RunBinary(context.Background(), bin, nil)
		if err != nil {
			t.Fatalf("RunBinary after Close: %v", err)
		}
		defer func() { _ = p2.Close() }()
		res, err := invoke(t, srv, `{"op":"echo","value":2}`, 5*time.Second)
		if err != nil || !strings.Contains(string(res.Body), `"value":2`) {
			t.Fatalf("Invoke on the second process: %s, %v", res.Body, err)
		}
	})

	t.Run("missing binary", func(t *testing.T) {
		srv := lambdart.New()
		defer func() { _ = srv.Close() }()
		if _, err := srv.RunBinary(context.Background(), filepath.Join(t.TempDir(), "bootstrap"), nil); err == nil {
			t.Fatal("RunBinary started a missing binary")
		}
	})
}
