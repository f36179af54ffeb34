package simconnect_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/connect"
	"github.com/aws/aws-sdk-go-v2/service/connect/types"
	"github.com/aws/smithy-go"

	"github.com/idsync/idsync/internal/awsclient"
	"github.com/idsync/idsync/internal/sim/simconnect"
)

// clock is a settable clock safe for concurrent use.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock {
	return &clock{now: time.Date(2026, 1, 1, 12, 0, 0, 250_000_000, time.UTC)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// seqIDs mints predictable UUIDs: ...-000000000001, ...-000000000002, ...
func seqIDs() func() string {
	n := 0
	return func() string {
		n++
		return fmt.Sprintf("00000000-0000-4000-8000-%012d", n)
	}
}

// env is a stand-in with one SAML instance, two security profiles, two
// routing profiles and a hierarchy group, and an SDK client for it.
type env struct {
	sim      *simconnect.Server
	url      string
	client   *connect.Client
	clock    *clock
	instance string
	sp1, sp2 string
	rp1, rp2 string
	group    string
}

func newEnv(t *testing.T, o simconnect.Options) *env {
	t.Helper()
	e := &env{clock: newClock()}
	if o.Clock == nil {
		o.Clock = e.clock.Now
	}
	e.sim = simconnect.New(o)
	srv := httptest.NewServer(e.sim)
	t.Cleanup(srv.Close)
	e.url = srv.URL
	e.client = newClient(t, srv.URL)
	e.instance = e.sim.AddInstance("idsync-test", simconnect.IdentitySAML)
	e.sp1 = e.sim.AddSecurityProfile(e.instance, "Agent")
	e.sp2 = e.sim.AddSecurityProfile(e.instance, "Supervisor")
	e.rp1 = e.sim.AddRoutingProfile(e.instance, "Basic Routing Profile")
	e.rp2 = e.sim.AddRoutingProfile(e.instance, "Sales")
	e.group = e.sim.AddHierarchyGroup(e.instance, "EMEA")
	return e
}

// newClient is the real SDK client with retries off, so that every error
// comes back as the stand-in answered it.
func newClient(t *testing.T, url string) *connect.Client {
	t.Helper()
	cfg, err := awsclient.Config(context.Background(), awsclient.Options{Local: true, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	return awsclient.Connect(cfg, url)
}

func quotasOff() simconnect.Options { return simconnect.Options{NoQuota: true} }

// createInput is a valid CreateUser input for e's SAML instance.
func (e *env) createInput(username string) *connect.CreateUserInput {
	return &connect.CreateUserInput{
		InstanceId: aws.String(e.instance),
		Username:   aws.String(username),
		IdentityInfo: &types.UserIdentityInfo{
			FirstName: aws.String("Jane"), LastName: aws.String("Doe"), Email: aws.String(username),
		},
		PhoneConfig:        &types.UserPhoneConfig{PhoneType: types.PhoneTypeSoftPhone, AfterContactWorkTimeLimit: 30},
		SecurityProfileIds: []string{e.sp1},
		RoutingProfileId:   aws.String(e.rp1),
	}
}

func (e *env) mustCreate(t *testing.T, username string) string {
	t.Helper()
	out, err := e.client.CreateUser(context.Background(), e.createInput(username))
	if err != nil {
		t.Fatalf("CreateUser(%s): %v", username, err)
	}
	return aws.ToString(out.UserId)
}

func httpStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func TestUserLifecycle(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, quotasOff())
	c := e.client

	in := e.createInput("jdoe@example.com")
	in.HierarchyGroupId = aws.String(e.group)
	in.Tags = map[string]string{"managed-by": "idsync"}
	created, err := c.CreateUser(ctx, in)
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	id := aws.ToString(created.UserId)
	wantARN := "arn:aws:connect:us-east-1:123456789012:instance/" + e.instance + "/agent/" + id
	if aws.ToString(created.UserArn) != wantARN {
		t.Errorf("UserArn = %s, want %s", aws.ToString(created.UserArn), wantARN)
	}

	d, err := c.DescribeUser(ctx, &connect.DescribeUserInput{InstanceId: aws.String(e.instance), UserId: aws.String(id)})
	if err != nil {
		t.Fatalf("DescribeUser: %v", err)
	}
	u := d.User
	if aws.ToString(u.Username) != "jdoe@example.com" || aws.ToString(u.IdentityInfo.FirstName) != "Jane" ||
		u.PhoneConfig.PhoneType != types.PhoneTypeSoftPhone || u.PhoneConfig.AfterContactWorkTimeLimit != 30 ||
		!slices.Equal(u.SecurityProfileIds, []string{e.sp1}) || aws.ToString(u.RoutingProfileId) != e.rp1 ||
		aws.ToString(u.HierarchyGroupId) != e.group || u.Tags["managed-by"] != "idsync" ||
		!aws.ToTime(u.LastModifiedTime).Equal(e.clock.Now().Truncate(time.Millisecond)) ||
		aws.ToString(u.LastModifiedRegion) != "us-east-1" {
		t.Errorf("DescribeUser = %+v", u)
	}

	// The instance ARN may stand where the instance id does.
	instanceARN := "arn:aws:connect:us-east-1:123456789012:instance/" + e.instance
	if _, err := c.DescribeUser(ctx, &connect.DescribeUserInput{InstanceId: aws.String(instanceARN), UserId: aws.String(id)}); err != nil {
		t.Errorf("DescribeUser by instance ARN: %v", err)
	}

	e.clock.Advance(time.Minute)
	if _, err := c.UpdateUserIdentityInfo(ctx, &connect.UpdateUserIdentityInfoInput{
		InstanceId: aws.String(e.instance), UserId: aws.String(id),
		IdentityInfo: &types.UserIdentityInfo{FirstName: aws.String("Janet"), LastName: aws.String("Doe-Smith")},
	}); err != nil {
		t.Fatalf("UpdateUserIdentityInfo: %v", err)
	}
	if _, err := c.UpdateUserSecurityProfiles(ctx, &connect.UpdateUserSecurityProfilesInput{
		InstanceId: aws.String(e.instance), UserId: aws.String(id), SecurityProfileIds: []string{e.sp2, e.sp1},
	}); err != nil {
		t.Fatalf("UpdateUserSecurityProfiles: %v", err)
	}
	if _, err := c.UpdateUserRoutingProfile(ctx, &connect.UpdateUserRoutingProfileInput{
		InstanceId: aws.String(e.instance), UserId: aws.String(id), RoutingProfileId: aws.String(e.rp2),
	}); err != nil {
		t.Fatalf("UpdateUserRoutingProfile: %v", err)
	}
	got := e.sim.Users(e.instance)
	if len(got) != 1 {
		t.Fatalf("Users = %+v", got)
	}
	// UpdateUserIdentityInfo replaces the whole identity info.
	if g := got[0]; g.FirstName != "Janet" || g.LastName != "Doe-Smith" || g.Email != "" ||
		!slices.Equal(g.SecurityProfileIDs, []string{e.sp2, e.sp1}) || g.RoutingProfileID != e.rp2 ||
		!g.LastModifiedTime.Equal(e.clock.Now()) {
		t.Errorf("after updates: %+v", g)
	}

	lu, err := c.ListUsers(ctx, &connect.ListUsersInput{InstanceId: aws.String(e.instance)})
	if err != nil {
		t.Fatalf("ListUsers: %v", err)
	}
	if len(lu.UserSummaryList) != 1 || aws.ToString(lu.UserSummaryList[0].Id) != id ||
		aws.ToString(lu.UserSummaryList[0].Arn) != wantARN || lu.NextToken != nil {
		t.Errorf("ListUsers = %+v", lu)
	}

	e.clock.Advance(simconnect.DefaultSearchLag) // until SearchUsers sees the updates
	su, err := c.SearchUsers(ctx, &connect.SearchUsersInput{
		InstanceId: aws.String(e.instance),
		SearchCriteria: &types.UserSearchCriteria{StringCondition: &types.StringCondition{
			FieldName: aws.String("Username"), Value: aws.String("JDOE@example.com"), ComparisonType: types.StringComparisonTypeExact,
		}},
	})
	if err != nil {
		t.Fatalf("SearchUsers: %v", err)
	}
	if len(su.Users) != 1 || aws.ToString(su.Users[0].Id) != id || aws.ToInt64(su.ApproximateTotalCount) != 1 ||
		aws.ToString(su.Users[0].IdentityInfo.FirstName) != "Janet" ||
		su.Users[0].PhoneConfig.AfterContactWorkTimeLimit != 30_000 { // SearchUsers answers ACW in milliseconds
		t.Errorf("SearchUsers = %+v", su.Users)
	}

	if _, err := c.DeleteUser(ctx, &connect.DeleteUserInput{InstanceId: aws.String(e.instance), UserId: aws.String(id)}); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	if got := e.sim.Users(e.instance); len(got) != 0 {
		t.Errorf("after DeleteUser: %+v", got)
	}
	// The username is free again.
	e.mustCreate(t, "jdoe@example.com")
}

func TestListProfilesAndInstances(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, quotasOff())
	second := e.sim.AddInstance("second", simconnect.IdentityConnectManaged)

	sp, err := e.client.ListSecurityProfiles(ctx, &connect.ListSecurityProfilesInput{InstanceId: aws.String(e.instance)})
	if err != nil {
		t.Fatalf("ListSecurityProfiles: %v", err)
	}
	var names []string
	for _, p := range sp.SecurityProfileSummaryList {
		names = append(names, aws.ToString(p.Name))
		wantARN := "arn:aws:connect:us-east-1:123456789012:instance/" + e.instance + "/security-profile/" + aws.ToString(p.Id)
		if aws.ToString(p.Arn) != wantARN {
			t.Errorf("security profile ARN = %s, want %s", aws.ToString(p.Arn), wantARN)
		}
	}
	if !slices.Equal(names, []string{"Agent", "Supervisor"}) {
		t.Errorf("security profiles = %v", names)
	}

	rp, err := e.client.ListRoutingProfiles(ctx, &connect.ListRoutingProfilesInput{InstanceId: aws.String(e.instance), MaxResults: aws.Int32(1)})
	if err != nil {
		t.Fatalf("ListRoutingProfiles: %v", err)
	}
	if len(rp.RoutingProfileSummaryList) != 1 || aws.ToString(rp.RoutingProfileSummaryList[0].Id) != e.rp1 || rp.NextToken == nil {
		t.Fatalf("ListRoutingProfiles page 1 = %+v", rp)
	}
	rp, err = e.client.ListRoutingProfiles(ctx, &connect.ListRoutingProfilesInput{InstanceId: aws.String(e.instance), MaxResults: aws.Int32(1), NextToken: rp.NextToken})
	if err != nil {
		t.Fatalf("ListRoutingProfiles page 2: %v", err)
	}
	if len(rp.RoutingProfileSummaryList) != 1 || aws.ToString(rp.RoutingProfileSummaryList[0].Id) != e.rp2 || rp.NextToken != nil {
		t.Fatalf("ListRoutingProfiles page 2 = %+v", rp)
	}

	li, err := e.client.ListInstances(ctx, &connect.ListInstancesInput{})
	if err != nil {
		t.Fatalf("ListInstances: %v", err)
	}
	if len(li.InstanceSummaryList) != 2 {
		t.Fatalf("ListInstances = %+v", li.InstanceSummaryList)
	}
	first, sec := li.InstanceSummaryList[0], li.InstanceSummaryList[1]
	if aws.ToString(first.Id) != e.instance || first.IdentityManagementType != types.DirectoryTypeSaml ||
		aws.ToString(first.InstanceAlias) != "idsync-test" || first.InstanceStatus != types.InstanceStatusActive ||
		!aws.ToTime(first.CreatedTime).Equal(e.clock.Now().Truncate(time.Millisecond)) ||
		aws.ToString(first.Arn) != "arn:aws:connect:us-east-1:123456789012:instance/"+e.instance {
		t.Errorf("first instance = %+v", first)
	}
	if aws.ToString(sec.Id) != second || sec.IdentityManagementType != types.DirectoryTypeConnectManaged {
		t.Errorf("second instance = %+v", sec)
	}
	for _, id := range []string{second, aws.ToString(sec.Arn)} {
		d, err := e.client.DescribeInstance(ctx, &connect.DescribeInstanceInput{InstanceId: aws.String(id)})
		if err != nil || d.Instance == nil || aws.ToString(d.Instance.Id) != second ||
			d.Instance.IdentityManagementType != types.DirectoryTypeConnectManaged || d.Instance.InstanceStatus != types.InstanceStatusActive {
			t.Errorf("DescribeInstance(%s) = %+v, %v", id, d, err)
		}
	}
	_, err = e.client.DescribeInstance(ctx, &connect.DescribeInstanceInput{InstanceId: aws.String("00000000-0000-4000-8000-00000000dead")})
	if !as[*types.ResourceNotFoundException](err) {
		t.Errorf("DescribeInstance of an unknown instance: %v, want ResourceNotFoundException", err)
	}
}

func as[T error](err error) bool {
	var target T
	return errors.As(err, &target)
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, quotasOff())
	existing := e.mustCreate(t, "taken@example.com")
	managed := e.sim.AddInstance("managed", simconnect.IdentityConnectManaged)
	mSP := e.sim.AddSecurityProfile(managed, "Agent")
	mRP := e.sim.AddRoutingProfile(managed, "Basic")
	directory := e.sim.AddInstance("directory", simconnect.IdentityExistingDirectory)
	dSP := e.sim.AddSecurityProfile(directory, "Agent")
	dRP := e.sim.AddRoutingProfile(directory, "Basic")
	dUser, err := e.sim.SeedUser(directory, "dir.user")
	if err != nil {
		t.Fatal(err)
	}
	limited := e.sim.AddInstance("limited", simconnect.IdentitySAML)
	lSP := e.sim.AddSecurityProfile(limited, "Agent")
	lRP := e.sim.AddRoutingProfile(limited, "Basic")
	if _, err := e.sim.SeedUser(limited, "first"); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.SetUserLimit(limited, 1); err != nil {
		t.Fatal(err)
	}

	create := func(mod func(*connect.CreateUserInput)) func() error {
		return func() error {
			in := e.createInput("new.user@example.com")
			mod(in)
			_, err := e.client.CreateUser(ctx, in)
			return err
		}
	}
	const (
		duplicate = "DuplicateResourceException"
		notFound  = "ResourceNotFoundException"
		invParam  = "InvalidParameterException"
		invReq    = "InvalidRequestException"
		limit     = "LimitExceededException"
	)
	isType := map[string]func(error) bool{
		duplicate: as[*types.DuplicateResourceException],
		notFound:  as[*types.ResourceNotFoundException],
		invParam:  as[*types.InvalidParameterException],
		invReq:    as[*types.InvalidRequestException],
		limit:     as[*types.LimitExceededException],
	}
	status := map[string]int{duplicate: 409, notFound: 404, invParam: 400, invReq: 400, limit: 429}

	tests := []struct {
		name string
		call func() error
		code string
	}{
		{"username taken, other case", create(func(in *connect.CreateUserInput) { in.Username = aws.String("TAKEN@example.com") }), duplicate},
		{"unknown instance", create(func(in *connect.CreateUserInput) { in.InstanceId = aws.String("11111111-2222-4333-8444-555555555555") }), notFound},
		{"unknown security profile", create(func(in *connect.CreateUserInput) { in.SecurityProfileIds = []string{e.sp1, "nope"} }), notFound},
		{"unknown routing profile", create(func(in *connect.CreateUserInput) { in.RoutingProfileId = aws.String("nope") }), notFound},
		{"unknown hierarchy group", create(func(in *connect.CreateUserInput) { in.HierarchyGroupId = aws.String("nope") }), notFound},
		{"username over 100", create(func(in *connect.CreateUserInput) { in.Username = aws.String(strings.Repeat("a", 101)) }), invParam},
		{"SAML username over 64", create(func(in *connect.CreateUserInput) { in.Username = aws.String(strings.Repeat("a", 65)) }), invParam},
		{"SAML username charset", create(func(in *connect.CreateUserInput) { in.Username = aws.String("jane doe") }), invParam},
		{"@ outside an email", create(func(in *connect.CreateUserInput) { in.Username = aws.String("testuser@example") }), invParam},
		{"no phone config", create(func(in *connect.CreateUserInput) { in.PhoneConfig = nil }), invParam},
		{"bad phone type", create(func(in *connect.CreateUserInput) { in.PhoneConfig.PhoneType = "CELL_PHONE" }), invParam},
		{"desk phone without number", create(func(in *connect.CreateUserInput) { in.PhoneConfig.PhoneType = types.PhoneTypeDeskPhone }), invParam},
		{"desk phone not E.164", create(func(in *connect.CreateUserInput) {
			in.PhoneConfig.PhoneType, in.PhoneConfig.DeskPhoneNumber = types.PhoneTypeDeskPhone, aws.String("555-0100")
		}), invParam},
		{"negative ACW", create(func(in *connect.CreateUserInput) { in.PhoneConfig.AfterContactWorkTimeLimit = -1 }), invParam},
		{"no security profiles", create(func(in *connect.CreateUserInput) { in.SecurityProfileIds = []string{} }), invParam},
		{"eleven security profiles", create(func(in *connect.CreateUserInput) { in.SecurityProfileIds = slices.Repeat([]string{e.sp1}, 11) }), invParam},
		{"aws: tag key", create(func(in *connect.CreateUserInput) { in.Tags = map[string]string{"aws:owner": "x"} }), invParam},
		{"mobile not E.164", create(func(in *connect.CreateUserInput) { in.IdentityInfo.Mobile = aws.String("0100") }), invParam},
		{"password on SAML", create(func(in *connect.CreateUserInput) { in.Password = aws.String("Passw0rd!") }), invReq},
		{"directory user id on SAML", create(func(in *connect.CreateUserInput) { in.DirectoryUserId = aws.String("d-1") }), invReq},
		{"SAML without last name", create(func(in *connect.CreateUserInput) { in.IdentityInfo.LastName = nil }), invReq},
		{"CONNECT_MANAGED without password", create(func(in *connect.CreateUserInput) {
			in.InstanceId, in.SecurityProfileIds, in.RoutingProfileId = aws.String(managed), []string{mSP}, aws.String(mRP)
		}), invReq},
		{"CONNECT_MANAGED weak password", create(func(in *connect.CreateUserInput) {
			in.InstanceId, in.SecurityProfileIds, in.RoutingProfileId = aws.String(managed), []string{mSP}, aws.String(mRP)
			in.Password = aws.String("password")
		}), invParam},
		{"EXISTING_DIRECTORY with password", create(func(in *connect.CreateUserInput) {
			in.InstanceId, in.SecurityProfileIds, in.RoutingProfileId = aws.String(directory), []string{dSP}, aws.String(dRP)
			in.Password = aws.String("Passw0rd!")
		}), invReq},
		{"users per instance", create(func(in *connect.CreateUserInput) {
			in.InstanceId, in.SecurityProfileIds, in.RoutingProfileId = aws.String(limited), []string{lSP}, aws.String(lRP)
		}), limit},
		{"describe unknown user", func() error {
			_, err := e.client.DescribeUser(ctx, &connect.DescribeUserInput{InstanceId: aws.String(e.instance), UserId: aws.String("nope")})
			return err
		}, notFound},
		{"delete unknown user", func() error {
			_, err := e.client.DeleteUser(ctx, &connect.DeleteUserInput{InstanceId: aws.String(e.instance), UserId: aws.String("nope")})
			return err
		}, notFound},
		{"identity info names managed by directory", func() error {
			_, err := e.client.UpdateUserIdentityInfo(ctx, &connect.UpdateUserIdentityInfoInput{
				InstanceId: aws.String(directory), UserId: aws.String(dUser),
				IdentityInfo: &types.UserIdentityInfo{FirstName: aws.String("New")},
			})
			return err
		}, invReq},
		{"identity info too long", func() error {
			_, err := e.client.UpdateUserIdentityInfo(ctx, &connect.UpdateUserIdentityInfoInput{
				InstanceId: aws.String(e.instance), UserId: aws.String(existing),
				IdentityInfo: &types.UserIdentityInfo{FirstName: aws.String(strings.Repeat("x", 256)), LastName: aws.String("Doe")},
			})
			return err
		}, invParam},
		{"security profiles of another instance", func() error {
			_, err := e.client.UpdateUserSecurityProfiles(ctx, &connect.UpdateUserSecurityProfilesInput{
				InstanceId: aws.String(e.instance), UserId: aws.String(existing), SecurityProfileIds: []string{mSP},
			})
			return err
		}, notFound},
		{"routing profile unknown", func() error {
			_, err := e.client.UpdateUserRoutingProfile(ctx, &connect.UpdateUserRoutingProfileInput{
				InstanceId: aws.String(e.instance), UserId: aws.String(existing), RoutingProfileId: aws.String("nope"),
			})
			return err
		}, notFound},
		{"list users max over 1000", func() error {
			_, err := e.client.ListUsers(ctx, &connect.ListUsersInput{InstanceId: aws.String(e.instance), MaxResults: aws.Int32(1001)})
			return err
		}, invParam},
		{"list users bad token", func() error {
			_, err := e.client.ListUsers(ctx, &connect.ListUsersInput{InstanceId: aws.String(e.instance), NextToken: aws.String("forged")})
			return err
		}, invParam},
		{"list security profiles unknown instance", func() error {
			_, err := e.client.ListSecurityProfiles(ctx, &connect.ListSecurityProfilesInput{InstanceId: aws.String("11111111-2222-4333-8444-555555555555")})
			return err
		}, notFound},
		{"list routing profiles unknown instance", func() error {
			_, err := e.client.ListRoutingProfiles(ctx, &connect.ListRoutingProfilesInput{InstanceId: aws.String("11111111-2222-4333-8444-555555555555")})
			return err
		}, notFound},
		{"list instances max over 10", func() error {
			_, err := e.client.ListInstances(ctx, &connect.ListInstancesInput{MaxResults: aws.Int32(11)})
			return err
		}, invReq},
		{"search unsupported field", func() error {
			_, err := e.client.SearchUsers(ctx, &connect.SearchUsersInput{InstanceId: aws.String(e.instance),
				SearchCriteria: &types.UserSearchCriteria{StringCondition: &types.StringCondition{
					FieldName: aws.String("Email"), Value: aws.String("x"), ComparisonType: types.StringComparisonTypeExact}}})
			return err
		}, invParam},
		{"search unknown instance", func() error {
			_, err := e.client.SearchUsers(ctx, &connect.SearchUsersInput{InstanceId: aws.String("11111111-2222-4333-8444-555555555555")})
			return err
		}, notFound},
		{"search max over 500", func() error {
			_, err := e.client.SearchUsers(ctx, &connect.SearchUsersInput{InstanceId: aws.String(e.instance), MaxResults: aws.Int32(501)})
			return err
		}, invParam},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if err == nil {
				t.Fatalf("no error, want %s", tt.code)
			}
			if !isType[tt.code](err) {
				t.Fatalf("error %v does not decode as types.%s", err, tt.code)
			}
			var apiErr smithy.APIError
			if !errors.As(err, &apiErr) || apiErr.ErrorCode() != tt.code || apiErr.ErrorMessage() == "" {
				t.Errorf("API error = %v", err)
			}
			if got := httpStatus(err); got != status[tt.code] {
				t.Errorf("HTTP status = %d, want %d", got, status[tt.code])
			}
		})
	}
	// Nothing above changed the instances' users.
	if got := e.sim.Users(e.instance); len(got) != 1 || got[0].ID != existing {
		t.Errorf("users after failed calls = %+v", got)
	}
	if got := e.sim.Users(limited); len(got) != 1 {
		t.Errorf("limited instance users = %+v", got)
	}
}

