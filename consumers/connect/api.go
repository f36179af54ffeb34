package connect

import (
	"context"

	awsconnect "github.com/aws/aws-sdk-go-v2/service/connect"

	"github.com/idsync/idsync/internal/awsclient"
)

// API is the part of the Amazon Connect client the applier uses. The real
// *connect.Client of aws-sdk-go-v2 satisfies it. Build it with
// awsclient.Connect, which installs the error classification the applier
// relies on, and pass it a meter of DefaultQuota (awsclient.NewMeter) to
// keep within Connect's per-operation quotas.
type API interface {
	CreateUser(ctx context.Context, in *awsconnect.CreateUserInput, optFns ...func(*awsconnect.Options)) (*awsconnect.CreateUserOutput, error)
	DescribeUser(ctx context.Context, in *awsconnect.DescribeUserInput, optFns ...func(*awsconnect.Options)) (*awsconnect.DescribeUserOutput, error)
	SearchUsers(ctx context.Context, in *awsconnect.SearchUsersInput, optFns ...func(*awsconnect.Options)) (*awsconnect.SearchUsersOutput, error)
	UpdateUserIdentityInfo(ctx context.Context, in *awsconnect.UpdateUserIdentityInfoInput, optFns ...func(*awsconnect.Options)) (*awsconnect.UpdateUserIdentityInfoOutput, error)
	UpdateUserSecurityProfiles(ctx context.Context, in *awsconnect.UpdateUserSecurityProfilesInput, optFns ...func(*awsconnect.Options)) (*awsconnect.UpdateUserSecurityProfilesOutput, error)
	UpdateUserRoutingProfile(ctx context.Context, in *awsconnect.UpdateUserRoutingProfileInput, optFns ...func(*awsconnect.Options)) (*awsconnect.UpdateUserRoutingProfileOutput, error)
	UpdateUserHierarchy(ctx context.Context, in *awsconnect.UpdateUserHierarchyInput, optFns ...func(*awsconnect.Options)) (*awsconnect.UpdateUserHierarchyOutput, error)
	DeleteUser(ctx context.Context, in *awsconnect.DeleteUserInput, optFns ...func(*awsconnect.Options)) (*awsconnect.DeleteUserOutput, error)
	// DescribeInstance tells the instance's identity management type,
	// which decides the username limit (read once, at the first plan).
	DescribeInstance(ctx context.Context, in *awsconnect.DescribeInstanceInput, optFns ...func(*awsconnect.Options)) (*awsconnect.DescribeInstanceOutput, error)
}

var _ API = (*awsconnect.Client)(nil)

// Connect's default quota for the user APIs (CreateUser, DescribeUser,
// SearchUsers, the UpdateUser* calls, DeleteUser): 2 requests per second
// with bursts of 5, per operation, account and region.
const (
	DefaultRate  = 2
	DefaultBurst = 5
)

// DefaultQuota is the Connect client's default budget: DefaultRate
// requests/s with bursts of DefaultBurst for each operation, as the service
// budgets them, so that the SearchUsers before a create does not spend the
// CreateUser budget. A bucket exactly the size of the quota can run a few
// milliseconds ahead of the server's and meet the odd throttle, which the
// SDK's retryer absorbs; set it a little lower to avoid even that.
func DefaultQuota() awsclient.Quota {
	return awsclient.Quota{Rate: DefaultRate, Burst: DefaultBurst, PerOperation: true}
}
