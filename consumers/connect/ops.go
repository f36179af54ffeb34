package connect

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconnect "github.com/aws/aws-sdk-go-v2/service/connect"
	"github.com/aws/aws-sdk-go-v2/service/connect/types"

	"github.com/idsync/idsync/consumers"
	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/awsclient"
)

// run executes one op. The step's RemoteID, Adopted and Note are set here;
// Apply fills in its State. username is the username of an agent a create
// adopted ("" otherwise): it may differ from the op's.
func (a *Applier) run(ctx context.Context, p domain.Person, op domain.Op) (step consumers.Step, username string, err error) {
	if op.Target != "" && op.Target != domain.TargetConnect {
		return consumers.Step{}, "", domain.Permanent(fmt.Errorf("%w: %s op for target %s", ErrInvalidOp, op.Kind, op.Target))
	}
	if op.Kind != domain.OpCreate && op.RemoteID == "" {
		return consumers.Step{}, "", domain.Permanent(fmt.Errorf("%w: %s without a remote id", ErrInvalidOp, op.Kind))
	}
	id := op.RemoteID
	switch op.Kind {
	case domain.OpCreate:
		return a.create(ctx, p, op)
	case domain.OpUpdateIdentity:
		return consumers.Step{}, "", a.updateIdentity(ctx, op)
	case domain.OpUpdateSecurityProfiles:
		return consumers.Step{}, "", a.setSecurityProfiles(ctx, id, op.SecurityProfileIDs)
	case domain.OpUpdateRoutingProfile:
		return consumers.Step{}, "", a.setRoutingProfile(ctx, id, op.RoutingProfileID)
	case domain.OpUpdateHierarchyGroup:
		return consumers.Step{}, "", a.setHierarchyGroup(ctx, id, op.HierarchyGroupID)
	case domain.OpStrip:
		if err := a.setSecurityProfiles(ctx, id, op.SecurityProfileIDs); err != nil {
			return consumers.Step{}, "", err
		}
		return consumers.Step{}, "", a.setRoutingProfile(ctx, id, op.RoutingProfileID)
	case domain.OpDelete:
		step, err := a.delete(ctx, id)
		return step, "", err
	}
	return consumers.Step{}, "", domain.Permanent(fmt.Errorf("%w: unknown kind %q", ErrInvalidOp, op.Kind))
}

// create makes the agent, or adopts idsync's own: one found by its
// ownership tag before the create, or the one of that username after a
// duplicate.
func (a *Applier) create(ctx context.Context, p domain.Person, op domain.Op) (consumers.Step, string, error) {
	if p.Key == "" {
		return consumers.Step{}, "", domain.Permanent(fmt.Errorf("connect create: %w", ErrNoPersonKey))
	}
	owners := ownerIDs(p)
	u, others, err := a.findOwned(ctx, owners, op.Name)
	if err != nil {
		return consumers.Step{}, "", err
	}
	if u != nil {
		note := "found by its tag before create"
		if len(others) > 0 {
			note += "; also tagged for this person: " + strings.Join(others, ", ")
		}
		return a.takeOver(ctx, owners, op, u, note)
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
		a.created(aws.ToString(out.UserId))
		return consumers.Step{RemoteID: aws.ToString(out.UserId)}, "", nil
	case isDuplicate(err):
		return a.adopt(ctx, owners, op, err)
	}
	return consumers.Step{}, "", awsclient.Failure(err)
}

