package workmail

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/workmail"
	"github.com/aws/aws-sdk-go-v2/service/workmail/types"

	"github.com/idsync/idsync/consumers"
	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/awsclient"
)

// Adoption rules, as the create's Step.Note (its ledger reason) names them.
const (
	adoptedByIdCID  = "matched by IdC user id"
	adoptedByShell  = "matched by name in the exact state a create leaves"
	adoptedByIntent = "matched by the create intent's name, enabled since the intent with the planned address"
)

// byIdCUserID lists the users carrying op's IdC user id (ListUsers with
// IdentityProviderUserIdPrefix, every page, then an exact match; DELETED
// users ignored) and picks the one to adopt: the one with op's Name, else
// the only one, else the only enabled one. Whatever its Name: an IdC user
// id is immutable and names one person, so a mailbox carrying it is that
// person's (a retry after a crashed create under a login renamed since, or
// a mailbox another tool, such as AWS's IdC → WorkMail sample, created).
// others are the ids of the users carrying the id when none could be
// picked (several, none of them named as planned, not exactly one enabled).
func (r *run) byIdCUserID(ctx context.Context, op domain.Op) (own *user, others []string, err error) {
	idc := op.IdentityProviderUserID
	p := sdk.NewListUsersPaginator(r.a.api, &sdk.ListUsersInput{
		OrganizationId: r.org(),
		Filters:        &types.ListUsersFilters{IdentityProviderUserIdPrefix: aws.String(idc)},
	})
	var all, named, enabled []string
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, nil, awsclient.Failure(err)
		}
		for _, u := range page.Users {
			if !strings.EqualFold(aws.ToString(u.IdentityProviderUserId), idc) || u.State == types.EntityStateDeleted {
				continue
			}
			id := aws.ToString(u.Id)
			all = append(all, id)
			if strings.EqualFold(aws.ToString(u.Name), op.Name) {
				named = append(named, id)
			}
			if u.State == types.EntityStateEnabled {
				enabled = append(enabled, id)
			}
		}
	}
	var pick string
	switch {
	case len(named) > 0:
		pick = named[0]
	case len(all) == 1:
		pick = all[0]
	case len(enabled) == 1:
		pick = enabled[0]
	default:
		return nil, all, nil
	}
	d, err := r.describe(ctx, pick)
	if err != nil {
		return nil, nil, err
	}
	return &d, nil, nil
}

// findOwn finds the user a create clashed with when it is provably
// idsync's (see the package documentation's adoption rules) and otherwise
// fails permanently with ErrUnmanaged naming the holder's entity id.
func (r *run) findOwn(ctx context.Context, op domain.Op) (user, string, error) {
	var others []string // users with the person's IdC id, none of them picked
	if op.IdentityProviderUserID != "" {
		own, o, err := r.byIdCUserID(ctx, op)
		if err != nil {
			return user{}, "", err
		}
		if own != nil {
			return *own, adoptedByIdCID, nil
		}
		others = o
	}
	holder, err := r.describe(ctx, op.Name)
	if awsclient.ErrorCode(err) == codeEntityNotFound {
		what, herr := r.nameHolder(ctx, op.Name)
		if herr != nil {
			return user{}, "", herr
		}
		return user{}, "", domain.Permanent(fmt.Errorf("%w: create: the name is held by %s; left untouched", ErrUnmanaged, what))
	}
	if err != nil {
		return user{}, "", err
	}
	if isCreateShell(holder, op) {
		return holder, adoptedByShell, nil
	}
	if intended(holder, op, r.state) {
		return holder, adoptedByIntent, nil
	}
	detail := ""
	if len(others) > 0 {
		detail = fmt.Sprintf(" (the person's IdC user id is on users %s, none of them adoptable alone)", strings.Join(others, ", "))
	}
	return user{}, "", domain.Permanent(fmt.Errorf("%w: create: the name is held by user %s; left untouched%s",
		ErrUnmanaged, holder.id, detail))
}

