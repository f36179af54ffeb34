package simokta_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/identitystore"
	"github.com/aws/aws-sdk-go-v2/service/identitystore/document"
	"github.com/aws/aws-sdk-go-v2/service/identitystore/types"
	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/internal/awsclient"
	"github.com/idsync/idsync/internal/sim/simidentitystore"
	"github.com/idsync/idsync/internal/sim/simokta"
)

// fakeStore is an in-memory IdentityStore that records each call as a
// line "<Op> <details>".
type fakeStore struct {
	mu          sync.Mutex
	calls       []string
	n           int
	byName      map[string]string // userName → UserId
	conflictFor string            // CreateUser of this userName answers ConflictException
	failCreate  error
	createIns   []*identitystore.CreateUserInput
}

func newFakeStore() *fakeStore { return &fakeStore{byName: map[string]string{}} }

func (f *fakeStore) record(format string, args ...any) {
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
}

func (f *fakeStore) next(prefix string) string {
	f.n++
	return fmt.Sprintf("%s-%d", prefix, f.n)
}

func (f *fakeStore) log() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func docString(d document.Interface) string {
	if d == nil {
		return "<nil>"
	}
	raw, err := d.MarshalSmithyDocument()
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return string(raw)
}

func (f *fakeStore) CreateUser(_ context.Context, in *identitystore.CreateUserInput, _ ...func(*identitystore.Options)) (*identitystore.CreateUserOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.createIns = append(f.createIns, in)
	name := aws.ToString(in.UserName)
	f.record("CreateUser %s store=%s", name, aws.ToString(in.IdentityStoreId))
	if f.failCreate != nil {
		return nil, f.failCreate
	}
	if name == f.conflictFor {
		return nil, &types.ConflictException{Message: aws.String("Duplicate UserName")}
	}
	id := f.next("user")
	f.byName[name] = id
	return &identitystore.CreateUserOutput{UserId: &id, IdentityStoreId: in.IdentityStoreId}, nil
}

func (f *fakeStore) UpdateUser(_ context.Context, in *identitystore.UpdateUserInput, _ ...func(*identitystore.Options)) (*identitystore.UpdateUserOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ops []string
	for _, op := range in.Operations {
		ops = append(ops, aws.ToString(op.AttributePath)+"="+docString(op.AttributeValue))
	}
	f.record("UpdateUser %s %s", aws.ToString(in.UserId), strings.Join(ops, " "))
	return &identitystore.UpdateUserOutput{}, nil
}

func (f *fakeStore) DeleteUser(_ context.Context, in *identitystore.DeleteUserInput, _ ...func(*identitystore.Options)) (*identitystore.DeleteUserOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("DeleteUser %s", aws.ToString(in.UserId))
	return &identitystore.DeleteUserOutput{}, nil
}

func (f *fakeStore) GetUserId(_ context.Context, in *identitystore.GetUserIdInput, _ ...func(*identitystore.Options)) (*identitystore.GetUserIdOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ua, ok := in.AlternateIdentifier.(*types.AlternateIdentifierMemberUniqueAttribute)
	if !ok {
		return nil, errors.New("fake: only UniqueAttribute lookups")
	}
	f.record("GetUserId %s=%s", aws.ToString(ua.Value.AttributePath), docString(ua.Value.AttributeValue))
	return &identitystore.GetUserIdOutput{UserId: aws.String("existing-user")}, nil
}

func (f *fakeStore) CreateGroup(_ context.Context, in *identitystore.CreateGroupInput, _ ...func(*identitystore.Options)) (*identitystore.CreateGroupOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("CreateGroup %s (%s)", aws.ToString(in.DisplayName), aws.ToString(in.Description))
	return &identitystore.CreateGroupOutput{GroupId: aws.String(f.next("group"))}, nil
}

func (f *fakeStore) DeleteGroup(_ context.Context, in *identitystore.DeleteGroupInput, _ ...func(*identitystore.Options)) (*identitystore.DeleteGroupOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("DeleteGroup %s", aws.ToString(in.GroupId))
	return &identitystore.DeleteGroupOutput{}, nil
}

func (f *fakeStore) GetGroupId(_ context.Context, _ *identitystore.GetGroupIdInput, _ ...func(*identitystore.Options)) (*identitystore.GetGroupIdOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("GetGroupId")
	return &identitystore.GetGroupIdOutput{GroupId: aws.String("existing-group")}, nil
}

