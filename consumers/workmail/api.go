package workmail

import (
	"context"

	sdk "github.com/aws/aws-sdk-go-v2/service/workmail"

	"github.com/idsync/idsync/internal/awsclient"
)

// API is the part of the WorkMail API the Applier uses; *workmail.Client
// from aws-sdk-go-v2 satisfies it. Build it with awsclient.WorkMail, which
// installs the error classification the Applier relies on, and pass it a
// meter of DefaultQuota (awsclient.NewMeter) to keep within the service's
// rate. Reads are DescribeOrganization,
// DescribeIdentityProviderConfiguration, DescribeUser, ListUsers and, to
// name a group or resource that holds a name or address a create needs,
// DescribeGroup, DescribeResource and DescribeEntity, and
// DescribeMailboxExportJob to follow a leaver's export; the rest are
// writes (StartMailboxExportJob starts the export of a leaver's mailbox
// when workmail.onLeave.exportTo is configured).
type API interface {
	DescribeOrganization(ctx context.Context, in *sdk.DescribeOrganizationInput, optFns ...func(*sdk.Options)) (*sdk.DescribeOrganizationOutput, error)
	DescribeIdentityProviderConfiguration(ctx context.Context, in *sdk.DescribeIdentityProviderConfigurationInput, optFns ...func(*sdk.Options)) (*sdk.DescribeIdentityProviderConfigurationOutput, error)
	DescribeUser(ctx context.Context, in *sdk.DescribeUserInput, optFns ...func(*sdk.Options)) (*sdk.DescribeUserOutput, error)
	ListUsers(ctx context.Context, in *sdk.ListUsersInput, optFns ...func(*sdk.Options)) (*sdk.ListUsersOutput, error)
	DescribeGroup(ctx context.Context, in *sdk.DescribeGroupInput, optFns ...func(*sdk.Options)) (*sdk.DescribeGroupOutput, error)
	DescribeResource(ctx context.Context, in *sdk.DescribeResourceInput, optFns ...func(*sdk.Options)) (*sdk.DescribeResourceOutput, error)
	DescribeEntity(ctx context.Context, in *sdk.DescribeEntityInput, optFns ...func(*sdk.Options)) (*sdk.DescribeEntityOutput, error)

	CreateUser(ctx context.Context, in *sdk.CreateUserInput, optFns ...func(*sdk.Options)) (*sdk.CreateUserOutput, error)
	RegisterToWorkMail(ctx context.Context, in *sdk.RegisterToWorkMailInput, optFns ...func(*sdk.Options)) (*sdk.RegisterToWorkMailOutput, error)
	UpdateUser(ctx context.Context, in *sdk.UpdateUserInput, optFns ...func(*sdk.Options)) (*sdk.UpdateUserOutput, error)
	UpdatePrimaryEmailAddress(ctx context.Context, in *sdk.UpdatePrimaryEmailAddressInput, optFns ...func(*sdk.Options)) (*sdk.UpdatePrimaryEmailAddressOutput, error)
	DeregisterFromWorkMail(ctx context.Context, in *sdk.DeregisterFromWorkMailInput, optFns ...func(*sdk.Options)) (*sdk.DeregisterFromWorkMailOutput, error)
	DeleteUser(ctx context.Context, in *sdk.DeleteUserInput, optFns ...func(*sdk.Options)) (*sdk.DeleteUserOutput, error)

	StartMailboxExportJob(ctx context.Context, in *sdk.StartMailboxExportJobInput, optFns ...func(*sdk.Options)) (*sdk.StartMailboxExportJobOutput, error)
	DescribeMailboxExportJob(ctx context.Context, in *sdk.DescribeMailboxExportJobInput, optFns ...func(*sdk.Options)) (*sdk.DescribeMailboxExportJobOutput, error)
}

var _ API = (*sdk.Client)(nil)

// Default client-side rate: the budget the composition root gives the
// WorkMail client's meter (DefaultQuota).
//
// WorkMail documents no API request-rate quota: its quota pages
// (https://docs.aws.amazon.com/workmail/latest/adminguide/workmail_limits.html
// and https://docs.aws.amazon.com/general/latest/gr/workmail.html) list
// organisations per account, users per organisation and message quotas
// only; none is known, so this stays at 5 requests/s with bursts of 10,
// shared by all operations, which keeps one consumer well below what the
// service throttles. A throttling answer that still comes is retried.
const (
	DefaultRate  = 5
	DefaultBurst = 10
)

// DefaultQuota is the WorkMail client's default budget: DefaultRate
// requests/s with bursts of DefaultBurst, one bucket shared by every
// operation.
func DefaultQuota() awsclient.Quota {
	return awsclient.Quota{Rate: DefaultRate, Burst: DefaultBurst}
}
