package simidentitystore_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/identitystore"
	"github.com/aws/aws-sdk-go-v2/service/identitystore/document"
	"github.com/aws/aws-sdk-go-v2/service/identitystore/types"

	"github.com/idsync/idsync/internal/sim/simidentitystore"
	"github.com/idsync/idsync/internal/sim/simkit"
)

func TestErrorsDecodeIntoSDKTypes(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, simidentitystore.Options{NoQuota: true})
	c, store := e.client, aws.String(e.storeID)
	users := e.seedUsers(t, 1)
	gid, err := e.srv.SeedGroup(e.storeID, simidentitystore.Group{DisplayName: "g1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.srv.SeedMembership(e.storeID, gid, users[0]); err != nil {
		t.Fatal(err)
	}
	const missing = "11111111-2222-4333-8444-555555555555"

	notFound := func(rt types.ResourceType, id string) func(*testing.T, error) {
		return func(t *testing.T, err error) {
			var x *types.ResourceNotFoundException
			if !errors.As(err, &x) || x.ResourceType != rt || aws.ToString(x.ResourceId) != id {
				t.Fatalf("want ResourceNotFoundException %s %q, got %v", rt, id, err)
			}
		}
	}
	conflict := func(t *testing.T, err error) {
		var x *types.ConflictException
		if !errors.As(err, &x) || x.Reason != types.ConflictExceptionReasonUniquenessConstraintViolation {
			t.Fatalf("want ConflictException UNIQUENESS_CONSTRAINT_VIOLATION, got %v", err)
		}
	}
	validation := func(fragment string) func(*testing.T, error) {
		return func(t *testing.T, err error) {
			var x *types.ValidationException
			if !errors.As(err, &x) || !strings.Contains(x.ErrorMessage(), fragment) {
				t.Fatalf("want ValidationException mentioning %q, got %v", fragment, err)
			}
		}
	}

	tests := []struct {
		name  string
		call  func() error
		check func(*testing.T, error)
	}{
		{"unknown user", func() error {
			_, err := c.DescribeUser(ctx, &identitystore.DescribeUserInput{IdentityStoreId: store, UserId: aws.String(missing)})
			return err
		}, notFound(types.ResourceTypeUser, missing)},
		{"unknown group", func() error {
			_, err := c.ListGroupMemberships(ctx, &identitystore.ListGroupMembershipsInput{IdentityStoreId: store, GroupId: aws.String(missing)})
			return err
		}, notFound(types.ResourceTypeGroup, missing)},
		{"unknown membership", func() error {
			_, err := c.DeleteGroupMembership(ctx, &identitystore.DeleteGroupMembershipInput{IdentityStoreId: store, MembershipId: aws.String(missing)})
			return err
		}, notFound(types.ResourceTypeGroupMembership, missing)},
		{"unknown identity store", func() error {
			_, err := c.ListUsers(ctx, &identitystore.ListUsersInput{IdentityStoreId: aws.String("d-0000000000")})
			return err
		}, notFound(types.ResourceTypeIdentityStore, "d-0000000000")},
		{"unknown user name", func() error {
			_, err := c.GetUserId(ctx, &identitystore.GetUserIdInput{IdentityStoreId: store,
				AlternateIdentifier: &types.AlternateIdentifierMemberUniqueAttribute{Value: types.UniqueAttribute{
					AttributePath: aws.String("userName"), AttributeValue: document.NewLazyDocument("nobody")}}})
			return err
		}, notFound(types.ResourceTypeUser, "")},
		{"duplicate user name, any case", func() error {
			_, err := c.CreateUser(ctx, &identitystore.CreateUserInput{IdentityStoreId: store, UserName: aws.String("USER00000"),
				DisplayName: aws.String("x"), Name: &types.Name{GivenName: aws.String("x"), FamilyName: aws.String("y")}})
			return err
		}, conflict},
		{"duplicate membership", func() error {
			_, err := c.CreateGroupMembership(ctx, &identitystore.CreateGroupMembershipInput{IdentityStoreId: store,
				GroupId: aws.String(gid), MemberId: &types.MemberIdMemberUserId{Value: users[0]}})
			return err
		}, conflict},
		{"duplicate group name", func() error {
			_, err := c.CreateGroup(ctx, &identitystore.CreateGroupInput{IdentityStoreId: store, DisplayName: aws.String("G1")})
			return err
		}, conflict},
		{"bad identity store id", func() error {
			_, err := c.ListUsers(ctx, &identitystore.ListUsersInput{IdentityStoreId: aws.String("store-1")})
			return err
		}, validation("identityStoreId")},
		{"page size over 100", func() error {
			_, err := c.ListUsers(ctx, &identitystore.ListUsersInput{IdentityStoreId: store, MaxResults: aws.Int32(101)})
			return err
		}, validation("maxResults")},
		{"forged next token", func() error {
			_, err := c.ListUsers(ctx, &identitystore.ListUsersInput{IdentityStoreId: store, NextToken: aws.String("b2s6MTA")})
			return err
		}, validation("NextToken")},
		{"user without display name", func() error {
			_, err := c.CreateUser(ctx, &identitystore.CreateUserInput{IdentityStoreId: store, UserName: aws.String("new"),
				Name: &types.Name{GivenName: aws.String("x"), FamilyName: aws.String("y")}})
			return err
		}, validation("displayName")},
		{"reserved user name", func() error {
			_, err := c.CreateUser(ctx, &identitystore.CreateUserInput{IdentityStoreId: store, UserName: aws.String("Administrator"),
				DisplayName: aws.String("x"), Name: &types.Name{GivenName: aws.String("x"), FamilyName: aws.String("y")}})
			return err
		}, validation("reserved")},
		{"user id pattern", func() error {
			_, err := c.DescribeUser(ctx, &identitystore.DescribeUserInput{IdentityStoreId: store, UserId: aws.String("not-a-uuid")})
			return err
		}, validation("userId")},
		{"unknown update path", func() error {
			_, err := c.UpdateUser(ctx, &identitystore.UpdateUserInput{IdentityStoreId: store, UserId: aws.String(users[0]),
				Operations: []types.AttributeOperation{{AttributePath: aws.String("shoeSize"), AttributeValue: document.NewLazyDocument("9")}}})
			return err
		}, validation("shoeSize")},
		{"removing a required attribute", func() error {
			_, err := c.UpdateUser(ctx, &identitystore.UpdateUserInput{IdentityStoreId: store, UserId: aws.String(users[0]),
				Operations: []types.AttributeOperation{{AttributePath: aws.String("name.familyName")}}})
			return err
		}, validation("name.familyName")},
		{"unsupported filter", func() error {
			_, err := c.ListUsers(ctx, &identitystore.ListUsersInput{IdentityStoreId: store,
				Filters: []types.Filter{{AttributePath: aws.String("Title"), AttributeValue: aws.String("x")}}})
			return err
		}, validation("UserName")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.check(t, tc.call()) })
	}
}

