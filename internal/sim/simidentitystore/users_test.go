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

const enterprise = "aws:identitystore:enterprise"

func TestUserLifecycleThroughSDK(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, simidentitystore.Options{NoQuota: true})
	c := e.client

	created, err := c.CreateUser(ctx, &identitystore.CreateUserInput{
		IdentityStoreId: aws.String(e.storeID),
		UserName:        aws.String("jane.doe@example.com"),
		DisplayName:     aws.String("Jane Doe"),
		Name:            &types.Name{GivenName: aws.String("Jane"), FamilyName: aws.String("Doe"), Formatted: aws.String("Jane Doe")},
		Emails:          []types.Email{{Value: aws.String("jane.doe@example.com"), Type: aws.String("work"), Primary: true}},
		Title:           aws.String("Engineer"),
		Extensions:      map[string]document.Interface{enterprise: document.NewLazyDocument(map[string]any{"department": "R&D"})},
	})
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if aws.ToString(created.IdentityStoreId) != e.storeID || aws.ToString(created.UserId) == "" {
		t.Fatalf("CreateUser = %+v", created)
	}
	id := created.UserId

	// Extensions are returned only when asked for.
	plain, err := c.DescribeUser(ctx, &identitystore.DescribeUserInput{IdentityStoreId: aws.String(e.storeID), UserId: id})
	if err != nil {
		t.Fatalf("DescribeUser: %v", err)
	}
	if plain.Extensions != nil {
		t.Errorf("unrequested extensions returned: %v", plain.Extensions)
	}
	got := describe(t, c, e.storeID, *id)
	want := userView{UserName: "jane.doe@example.com", DisplayName: "Jane Doe", Given: "Jane", Family: "Doe",
		Email: "jane.doe@example.com", Primary: true, Title: "Engineer", Department: "R&D"}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("DescribeUser (-want +got):\n%s", d)
	}

	_, err = c.UpdateUser(ctx, &identitystore.UpdateUserInput{
		IdentityStoreId: aws.String(e.storeID), UserId: id,
		Operations: []types.AttributeOperation{
			{AttributePath: aws.String("name.givenName"), AttributeValue: document.NewLazyDocument("Janet")},
			{AttributePath: aws.String("displayName"), AttributeValue: document.NewLazyDocument("Janet Doe")},
			{AttributePath: aws.String("emails"), AttributeValue: document.NewLazyDocument([]map[string]any{{"value": "janet@example.com", "type": "work", "primary": true}})},
			{AttributePath: aws.String("title"), AttributeValue: nil},
			{AttributePath: aws.String(enterprise + ".department"), AttributeValue: document.NewLazyDocument("Sales")},
		},
	})
	if err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	want = userView{UserName: "jane.doe@example.com", DisplayName: "Janet Doe", Given: "Janet", Family: "Doe",
		Email: "janet@example.com", Primary: true, Department: "Sales"}
	if d := cmp.Diff(want, describe(t, c, e.storeID, *id)); d != "" {
		t.Fatalf("after UpdateUser (-want +got):\n%s", d)
	}

	// GetUserId by user name (any case) and by the new email.
	for _, ua := range []struct{ path, value string }{{"userName", "JANE.DOE@example.com"}, {"emails.value", "janet@example.com"}} {
		out, err := c.GetUserId(ctx, &identitystore.GetUserIdInput{
			IdentityStoreId: aws.String(e.storeID),
			AlternateIdentifier: &types.AlternateIdentifierMemberUniqueAttribute{Value: types.UniqueAttribute{
				AttributePath: aws.String(ua.path), AttributeValue: document.NewLazyDocument(ua.value)}},
		})
		if err != nil || aws.ToString(out.UserId) != *id {
			t.Fatalf("GetUserId(%s) = %v, %v", ua.path, out, err)
		}
	}

	// ListUsers with the deprecated UserName filter finds exactly that user.
	lu, err := c.ListUsers(ctx, &identitystore.ListUsersInput{IdentityStoreId: aws.String(e.storeID),
		Filters: []types.Filter{{AttributePath: aws.String("UserName"), AttributeValue: aws.String("jane.doe@example.com")}}})
	if err != nil || len(lu.Users) != 1 || aws.ToString(lu.Users[0].UserId) != *id {
		t.Fatalf("ListUsers(filter) = %+v, %v", lu, err)
	}

	if _, err := c.DeleteUser(ctx, &identitystore.DeleteUserInput{IdentityStoreId: aws.String(e.storeID), UserId: id}); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	_, err = c.DescribeUser(ctx, &identitystore.DescribeUserInput{IdentityStoreId: aws.String(e.storeID), UserId: id})
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) || nf.ResourceType != types.ResourceTypeUser || aws.ToString(nf.ResourceId) != *id {
		t.Fatalf("DescribeUser after delete: %v", err)
	}
}

