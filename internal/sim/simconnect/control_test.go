package simconnect_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/connect"
	"github.com/aws/aws-sdk-go-v2/service/connect/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/internal/sim/simconnect"
	"github.com/idsync/idsync/internal/sim/simkit"
)

// With AWS's default quota (2 requests/s, burst 5, per operation) a burst
// of six gets one ThrottlingException, which the SDK retryer classifies as
// throttling; the bucket refills at 2/s.
func TestDefaultQuotaThrottles(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, simconnect.Options{}) // zero value: AWS's quotas
	list := func() error {
		_, err := e.client.ListUsers(ctx, &connect.ListUsersInput{InstanceId: aws.String(e.instance)})
		return err
	}
	var results []bool
	var throttled error
	for range 6 {
		err := list()
		results = append(results, err == nil)
		if err != nil {
			throttled = err
		}
	}
	if want := []bool{true, true, true, true, true, false}; !cmp.Equal(results, want) {
		t.Fatalf("burst results = %v, want %v", results, want)
	}
	var te *types.ThrottlingException
	if !errors.As(throttled, &te) {
		t.Fatalf("error %v is not *types.ThrottlingException", throttled)
	}
	if httpStatus(throttled) != http.StatusTooManyRequests {
		t.Errorf("status = %d, want 429", httpStatus(throttled))
	}
	if got := retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(throttled); got != aws.TrueTernary {
		t.Errorf("SDK throttle classification = %v, want true", got)
	}

	// Another operation has its own bucket.
	if _, err := e.client.ListSecurityProfiles(ctx, &connect.ListSecurityProfilesInput{InstanceId: aws.String(e.instance)}); err != nil {
		t.Errorf("other operation: %v", err)
	}

	e.clock.Advance(time.Second)
	results = nil
	for range 3 {
		results = append(results, list() == nil)
	}
	if want := []bool{true, true, false}; !cmp.Equal(results, want) {
		t.Errorf("after 1s: %v, want %v", results, want)
	}
	if c := e.sim.Control().Counters()["ListUsers"]; c.Requests != 9 || c.Throttled != 2 {
		t.Errorf("counters = %+v", c)
	}

	// Quotas can be changed, and turned off, at run time.
	e.sim.Control().SetQuota(simkit.EachOp, simkit.Quota{})
	for i := range 20 {
		if err := list(); err != nil {
			t.Fatalf("quota off, call %d: %v", i, err)
		}
	}
}

func TestNoQuotaOption(t *testing.T) {
	e := newEnv(t, quotasOff())
	for i := range 30 {
		if _, err := e.client.ListInstances(context.Background(), &connect.ListInstancesInput{}); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
}

// LimitExceededException is a quota, not a rate, yet the SDK's default
// retryer counts its code among throttles: a caller must classify it as
// permanent itself.
func TestLimitExceededIsAnSDKThrottleCode(t *testing.T) {
	e := newEnv(t, quotasOff())
	if err := e.sim.SetUserLimit(e.instance, 0); err != nil {
		t.Fatal(err)
	}
	_, err := e.client.CreateUser(context.Background(), e.createInput("x@example.com"))
	var le *types.LimitExceededException
	if !errors.As(err, &le) {
		t.Fatalf("error %v is not *types.LimitExceededException", err)
	}
	if got := retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err); got != aws.TrueTernary {
		t.Errorf("SDK throttle classification = %v", got)
	}
}

func TestInjectedServerErrorRate(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, simconnect.Options{NoQuota: true, Seed: 42})
	e.sim.Control().SetFaults(simkit.EachOp, simkit.Faults{ServerErrorRate: 0.2})
	const n = 2000
	failed := 0
	for range n {
		_, err := e.client.DescribeUser(ctx, &connect.DescribeUserInput{InstanceId: aws.String(e.instance), UserId: aws.String("u")})
		var ise *types.InternalServiceException
		switch {
		case errors.As(err, &ise):
			failed++
			if httpStatus(err) != http.StatusInternalServerError {
				t.Fatalf("status = %d, want 500", httpStatus(err))
			}
		case errors.As(err, new(*types.ResourceNotFoundException)):
		default:
			t.Fatalf("unexpected error %v", err)
		}
	}
	rate := float64(failed) / n
	if math.Abs(rate-0.2) > 0.03 {
		t.Errorf("5xx rate = %.3f, want 0.20±0.03", rate)
	}
	if c := e.sim.Control().Counters()["DescribeUser"]; c.Requests != n || c.ServerError != int64(failed) {
		t.Errorf("counters = %+v, observed %d", c, failed)
	}
}

func TestInjectedDropsAndThrottles(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, quotasOff())
	e.sim.Control().SetFaults("ListInstances", simkit.Faults{DropRate: 1})
	e.sim.Control().SetFaults("ListUsers", simkit.Faults{ThrottleRate: 1})

	_, err := e.client.ListInstances(ctx, &connect.ListInstancesInput{})
	var apiErr smithy.APIError
	if err == nil || errors.As(err, &apiErr) {
		t.Errorf("dropped connection: err = %v, want a transport error", err)
	}
	_, err = e.client.ListUsers(ctx, &connect.ListUsersInput{InstanceId: aws.String(e.instance)})
	if !errors.As(err, new(*types.ThrottlingException)) {
		t.Errorf("injected throttle: err = %v", err)
	}
	// Operations without faults of their own are untouched.
	if _, err := e.client.ListRoutingProfiles(ctx, &connect.ListRoutingProfilesInput{InstanceId: aws.String(e.instance)}); err != nil {
		t.Errorf("ListRoutingProfiles: %v", err)
	}
}