// settleIntent looks for the agent a create intent (state's PendingName,
// op.Name) may have made before its commit was lost, for a person who no
// longer qualifies: by its ownership tag, else by the pinned username with
// the tag. Found, it is adopted as it is (nothing is changed; the reached
// state records its profiles), and the next plan applies the leave policy
// to it. Not found, the intent is cleared, unless it is younger than the
// visibility window: SearchUsers' index lags creates, so the answer is
// ErrNotVisibleYet (retryable) until then. A user of that username without
// the tag is not idsync's and is left untouched. It never creates.
func (a *Applier) settleIntent(ctx context.Context, p domain.Person, state domain.TargetState, op domain.Op) (consumers.Step, error) {
	owners := ownerIDs(p)
	u, _, err := a.findOwned(ctx, owners, op.Name)
	if err != nil {
		return consumers.Step{}, err
	}
	note := "found by its tag"
	if u == nil {
		id, err := a.findByUsername(ctx, op.Name)
		if err != nil {
			return consumers.Step{}, err
		}
		if id != "" {
			d, err := a.describe(ctx, id)
			if err != nil {
				return consumers.Step{}, err
			}
			if d != nil && a.owns(d, owners) {
				u, note = d, "found by username"
			}
		}
	}
	if u == nil {
		if !state.PendingAt.IsZero() && a.now().Sub(state.PendingAt) < a.window {
			return consumers.Step{}, domain.Retryable(fmt.Errorf("connect adopt: %w: no agent of the create intent (recorded %s) found yet; the search index may lag",
				ErrNotVisibleYet, state.PendingAt.UTC().Format(time.RFC3339)))
		}
		cleared := state
		cleared.Target, cleared.PendingName, cleared.PendingAt = domain.TargetConnect, "", time.Time{}
		return consumers.Step{State: cleared, Note: "no agent was made for the create intent; intent cleared"}, nil
	}
	id := aws.ToString(u.Id)
	found := domain.TargetState{
		Target: domain.TargetConnect, Managed: true, RemoteID: id, Status: domain.RemoteEnabled, Name: aws.ToString(u.Username),
		SecurityProfileIDs: slices.Clone(u.SecurityProfileIds), RoutingProfileID: aws.ToString(u.RoutingProfileId),
		HierarchyGroupID: aws.ToString(u.HierarchyGroupId), Version: state.Version,
	}
	if info := u.IdentityInfo; info != nil {
		found.FirstName, found.LastName, found.Email = aws.ToString(info.FirstName), aws.ToString(info.LastName), aws.ToString(info.Email)
	}
	return consumers.Step{State: found, RemoteID: id, Adopted: true,
		Note: fmt.Sprintf("adopted user %s made for the create intent (%s), as found", id, note)}, nil
}

// ownerIDs are the ownership tag values that prove an agent is p's: p's
// immutable ids (Okta user id, IdC user id) and its key. The key, which
// create writes into the tag, is one of the two ids, but which one changes
// when a person first seen by IdC user id is later linked to Okta.
func ownerIDs(p domain.Person) []string {
	var ids []string
	for _, id := range []string{p.Key, p.OktaID, p.IdCUserID} {
		if id != "" && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return ids
}

// findOwned looks for agents carrying the ownership tag with one of owners
// as its value (one SearchUsers request, more only past 100 hits) and
// returns the described one to adopt, or nil when there is none. Of
// several, it prefers the one named username, then the lowest id; others
// are the ids of the rest.
func (a *Applier) findOwned(ctx context.Context, owners []string, username string) (u *types.User, others []string, err error) {
	or := make([][]types.TagCondition, 0, len(owners))
	for _, id := range owners {
		or = append(or, []types.TagCondition{{TagKey: aws.String(a.tagKey), TagValue: aws.String(id)}})
	}
	pages := awsconnect.NewSearchUsersPaginator(a.api, &awsconnect.SearchUsersInput{
		InstanceId:   aws.String(a.cfg.InstanceID),
		SearchFilter: &types.UserSearchFilter{TagFilter: &types.ControlPlaneTagFilter{OrConditions: or}},
		MaxResults:   aws.Int32(100),
	})
	type hit struct {
		id    string
		named bool
	}
	var hits []hit
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, nil, awsclient.Failure(err)
		}
		for _, s := range page.Users {
			id := aws.ToString(s.Id)
			if id == "" || slices.ContainsFunc(hits, func(h hit) bool { return h.id == id }) {
				continue
			}
			if v, tagged := s.Tags[a.tagKey]; tagged && !slices.Contains(owners, v) {
				continue // the filter was not applied; DescribeUser checks the rest
			}
			hits = append(hits, hit{id: id, named: strings.EqualFold(aws.ToString(s.Username), username)})
		}
	}
	slices.SortFunc(hits, func(x, y hit) int {
		if x.named != y.named {
			if x.named {
				return -1
			}
			return 1
		}
		return strings.Compare(x.id, y.id)
	})
	for i, h := range hits {
		d, err := a.describe(ctx, h.id)
		if err != nil {
			return nil, nil, err
		}
		if d == nil || !a.owns(d, owners) {
			continue // deleted meanwhile, or the search's tags were stale
		}
		for _, o := range hits[i+1:] {
			others = append(others, o.id)
		}
		return d, others, nil
	}
	return nil, nil, nil
}

