package simssoadmin_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin/types"
	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/internal/awsclient"
	"github.com/idsync/idsync/internal/sim/simidentitystore"
	"github.com/idsync/idsync/internal/sim/simkit"
	"github.com/idsync/idsync/internal/sim/simssoadmin"
)

const workmailProvider = "arn:aws:sso::aws:applicationProvider/custom"

// created is when every test instance and application was made (a frozen clock).
func created() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) }

type env struct {
	srv      *simssoadmin.Server
	url      string
	client   *ssoadmin.Client
	ids      *simidentitystore.Server
	storeID  string
	instance string
	app      string
}

func newEnv(t *testing.T, o simssoadmin.Options) *env {
	t.Helper()
	ids := simidentitystore.New(simidentitystore.Options{NoQuota: true})
	storeID := ids.AddIdentityStore()
	if o.Clock == nil {
		o.Clock = created
	}
	o.Principals = ids
	srv := simssoadmin.New(o)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	cfg, err := awsclient.Config(context.Background(), awsclient.Options{Local: true, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	inst := srv.AddInstance(storeID)
	return &env{srv: srv, url: hs.URL, client: awsclient.SSOAdmin(cfg, hs.URL), ids: ids, storeID: storeID,
		instance: inst, app: srv.AddApplication(inst, "WorkMail", workmailProvider)}
}

func (e *env) user(t *testing.T, i int) string {
	t.Helper()
	id, err := e.ids.SeedUser(e.storeID, simidentitystore.User{UserName: fmt.Sprintf("u%04d", i), GivenName: "G", FamilyName: "F"})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestOperationsThroughSDK(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, simssoadmin.Options{NoQuota: true})
	c := e.client
	other := e.srv.AddApplication(e.instance, "Other", "arn:aws:sso::aws:applicationProvider/jira")

	li, err := c.ListInstances(ctx, &ssoadmin.ListInstancesInput{})
	if err != nil || len(li.Instances) != 1 {
		t.Fatalf("ListInstances = %+v, %v", li, err)
	}
	in := li.Instances[0]
	if aws.ToString(in.InstanceArn) != e.instance || aws.ToString(in.IdentityStoreId) != e.storeID ||
		in.Status != types.InstanceStatusActive || !aws.ToTime(in.CreatedDate).Equal(created()) || aws.ToString(in.OwnerAccountId) != "123456789012" {
		t.Fatalf("instance = %+v", in)
	}

	la, err := c.ListApplications(ctx, &ssoadmin.ListApplicationsInput{InstanceArn: aws.String(e.instance)})
	if err != nil || len(la.Applications) != 2 || aws.ToString(la.Applications[0].ApplicationArn) != e.app {
		t.Fatalf("ListApplications = %+v, %v", la, err)
	}
	app := la.Applications[0]
	if aws.ToString(app.Name) != "WorkMail" || aws.ToString(app.ApplicationProviderArn) != workmailProvider ||
		aws.ToString(app.InstanceArn) != e.instance || app.Status != types.ApplicationStatusEnabled {
		t.Fatalf("application = %+v", app)
	}
	la, err = c.ListApplications(ctx, &ssoadmin.ListApplicationsInput{InstanceArn: aws.String(e.instance),
		Filter: &types.ListApplicationsFilter{ApplicationProvider: aws.String("arn:aws:sso::aws:applicationProvider/jira")}})
	if err != nil || len(la.Applications) != 1 || aws.ToString(la.Applications[0].ApplicationArn) != other {
		t.Fatalf("ListApplications(filter) = %+v, %v", la, err)
	}
	da, err := c.DescribeApplication(ctx, &ssoadmin.DescribeApplicationInput{ApplicationArn: aws.String(e.app)})
	if err != nil || aws.ToString(da.Name) != "WorkMail" || !aws.ToTime(da.CreatedDate).Equal(created()) {
		t.Fatalf("DescribeApplication = %+v, %v", da, err)
	}

	uid := e.user(t, 0)
	gid, err := e.ids.SeedGroup(e.storeID, simidentitystore.Group{DisplayName: "mail"})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct {
		typ types.PrincipalType
		id  string
	}{{types.PrincipalTypeUser, uid}, {types.PrincipalTypeGroup, gid}} {
		if _, err := c.CreateApplicationAssignment(ctx, &ssoadmin.CreateApplicationAssignmentInput{
			ApplicationArn: aws.String(e.app), PrincipalId: aws.String(p.id), PrincipalType: p.typ}); err != nil {
			t.Fatalf("CreateApplicationAssignment(%s): %v", p.typ, err)
		}
	}
	daa, err := c.DescribeApplicationAssignment(ctx, &ssoadmin.DescribeApplicationAssignmentInput{
		ApplicationArn: aws.String(e.app), PrincipalId: aws.String(gid), PrincipalType: types.PrincipalTypeGroup})
	if err != nil || aws.ToString(daa.PrincipalId) != gid {
		t.Fatalf("DescribeApplicationAssignment = %+v, %v", daa, err)
	}
	if got, want := assignments(t, c, e.app, 0), []string{"USER " + uid, "GROUP " + gid}; !cmp.Equal(want, got) {
		t.Fatalf("assignments = %v, want %v", got, want)
	}
	if _, err := c.DeleteApplicationAssignment(ctx, &ssoadmin.DeleteApplicationAssignmentInput{
		ApplicationArn: aws.String(e.app), PrincipalId: aws.String(uid), PrincipalType: types.PrincipalTypeUser}); err != nil {
		t.Fatalf("DeleteApplicationAssignment: %v", err)
	}
	if got, want := assignments(t, c, e.app, 0), []string{"GROUP " + gid}; !cmp.Equal(want, got) {
		t.Fatalf("assignments after delete = %v, want %v", got, want)
	}

	resp, err := http.Get(e.url + "/_sim/state")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var st simssoadmin.State
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	want := simssoadmin.State{Instances: []simssoadmin.InstanceState{{InstanceArn: e.instance, IdentityStoreID: e.storeID, Applications: []simssoadmin.ApplicationState{
		{ApplicationArn: e.app, Name: "WorkMail", ApplicationProviderArn: workmailProvider, Assignments: []simssoadmin.Assignment{{PrincipalType: "GROUP", PrincipalID: gid}}},
		{ApplicationArn: other, Name: "Other", ApplicationProviderArn: "arn:aws:sso::aws:applicationProvider/jira", Assignments: []simssoadmin.Assignment{}},
	}}}}
	if d := cmp.Diff(want, st); d != "" {
		t.Fatalf("state (-want +got):\n%s", d)
	}
}

// assignments walks ListApplicationAssignments with the SDK's paginator and
// returns "TYPE id" per assignment.
func assignments(t *testing.T, c *ssoadmin.Client, app string, limit int32) []string {
	t.Helper()
	p := ssoadmin.NewListApplicationAssignmentsPaginator(c, &ssoadmin.ListApplicationAssignmentsInput{ApplicationArn: aws.String(app)},
		func(o *ssoadmin.ListApplicationAssignmentsPaginatorOptions) { o.Limit = limit })
	var out []string
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range page.ApplicationAssignments {
			if aws.ToString(a.ApplicationArn) != app {
				t.Fatalf("assignment of %s listed under %s", aws.ToString(a.ApplicationArn), app)
			}
			out = append(out, string(a.PrincipalType)+" "+aws.ToString(a.PrincipalId))
		}
	}
	return out
}

func TestErrorsDecodeIntoSDKTypes(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, simssoadmin.Options{NoQuota: true})
	c := e.client
	uid := e.user(t, 0)
	if _, err := c.CreateApplicationAssignment(ctx, &ssoadmin.CreateApplicationAssignmentInput{
		ApplicationArn: aws.String(e.app), PrincipalId: aws.String(uid), PrincipalType: types.PrincipalTypeUser}); err != nil {
		t.Fatal(err)
	}
	missingApp := e.app[:len(e.app)-16] + "0000000000000000"
	const nobody = "11111111-2222-4333-8444-555555555555"
	assign := func(app, id string, typ types.PrincipalType) func() error {
		return func() error {
			_, err := c.CreateApplicationAssignment(ctx, &ssoadmin.CreateApplicationAssignmentInput{
				ApplicationArn: aws.String(app), PrincipalId: aws.String(id), PrincipalType: typ})
			return err
		}
	}
	is := func(target any) func(*testing.T, error) {
		return func(t *testing.T, err error) {
			if !errors.As(err, target) {
				t.Fatalf("want %T, got %v", target, err)
			}
		}
	}
	tests := []struct {
		name  string
		call  func() error
		check func(*testing.T, error)
	}{
		{"duplicate assignment", assign(e.app, uid, types.PrincipalTypeUser), is(new(*types.ConflictException))},
		{"unknown application", assign(missingApp, uid, types.PrincipalTypeUser), is(new(*types.ResourceNotFoundException))},
		{"unknown principal", assign(e.app, nobody, types.PrincipalTypeUser), is(new(*types.ResourceNotFoundException))},
		{"user id given as a group", assign(e.app, uid, types.PrincipalTypeGroup), is(new(*types.ResourceNotFoundException))},
		{"bad principal type", assign(e.app, uid, "ROLE"), is(new(*types.ValidationException))},
		{"bad principal id", assign(e.app, "bob", types.PrincipalTypeUser), is(new(*types.ValidationException))},
		{"bad application ARN", assign("arn:aws:sso::123456789012:application/nope", uid, types.PrincipalTypeUser), is(new(*types.ValidationException))},
		{"list unknown application", func() error {
			_, err := c.ListApplicationAssignments(ctx, &ssoadmin.ListApplicationAssignmentsInput{ApplicationArn: aws.String(missingApp)})
			return err
		}, is(new(*types.ResourceNotFoundException))},
		{"delete missing assignment", func() error {
			_, err := c.DeleteApplicationAssignment(ctx, &ssoadmin.DeleteApplicationAssignmentInput{
				ApplicationArn: aws.String(e.app), PrincipalId: aws.String(nobody), PrincipalType: types.PrincipalTypeUser})
			return err
		}, is(new(*types.ResourceNotFoundException))},
		{"applications of an instance not ours", func() error {
			_, err := c.ListApplications(ctx, &ssoadmin.ListApplicationsInput{InstanceArn: aws.String("arn:aws:sso:::instance/ssoins-0000000000000000")})
			return err
		}, is(new(*types.AccessDeniedException))},
		{"page size over 100", func() error {
			_, err := c.ListInstances(ctx, &ssoadmin.ListInstancesInput{MaxResults: aws.Int32(101)})
			return err
		}, is(new(*types.ValidationException))},
		{"forged token", func() error {
			_, err := c.ListApplicationAssignments(ctx, &ssoadmin.ListApplicationAssignmentsInput{ApplicationArn: aws.String(e.app), NextToken: aws.String("b2s6MTA")})
			return err
		}, is(new(*types.ValidationException))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.check(t, tc.call()) })
	}
}

