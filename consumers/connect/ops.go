package connect

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconnect "github.com/aws/aws-sdk-go-v2/service/connect"
	"github.com/aws/aws-sdk-go-v2/service/connect/types"

	"github.com/idsync/idsync/consumers"
	"github.com/idsync/idsync/domain"
)

// run executes one op. The result's RemoteID, Adopted and Reason are set
// here; Apply fills in the rest.
func (a *Applier) run(ctx context.Context, p domain.Person, op domain.Op) (consumers.OpResult, error) {
	if op.Target != "" && op.Target != domain.TargetConnect {
		return consumers.OpResult{}, domain.Permanent(fmt.Errorf("%w: %s op for target %s", ErrInvalidOp, op.Kind, op.Target))
	}
	if op.Kind != domain.OpCreate && op.RemoteID == "" {
		return consumers.OpResult{}, domain.Permanent(fmt.Errorf("%w: %s without a remote id", ErrInvalidOp, op.Kind))
	}
	id := op.RemoteID
	switch op.Kind {
	case domain.OpCreate:
		return a.create(ctx, p, op)
	case domain.OpUpdateIdentity:
		return consumers.OpResult{}, a.updateIdentity(ctx, op)
	case domain.OpUpdateSecurityProfiles:
		return consumers.OpResult{}, a.setSecurityProfiles(ctx, id, op.SecurityProfileIDs)
	case domain.OpUpdateRoutingProfile:
		return consumers.OpResult{}, a.setRoutingProfile(ctx, id, op.RoutingProfileID)
	case domain.OpUpdateHierarchyGroup:
		return consumers.OpResult{}, a.setHierarchyGroup(ctx, id, op.HierarchyGroupID)
	case domain.OpStrip:
		if err := a.setSecurityProfiles(ctx, id, op.SecurityProfileIDs); err != nil {
			return consumers.OpResult{}, err
		}
		return consumers.OpResult{}, a.setRoutingProfile(ctx, id, op.RoutingProfileID)
	case domain.OpDelete:
		return a.delete(ctx, id)
	}
	return consumers.OpResult{}, domain.Permanent(fmt.Errorf("%w: unknown kind %q", ErrInvalidOp, op.Kind))
}

// create makes the agent, or adopts idsync's own after a duplicate.
func (a *Applier) create(ctx context.Context, p domain.Person, op domain.Op) (consumers.OpResult, error) {
	if p.Key == "" {
		return consumers.OpResult{}, domain.Permanent(fmt.Errorf("connect create: %w", ErrNoPersonKey))
	}
	in := &awsconnect.CreateUserInput{
		InstanceId: aws.String(a.cfg.InstanceID),
		Username:   aws.String(op.Name),
		IdentityInfo: &types.UserIdentityInfo{
			FirstName: aws.String(op.FirstName),
			LastName:  aws.String(op.LastName),
			Email:     optional(op.Email),
		},
		PhoneConfig: &types.UserPhoneConfig{
			PhoneType:                 types.PhoneType(op.PhoneType),
			AutoAccept:                false,
			AfterContactWorkTimeLimit: 0,
		},
		SecurityProfileIds: slices.Clone(op.SecurityProfileIDs),
		RoutingProfileId:   aws.String(op.RoutingProfileID),
		HierarchyGroupId:   optional(op.HierarchyGroupID),
		Tags:               map[string]string{a.tagKey: p.Key},
	}
	out, err := a.api.CreateUser(ctx, in)
	switch {
	case err == nil:
		return consumers.OpResult{RemoteID: aws.ToString(out.UserId)}, nil
	case isDuplicate(err):
		return a.adopt(ctx, p, op, err)
	}
	return consumers.OpResult{}, classify(fmt.Errorf("connect create user: %w", err))
}

// updateIdentity replaces first name, last name and email, keeping the
// secondary email and mobile (UpdateUserIdentityInfo replaces the whole
// identity info, and idsync does not manage those two).
func (a *Applier) updateIdentity(ctx context.Context, op domain.Op) error {
	d, err := a.api.DescribeUser(ctx, &awsconnect.DescribeUserInput{
		InstanceId: aws.String(a.cfg.InstanceID), UserId: aws.String(op.RemoteID),
	})
	if err != nil {
		if isNotFound(err) {
			return accountMissing(op.RemoteID, err)
		}
		return classify(fmt.Errorf("connect describe user %s: %w", op.RemoteID, err))
	}
	var cur *types.UserIdentityInfo
	if d.User != nil {
		cur = d.User.IdentityInfo
	}
	return a.writeIdentity(ctx, op.RemoteID, op, cur)
}