// owns reports whether u carries the ownership tag with one of owners.
func (a *Applier) owns(u *types.User, owners []string) bool {
	v, ok := u.Tags[a.tagKey]
	return ok && slices.Contains(owners, v)
}

// describe returns the user of id, or nil when it does not exist.
func (a *Applier) describe(ctx context.Context, id string) (*types.User, error) {
	d, err := a.api.DescribeUser(ctx, &awsconnect.DescribeUserInput{
		InstanceId: aws.String(a.cfg.InstanceID), UserId: aws.String(id),
	})
	switch {
	case isNotFound(err):
		return nil, nil
	case err != nil:
		return nil, awsclient.Failure(err)
	case d.User == nil:
		return nil, domain.Retryable(fmt.Errorf("connect DescribeUser user %s: empty answer", id))
	}
	return d.User, nil
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
			return a.accountMissing(op.RemoteID, awsclient.Failure(err))
		}
		return awsclient.Failure(err)
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
	return a.updateErr(ctx, id, err)
}

func (a *Applier) setSecurityProfiles(ctx context.Context, id string, ids []string) error {
	_, err := a.api.UpdateUserSecurityProfiles(ctx, &awsconnect.UpdateUserSecurityProfilesInput{
		InstanceId: aws.String(a.cfg.InstanceID), UserId: aws.String(id), SecurityProfileIds: slices.Clone(ids),
	})
	return a.updateErr(ctx, id, err)
}

func (a *Applier) setRoutingProfile(ctx context.Context, id, routingProfileID string) error {
	_, err := a.api.UpdateUserRoutingProfile(ctx, &awsconnect.UpdateUserRoutingProfileInput{
		InstanceId: aws.String(a.cfg.InstanceID), UserId: aws.String(id), RoutingProfileId: aws.String(routingProfileID),
	})
	return a.updateErr(ctx, id, err)
}

// setHierarchyGroup assigns the group; an empty id removes the user from
// its group.
func (a *Applier) setHierarchyGroup(ctx context.Context, id, groupID string) error {
	_, err := a.api.UpdateUserHierarchy(ctx, &awsconnect.UpdateUserHierarchyInput{
		InstanceId: aws.String(a.cfg.InstanceID), UserId: aws.String(id), HierarchyGroupId: optional(groupID),
	})
	return a.updateErr(ctx, id, err)
}

// delete removes the agent; one that is already gone counts as deleted,
// unless this applier created it moments ago (see justCreated) and has
// sent no delete for it that may have landed: then the answer may only
// mean it is not visible yet, and the delete is retried. A delete carried
// out whose answer was lost (a 5xx after the change, a dropped connection,
// a crash before the commit) is therefore "already gone" on its retry, not
// a retry until the visibility window ends.
func (a *Applier) delete(ctx context.Context, id string) (consumers.Step, error) {
	_, err := a.api.DeleteUser(ctx, &awsconnect.DeleteUserInput{
		InstanceId: aws.String(a.cfg.InstanceID), UserId: aws.String(id),
	})
	if mayHaveLanded(err) {
		a.deleteSent(id)
	}
	switch {
	case err == nil:
		return consumers.Step{}, nil
	case isNotFound(err) && a.justCreated(id):
		return consumers.Step{}, a.notVisibleYet(id, awsclient.Failure(err))
	case isNotFound(err):
		return consumers.Step{Note: "already gone"}, nil
	}
	return consumers.Step{}, awsclient.Failure(err)
}

// mayHaveLanded reports whether a call that answered err may have been
// carried out: it succeeded, or failed without a clear refusal (no answer,
// or a 5xx). A 4xx answer (throttling, validation, not found) is a refusal.
func mayHaveLanded(err error) bool {
	if err == nil {
		return true
	}
	ce, ok := errors.AsType[*awsclient.CallError](err)
	return !ok || ce.Status == 0 || ce.Status >= 500
}

