package simidentitystore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/identitystore"
	"github.com/aws/aws-sdk-go-v2/service/identitystore/document"
	"github.com/aws/aws-sdk-go-v2/service/identitystore/types"

	"github.com/idsync/idsync/internal/sim/simidentitystore"
)

// TestEmailAddressesAreUnique: IAM Identity Center "requires that all user
// names and email addresses for your users are non-NULL and unique".
// CreateUser and UpdateUser with another user's address, in any case,
// answer ConflictException with reason UNIQUENESS_CONSTRAINT_VIOLATION and
// change nothing; a user may keep or re-set its own address; a deleted
// user's address is free; GetUserId by emails.value finds the one holder.
func TestEmailAddressesAreUnique(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, simidentitystore.Options{NoQuota: true})
	c, store := e.client, aws.String(e.storeID)
	users := e.seedUsers(t, 2) // user00000@example.com, user00001@example.com
	conflict := func(what string, err error) {
		t.Helper()
		var x *types.ConflictException
		if !errors.As(err, &x) || x.Reason != types.ConflictExceptionReasonUniquenessConstraintViolation {
			t.Fatalf("%s: %v, want ConflictException UNIQUENESS_CONSTRAINT_VIOLATION", what, err)
		}
	}
	create := func(name, email string) (*identitystore.CreateUserOutput, error) {
		return c.CreateUser(ctx, &identitystore.CreateUserInput{IdentityStoreId: store, UserName: aws.String(name),
			DisplayName: aws.String(name), Name: &types.Name{GivenName: aws.String("G"), FamilyName: aws.String("F")},
			Emails: []types.Email{{Value: aws.String(email), Type: aws.String("work"), Primary: true}}})
	}
	setEmail := func(id, email string) error {
		_, err := c.UpdateUser(ctx, &identitystore.UpdateUserInput{IdentityStoreId: store, UserId: aws.String(id),
			Operations: []types.AttributeOperation{{AttributePath: aws.String("emails"),
				AttributeValue: document.NewLazyDocument([]map[string]any{{"value": email, "type": "work", "primary": true}})}}})
		return err
	}

	_, err := create("twin", "User00000@Example.com")
	conflict("CreateUser with a taken address", err)
	if _, err := e.srv.SeedUser(e.storeID, simidentitystore.User{UserName: "twin", GivenName: "G", FamilyName: "F",
		Email: "user00001@example.com"}); !errors.Is(err, simidentitystore.ErrConflict) {
		t.Fatalf("SeedUser with a taken address: %v, want ErrConflict", err)
	}
	conflict("UpdateUser to a taken address", setEmail(users[1], "user00000@example.com"))
	if err := setEmail(users[1], "USER00001@example.com"); err != nil {
		t.Fatalf("UpdateUser re-setting the user's own address: %v", err)
	}

	got, err := c.GetUserId(ctx, &identitystore.GetUserIdInput{IdentityStoreId: store,
		AlternateIdentifier: &types.AlternateIdentifierMemberUniqueAttribute{Value: types.UniqueAttribute{
			AttributePath: aws.String("emails.value"), AttributeValue: document.NewLazyDocument("user00000@example.com")}}})
	if err != nil || aws.ToString(got.UserId) != users[0] {
		t.Fatalf("GetUserId by email = %v, %v; want %s", got, err, users[0])
	}

	if _, err := c.DeleteUser(ctx, &identitystore.DeleteUserInput{IdentityStoreId: store, UserId: aws.String(users[0])}); err != nil {
		t.Fatal(err)
	}
	if _, err := create("twin", "user00000@example.com"); err != nil {
		t.Fatalf("CreateUser with a deleted user's address: %v", err)
	}
}
