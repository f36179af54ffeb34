// Command fn is a tiny aws-lambda-go function that exercises every Runtime
// API path lambdart serves; the payload's "op" chooses the behaviour.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-lambda-go/lambdaurl"
)

type request struct {
	Op    string          `json:"op"`
	Value json.RawMessage `json:"value,omitempty"`
	Delay string          `json:"delay,omitempty"`
}

type echo struct {
	Value        json.RawMessage `json:"value"`
	RequestID    string          `json:"requestId"`
	FunctionARN  string          `json:"functionArn"`
	FunctionName string          `json:"functionName"`
	TraceID      string          `json:"traceId"`
	DeadlineMs   int64           `json:"deadlineMs"`
	Env          map[string]string
}

// quotaError gives the function error a recognisable errorType.
type quotaError struct{ limit int }

func (e *quotaError) Error() string { return fmt.Sprintf("quota of %d exceeded", e.limit) }

// brokenReader fails part-way through a streamed body.
type brokenReader struct{}

func (brokenReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func handle(ctx context.Context, req request) (any, error) {
	switch req.Op {
	case "echo":
		lc, _ := lambdacontext.FromContext(ctx)
		deadline, _ := ctx.Deadline()
		trace, _ := ctx.Value("x-amzn-trace-id").(string)
		env := map[string]string{}
		for _, k := range []string{"_HANDLER", "AWS_REGION", "AWS_LAMBDA_FUNCTION_NAME", "LAMBDA_TASK_ROOT", "AWS_LAMBDA_LOG_GROUP_NAME", "CUSTOM", "LAMBDART_PARENT_ONLY"} {
			env[k] = os.Getenv(k)
		}
		return echo{Value: req.Value, RequestID: lc.AwsRequestID, FunctionARN: lc.InvokedFunctionArn,
			FunctionName: lambdacontext.FunctionName, TraceID: trace, DeadlineMs: deadline.UnixMilli(), Env: env}, nil
	case "fail":
		return nil, &quotaError{limit: 7}
	case "panic":
		panic("boom")
	case "exit":
		os.Exit(3)
	case "late":
		d, _ := time.ParseDuration(req.Delay)
		time.Sleep(d)
		return "late", nil
	case "big":
		return strings.Repeat("x", 7<<20), nil
	case "stream":
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Method", r.Method)
			w.Header().Set("Content-Type", "text/plain")
			http.SetCookie(w, &http.Cookie{Name: "a", Value: "1"})
			http.SetCookie(w, &http.Cookie{Name: "b", Value: "2"})
			w.WriteHeader(http.StatusCreated)
			_, _ = io.WriteString(w, "hello ")
			_, _ = io.WriteString(w, "world")
		})
		return lambdaurl.Wrap(h)(ctx, &events.LambdaFunctionURLRequest{
			RawPath:        "/x",
			RequestContext: events.LambdaFunctionURLRequestContext{HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{Method: "PUT"}},
		})
	case "stream-fail":
		return &events.LambdaFunctionURLStreamingResponse{
			StatusCode: http.StatusOK,
			Body:       io.MultiReader(strings.NewReader("partial"), brokenReader{}),
		}, nil
	}
	return nil, fmt.Errorf("unknown op %q", req.Op)
}

func main() { lambda.Start(handle) }