// updateErr reports the error of an update of user id. A
// ResourceNotFoundException names either the user or a profile or group
// the update refers to; a DescribeUser tells which, so that a user deleted
// outside idsync is reported as ErrAccountMissing. Both are permanent,
// except for a user this Applier created moments ago, which may merely not
// be visible yet (ErrNotVisibleYet, retryable).
func (a *Applier) updateErr(ctx context.Context, id string, err error) error {
	if err == nil {
		return nil
	}
	failure := awsclient.Failure(err)
	if !isNotFound(err) {
		return failure
	}
	_, derr := a.api.DescribeUser(ctx, &awsconnect.DescribeUserInput{
		InstanceId: aws.String(a.cfg.InstanceID), UserId: aws.String(id),
	})
	switch {
	case isNotFound(derr):
		return a.accountMissing(id, failure)
	case derr == nil:
		return domain.Permanent(fmt.Errorf("%w; user %s exists, so a profile or group the update names does not", failure, id))
	case a.justCreated(id):
		return a.notVisibleYet(id, failure)
	}
	return domain.Permanent(fmt.Errorf("%w; a profile or group the update names, or user %s, does not exist", failure, id))
}

// accountMissing is the error of a call (failed with cause) that found user
// id gone: ErrAccountMissing, permanent, unless this applier created the
// user moments ago (see justCreated), when it is ErrNotVisibleYet,
// retryable.
func (a *Applier) accountMissing(id string, cause error) error {
	if a.justCreated(id) {
		return a.notVisibleYet(id, cause)
	}
	return domain.Permanent(fmt.Errorf("%w: Connect user %s no longer exists (removed outside idsync): %w", ErrAccountMissing, id, cause))
}

// notVisibleYet is the retryable error of a call (failed with cause) that
// did not find user id, which this applier created moments ago.
func (a *Applier) notVisibleYet(id string, cause error) error {
	return domain.Retryable(fmt.Errorf("%w: Connect user %s was created less than %s ago: %w", ErrNotVisibleYet, id, a.window, cause))
}

// adopt handles a DuplicateResourceException of create: it finds the user
// of that exact username and takes it over only when it carries the
// ownership tag with one of owners (see takeOver).
func (a *Applier) adopt(ctx context.Context, owners []string, op domain.Op, dup error) (consumers.Step, string, error) {
	id, err := a.findByUsername(ctx, op.Name)
	if err != nil {
		return consumers.Step{}, "", err
	}
	dupErr := awsclient.Failure(dup)
	if id == "" {
		return consumers.Step{}, "", domain.Retryable(fmt.Errorf("connect create: %w: %w", ErrDuplicateNotFound, dupErr))
	}
	u, err := a.describe(ctx, id)
	if err != nil {
		return consumers.Step{}, "", err
	}
	if u == nil {
		return consumers.Step{}, "", domain.Retryable(fmt.Errorf("connect create: %w (user %s vanished): %w", ErrDuplicateNotFound, id, dupErr))
	}
	return a.takeOver(ctx, owners, op, u, "found by username after a duplicate create")
}

// takeOver adopts u when it carries the ownership tag with one of owners,
// and brings it to the op's identity and profiles (it may have been made
// from an older plan). It keeps its username: Connect cannot rename a
// user. A user without that tag is left untouched: ErrNotOwned.
func (a *Applier) takeOver(ctx context.Context, owners []string, op domain.Op, u *types.User, note string) (consumers.Step, string, error) {
	id := aws.ToString(u.Id)
	owner, tagged := u.Tags[a.tagKey]
	switch {
	case !tagged:
		return consumers.Step{}, "", domain.Permanent(fmt.Errorf("connect create: %w: user %s has no %s tag; left untouched", ErrNotOwned, id, a.tagKey))
	case !slices.Contains(owners, owner):
		return consumers.Step{}, "", domain.Permanent(fmt.Errorf("connect create: %w: user %s is tagged %s=%s, not %s; left untouched",
			ErrNotOwned, id, a.tagKey, owner, strings.Join(owners, " or ")))
	}
	res := consumers.Step{RemoteID: id, Adopted: true,
		Note: fmt.Sprintf("adopted user %s carrying %s=%s (%s)", id, a.tagKey, owner, note)}
	username := aws.ToString(u.Username)
	if !strings.EqualFold(username, op.Name) {
		res.Note += "; it keeps its own username, as Connect cannot rename"
	}
	changed, err := a.converge(ctx, u, op)
	if len(changed) > 0 {
		res.Note += "; updated " + strings.Join(changed, ", ")
	}
	return res, username, err
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
			return "", awsclient.Failure(err)
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
