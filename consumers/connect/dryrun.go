package connect

import (
	"context"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconnect "github.com/aws/aws-sdk-go-v2/service/connect"
	"github.com/aws/aws-sdk-go-v2/service/connect/types"
)

// DryRunUserID is the user id a dry-run CreateUser answers.
const DryRunUserID = "00000000-0000-4000-8000-000000000000"

// DryRun returns an API that passes reads (DescribeUser, SearchUsers) to
// api and sends no writes. Writes answer as Connect would, as far as reads
// can tell: CreateUser answers DuplicateResourceException when a user of
// that username exists (so that a dry run reports clashes and adoptions)
// and otherwise a new user with DryRunUserID; updates and DeleteUser first
// DescribeUser the user and return that call's error (so that a missing
// account shows), else an empty answer.
func DryRun(api API) API { return dryRun{api: api} }

type dryRun struct{ api API }

func (d dryRun) DescribeUser(ctx context.Context, in *awsconnect.DescribeUserInput, optFns ...func(*awsconnect.Options)) (*awsconnect.DescribeUserOutput, error) {
	return d.api.DescribeUser(ctx, in, optFns...)
}

func (d dryRun) SearchUsers(ctx context.Context, in *awsconnect.SearchUsersInput, optFns ...func(*awsconnect.Options)) (*awsconnect.SearchUsersOutput, error) {
	return d.api.SearchUsers(ctx, in, optFns...)
}

func (d dryRun) CreateUser(ctx context.Context, in *awsconnect.CreateUserInput, optFns ...func(*awsconnect.Options)) (*awsconnect.CreateUserOutput, error) {
	name := aws.ToString(in.Username)
	pages := awsconnect.NewSearchUsersPaginator(d.api, &awsconnect.SearchUsersInput{
		InstanceId: in.InstanceId,
		SearchCriteria: &types.UserSearchCriteria{StringCondition: &types.StringCondition{
			FieldName: aws.String("Username"), Value: in.Username, ComparisonType: types.StringComparisonTypeExact,
		}},
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx, optFns...)
		if err != nil {
			return nil, err
		}
		for _, u := range page.Users {
			if strings.EqualFold(aws.ToString(u.Username), name) {
				return nil, &types.DuplicateResourceException{Message: aws.String("dry run: a user with this username exists")}
			}
		}
	}
	return &awsconnect.CreateUserOutput{
		UserId:  aws.String(DryRunUserID),
		UserArn: aws.String("arn:aws:connect:::instance/" + aws.ToString(in.InstanceId) + "/agent/" + DryRunUserID),
	}, nil
}

// exists returns the error DescribeUser answers for the user, or nil.
func (d dryRun) exists(ctx context.Context, instanceID, userID *string, optFns []func(*awsconnect.Options)) error {
	_, err := d.api.DescribeUser(ctx, &awsconnect.DescribeUserInput{InstanceId: instanceID, UserId: userID}, optFns...)
	return err
}

func (d dryRun) UpdateUserIdentityInfo(ctx context.Context, in *awsconnect.UpdateUserIdentityInfoInput, optFns ...func(*awsconnect.Options)) (*awsconnect.UpdateUserIdentityInfoOutput, error) {
	if err := d.exists(ctx, in.InstanceId, in.UserId, optFns); err != nil {
		return nil, err
	}
	return &awsconnect.UpdateUserIdentityInfoOutput{}, nil
}

func (d dryRun) UpdateUserSecurityProfiles(ctx context.Context, in *awsconnect.UpdateUserSecurityProfilesInput, optFns ...func(*awsconnect.Options)) (*awsconnect.UpdateUserSecurityProfilesOutput, error) {
	if err := d.exists(ctx, in.InstanceId, in.UserId, optFns); err != nil {
		return nil, err
	}
	return &awsconnect.UpdateUserSecurityProfilesOutput{}, nil
}

func (d dryRun) UpdateUserRoutingProfile(ctx context.Context, in *awsconnect.UpdateUserRoutingProfileInput, optFns ...func(*awsconnect.Options)) (*awsconnect.UpdateUserRoutingProfileOutput, error) {
	if err := d.exists(ctx, in.InstanceId, in.UserId, optFns); err != nil {
		return nil, err
	}
	return &awsconnect.UpdateUserRoutingProfileOutput{}, nil
}

func (d dryRun) UpdateUserHierarchy(ctx context.Context, in *awsconnect.UpdateUserHierarchyInput, optFns ...func(*awsconnect.Options)) (*awsconnect.UpdateUserHierarchyOutput, error) {
	if err := d.exists(ctx, in.InstanceId, in.UserId, optFns); err != nil {
		return nil, err
	}
	return &awsconnect.UpdateUserHierarchyOutput{}, nil
}

func (d dryRun) DeleteUser(ctx context.Context, in *awsconnect.DeleteUserInput, optFns ...func(*awsconnect.Options)) (*awsconnect.DeleteUserOutput, error) {
	if err := d.exists(ctx, in.InstanceId, in.UserId, optFns); err != nil {
		return nil, err
	}
	return &awsconnect.DeleteUserOutput{}, nil
}