func TestIdentityManagementTypesAccepted(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, quotasOff())
	managed := e.sim.AddInstance("managed", simconnect.IdentityConnectManaged)
	directory := e.sim.AddInstance("directory", simconnect.IdentityExistingDirectory)
	tests := []struct {
		name     string
		instance string
		mod      func(*connect.CreateUserInput)
	}{
		{"SAML email-formed 64 characters", e.instance, func(in *connect.CreateUserInput) {
			in.Username = aws.String(strings.Repeat("a", 52) + "@example.com")
		}},
		{"CONNECT_MANAGED 20-character name with password", managed, func(in *connect.CreateUserInput) {
			in.Username = aws.String(strings.Repeat("b", 20))
			in.Password = aws.String("Passw0rd!")
		}},
		{"EXISTING_DIRECTORY without names", directory, func(in *connect.CreateUserInput) {
			in.IdentityInfo = nil
			in.DirectoryUserId = aws.String("d-1234567890")
		}},
		{"per-channel settings instead of PhoneConfig", e.instance, func(in *connect.CreateUserInput) {
			in.PhoneConfig = nil
			in.AutoAcceptConfigs = []types.AutoAcceptConfig{{Channel: types.ChannelVoice, AutoAccept: true}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := e.createInput("user" + fmt.Sprint(len(e.sim.Users(tt.instance))))
			if tt.instance != e.instance {
				in.InstanceId = aws.String(tt.instance)
				in.SecurityProfileIds = []string{e.sim.AddSecurityProfile(tt.instance, "Agent "+tt.name)}
				in.RoutingProfileId = aws.String(e.sim.AddRoutingProfile(tt.instance, "Basic "+tt.name))
			}
			tt.mod(in)
			out, err := e.client.CreateUser(ctx, in)
			if err != nil {
				t.Fatalf("CreateUser: %v", err)
			}
			if !slices.ContainsFunc(e.sim.Users(tt.instance), func(u simconnect.User) bool { return u.ID == aws.ToString(out.UserId) }) {
				t.Errorf("user %s not stored", aws.ToString(out.UserId))
			}
		})
	}
}