// The wire answers, byte for byte where it matters: a CreateUser request
// as the API reference shows it, and DescribeUser's response compared with
// the model's shape (epoch-second timestamps as JSON numbers).
func TestWireFormat(t *testing.T) {
	e := &env{clock: newClock()}
	e.sim = simconnect.New(simconnect.Options{NoQuota: true, Clock: e.clock.Now, NewID: seqIDs()})
	inst := e.sim.AddInstance("wire", simconnect.IdentitySAML)
	e.sim.AddSecurityProfile(inst, "Agent")
	e.sim.AddRoutingProfile(inst, "Basic")
	e.sim.AddHierarchyGroup(inst, "EMEA")

	body, err := os.ReadFile("testdata/create_user_request.json")
	if err != nil {
		t.Fatal(err)
	}
	do := func(method, path string, body []byte) *http.Response {
		req, err := http.NewRequest(method, path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		e.sim.ServeHTTP(rec, req)
		return rec.Result()
	}

	resp := do(http.MethodPut, "/users/"+inst, body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("CreateUser status %d: %s", resp.StatusCode, readAll(t, resp))
	}
	var created map[string]string
	if err := json.Unmarshal(readAll(t, resp), &created); err != nil {
		t.Fatal(err)
	}
	userID := created["UserId"]

	resp = do(http.MethodGet, "/users/"+inst+"/"+userID, nil)
	var got, want any
	if err := json.Unmarshal(readAll(t, resp), &got); err != nil {
		t.Fatal(err)
	}
	golden, err := os.ReadFile("testdata/describe_user_response.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(golden, &want); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("DescribeUser body (-want +got):\n%s", d)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}

	// Errors: status, X-Amzn-ErrorType and a Message member.
	resp = do(http.MethodPut, "/users/"+inst, body)
	if resp.StatusCode != http.StatusConflict || resp.Header.Get("X-Amzn-ErrorType") != "DuplicateResourceException" {
		t.Errorf("duplicate: %d %q", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"))
	}
	var eb map[string]any
	if err := json.Unmarshal(readAll(t, resp), &eb); err != nil || eb["Message"] == "" || eb["Message"] == nil {
		t.Errorf("error body = %v (%v)", eb, err)
	}
	resp = do(http.MethodPut, "/users/"+inst, []byte(`{"Username":`))
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("X-Amzn-ErrorType") != "InvalidRequestException" {
		t.Errorf("malformed JSON: %d %q", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"))
	}
	resp = do(http.MethodPatch, "/users/"+inst, nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown route: %d", resp.StatusCode)
	}
}

func TestControlSurfaceState(t *testing.T) {
	e := newEnv(t, quotasOff())
	id := e.mustCreate(t, "state@example.com")
	resp, err := http.Get(e.url + "/_sim/state")
	if err != nil {
		t.Fatal(err)
	}
	var st []simconnect.InstanceState
	if err := json.Unmarshal(readAll(t, resp), &st); err != nil {
		t.Fatal(err)
	}
	if len(st) != 1 || st[0].ID != e.instance || st[0].IdentityManagementType != simconnect.IdentitySAML ||
		len(st[0].SecurityProfiles) != 2 || len(st[0].RoutingProfiles) != 2 || len(st[0].HierarchyGroups) != 1 ||
		len(st[0].Users) != 1 || st[0].Users[0].ID != id || st[0].UserLimit != simconnect.DefaultUserLimit {
		t.Errorf("state = %+v", st)
	}

	// Quotas through the control surface.
	req, _ := http.NewRequest(http.MethodPost, e.url+"/_sim/quotas", strings.NewReader(`{"op":"ListInstances","rate":1,"burst":1}`))
	resp, err = http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("POST /_sim/quotas: %v %v", resp, err)
	}
	_ = resp.Body.Close()
	ctx := context.Background()
	if _, err := e.client.ListInstances(ctx, &connect.ListInstancesInput{}); err != nil {
		t.Fatal(err)
	}
	// ListInstances does not model ThrottlingException, so the SDK decodes
	// it as a generic API error; the retryer still knows it by its code.
	_, err = e.client.ListInstances(ctx, &connect.ListInstancesInput{})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "ThrottlingException" ||
		retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err) != aws.TrueTernary {
		t.Errorf("second ListInstances: %v, want throttled", err)
	}
}

func TestSeedingErrors(t *testing.T) {
	sim := simconnect.New(simconnect.Options{})
	if id := sim.AddInstance("x", "LDAP"); id != "" {
		t.Errorf("AddInstance with unknown type = %q", id)
	}
	if id := sim.AddSecurityProfile("nope", "Agent"); id != "" {
		t.Errorf("AddSecurityProfile on unknown instance = %q", id)
	}
	if _, err := sim.SeedUser("nope", "a"); !errors.Is(err, simconnect.ErrNoInstance) {
		t.Errorf("SeedUser on unknown instance: %v", err)
	}
	inst := sim.AddInstance("x", simconnect.IdentitySAML)
	if _, err := sim.SeedUser(inst, "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.SeedUser(inst, "A"); !errors.Is(err, simconnect.ErrDuplicateUsername) {
		t.Errorf("second SeedUser: %v", err)
	}
	if err := sim.SetUserLimit("nope", 1); !errors.Is(err, simconnect.ErrNoInstance) {
		t.Errorf("SetUserLimit on unknown instance: %v", err)
	}
	if got := sim.Users("nope"); got != nil {
		t.Errorf("Users of unknown instance = %v", got)
	}
}

func readAll(t *testing.T, resp *http.Response) []byte {
	t.Helper()
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(fmt.Errorf("read body: %w", err))
	}
	return b
}