func TestAssignmentPaginator(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, simssoadmin.Options{NoQuota: true})
	var want []string
	for i := range 250 {
		id := e.user(t, i)
		want = append(want, "USER "+id)
		if _, err := e.client.CreateApplicationAssignment(ctx, &ssoadmin.CreateApplicationAssignmentInput{
			ApplicationArn: aws.String(e.app), PrincipalId: aws.String(id), PrincipalType: types.PrincipalTypeUser}); err != nil {
			t.Fatal(err)
		}
	}
	for _, limit := range []int32{0, 100, 9} {
		if got := assignments(t, e.client, e.app, limit); !cmp.Equal(want, got) {
			t.Fatalf("limit %d: %d assignments, want %d (diff %s)", limit, len(got), len(want), cmp.Diff(want, got))
		}
	}
	first, err := e.client.ListApplicationAssignments(ctx, &ssoadmin.ListApplicationAssignmentsInput{ApplicationArn: aws.String(e.app), MaxResults: aws.Int32(100)})
	if err != nil || len(first.ApplicationAssignments) != 100 || first.NextToken == nil {
		t.Fatalf("first page = %d items, token %v, %v", len(first.ApplicationAssignments), first.NextToken, err)
	}
}

func TestCollectiveQuotaThrottles(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, simssoadmin.Options{}) // AWS default quota, frozen clock: no refill
	passed, throttled := 0, 0
	for i := range 30 {
		var err error
		if i%2 == 0 {
			_, err = e.client.ListInstances(ctx, &ssoadmin.ListInstancesInput{})
		} else {
			_, err = e.client.ListApplications(ctx, &ssoadmin.ListApplicationsInput{InstanceArn: aws.String(e.instance)})
		}
		var te *types.ThrottlingException
		switch {
		case err == nil:
			passed++
		case errors.As(err, &te):
			throttled++
			if got := retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err); got != aws.TrueTernary {
				t.Fatalf("SDK retryer does not classify %v as throttling", err)
			}
		default:
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if passed != 20 || throttled != 10 {
		t.Fatalf("passed %d, throttled %d; want 20 and 10", passed, throttled)
	}
	req, _ := http.NewRequest(http.MethodPost, e.url, strings.NewReader(`{}`))
	req.Header.Set("X-Amz-Target", "SWBExternalService.ListInstances")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("status %d, want 429", resp.StatusCode)
	}
}

func TestServerErrorRateIsHonoured(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, simssoadmin.Options{NoQuota: true, Seed: 5})
	const n, rate = 2000, 0.1
	e.srv.Control().SetFaults(simkit.EachOp, simkit.Faults{ServerErrorRate: rate})
	failed := 0
	for range n {
		_, err := e.client.ListInstances(ctx, &ssoadmin.ListInstancesInput{})
		var ise *types.InternalServerException
		switch {
		case err == nil:
		case errors.As(err, &ise):
			failed++
		default:
			t.Fatalf("unexpected error %v", err)
		}
	}
	got, sigma := float64(failed)/n, math.Sqrt(rate*(1-rate)/n)
	if math.Abs(got-rate) > 4*sigma {
		t.Fatalf("5xx rate %.3f, want %.2f ± %.3f", got, rate, 4*sigma)
	}
}

func TestAddApplicationToUnknownInstance(t *testing.T) {
	e := newEnv(t, simssoadmin.Options{NoQuota: true})
	if got := e.srv.AddApplication("arn:aws:sso:::instance/ssoins-ffffffffffffffff", "x", workmailProvider); got != "" {
		t.Fatalf("AddApplication to an unknown instance = %q, want \"\"", got)
	}
}
