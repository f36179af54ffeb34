package workmail

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/workmail"
	"golang.org/x/time/rate"
)

// API is the part of the WorkMail API the Applier uses; *workmail.Client
// from aws-sdk-go-v2 satisfies it. Reads are DescribeOrganization,
// DescribeIdentityProviderConfiguration, DescribeUser and ListUsers; the
// rest are writes.
type API interface {
	DescribeOrganization(ctx context.Context, in *sdk.DescribeOrganizationInput, optFns ...func(*sdk.Options)) (*sdk.DescribeOrganizationOutput, error)
	DescribeIdentityProviderConfiguration(ctx context.Context, in *sdk.DescribeIdentityProviderConfigurationInput, optFns ...func(*sdk.Options)) (*sdk.DescribeIdentityProviderConfigurationOutput, error)
	DescribeUser(ctx context.Context, in *sdk.DescribeUserInput, optFns ...func(*sdk.Options)) (*sdk.DescribeUserOutput, error)
	ListUsers(ctx context.Context, in *sdk.ListUsersInput, optFns ...func(*sdk.Options)) (*sdk.ListUsersOutput, error)

	CreateUser(ctx context.Context, in *sdk.CreateUserInput, optFns ...func(*sdk.Options)) (*sdk.CreateUserOutput, error)
	RegisterToWorkMail(ctx context.Context, in *sdk.RegisterToWorkMailInput, optFns ...func(*sdk.Options)) (*sdk.RegisterToWorkMailOutput, error)
	UpdateUser(ctx context.Context, in *sdk.UpdateUserInput, optFns ...func(*sdk.Options)) (*sdk.UpdateUserOutput, error)
	UpdatePrimaryEmailAddress(ctx context.Context, in *sdk.UpdatePrimaryEmailAddressInput, optFns ...func(*sdk.Options)) (*sdk.UpdatePrimaryEmailAddressOutput, error)
	DeregisterFromWorkMail(ctx context.Context, in *sdk.DeregisterFromWorkMailInput, optFns ...func(*sdk.Options)) (*sdk.DeregisterFromWorkMailOutput, error)
	DeleteUser(ctx context.Context, in *sdk.DeleteUserInput, optFns ...func(*sdk.Options)) (*sdk.DeleteUserOutput, error)
}

var _ API = (*sdk.Client)(nil)

// DryRunUserID is the user id a dry-run CreateUser answers.
const DryRunUserID = "dry-run"

// DryRun returns api with its writes switched off: reads are passed to api;
// writes are not sent and succeed with plausible outputs (CreateUser
// answers DryRunUserID, the others empty outputs). It never fails on a
// write and is safe for concurrent use when api is.
func DryRun(api API) API { return dryRun{api} }

type dryRun struct{ api API }

func (d dryRun) DescribeOrganization(ctx context.Context, in *sdk.DescribeOrganizationInput, optFns ...func(*sdk.Options)) (*sdk.DescribeOrganizationOutput, error) {
	return d.api.DescribeOrganization(ctx, in, optFns...)
}

func (d dryRun) DescribeIdentityProviderConfiguration(ctx context.Context, in *sdk.DescribeIdentityProviderConfigurationInput, optFns ...func(*sdk.Options)) (*sdk.DescribeIdentityProviderConfigurationOutput, error) {
	return d.api.DescribeIdentityProviderConfiguration(ctx, in, optFns...)
}

func (d dryRun) DescribeUser(ctx context.Context, in *sdk.DescribeUserInput, optFns ...func(*sdk.Options)) (*sdk.DescribeUserOutput, error) {
	return d.api.DescribeUser(ctx, in, optFns...)
}

func (d dryRun) ListUsers(ctx context.Context, in *sdk.ListUsersInput, optFns ...func(*sdk.Options)) (*sdk.ListUsersOutput, error) {
	return d.api.ListUsers(ctx, in, optFns...)
}

func (dryRun) CreateUser(context.Context, *sdk.CreateUserInput, ...func(*sdk.Options)) (*sdk.CreateUserOutput, error) {
	return &sdk.CreateUserOutput{UserId: aws.String(DryRunUserID)}, nil
}

func (dryRun) RegisterToWorkMail(context.Context, *sdk.RegisterToWorkMailInput, ...func(*sdk.Options)) (*sdk.RegisterToWorkMailOutput, error) {
	return &sdk.RegisterToWorkMailOutput{}, nil
}

func (dryRun) UpdateUser(context.Context, *sdk.UpdateUserInput, ...func(*sdk.Options)) (*sdk.UpdateUserOutput, error) {
	return &sdk.UpdateUserOutput{}, nil
}