func (f *fakeStore) CreateGroupMembership(_ context.Context, in *identitystore.CreateGroupMembershipInput, _ ...func(*identitystore.Options)) (*identitystore.CreateGroupMembershipOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, _ := in.MemberId.(*types.MemberIdMemberUserId)
	f.record("CreateGroupMembership %s %s", aws.ToString(in.GroupId), m.Value)
	return &identitystore.CreateGroupMembershipOutput{MembershipId: aws.String(f.next("membership"))}, nil
}

func (f *fakeStore) DeleteGroupMembership(_ context.Context, in *identitystore.DeleteGroupMembershipInput, _ ...func(*identitystore.Options)) (*identitystore.DeleteGroupMembershipOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("DeleteGroupMembership %s", aws.ToString(in.MembershipId))
	return &identitystore.DeleteGroupMembershipOutput{}, nil
}

func (f *fakeStore) GetGroupMembershipId(_ context.Context, in *identitystore.GetGroupMembershipIdInput, _ ...func(*identitystore.Options)) (*identitystore.GetGroupMembershipIdOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("GetGroupMembershipId %s", aws.ToString(in.GroupId))
	return &identitystore.GetGroupMembershipIdOutput{MembershipId: aws.String("existing-membership")}, nil
}

var _ simokta.IdentityStore = (*fakeStore)(nil)
var _ simokta.IdentityStore = (*identitystore.Client)(nil)

// step runs fn, flushes, and returns the mirror calls fn caused (earlier
// changes are flushed first).
func step(o *org, f *fakeStore, fn func()) []string {
	o.t.Helper()
	o.flush()
	before := len(f.log())
	fn()
	o.flush()
	if calls := f.log()[before:]; len(calls) > 0 {
		return calls
	}
	return nil
}

func TestMirrorUserLifecycle(t *testing.T) {
	f := newFakeStore()
	o := newOrg(t, simokta.Options{Seed: 40, Mirror: f, IdentityStoreID: "d-1111111111"})
	var u userObj
	calls := step(o, f, func() { u = o.createUser("jo@example.com", false, true) })
	if len(calls) != 0 {
		t.Errorf("STAGED user mirrored: %v", calls)
	}
	calls = step(o, f, func() { o.do(http.MethodPost, "/api/v1/users/"+u.ID+"/lifecycle/activate", nil, nil) })
	ext, _ := json.Marshal([]map[string]string{{"Issuer": simokta.DefaultExternalIDIssuer, "Id": u.ID}})
	want := []string{"CreateUser jo@example.com store=d-1111111111", "UpdateUser user-1 externalIds=" + string(ext)}
	if diff := cmp.Diff(want, calls); diff != "" {
		t.Fatalf("activation mirror calls (-want +got):\n%s", diff)
	}
	in := f.createIns[0]
	if aws.ToString(in.DisplayName) != "Jo Tester" || aws.ToString(in.Name.GivenName) != "Jo" || aws.ToString(in.Name.FamilyName) != "Tester" ||
		len(in.Emails) != 1 || aws.ToString(in.Emails[0].Value) != "jo@example.com" || !in.Emails[0].Primary {
		t.Errorf("CreateUser input = %+v", in)
	}
	if got := docString(in.Extensions["aws:identitystore:enterprise"]); got != `{"department":"Engineering"}` {
		t.Errorf("enterprise extension = %s", got)
	}

	tests := []struct {
		name string
		do   func()
		want []string
	}{
		{"profile change", func() {
			o.do(http.MethodPost, "/api/v1/users/"+u.ID, `{"profile":{"title":"Lead","department":"Sales"}}`, nil)
		}, []string{`UpdateUser user-1 title="Lead" aws:identitystore:enterprise.department="Sales"`}},
		{"suspend: no status in IdentityStore", func() {
			o.do(http.MethodPost, "/api/v1/users/"+u.ID+"/lifecycle/suspend", nil, nil)
		}, nil},
		{"unsuspend", func() {
			o.do(http.MethodPost, "/api/v1/users/"+u.ID+"/lifecycle/unsuspend", nil, nil)
		}, nil},
		{"deactivate", func() { o.do(http.MethodDelete, "/api/v1/users/"+u.ID, nil, nil) }, nil},
		{"delete", func() { o.do(http.MethodDelete, "/api/v1/users/"+u.ID, nil, nil) }, []string{"DeleteUser user-1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := step(o.with(t), f, tc.do)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("mirror calls (-want +got):\n%s", diff)
			}
		})
	}
	if errs := o.srv.State().Mirror.Errors; len(errs) != 0 {
		t.Errorf("mirror errors: %+v", errs)
	}
}

