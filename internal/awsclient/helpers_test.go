package awsclient_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/connect"
	"github.com/aws/aws-sdk-go-v2/service/workmail"
	"github.com/aws/smithy-go/middleware"

	"github.com/idsync/idsync/internal/awsclient"
	"github.com/idsync/idsync/internal/sim/simkit"
)

// serviceSays is the message every error answer carries: it echoes an
// email address, as the services' messages can.
const serviceSays = "service says: jane.doe@example.com is taken"

// answer is what the fake service answers one request with: an error
// (status and code), a dropped connection, or success.
type answer struct {
	status int
	code   string
	drop   bool
}

// fake is an HTTP service that answers each operation's requests from a
// script (the last answer repeats; no script means success) and counts
// them.
type fake struct {
	proto  simkit.Protocol
	mu     sync.Mutex
	script map[string][]answer
	calls  map[string]int
	at     map[string][]time.Time
}

func newFake(proto simkit.Protocol) *fake {
	return &fake{proto: proto, script: map[string][]answer{}, calls: map[string]int{}, at: map[string][]time.Time{}}
}

// operation names a request: awsJson1_1's X-Amz-Target suffix, else the
// method and path (restJson1).
func operation(r *http.Request) string {
	if t := r.Header.Get("X-Amz-Target"); t != "" {
		return t[strings.LastIndex(t, ".")+1:]
	}
	return r.Method + " " + r.URL.Path
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op := operation(r)
	f.mu.Lock()
	n := f.calls[op]
	f.calls[op]++
	f.at[op] = append(f.at[op], time.Now())
	var a answer
	if s := f.script[op]; len(s) > 0 {
		a = s[min(n, len(s)-1)]
	}
	f.mu.Unlock()
	switch {
	case a.drop:
		// Read the whole request first: closing while the client is still
		// writing makes it fail the write (a network error) instead of
		// reading the end of the connection, which is what this case is for.
		_, _ = io.Copy(io.Discard, r.Body)
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_ = conn.Close()
		}
	case a.status != 0:
		f.proto.WriteError(w, simkit.Errorf(a.status, a.code, "%s", serviceSays))
	default:
		f.proto.WriteJSON(w, http.StatusOK, map[string]any{})
	}
}

func (f *fake) answer(op string, as ...answer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.script[op] = as
}

func (f *fake) count(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

func (f *fake) times(op string) []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Time(nil), f.at[op]...)
}

// config is an aws.Config as the consumers load it, with attempts SDK
// attempts and a 1 ms backoff cap.
func config(t *testing.T, attempts int) aws.Config {
	t.Helper()
	cfg, err := awsclient.Config(context.Background(), awsclient.Options{
		Local: true, MaxAttempts: attempts, MaxBackoff: time.Millisecond, NoRetryRateLimit: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// workMail serves a fake WorkMail and returns it with a client built by
// awsclient.WorkMail with apiOptions.
func workMail(t *testing.T, attempts int, apiOptions ...func(*middleware.Stack) error) (*fake, *workmail.Client) {
	t.Helper()
	f := newFake(simkit.AWSJSON11)
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, awsclient.WorkMail(config(t, attempts), srv.URL, apiOptions...)
}

// connectClient serves a fake Amazon Connect and returns it with a client
// built by awsclient.Connect with apiOptions.
func connectClient(t *testing.T, attempts int, apiOptions ...func(*middleware.Stack) error) (*fake, *connect.Client) {
	t.Helper()
	f := newFake(simkit.RESTJSON1)
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, awsclient.Connect(config(t, attempts), srv.URL, apiOptions...)
}

const org = "m-0123456789abcdef0123456789abcdef"

// updateUser calls WorkMail's UpdateUser.
func updateUser(ctx context.Context, c *workmail.Client) error {
	_, err := c.UpdateUser(ctx, &workmail.UpdateUserInput{OrganizationId: aws.String(org), UserId: aws.String("u-1")})
	return err
}

// deleteUser calls WorkMail's DeleteUser.
func deleteUser(ctx context.Context, c *workmail.Client) error {
	_, err := c.DeleteUser(ctx, &workmail.DeleteUserInput{OrganizationId: aws.String(org), UserId: aws.String("u-1")})
	return err
}