// settleIntent looks for the mailbox a create intent (the state's
// PendingName, op.Name) may have made before its commit was lost, for a
// person who no longer qualifies: by the person's IdC user id, else by the
// pinned name, adopted by the create's rules (the exact state a create
// leaves, or enabled since the intent with the planned address). Found,
// it is adopted as it is, nothing written (no names aligned, no IdC link
// set: the person no longer qualifies, and WorkMail refuses a link to an
// IdC user no longer assigned to its application); the next plan applies
// the leave policy to it. Not found, or the name held by a user that is
// not provably idsync's (so no create of ours made it), the intent is
// cleared and nothing else is touched. It never creates.
func (r *run) settleIntent(ctx context.Context, op domain.Op) (consumers.Step, error) {
	if op.IdentityProviderUserID != "" {
		own, _, err := r.byIdCUserID(ctx, op)
		if err != nil {
			return consumers.Step{}, err
		}
		if own != nil {
			return r.adoptAsFound(*own, adoptedByIdCID), nil
		}
	}
	holder, err := r.describe(ctx, op.Name)
	note := "no user " + op.Name + " was made for the create intent; intent cleared"
	switch {
	case awsclient.ErrorCode(err) == codeEntityNotFound:
	case err != nil:
		return consumers.Step{}, err
	case holder.state == string(types.EntityStateDeleted):
	case isCreateShell(holder, op):
		return r.adoptAsFound(holder, adoptedByShell), nil
	case intended(holder, op, r.state):
		return r.adoptAsFound(holder, adoptedByIntent), nil
	default:
		note = "the name is held by user " + holder.id + ", not made for the create intent; intent cleared, the user left untouched"
	}
	r.state.PendingName, r.state.PendingAt = "", time.Time{}
	return consumers.Step{Note: note}, nil
}

// adoptAsFound records user u, found by rule how, as idsync's, with the
// attributes it has: the state settleIntent reaches.
func (r *run) adoptAsFound(u user, how string) consumers.Step {
	r.created(domain.Op{Name: u.name, DisplayName: u.displayName, FirstName: u.firstName, LastName: u.lastName,
		IdentityProviderUserID: u.idpUserID}, u.id, u.status(), u.email)
	return consumers.Step{RemoteID: u.id, Adopted: true,
		Note: "adopted user " + u.id + " made for the create intent (" + how + "), as found"}
}

// isCreateShell reports whether u is in exactly the state idsync's create
// of op leaves a user when op carries no IdC user id: same name, DISABLED,
// never registered, no IdC user id, same names.
func isCreateShell(u user, op domain.Op) bool {
	return strings.EqualFold(u.name, op.Name) &&
		u.state == string(types.EntityStateDisabled) &&
		u.email == "" && !u.everEnabled && u.idpUserID == "" &&
		u.displayName == op.DisplayName && u.firstName == op.FirstName && u.lastName == op.LastName
}

// intended reports whether u is provably the user idsync's own create and
// register of op made after the create intent state records: state pins
// op's Name since PendingAt, u holds that name, was enabled at or after
// PendingAt (so after idsync decided to create it; compared to the second,
// as the service may date to the second), has op's planned primary
// address, and carries no IdC user id or op's.
func intended(u user, op domain.Op, state domain.TargetState) bool {
	return state.PendingName != "" && !state.PendingAt.IsZero() &&
		strings.EqualFold(state.PendingName, op.Name) && strings.EqualFold(u.name, op.Name) &&
		u.state != string(types.EntityStateDeleted) &&
		!u.enabledAt.IsZero() && !u.enabledAt.Before(state.PendingAt.Truncate(time.Second)) &&
		op.Email != "" && strings.EqualFold(u.email, op.Email) &&
		(u.idpUserID == "" || strings.EqualFold(u.idpUserID, op.IdentityProviderUserID))
}

// nameHolder names the group or resource holding name, which no user
// holds (users, groups and resources share one namespace of names):
// "group <id>" or "resource <id>" (DescribeGroup, then DescribeResource,
// both of which take a name), or "an entity that is not a user" when
// neither finds it (deleted meanwhile).
func (r *run) nameHolder(ctx context.Context, name string) (string, error) {
	g, err := r.a.api.DescribeGroup(ctx, &sdk.DescribeGroupInput{OrganizationId: r.org(), GroupId: aws.String(name)})
	switch {
	case err == nil:
		return "group " + aws.ToString(g.GroupId), nil
	case awsclient.ErrorCode(err) != codeEntityNotFound:
		return "", awsclient.Failure(err)
	}
	res, err := r.a.api.DescribeResource(ctx, &sdk.DescribeResourceInput{OrganizationId: r.org(), ResourceId: aws.String(name)})
	switch {
	case err == nil:
		return "resource " + aws.ToString(res.ResourceId), nil
	case awsclient.ErrorCode(err) != codeEntityNotFound:
		return "", awsclient.Failure(err)
	}
	return "an entity that is not a user", nil
}

// addressHolderEntity names the entity holding email when no user holds
// it (DescribeEntity: "group <id>" or "resource <id>"), or "an entity that
// is not a user" when it is gone meanwhile.
func (r *run) addressHolderEntity(ctx context.Context, email string) (string, error) {
	out, err := r.a.api.DescribeEntity(ctx, &sdk.DescribeEntityInput{OrganizationId: r.org(), Email: aws.String(email)})
	switch {
	case err == nil:
		return strings.ToLower(string(out.Type)) + " " + aws.ToString(out.EntityId), nil
	case awsclient.ErrorCode(err) != codeEntityNotFound:
		return "", awsclient.Failure(err)
	}
	return "an entity that is not a user", nil
}
