package simworkmail_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/workmail"
	"github.com/aws/aws-sdk-go-v2/service/workmail/types"
	"github.com/aws/smithy-go"

	"github.com/idsync/idsync/internal/sim/simworkmail"
)

// TestExceptions drives every modelled exception through the SDK and
// decodes it into the SDK's own type.
func TestExceptions(t *testing.T) {
	const unknownOrg = "m-0123456789abcdef0123456789abcdef"
	tests := []struct {
		name string
		// call runs against a fixture holding: "taken" (ENABLED,
		// taken@example.com), "idle" (DISABLED), "gone" (DELETED).
		call func(ctx context.Context, f *fixture, ids map[string]string) error
		is   func(error) bool
		code string
	}{
		{
			name: "CreateUser taken name",
			call: func(ctx context.Context, f *fixture, _ map[string]string) error {
				_, err := f.client.CreateUser(ctx, &workmail.CreateUserInput{
					OrganizationId: aws.String(f.org), Name: aws.String("TAKEN"), DisplayName: aws.String("x")})
				return err
			},
			is: isA[*types.NameAvailabilityException], code: "NameAvailabilityException",
		},
		{
			name: "RegisterToWorkMail address of another user",
			call: func(ctx context.Context, f *fixture, ids map[string]string) error {
				_, err := f.client.RegisterToWorkMail(ctx, &workmail.RegisterToWorkMailInput{
					OrganizationId: aws.String(f.org), EntityId: aws.String(ids["idle"]), Email: aws.String("Taken@Example.com")})
				return err
			},
			is: isA[*types.EmailAddressInUseException], code: "EmailAddressInUseException",
		},
		{
			name: "UpdatePrimaryEmailAddress address of another user",
			call: func(ctx context.Context, f *fixture, _ map[string]string) error {
				id := f.enabledUser(t, "other", "other@example.com")
				_, err := f.client.UpdatePrimaryEmailAddress(ctx, &workmail.UpdatePrimaryEmailAddressInput{
					OrganizationId: aws.String(f.org), EntityId: aws.String(id), Email: aws.String("taken@example.com")})
				return err
			},
			is: isA[*types.EmailAddressInUseException], code: "EmailAddressInUseException",
		},
		{
			// Only with RegisterAlreadyRegistered: the default answers
			// "no change" (see TestRegisterEnabledEntity).
			name: "RegisterToWorkMail already ENABLED",
			call: func(ctx context.Context, f *fixture, ids map[string]string) error {
				f.sim.SetRegisterEnabled(simworkmail.RegisterAlreadyRegistered)
				_, err := f.client.RegisterToWorkMail(ctx, &workmail.RegisterToWorkMailInput{
					OrganizationId: aws.String(f.org), EntityId: aws.String(ids["taken"]), Email: aws.String("taken@example.com")})
				return err
			},
			is: isA[*types.EntityAlreadyRegisteredException], code: "EntityAlreadyRegisteredException",
		},
		{
			name: "DeleteUser ENABLED",
			call: func(ctx context.Context, f *fixture, ids map[string]string) error {
				_, err := f.client.DeleteUser(ctx, &workmail.DeleteUserInput{OrganizationId: aws.String(f.org), UserId: aws.String(ids["taken"])})
				return err
			},
			is: isA[*types.EntityStateException], code: "EntityStateException",
		},
		{
			name: "DeleteUser DELETED",
			call: func(ctx context.Context, f *fixture, ids map[string]string) error {
				_, err := f.client.DeleteUser(ctx, &workmail.DeleteUserInput{OrganizationId: aws.String(f.org), UserId: aws.String(ids["gone"])})
				return err
			},
			is: isA[*types.EntityStateException], code: "EntityStateException",
		},
		{
			name: "RegisterToWorkMail DELETED",
			call: func(ctx context.Context, f *fixture, ids map[string]string) error {
				_, err := f.client.RegisterToWorkMail(ctx, &workmail.RegisterToWorkMailInput{
					OrganizationId: aws.String(f.org), EntityId: aws.String(ids["gone"]), Email: aws.String("gone@example.com")})
				return err
			},
			is: isA[*types.EntityStateException], code: "EntityStateException",
		},
		{
			name: "DeregisterFromWorkMail DISABLED",
			call: func(ctx context.Context, f *fixture, ids map[string]string) error {
				_, err := f.client.DeregisterFromWorkMail(ctx, &workmail.DeregisterFromWorkMailInput{
					OrganizationId: aws.String(f.org), EntityId: aws.String(ids["idle"])})
				return err
			},
			is: isA[*types.EntityStateException], code: "EntityStateException",
		},
		{
			name: "UpdatePrimaryEmailAddress DISABLED",
			call: func(ctx context.Context, f *fixture, ids map[string]string) error {
				_, err := f.client.UpdatePrimaryEmailAddress(ctx, &workmail.UpdatePrimaryEmailAddressInput{
					OrganizationId: aws.String(f.org), EntityId: aws.String(ids["idle"]), Email: aws.String("idle@example.com")})
				return err
			},
			is: isA[*types.EntityStateException], code: "EntityStateException",
		},
		{
			name: "UpdateUser DELETED",
			call: func(ctx context.Context, f *fixture, ids map[string]string) error {
				_, err := f.client.UpdateUser(ctx, &workmail.UpdateUserInput{
					OrganizationId: aws.String(f.org), UserId: aws.String(ids["gone"]), DisplayName: aws.String("x")})
				return err
			},
			is: isA[*types.EntityStateException], code: "EntityStateException",
		},
		{
			name: "DescribeUser unknown",
			call: func(ctx context.Context, f *fixture, _ map[string]string) error {
				_, err := f.client.DescribeUser(ctx, &workmail.DescribeUserInput{OrganizationId: aws.String(f.org), UserId: aws.String("nobody")})
				return err
			},
			is: isA[*types.EntityNotFoundException], code: "EntityNotFoundException",
		},
		{
			name: "RegisterToWorkMail unknown",
			call: func(ctx context.Context, f *fixture, _ map[string]string) error {
				_, err := f.client.RegisterToWorkMail(ctx, &workmail.RegisterToWorkMailInput{
					OrganizationId: aws.String(f.org), EntityId: aws.String("00000000-0000-4000-8000-0000000000ff"), Email: aws.String("n@example.com")})
				return err
			},
			is: isA[*types.EntityNotFoundException], code: "EntityNotFoundException",
		},
		{
			name: "UpdateUser unknown",
			call: func(ctx context.Context, f *fixture, _ map[string]string) error {
				_, err := f.client.UpdateUser(ctx, &workmail.UpdateUserInput{OrganizationId: aws.String(f.org), UserId: aws.String("nobody")})
				return err
			},
			is: isA[*types.EntityNotFoundException], code: "EntityNotFoundException",
		},
		{
			// DeleteUser does not model EntityNotFoundException: the SDK
			// hands back a generic API error carrying the code.
			name: "DeleteUser unknown",
			call: func(ctx context.Context, f *fixture, _ map[string]string) error {
				_, err := f.client.DeleteUser(ctx, &workmail.DeleteUserInput{OrganizationId: aws.String(f.org), UserId: aws.String("nobody")})
				return err
			},
			is: isA[*smithy.GenericAPIError], code: "EntityNotFoundException",
		},
		{
			name: "RegisterToWorkMail foreign domain",
			call: func(ctx context.Context, f *fixture, ids map[string]string) error {
				_, err := f.client.RegisterToWorkMail(ctx, &workmail.RegisterToWorkMailInput{
					OrganizationId: aws.String(f.org), EntityId: aws.String(ids["idle"]), Email: aws.String("idle@elsewhere.net")})
				return err
			},
			is: isA[*types.MailDomainNotFoundException], code: "MailDomainNotFoundException",
		},
		{
			name: "UpdatePrimaryEmailAddress foreign domain",
			call: func(ctx context.Context, f *fixture, ids map[string]string) error {
				_, err := f.client.UpdatePrimaryEmailAddress(ctx, &workmail.UpdatePrimaryEmailAddressInput{
					OrganizationId: aws.String(f.org), EntityId: aws.String(ids["taken"]), Email: aws.String("t@elsewhere.net")})
				return err
			},
			is: isA[*types.MailDomainNotFoundException], code: "MailDomainNotFoundException",
		},
		{
			name: "ListUsers unknown organisation",
			call: func(ctx context.Context, f *fixture, _ map[string]string) error {
				_, err := f.client.ListUsers(ctx, &workmail.ListUsersInput{OrganizationId: aws.String(unknownOrg)})
				return err
			},
			is: isA[*types.OrganizationNotFoundException], code: "OrganizationNotFoundException",
		},
		{
			name: "DescribeOrganization unknown organisation",
			call: func(ctx context.Context, f *fixture, _ map[string]string) error {
				_, err := f.client.DescribeOrganization(ctx, &workmail.DescribeOrganizationInput{OrganizationId: aws.String(unknownOrg)})
				return err
			},
			is: isA[*types.OrganizationNotFoundException], code: "OrganizationNotFoundException",
		},
		{
			name: "CreateUser organisation not Active",
			call: func(ctx context.Context, f *fixture, _ map[string]string) error {
				if err := f.sim.SetOrganizationState(f.org, "Deleting"); err != nil {
					t.Fatal(err)
				}
				_, err := f.client.CreateUser(ctx, &workmail.CreateUserInput{
					OrganizationId: aws.String(f.org), Name: aws.String("late"), DisplayName: aws.String("x")})
				return err
			},
			is: isA[*types.OrganizationStateException], code: "OrganizationStateException",
		},
		{
			name: "DescribeIdentityProviderConfiguration none set",
			call: func(ctx context.Context, f *fixture, _ map[string]string) error {
				_, err := f.client.DescribeIdentityProviderConfiguration(ctx, &workmail.DescribeIdentityProviderConfigurationInput{
					OrganizationId: aws.String(f.org)})
				return err
			},
			is: isA[*types.ResourceNotFoundException], code: "ResourceNotFoundException",
		},
		{
			// CreateUser does not model LimitExceededException either.
			name: "CreateUser over the user limit",
			call: func(ctx context.Context, f *fixture, _ map[string]string) error {
				if err := f.sim.SetUserLimit(f.org, 2); err != nil { // taken and idle are live
					t.Fatal(err)
				}
				_, err := f.client.CreateUser(ctx, &workmail.CreateUserInput{
					OrganizationId: aws.String(f.org), Name: aws.String("third"), DisplayName: aws.String("x")})
				return err
			},
			is: isA[*smithy.GenericAPIError], code: "LimitExceededException",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			f := setup(t, simworkmail.Options{}, 1)
			ids := map[string]string{
				"taken": f.enabledUser(t, "taken", "taken@example.com"),
				"idle":  f.createUser(t, "idle"),
				"gone":  f.createUser(t, "gone"),
			}
			if _, err := f.client.DeleteUser(ctx, &workmail.DeleteUserInput{OrganizationId: aws.String(f.org), UserId: aws.String(ids["gone"])}); err != nil {
				t.Fatal(err)
			}
			err := tc.call(ctx, f, ids)
			if err == nil {
				t.Fatal("no error")
			}
			if !tc.is(err) {
				t.Fatalf("error %T %v is not the SDK's type for %s", err, err, tc.code)
			}
			var apiErr smithy.APIError
			if !errors.As(err, &apiErr) || apiErr.ErrorCode() != tc.code {
				t.Fatalf("error code %v, want %s", err, tc.code)
			}
			// Modelled exceptions are client faults; a generic error's fault
			// is unknown to the SDK.
			if !isA[*smithy.GenericAPIError](err) && apiErr.ErrorFault() != smithy.FaultClient {
				t.Fatalf("fault %v, want client", apiErr.ErrorFault())
			}
		})
	}
}