func TestUpdateUserSetsExternalIds(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, simidentitystore.Options{NoQuota: true})
	ids := e.seedUsers(t, 2)
	set := func(userID, oktaUserID string) error {
		_, err := e.client.UpdateUser(ctx, &identitystore.UpdateUserInput{IdentityStoreId: aws.String(e.storeID), UserId: aws.String(userID),
			Operations: []types.AttributeOperation{{AttributePath: aws.String("externalIds"),
				AttributeValue: document.NewLazyDocument([]map[string]string{{"Issuer": "okta-org", "Id": oktaUserID}})}}})
		return err
	}
	if err := set(ids[0], "00uNEW"); err != nil {
		t.Fatalf("UpdateUser(externalIds): %v", err)
	}
	out, err := e.client.GetUserId(ctx, &identitystore.GetUserIdInput{IdentityStoreId: aws.String(e.storeID),
		AlternateIdentifier: &types.AlternateIdentifierMemberExternalId{Value: types.ExternalId{Issuer: aws.String("okta-org"), Id: aws.String("00uNEW")}}})
	if err != nil || aws.ToString(out.UserId) != ids[0] {
		t.Fatalf("GetUserId(new ExternalId) = %v, %v", out, err)
	}
	// The old ExternalId no longer resolves; another user cannot take the new one.
	_, err = e.client.GetUserId(ctx, &identitystore.GetUserIdInput{IdentityStoreId: aws.String(e.storeID),
		AlternateIdentifier: &types.AlternateIdentifierMemberExternalId{Value: types.ExternalId{Issuer: aws.String("https://example.okta.com"), Id: aws.String(oktaID(0))}}})
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("old ExternalId still resolves: %v", err)
	}
	var ce *types.ConflictException
	if err := set(ids[1], "00uNEW"); !errors.As(err, &ce) {
		t.Fatalf("duplicate ExternalId: %v", err)
	}
}

func TestGetUserIdByOktaExternalId(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, simidentitystore.Options{NoQuota: true})
	ids := e.seedUsers(t, 3)
	out, err := e.client.GetUserId(ctx, &identitystore.GetUserIdInput{
		IdentityStoreId: aws.String(e.storeID),
		AlternateIdentifier: &types.AlternateIdentifierMemberExternalId{Value: types.ExternalId{
			Issuer: aws.String("https://example.okta.com"), Id: aws.String(oktaID(1))}},
	})
	if err != nil || aws.ToString(out.UserId) != ids[1] {
		t.Fatalf("GetUserId(ExternalId) = %v, %v; want %s", out, err, ids[1])
	}
	d, err := e.client.DescribeUser(ctx, &identitystore.DescribeUserInput{IdentityStoreId: aws.String(e.storeID), UserId: aws.String(ids[1])})
	if err != nil {
		t.Fatal(err)
	}
	want := []types.ExternalId{{Issuer: aws.String("https://example.okta.com"), Id: aws.String(oktaID(1))}}
	if diff := cmp.Diff(want, d.ExternalIds, cmp.AllowUnexported(types.ExternalId{})); diff != "" {
		t.Fatalf("ExternalIds (-want +got):\n%s", diff)
	}
}

// userView is the part of a described user the tests compare.
type userView struct {
	UserName, DisplayName, Given, Family, Email string
	Primary                                     bool
	Title, Department                           string
}

func describe(t *testing.T, c *identitystore.Client, storeID, userID string) userView {
	t.Helper()
	out, err := c.DescribeUser(context.Background(), &identitystore.DescribeUserInput{
		IdentityStoreId: aws.String(storeID), UserId: aws.String(userID), Extensions: []string{enterprise}})
	if err != nil {
		t.Fatalf("DescribeUser: %v", err)
	}
	v := userView{UserName: aws.ToString(out.UserName), DisplayName: aws.ToString(out.DisplayName), Title: aws.ToString(out.Title)}
	if out.Name != nil {
		v.Given, v.Family = aws.ToString(out.Name.GivenName), aws.ToString(out.Name.FamilyName)
	}
	if len(out.Emails) == 1 {
		v.Email, v.Primary = aws.ToString(out.Emails[0].Value), out.Emails[0].Primary
	}
	if doc, ok := out.Extensions[enterprise]; ok {
		var ext struct {
			Department string `document:"department"`
		}
		if err := doc.UnmarshalSmithyDocument(&ext); err != nil {
			t.Fatalf("extension: %v", err)
		}
		v.Department = ext.Department
	}
	return v
}
