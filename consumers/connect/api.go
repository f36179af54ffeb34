package connect

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconnect "github.com/aws/aws-sdk-go-v2/service/connect"
	"github.com/aws/aws-sdk-go-v2/service/connect/types"
	"golang.org/x/time/rate"
)

// API is the part of the Amazon Connect client the applier uses. The real
// *connect.Client of aws-sdk-go-v2 satisfies it; DryRun wraps one.
type API interface {
	CreateUser(ctx context.Context, in *awsconnect.CreateUserInput, optFns ...func(*awsconnect.Options)) (*awsconnect.CreateUserOutput, error)
	DescribeUser(ctx context.Context, in *awsconnect.DescribeUserInput, optFns ...func(*awsconnect.Options)) (*awsconnect.DescribeUserOutput, error)
	SearchUsers(ctx context.Context, in *awsconnect.SearchUsersInput, optFns ...func(*awsconnect.Options)) (*awsconnect.SearchUsersOutput, error)
	UpdateUserIdentityInfo(ctx context.Context, in *awsconnect.UpdateUserIdentityInfoInput, optFns ...func(*awsconnect.Options)) (*awsconnect.UpdateUserIdentityInfoOutput, error)
	UpdateUserSecurityProfiles(ctx context.Context, in *awsconnect.UpdateUserSecurityProfilesInput, optFns ...func(*awsconnect.Options)) (*awsconnect.UpdateUserSecurityProfilesOutput, error)
	UpdateUserRoutingProfile(ctx context.Context, in *awsconnect.UpdateUserRoutingProfileInput, optFns ...func(*awsconnect.Options)) (*awsconnect.UpdateUserRoutingProfileOutput, error)
	UpdateUserHierarchy(ctx context.Context, in *awsconnect.UpdateUserHierarchyInput, optFns ...func(*awsconnect.Options)) (*awsconnect.UpdateUserHierarchyOutput, error)
	DeleteUser(ctx context.Context, in *awsconnect.DeleteUserInput, optFns ...func(*awsconnect.Options)) (*awsconnect.DeleteUserOutput, error)
}

var _ API = (*awsconnect.Client)(nil)

// gated is an API that waits for a token of the client-side bucket before
// every call and tells the SDK's retryer not to retry a quota
// LimitExceededException (the SDK counts that code as throttling).
type gated struct {
	api API
	lim *rate.Limiter
}

// errRateLimiter marks an error of the client-side bucket's Wait.
var errRateLimiter = errors.New("connect rate limiter")

func (g gated) wait(ctx context.Context) error {
	if err := g.lim.Wait(ctx); err != nil {
		return fmt.Errorf("%w: %w", errRateLimiter, err)
	}
	return nil
}

func opts(optFns []func(*awsconnect.Options)) []func(*awsconnect.Options) {
	return append(optFns[:len(optFns):len(optFns)], quotaNotRetried)
}

func (g gated) CreateUser(ctx context.Context, in *awsconnect.CreateUserInput, optFns ...func(*awsconnect.Options)) (*awsconnect.CreateUserOutput, error) {
	if err := g.wait(ctx); err != nil {
		return nil, err
	}
	return g.api.CreateUser(ctx, in, opts(optFns)...)
}

func (g gated) DescribeUser(ctx context.Context, in *awsconnect.DescribeUserInput, optFns ...func(*awsconnect.Options)) (*awsconnect.DescribeUserOutput, error) {
	if err := g.wait(ctx); err != nil {
		return nil, err
	}
	return g.api.DescribeUser(ctx, in, opts(optFns)...)
}

func (g gated) SearchUsers(ctx context.Context, in *awsconnect.SearchUsersInput, optFns ...func(*awsconnect.Options)) (*awsconnect.SearchUsersOutput, error) {
	if err := g.wait(ctx); err != nil {
		return nil, err
	}
	return g.api.SearchUsers(ctx, in, opts(optFns)...)
}

func (g gated) UpdateUserIdentityInfo(ctx context.Context, in *awsconnect.UpdateUserIdentityInfoInput, optFns ...func(*awsconnect.Options)) (*awsconnect.UpdateUserIdentityInfoOutput, error) {
	if err := g.wait(ctx); err != nil {
		return nil, err
	}
	return g.api.UpdateUserIdentityInfo(ctx, in, opts(optFns)...)
}

func (g gated) UpdateUserSecurityProfiles(ctx context.Context, in *awsconnect.UpdateUserSecurityProfilesInput, optFns ...func(*awsconnect.Options)) (*awsconnect.UpdateUserSecurityProfilesOutput, error) {
	if err := g.wait(ctx); err != nil {
		return nil, err
	}
	return g.api.UpdateUserSecurityProfiles(ctx, in, opts(optFns)...)
}

func (g gated) UpdateUserRoutingProfile(ctx context.Context, in *awsconnect.UpdateUserRoutingProfileInput, optFns ...func(*awsconnect.Options)) (*awsconnect.UpdateUserRoutingProfileOutput, error) {
	if err := g.wait(ctx); err != nil {
		return nil, err
	}
	return g.api.UpdateUserRoutingProfile(ctx, in, opts(optFns)...)
}

func (g gated) UpdateUserHierarchy(ctx context.Context, in *awsconnect.UpdateUserHierarchyInput, optFns ...func(*awsconnect.Options)) (*awsconnect.UpdateUserHierarchyOutput, error) {
	if err := g.wait(ctx); err != nil {
		return nil, err
	}
	return g.api.UpdateUserHierarchy(ctx, in, opts(optFns)...)
}

func (g gated) DeleteUser(ctx context.Context, in *awsconnect.DeleteUserInput, optFns ...func(*awsconnect.Options)) (*awsconnect.DeleteUserOutput, error) {
	if err := g.wait(ctx); err != nil {
		return nil, err
	}
	return g.api.DeleteUser(ctx, in, opts(optFns)...)
}

// quotaNotRetried wraps the operation's retryer so that a
// LimitExceededException (the users-per-instance quota, answered with 429)
// fails at once: the standard retryer lists that code among throttling
// errors and would otherwise spend every attempt on it.
func quotaNotRetried(o *awsconnect.Options) {
	switch r := o.Retryer.(type) {
	case nil:
	case aws.RetryerV2:
		o.Retryer = quotaRetryerV2{r}
	default:
		o.Retryer = quotaRetryer{r}
	}
}

func isQuota(err error) bool {
	var le *types.LimitExceededException
	var sq *types.ServiceQuotaExceededException
	return errors.As(err, &le) || errors.As(err, &sq)
}

type quotaRetryerV2 struct{ aws.RetryerV2 }

func (r quotaRetryerV2) IsErrorRetryable(err error) bool {
	return !isQuota(err) && r.RetryerV2.IsErrorRetryable(err)
}

type quotaRetryer struct{ aws.Retryer }

func (r quotaRetryer) IsErrorRetryable(err error) bool {
	return !isQuota(err) && r.Retryer.IsErrorRetryable(err)
}