func TestMirrorGroups(t *testing.T) {
	f := newFakeStore()
	o := newOrg(t, simokta.Options{Seed: 41, Mirror: f})
	u1 := o.createUser("a@example.com", true, true)
	u2 := o.createUser("b@example.com", true, true)
	var gid, other string
	calls := step(o, f, func() {
		other = o.createGroup("Unpushed").ID
		gid = o.createGroup("Mail Users").ID
		o.do(http.MethodPut, "/api/v1/groups/"+gid+"/users/"+u1.ID, nil, nil)
		o.do(http.MethodPut, "/api/v1/groups/"+other+"/users/"+u1.ID, nil, nil)
	})
	if len(calls) != 0 {
		t.Errorf("unpushed groups mirrored: %v", calls)
	}
	tests := []struct {
		name string
		do   func()
		want []string
	}{
		{"push the group with its member", func() {
			if err := o.srv.SetGroupPushed(gid, true); err != nil {
				t.Fatal(err)
			}
		}, []string{"CreateGroup Mail Users (Mail Users group)", "CreateGroupMembership group-3 user-1"}},
		{"add member", func() {
			o.do(http.MethodPut, "/api/v1/groups/"+gid+"/users/"+u2.ID, nil, nil)
		}, []string{"CreateGroupMembership group-3 user-2"}},
		{"remove member uses the membership id", func() {
			o.do(http.MethodDelete, "/api/v1/groups/"+gid+"/users/"+u1.ID, nil, nil)
		}, []string{"DeleteGroupMembership membership-4"}},
		{"unpushed group changes nothing", func() {
			o.do(http.MethodDelete, "/api/v1/groups/"+other+"/users/"+u1.ID, nil, nil)
		}, nil},
		{"delete group", func() { o.do(http.MethodDelete, "/api/v1/groups/"+gid, nil, nil) }, []string{"DeleteGroup group-3"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := step(o.with(t), f, tc.do)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("mirror calls (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMirrorAdoptsOnConflict(t *testing.T) {
	f := newFakeStore()
	f.conflictFor = "c@example.com"
	o := newOrg(t, simokta.Options{Seed: 42, Mirror: f, ExternalIDIssuer: "https://test.okta.example"})
	var u userObj
	calls := step(o, f, func() { u = o.createUser("c@example.com", true, true) })
	ext, _ := json.Marshal([]map[string]string{{"Issuer": "https://test.okta.example", "Id": u.ID}})
	want := []string{
		"CreateUser c@example.com store=" + simokta.DefaultIdentityStoreID,
		`GetUserId userName="c@example.com"`,
		"UpdateUser existing-user externalIds=" + string(ext),
	}
	if diff := cmp.Diff(want, calls); diff != "" {
		t.Errorf("mirror calls (-want +got):\n%s", diff)
	}
}

func TestMirrorLagAndErrors(t *testing.T) {
	f := newFakeStore()
	f.failCreate = errors.New("boom")
	o := newOrg(t, simokta.Options{Seed: 43, Mirror: f, MirrorLag: time.Hour})
	u := o.createUser("l@example.com", true, true)
	if st := o.srv.State().Mirror; st.Pending != 1 || len(f.log()) != 0 {
		t.Fatalf("before the lag: pending %d, calls %v", st.Pending, f.log())
	}
	o.flush() // lifts the lag
	st := o.srv.State().Mirror
	if st.Pending != 0 || len(st.Errors) != 1 || st.Errors[0].OktaID != u.ID || st.Errors[0].Op != "CreateUser" ||
		!strings.Contains(st.Errors[0].Error, "boom") {
		t.Errorf("mirror state = %+v", st)
	}
}

// TestMirrorThroughSDKIntoIdentityStoreStandIn mirrors through the real
// aws-sdk-go-v2 client into idsync's IdentityStore stand-in and reads the
// result back with the SDK.
func TestMirrorThroughSDKIntoIdentityStoreStandIn(t *testing.T) {
	ctx := context.Background()
	ids := simidentitystore.New(simidentitystore.Options{Seed: 44, NoQuota: true})
	storeID := ids.AddIdentityStore()
	its := httptest.NewServer(ids)
	t.Cleanup(its.Close)
	cfg, err := awsclient.Config(ctx, awsclient.Options{Local: true, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	client := awsclient.IdentityStore(cfg, its.URL)
	o := newOrg(t, simokta.Options{Seed: 45, Mirror: client, IdentityStoreID: storeID})

	u := o.createUser("sam.smith@example.com", true, true)
	gid, err := o.srv.CreateGroup("Connect Agents", "agents", true)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.srv.AddMember(gid, u.ID); err != nil {
		t.Fatal(err)
	}
	o.do(http.MethodPost, "/api/v1/users/"+u.ID, `{"profile":{"title":"Agent"}}`, nil)
	o.flush()
	if errs := o.srv.State().Mirror.Errors; len(errs) != 0 {
		t.Fatalf("mirror errors: %+v", errs)
	}

	got, err := client.GetUserId(ctx, &identitystore.GetUserIdInput{IdentityStoreId: &storeID,
		AlternateIdentifier: &types.AlternateIdentifierMemberExternalId{Value: types.ExternalId{
			Issuer: aws.String(simokta.DefaultExternalIDIssuer), Id: aws.String(u.ID)}}})
	if err != nil {
		t.Fatalf("GetUserId by the Okta id: %v", err)
	}
	du, err := client.DescribeUser(ctx, &identitystore.DescribeUserInput{IdentityStoreId: &storeID, UserId: got.UserId})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(du.UserName) != "sam.smith@example.com" || aws.ToString(du.Title) != "Agent" ||
		aws.ToString(du.DisplayName) != "Sam Tester" || len(du.Emails) != 1 || aws.ToString(du.Emails[0].Value) != "sam.smith@example.com" ||
		aws.ToString(du.Emails[0].Type) != "work" || !du.Emails[0].Primary {
		t.Errorf("mirrored user = %+v", du)
	}
	// The ExternalId is IdC's SCIM one: issuer https://scim.aws.com/<n>,
	// nothing in it says "okta"; the id is the Okta user id.
	if len(du.ExternalIds) != 1 || aws.ToString(du.ExternalIds[0].Id) != u.ID ||
		!strings.HasPrefix(aws.ToString(du.ExternalIds[0].Issuer), simokta.SCIMIssuerPrefix) ||
		strings.Contains(strings.ToLower(aws.ToString(du.ExternalIds[0].Issuer)), "okta") {
		t.Errorf("mirrored ExternalIds = %+v", du.ExternalIds)
	}
	gg, err := client.GetGroupId(ctx, &identitystore.GetGroupIdInput{IdentityStoreId: &storeID,
		AlternateIdentifier: &types.AlternateIdentifierMemberUniqueAttribute{Value: types.UniqueAttribute{
			AttributePath: aws.String("displayName"), AttributeValue: document.NewLazyDocument("Connect Agents")}}})
	if err != nil {
		t.Fatalf("GetGroupId: %v", err)
	}
	member, err := client.IsMemberInGroups(ctx, &identitystore.IsMemberInGroupsInput{IdentityStoreId: &storeID,
		MemberId: &types.MemberIdMemberUserId{Value: aws.ToString(got.UserId)}, GroupIds: []string{aws.ToString(gg.GroupId)}})
	if err != nil || len(member.Results) != 1 || !member.Results[0].MembershipExists {
		t.Fatalf("IsMemberInGroups = %+v, %v", member, err)
	}

	// Leaving the group and being deleted in Okta reach the stand-in too.
	if err := o.srv.RemoveMember(gid, u.ID); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := o.srv.DeleteUser(u.ID); err != nil {
			t.Fatal(err)
		}
	}
	o.flush()
	if errs := o.srv.State().Mirror.Errors; len(errs) != 0 {
		t.Fatalf("mirror errors: %+v", errs)
	}
	_, err = client.DescribeUser(ctx, &identitystore.DescribeUserInput{IdentityStoreId: &storeID, UserId: got.UserId})
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("DescribeUser after Okta delete: %v, want ResourceNotFoundException", err)
	}
}