// TestInvalidParameters checks the model's constraints, each answered with
// InvalidParameterException naming the member.
func TestInvalidParameters(t *testing.T) {
	long := strings.Repeat("x", 257)
	tests := []struct {
		name   string
		call   func(ctx context.Context, f *fixture) error
		member string
	}{
		{"organization id pattern", func(ctx context.Context, f *fixture) error {
			_, err := f.client.ListUsers(ctx, &workmail.ListUsersInput{OrganizationId: aws.String("m-NOTHEX")})
			return err
		}, "organizationId"},
		{"user name pattern", func(ctx context.Context, f *fixture) error {
			_, err := f.client.CreateUser(ctx, &workmail.CreateUserInput{OrganizationId: aws.String(f.org), Name: aws.String("no spaces"), DisplayName: aws.String("x")})
			return err
		}, "name"},
		{"user name length", func(ctx context.Context, f *fixture) error {
			_, err := f.client.CreateUser(ctx, &workmail.CreateUserInput{OrganizationId: aws.String(f.org), Name: aws.String(strings.Repeat("a", 65)), DisplayName: aws.String("x")})
			return err
		}, "name"},
		{"display name length", func(ctx context.Context, f *fixture) error {
			_, err := f.client.CreateUser(ctx, &workmail.CreateUserInput{OrganizationId: aws.String(f.org), Name: aws.String("ok"), DisplayName: aws.String(long)})
			return err
		}, "displayName"},
		{"role enum", func(ctx context.Context, f *fixture) error {
			_, err := f.client.CreateUser(ctx, &workmail.CreateUserInput{OrganizationId: aws.String(f.org), Name: aws.String("ok"), DisplayName: aws.String("x"), Role: "ADMIN"})
			return err
		}, "role"},
		{"role SYSTEM_USER refused", func(ctx context.Context, f *fixture) error {
			_, err := f.client.CreateUser(ctx, &workmail.CreateUserInput{OrganizationId: aws.String(f.org), Name: aws.String("ok"), DisplayName: aws.String("x"), Role: types.UserRoleSystemUser})
			return err
		}, "SYSTEM_USER"},
		{"identity provider user id pattern", func(ctx context.Context, f *fixture) error {
			_, err := f.client.CreateUser(ctx, &workmail.CreateUserInput{OrganizationId: aws.String(f.org), Name: aws.String("ok"), DisplayName: aws.String("x"), IdentityProviderUserId: aws.String("00u1abcd")})
			return err
		}, "identityProviderUserId"},
		{"update attribute length", func(ctx context.Context, f *fixture) error {
			_, err := f.client.UpdateUser(ctx, &workmail.UpdateUserInput{OrganizationId: aws.String(f.org), UserId: aws.String("x"), Department: aws.String(long)})
			return err
		}, "department"},
		{"update role RESOURCE refused", func(ctx context.Context, f *fixture) error {
			_, err := f.client.UpdateUser(ctx, &workmail.UpdateUserInput{OrganizationId: aws.String(f.org), UserId: aws.String("x"), Role: types.UserRoleResource})
			return err
		}, "RESOURCE"},
		{"entity id pattern", func(ctx context.Context, f *fixture) error {
			_, err := f.client.DescribeUser(ctx, &workmail.DescribeUserInput{OrganizationId: aws.String(f.org), UserId: aws.String("a b")})
			return err
		}, "userId"},
		{"email pattern", func(ctx context.Context, f *fixture) error {
			_, err := f.client.RegisterToWorkMail(ctx, &workmail.RegisterToWorkMailInput{OrganizationId: aws.String(f.org), EntityId: aws.String("x"), Email: aws.String("not-an-address")})
			return err
		}, "email"},
		{"max results range", func(ctx context.Context, f *fixture) error {
			_, err := f.client.ListUsers(ctx, &workmail.ListUsersInput{OrganizationId: aws.String(f.org), MaxResults: aws.Int32(101)})
			return err
		}, "maxResults"},
		{"next token not ours", func(ctx context.Context, f *fixture) error {
			_, err := f.client.ListUsers(ctx, &workmail.ListUsersInput{OrganizationId: aws.String(f.org), NextToken: aws.String("garbage!")})
			return err
		}, "NextToken"},
		{"state filter enum", func(ctx context.Context, f *fixture) error {
			_, err := f.client.ListUsers(ctx, &workmail.ListUsersInput{OrganizationId: aws.String(f.org), Filters: &types.ListUsersFilters{State: "ACTIVE"}})
			return err
		}, "filters.state"},
		{"identity provider prefix pattern", func(ctx context.Context, f *fixture) error {
			_, err := f.client.ListUsers(ctx, &workmail.ListUsersInput{OrganizationId: aws.String(f.org), Filters: &types.ListUsersFilters{IdentityProviderUserIdPrefix: aws.String("zz")}})
			return err
		}, "filters.identityProviderUserIdPrefix"},
		{"application arn pattern", func(ctx context.Context, f *fixture) error {
			_, err := f.client.PutIdentityProviderConfiguration(ctx, &workmail.PutIdentityProviderConfigurationInput{
				OrganizationId: aws.String(f.org), AuthenticationMode: types.IdentityProviderAuthenticationModeIdentityProviderOnly,
				IdentityCenterConfiguration: &types.IdentityCenterConfiguration{
					InstanceArn: aws.String("arn:aws:sso:::instance/ssoins-1234567890abcdef"), ApplicationArn: aws.String("arn:aws:sso::app")},
				PersonalAccessTokenConfiguration: &types.PersonalAccessTokenConfiguration{Status: types.PersonalAccessTokenConfigurationStatusInactive},
			})
			return err
		}, "identityCenterConfiguration.applicationArn"},
		{"token lifetime range", func(ctx context.Context, f *fixture) error {
			_, err := f.client.PutIdentityProviderConfiguration(ctx, &workmail.PutIdentityProviderConfigurationInput{
				OrganizationId: aws.String(f.org), AuthenticationMode: types.IdentityProviderAuthenticationModeIdentityProviderOnly,
				IdentityCenterConfiguration: &types.IdentityCenterConfiguration{
					InstanceArn:    aws.String("arn:aws:sso:::instance/ssoins-1234567890abcdef"),
					ApplicationArn: aws.String("arn:aws:sso::123456789012:application/ssoins-1234567890abcdef/apl-1234567890abcdef")},
				PersonalAccessTokenConfiguration: &types.PersonalAccessTokenConfiguration{
					Status: types.PersonalAccessTokenConfigurationStatusActive, LifetimeInDays: aws.Int32(4000)},
			})
			return err
		}, "lifetimeInDays"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := setup(t, simworkmail.Options{}, 1)
			err := tc.call(context.Background(), f)
			var ipe *types.InvalidParameterException
			if !errors.As(err, &ipe) {
				t.Fatalf("error %T %v, want *types.InvalidParameterException", err, err)
			}
			if !strings.Contains(ipe.ErrorMessage(), tc.member) {
				t.Fatalf("message %q does not name %q", ipe.ErrorMessage(), tc.member)
			}
		})
	}
}