func (dryRun) UpdatePrimaryEmailAddress(context.Context, *sdk.UpdatePrimaryEmailAddressInput, ...func(*sdk.Options)) (*sdk.UpdatePrimaryEmailAddressOutput, error) {
	return &sdk.UpdatePrimaryEmailAddressOutput{}, nil
}

func (dryRun) DeregisterFromWorkMail(context.Context, *sdk.DeregisterFromWorkMailInput, ...func(*sdk.Options)) (*sdk.DeregisterFromWorkMailOutput, error) {
	return &sdk.DeregisterFromWorkMailOutput{}, nil
}

func (dryRun) DeleteUser(context.Context, *sdk.DeleteUserInput, ...func(*sdk.Options)) (*sdk.DeleteUserOutput, error) {
	return &sdk.DeleteUserOutput{}, nil
}

// limited waits on a token bucket before every call to api. A Wait that
// fails (the context ends first) is returned as the call's error.
type limited struct {
	api API
	lim *rate.Limiter
}

func (l limited) DescribeOrganization(ctx context.Context, in *sdk.DescribeOrganizationInput, optFns ...func(*sdk.Options)) (*sdk.DescribeOrganizationOutput, error) {
	if err := l.lim.Wait(ctx); err != nil {
		return nil, err
	}
	return l.api.DescribeOrganization(ctx, in, optFns...)
}

func (l limited) DescribeIdentityProviderConfiguration(ctx context.Context, in *sdk.DescribeIdentityProviderConfigurationInput, optFns ...func(*sdk.Options)) (*sdk.DescribeIdentityProviderConfigurationOutput, error) {
	if err := l.lim.Wait(ctx); err != nil {
		return nil, err
	}
	return l.api.DescribeIdentityProviderConfiguration(ctx, in, optFns...)
}

func (l limited) DescribeUser(ctx context.Context, in *sdk.DescribeUserInput, optFns ...func(*sdk.Options)) (*sdk.DescribeUserOutput, error) {
	if err := l.lim.Wait(ctx); err != nil {
		return nil, err
	}
	return l.api.DescribeUser(ctx, in, optFns...)
}

func (l limited) ListUsers(ctx context.Context, in *sdk.ListUsersInput, optFns ...func(*sdk.Options)) (*sdk.ListUsersOutput, error) {
	if err := l.lim.Wait(ctx); err != nil {
		return nil, err
	}
	return l.api.ListUsers(ctx, in, optFns...)
}

func (l limited) CreateUser(ctx context.Context, in *sdk.CreateUserInput, optFns ...func(*sdk.Options)) (*sdk.CreateUserOutput, error) {
	if err := l.lim.Wait(ctx); err != nil {
		return nil, err
	}
	return l.api.CreateUser(ctx, in, optFns...)
}

func (l limited) RegisterToWorkMail(ctx context.Context, in *sdk.RegisterToWorkMailInput, optFns ...func(*sdk.Options)) (*sdk.RegisterToWorkMailOutput, error) {
	if err := l.lim.Wait(ctx); err != nil {
		return nil, err
	}
	return l.api.RegisterToWorkMail(ctx, in, optFns...)
}

func (l limited) UpdateUser(ctx context.Context, in *sdk.UpdateUserInput, optFns ...func(*sdk.Options)) (*sdk.UpdateUserOutput, error) {
	if err := l.lim.Wait(ctx); err != nil {
		return nil, err
	}
	return l.api.UpdateUser(ctx, in, optFns...)
}

func (l limited) UpdatePrimaryEmailAddress(ctx context.Context, in *sdk.UpdatePrimaryEmailAddressInput, optFns ...func(*sdk.Options)) (*sdk.UpdatePrimaryEmailAddressOutput, error) {
	if err := l.lim.Wait(ctx); err != nil {
		return nil, err
	}
	return l.api.UpdatePrimaryEmailAddress(ctx, in, optFns...)
}

func (l limited) DeregisterFromWorkMail(ctx context.Context, in *sdk.DeregisterFromWorkMailInput, optFns ...func(*sdk.Options)) (*sdk.DeregisterFromWorkMailOutput, error) {
	if err := l.lim.Wait(ctx); err != nil {
		return nil, err
	}
	return l.api.DeregisterFromWorkMail(ctx, in, optFns...)
}

func (l limited) DeleteUser(ctx context.Context, in *sdk.DeleteUserInput, optFns ...func(*sdk.Options)) (*sdk.DeleteUserOutput, error) {
	if err := l.lim.Wait(ctx); err != nil {
		return nil, err
	}
	return l.api.DeleteUser(ctx, in, optFns...)
}