func (a *Applier) writeIdentity(ctx context.Context, id string, op domain.Op, cur *types.UserIdentityInfo) error {
	info := &types.UserIdentityInfo{
		FirstName: aws.String(op.FirstName),
		LastName:  aws.String(op.LastName),
		Email:     optional(op.Email),
	}
	if cur != nil {
		info.SecondaryEmail, info.Mobile = cur.SecondaryEmail, cur.Mobile
	}
	_, err := a.api.UpdateUserIdentityInfo(ctx, &awsconnect.UpdateUserIdentityInfoInput{
		InstanceId: aws.String(a.cfg.InstanceID), UserId: aws.String(id), IdentityInfo: info,
	})
	return a.updateErr(ctx, "update identity info of", id, err)
}

func (a *Applier) setSecurityProfiles(ctx context.Context, id string, ids []string) error {
	_, err := a.api.UpdateUserSecurityProfiles(ctx, &awsconnect.UpdateUserSecurityProfilesInput{
		InstanceId: aws.String(a.cfg.InstanceID), UserId: aws.String(id), SecurityProfileIds: slices.Clone(ids),
	})
	return a.updateErr(ctx, "update security profiles of", id, err)
}

func (a *Applier) setRoutingProfile(ctx context.Context, id, routingProfileID string) error {
	_, err := a.api.UpdateUserRoutingProfile(ctx, &awsconnect.UpdateUserRoutingProfileInput{
		InstanceId: aws.String(a.cfg.InstanceID), UserId: aws.String(id), RoutingProfileId: aws.String(routingProfileID),
	})
	return a.updateErr(ctx, "update routing profile of", id, err)
}

// setHierarchyGroup assigns the group; an empty id removes the user from
// its group.
func (a *Applier) setHierarchyGroup(ctx context.Context, id, groupID string) error {
	_, err := a.api.UpdateUserHierarchy(ctx, &awsconnect.UpdateUserHierarchyInput{
		InstanceId: aws.String(a.cfg.InstanceID), UserId: aws.String(id), HierarchyGroupId: optional(groupID),
	})
	return a.updateErr(ctx, "update hierarchy group of", id, err)
}

// delete removes the agent; one that is already gone counts as deleted.
func (a *Applier) delete(ctx context.Context, id string) (consumers.OpResult, error) {
	_, err := a.api.DeleteUser(ctx, &awsconnect.DeleteUserInput{
		InstanceId: aws.String(a.cfg.InstanceID), UserId: aws.String(id),
	})
	switch {
	case err == nil:
		return consumers.OpResult{}, nil
	case isNotFound(err):
		return consumers.OpResult{Reason: "already gone"}, nil
	}
	return consumers.OpResult{}, classify(fmt.Errorf("connect delete user %s: %w", id, err))
}

// updateErr classifies the error of an update of user id. A
// ResourceNotFoundException names either the user or a profile or group
// the update refers to; a DescribeUser tells which, so that a user deleted
// outside idsync is reported as ErrAccountMissing. Both are permanent.
func (a *Applier) updateErr(ctx context.Context, what, id string, err error) error {
	if err == nil {
		return nil
	}
	wrapped := fmt.Errorf("connect %s user %s: %w", what, id, err)
	if !isNotFound(err) {
		return classify(wrapped)
	}
	_, derr := a.api.DescribeUser(ctx, &awsconnect.DescribeUserInput{
		InstanceId: aws.String(a.cfg.InstanceID), UserId: aws.String(id),
	})
	if isNotFound(derr) {
		return accountMissing(id, err)
	}
	return domain.Permanent(wrapped)
}

func accountMissing(id string, err error) error {
	return domain.Permanent(fmt.Errorf("%w: Connect user %s no longer exists (removed outside idsync): %w", ErrAccountMissing, id, err))
}

