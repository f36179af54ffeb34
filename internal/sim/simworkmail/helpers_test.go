package simworkmail_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/workmail"

	"github.com/idsync/idsync/internal/awsclient"
	"github.com/idsync/idsync/internal/sim/simworkmail"
)

// t0 is the fake clock's start.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// counterUUIDs returns a generator of predictable UUIDs: the n-th is
// 00000000-0000-4000-8000-<n as 12 hex digits>.
func counterUUIDs() func() string {
	var mu sync.Mutex
	n := 0
	return func() string {
		mu.Lock()
		defer mu.Unlock()
		n++
		return fmt.Sprintf("00000000-0000-4000-8000-%012x", n)
	}
}

type fixture struct {
	sim    *simworkmail.Server
	client *workmail.Client
	url    string
	clock  *fakeClock
	org    string // alias "example", domains example.com, example.org, example.awsapps.com
}

// setup starts a stand-in (quotas off unless o sets them, fake clock,
// counter UUIDs) with one organisation, and an SDK client with the given
// attempt limit and a 1 ms backoff cap.
func setup(t *testing.T, o simworkmail.Options, attempts int) *fixture {
	t.Helper()
	clock := &fakeClock{now: t0}
	if o.Clock == nil {
		o.Clock = clock.Now
	}
	if o.Quota.Rate == 0 {
		o.NoQuota = true
	}
	if o.NewUUID == nil {
		o.NewUUID = counterUUIDs()
	}
	sim := simworkmail.New(o)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	cfg, err := awsclient.Config(context.Background(), awsclient.Options{
		Local: true, MaxAttempts: attempts, MaxBackoff: time.Millisecond, NoRetryRateLimit: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{
		sim:    sim,
		client: awsclient.WorkMail(cfg, srv.URL),
		url:    srv.URL,
		clock:  clock,
		org:    sim.AddOrganization("example", "example.com", "example.org"),
	}
}

// createUser creates a DISABLED user through the API.
func (f *fixture) createUser(t *testing.T, name string) string {
	t.Helper()
	out, err := f.client.CreateUser(context.Background(), &workmail.CreateUserInput{
		OrganizationId: aws.String(f.org), Name: aws.String(name), DisplayName: aws.String(name),
	})
	if err != nil {
		t.Fatalf("CreateUser %s: %v", name, err)
	}
	return aws.ToString(out.UserId)
}

// enabledUser creates and registers a user through the API.
func (f *fixture) enabledUser(t *testing.T, name, email string) string {
	t.Helper()
	id := f.createUser(t, name)
	if _, err := f.client.RegisterToWorkMail(context.Background(), &workmail.RegisterToWorkMailInput{
		OrganizationId: aws.String(f.org), EntityId: aws.String(id), Email: aws.String(email),
	}); err != nil {
		t.Fatalf("RegisterToWorkMail %s: %v", name, err)
	}
	return id
}

func (f *fixture) describe(t *testing.T, ident string) *workmail.DescribeUserOutput {
	t.Helper()
	out, err := f.client.DescribeUser(context.Background(), &workmail.DescribeUserInput{
		OrganizationId: aws.String(f.org), UserId: aws.String(ident),
	})
	if err != nil {
		t.Fatalf("DescribeUser %s: %v", ident, err)
	}
	return out
}

// isA reports whether err holds a T, the SDK's own exception type.
func isA[T error](err error) bool {
	var target T
	return errors.As(err, &target)
}