func TestAccessDenied(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, simidentitystore.Options{NoQuota: true})
	e.srv.SetAccessDenied("ListUsers", true)
	_, err := e.client.ListUsers(ctx, &identitystore.ListUsersInput{IdentityStoreId: aws.String(e.storeID)})
	var x *types.AccessDeniedException
	if !errors.As(err, &x) || !strings.Contains(x.ErrorMessage(), "identitystore:ListUsers") {
		t.Fatalf("want AccessDeniedException, got %v", err)
	}
	if _, err := e.client.ListGroups(ctx, &identitystore.ListGroupsInput{IdentityStoreId: aws.String(e.storeID)}); err != nil {
		t.Fatalf("other operation denied too: %v", err)
	}
	// The control surface turns it off again.
	resp, err := http.Post(e.url+"/_sim/access", "application/json", strings.NewReader(`{"op":"ListUsers","denied":false}`))
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("/_sim/access: %v %v", resp, err)
	}
	_ = resp.Body.Close()
	if _, err := e.client.ListUsers(ctx, &identitystore.ListUsersInput{IdentityStoreId: aws.String(e.storeID)}); err != nil {
		t.Fatalf("ListUsers after allow: %v", err)
	}
}

func TestInjectedServerErrorsDecodeAndRetry(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, simidentitystore.Options{NoQuota: true})
	e.srv.Control().SetFaults(simkit.EachOp, simkit.Faults{ServerErrorRate: 1})
	_, err := e.client.ListUsers(ctx, &identitystore.ListUsersInput{IdentityStoreId: aws.String(e.storeID)})
	var x *types.InternalServerException
	if !errors.As(err, &x) {
		t.Fatalf("want InternalServerException, got %v", err)
	}
	if !retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err).Bool() {
		t.Fatalf("SDK retryer does not retry %v", err)
	}
}