// adopt handles a DuplicateResourceException of create: it finds the user
// of that exact username and takes it over only when it carries the
// ownership tag for p, then brings it to the op's identity and profiles
// (it may have been made from an older plan).
func (a *Applier) adopt(ctx context.Context, p domain.Person, op domain.Op, dup error) (consumers.OpResult, error) {
	id, err := a.findByUsername(ctx, op.Name)
	if err != nil {
		return consumers.OpResult{}, err
	}
	if id == "" {
		return consumers.OpResult{}, domain.Retryable(fmt.Errorf("connect create user: %w: %w", ErrDuplicateNotFound, dup))
	}
	d, err := a.api.DescribeUser(ctx, &awsconnect.DescribeUserInput{
		InstanceId: aws.String(a.cfg.InstanceID), UserId: aws.String(id),
	})
	if err != nil {
		if isNotFound(err) {
			return consumers.OpResult{}, domain.Retryable(fmt.Errorf("connect create user: %w (user %s vanished): %w", ErrDuplicateNotFound, id, err))
		}
		return consumers.OpResult{}, classify(fmt.Errorf("connect describe user %s: %w", id, err))
	}
	u := d.User
	if u == nil {
		return consumers.OpResult{}, domain.Retryable(fmt.Errorf("connect describe user %s: empty answer", id))
	}
	owner, tagged := u.Tags[a.tagKey]
	switch {
	case !tagged:
		return consumers.OpResult{}, domain.Permanent(fmt.Errorf("connect create user: %w: user %s has no %s tag; left untouched", ErrNotOwned, id, a.tagKey))
	case owner != p.Key:
		return consumers.OpResult{}, domain.Permanent(fmt.Errorf("connect create user: %w: user %s is tagged %s=%s, not %s; left untouched", ErrNotOwned, id, a.tagKey, owner, p.Key))
	}
	res := consumers.OpResult{RemoteID: id, Adopted: true,
		Reason: fmt.Sprintf("adopted user %s carrying %s=%s", id, a.tagKey, p.Key)}
	changed, err := a.converge(ctx, u, op)
	if len(changed) > 0 {
		res.Reason += "; updated " + strings.Join(changed, ", ")
	}
	return res, err
}

// findByUsername returns the id of the user named exactly name (Connect
// compares usernames case-insensitively), or "" when there is none.
func (a *Applier) findByUsername(ctx context.Context, name string) (string, error) {
	pages := awsconnect.NewSearchUsersPaginator(a.api, &awsconnect.SearchUsersInput{
		InstanceId: aws.String(a.cfg.InstanceID),
		SearchCriteria: &types.UserSearchCriteria{StringCondition: &types.StringCondition{
			FieldName: aws.String("Username"), Value: aws.String(name), ComparisonType: types.StringComparisonTypeExact,
		}},
		MaxResults: aws.Int32(100),
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return "", classify(fmt.Errorf("connect search users: %w", err))
		}
		for _, u := range page.Users {
			if strings.EqualFold(aws.ToString(u.Username), name) {
				return aws.ToString(u.Id), nil
			}
		}
	}
	return "", nil
}

// converge brings an adopted user to op's identity, profiles and hierarchy
// group, and names what it changed.
func (a *Applier) converge(ctx context.Context, u *types.User, op domain.Op) ([]string, error) {
	id := aws.ToString(u.Id)
	var changed []string
	cur := u.IdentityInfo
	if cur == nil {
		cur = &types.UserIdentityInfo{}
	}
	if aws.ToString(cur.FirstName) != op.FirstName || aws.ToString(cur.LastName) != op.LastName || aws.ToString(cur.Email) != op.Email {
		if err := a.writeIdentity(ctx, id, op, cur); err != nil {
			return changed, err
		}
		changed = append(changed, "identity info")
	}
	if !sameSet(u.SecurityProfileIds, op.SecurityProfileIDs) {
		if err := a.setSecurityProfiles(ctx, id, op.SecurityProfileIDs); err != nil {
			return changed, err
		}
		changed = append(changed, "security profiles")
	}
	if aws.ToString(u.RoutingProfileId) != op.RoutingProfileID {
		if err := a.setRoutingProfile(ctx, id, op.RoutingProfileID); err != nil {
			return changed, err
		}
		changed = append(changed, "routing profile")
	}
	if aws.ToString(u.HierarchyGroupId) != op.HierarchyGroupID {
		if err := a.setHierarchyGroup(ctx, id, op.HierarchyGroupID); err != nil {
			return changed, err
		}
		changed = append(changed, "hierarchy group")
	}
	return changed, nil
}

// sameSet reports whether a and b hold the same strings, in any order,
// ignoring repeats.
func sameSet(a, b []string) bool {
	as, bs := slices.Clone(a), slices.Clone(b)
	slices.Sort(as)
	slices.Sort(bs)
	return slices.Equal(slices.Compact(as), slices.Compact(bs))
}

// optional is nil for "", else a pointer to s.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}
