package simidentitystore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/identitystore"
	"github.com/aws/aws-sdk-go-v2/service/identitystore/document"
	"github.com/aws/aws-sdk-go-v2/service/identitystore/types"
	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/internal/sim/simidentitystore"
)

func TestGroupsAndMembershipsThroughSDK(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, simidentitystore.Options{NoQuota: true})
	c, store := e.client, aws.String(e.storeID)
	users := e.seedUsers(t, 2)

	g, err := c.CreateGroup(ctx, &identitystore.CreateGroupInput{IdentityStoreId: store,
		DisplayName: aws.String("WorkMail Users"), Description: aws.String("gets a mailbox")})
	if err != nil {
		t.Fatalf("CreateGroup: %v", err)
	}
	other, err := c.CreateGroup(ctx, &identitystore.CreateGroupInput{IdentityStoreId: store, DisplayName: aws.String("Connect Agents")})
	if err != nil {
		t.Fatalf("CreateGroup: %v", err)
	}

	dg, err := c.DescribeGroup(ctx, &identitystore.DescribeGroupInput{IdentityStoreId: store, GroupId: g.GroupId})
	if err != nil || aws.ToString(dg.DisplayName) != "WorkMail Users" || aws.ToString(dg.Description) != "gets a mailbox" {
		t.Fatalf("DescribeGroup = %+v, %v", dg, err)
	}
	gid, err := c.GetGroupId(ctx, &identitystore.GetGroupIdInput{IdentityStoreId: store,
		AlternateIdentifier: &types.AlternateIdentifierMemberUniqueAttribute{Value: types.UniqueAttribute{
			AttributePath: aws.String("displayName"), AttributeValue: document.NewLazyDocument("workmail users")}}})
	if err != nil || aws.ToString(gid.GroupId) != *g.GroupId {
		t.Fatalf("GetGroupId = %+v, %v", gid, err)
	}
	lg, err := c.ListGroups(ctx, &identitystore.ListGroupsInput{IdentityStoreId: store})
	if err != nil || len(lg.Groups) != 2 || aws.ToString(lg.Groups[1].GroupId) != *other.GroupId || lg.NextToken != nil {
		t.Fatalf("ListGroups = %+v, %v", lg, err)
	}
	lg, err = c.ListGroups(ctx, &identitystore.ListGroupsInput{IdentityStoreId: store,
		Filters: []types.Filter{{AttributePath: aws.String("DisplayName"), AttributeValue: aws.String("Connect Agents")}}})
	if err != nil || len(lg.Groups) != 1 || aws.ToString(lg.Groups[0].GroupId) != *other.GroupId {
		t.Fatalf("ListGroups(filter) = %+v, %v", lg, err)
	}

	m, err := c.CreateGroupMembership(ctx, &identitystore.CreateGroupMembershipInput{IdentityStoreId: store,
		GroupId: g.GroupId, MemberId: &types.MemberIdMemberUserId{Value: users[0]}})
	if err != nil {
		t.Fatalf("CreateGroupMembership: %v", err)
	}
	lm, err := c.ListGroupMemberships(ctx, &identitystore.ListGroupMembershipsInput{IdentityStoreId: store, GroupId: g.GroupId})
	if err != nil || len(lm.GroupMemberships) != 1 {
		t.Fatalf("ListGroupMemberships = %+v, %v", lm, err)
	}
	gm := lm.GroupMemberships[0]
	if aws.ToString(gm.MembershipId) != *m.MembershipId || aws.ToString(gm.GroupId) != *g.GroupId ||
		aws.ToString(gm.IdentityStoreId) != e.storeID || memberUser(gm.MemberId) != users[0] {
		t.Fatalf("membership = %+v", gm)
	}
	dm, err := c.DescribeGroupMembership(ctx, &identitystore.DescribeGroupMembershipInput{IdentityStoreId: store, MembershipId: m.MembershipId})
	if err != nil || memberUser(dm.MemberId) != users[0] || aws.ToString(dm.GroupId) != *g.GroupId {
		t.Fatalf("DescribeGroupMembership = %+v, %v", dm, err)
	}
	mid, err := c.GetGroupMembershipId(ctx, &identitystore.GetGroupMembershipIdInput{IdentityStoreId: store,
		GroupId: g.GroupId, MemberId: &types.MemberIdMemberUserId{Value: users[0]}})
	if err != nil || aws.ToString(mid.MembershipId) != *m.MembershipId {
		t.Fatalf("GetGroupMembershipId = %+v, %v", mid, err)
	}
	fm, err := c.ListGroupMembershipsForMember(ctx, &identitystore.ListGroupMembershipsForMemberInput{IdentityStoreId: store,
		MemberId: &types.MemberIdMemberUserId{Value: users[0]}})
	if err != nil || len(fm.GroupMemberships) != 1 || aws.ToString(fm.GroupMemberships[0].GroupId) != *g.GroupId {
		t.Fatalf("ListGroupMembershipsForMember = %+v, %v", fm, err)
	}

	is, err := c.IsMemberInGroups(ctx, &identitystore.IsMemberInGroupsInput{IdentityStoreId: store,
		MemberId: &types.MemberIdMemberUserId{Value: users[0]}, GroupIds: []string{*g.GroupId, *other.GroupId}})
	if err != nil {
		t.Fatalf("IsMemberInGroups: %v", err)
	}
	var got []bool
	for _, r := range is.Results {
		if memberUser(r.MemberId) != users[0] {
			t.Errorf("result member = %v", r.MemberId)
		}
		got = append(got, r.MembershipExists)
	}
	if d := cmp.Diff([]bool{true, false}, got); d != "" || aws.ToString(is.Results[0].GroupId) != *g.GroupId {
		t.Fatalf("IsMemberInGroups (-want +got):\n%s", d)
	}

	if _, err := c.DeleteGroupMembership(ctx, &identitystore.DeleteGroupMembershipInput{IdentityStoreId: store, MembershipId: m.MembershipId}); err != nil {
		t.Fatalf("DeleteGroupMembership: %v", err)
	}
	lm, err = c.ListGroupMemberships(ctx, &identitystore.ListGroupMembershipsInput{IdentityStoreId: store, GroupId: g.GroupId})
	if err != nil || len(lm.GroupMemberships) != 0 {
		t.Fatalf("ListGroupMemberships after delete = %+v, %v", lm, err)
	}

	if _, err := c.UpdateGroup(ctx, &identitystore.UpdateGroupInput{IdentityStoreId: store, GroupId: g.GroupId,
		Operations: []types.AttributeOperation{{AttributePath: aws.String("displayName"), AttributeValue: document.NewLazyDocument("Mail Users")}}}); err != nil {
		t.Fatalf("UpdateGroup: %v", err)
	}
	dg, err = c.DescribeGroup(ctx, &identitystore.DescribeGroupInput{IdentityStoreId: store, GroupId: g.GroupId})
	if err != nil || aws.ToString(dg.DisplayName) != "Mail Users" {
		t.Fatalf("DescribeGroup after update = %+v, %v", dg, err)
	}

	// Deleting a group deletes its memberships.
	if _, err := e.srv.SeedMembership(e.storeID, *other.GroupId, users[1]); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteGroup(ctx, &identitystore.DeleteGroupInput{IdentityStoreId: store, GroupId: other.GroupId}); err != nil {
		t.Fatalf("DeleteGroup: %v", err)
	}
	fm, err = c.ListGroupMembershipsForMember(ctx, &identitystore.ListGroupMembershipsForMemberInput{IdentityStoreId: store,
		MemberId: &types.MemberIdMemberUserId{Value: users[1]}})
	if err != nil || len(fm.GroupMemberships) != 0 {
		t.Fatalf("memberships of a deleted group remain: %+v, %v", fm, err)
	}
	_, err = c.DescribeGroup(ctx, &identitystore.DescribeGroupInput{IdentityStoreId: store, GroupId: other.GroupId})
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) || nf.ResourceType != types.ResourceTypeGroup {
		t.Fatalf("DescribeGroup after delete: %v", err)
	}
}

func memberUser(m types.MemberId) string {
	if u, ok := m.(*types.MemberIdMemberUserId); ok {
		return u.Value
	}
	return ""
}