// TestUserLimitCountsLiveUsers: DELETED users free their place. It also
// pins an SDK fact: the default retryer counts "LimitExceededException" as
// a throttle, and the clients internal/awsclient builds do not retry it (a
// full organisation fails at once, with one request).
func TestUserLimitCountsLiveUsers(t *testing.T) {
	ctx := context.Background()
	f := setup(t, simworkmail.Options{UserLimit: 2}, 3)
	a := f.createUser(t, "a")
	f.createUser(t, "b")
	create := func() error {
		_, err := f.client.CreateUser(ctx, &workmail.CreateUserInput{OrganizationId: aws.String(f.org), Name: aws.String("c"), DisplayName: aws.String("c")})
		return err
	}
	var apiErr smithy.APIError
	before := f.sim.Control().Counters()["CreateUser"].Requests
	err := create()
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "LimitExceededException" {
		t.Fatalf("third user: %v, want LimitExceededException", err)
	}
	if got := f.sim.Control().Counters()["CreateUser"].Requests - before; got != 1 {
		t.Fatalf("CreateUser attempts = %d, want 1 (awsclient does not retry a quota)", got)
	}
	if retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err) != aws.TrueTernary {
		t.Fatal("the SDK no longer classifies LimitExceededException as a throttle")
	}
	if _, err := f.client.DeleteUser(ctx, &workmail.DeleteUserInput{OrganizationId: aws.String(f.org), UserId: aws.String(a)}); err != nil {
		t.Fatal(err)
	}
	if err := create(); err != nil {
		t.Fatalf("after a deletion: %v", err)
	}
}
