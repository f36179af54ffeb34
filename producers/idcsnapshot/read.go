package idcsnapshot

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/identitystore"
	"github.com/aws/aws-sdk-go-v2/service/identitystore/document"
	"github.com/aws/aws-sdk-go-v2/service/identitystore/types"

	"github.com/idsync/idsync/domain"
)

// IdentityStore is the part of the Identity Store client the snapshotter
// uses; *identitystore.Client satisfies it. Calls get a per-call option that
// installs the quota middleware into the SDK's stack.
type IdentityStore interface {
	ListGroupMemberships(ctx context.Context, in *identitystore.ListGroupMembershipsInput, optFns ...func(*identitystore.Options)) (*identitystore.ListGroupMembershipsOutput, error)
	ListUsers(ctx context.Context, in *identitystore.ListUsersInput, optFns ...func(*identitystore.Options)) (*identitystore.ListUsersOutput, error)
	DescribeUser(ctx context.Context, in *identitystore.DescribeUserInput, optFns ...func(*identitystore.Options)) (*identitystore.DescribeUserOutput, error)
}

// PageSize is the MaxResults of every list call: the service's maximum.
const PageSize = 100

// enterpriseExtension carries the department.
const enterpriseExtension = "aws:identitystore:enterprise"

// ProfileRead says how a run read its members' profiles.
type ProfileRead string

// Profile read strategies.
const (
	ReadNone         ProfileRead = "none"          // no members
	ReadDescribeUser ProfileRead = "describe-user" // one DescribeUser per member
	ReadListUsers    ProfileRead = "list-users"    // ListUsers pages over the whole store
)

// chooseProfileRead picks the strategy needing fewer calls for members
// distinct members: DescribeUser costs members calls, ListUsers costs
// ceil(totalUsers/100) pages (fewer when it can stop early, once every
// member has been seen). totalUsers is only known from an earlier run's
// full walk (0 = unknown); without it DescribeUser is used for up to
// describeMax members, which is the break-even point for a store of
// describeMax*100 users.
func chooseProfileRead(members, totalUsers, describeMax int) ProfileRead {
	switch {
	case members == 0:
		return ReadNone
	case totalUsers > 0:
		if pages := (totalUsers + PageSize - 1) / PageSize; members <= pages {
			return ReadDescribeUser
		}
		return ReadListUsers
	case members <= describeMax:
		return ReadDescribeUser
	default:
		return ReadListUsers
	}
}

// reader performs one run's reads. Every failed read is kept in errs and
// makes the snapshot incomplete; reading goes on wherever it still can, so
// that additions and profile changes are still found.
type reader struct {
	client     IdentityStore
	storeID    string
	opt        func(*identitystore.Options)
	workers    int
	scimIssuer string // exact SCIM issuer, or "" for any under domain.DefaultSCIMIssuerPrefix

	mu   sync.Mutex
	errs []error
}

func (r *reader) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, err)
}

func (r *reader) failures() []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.errs)
}

// memberships reads every group's memberships, groups in parallel, and
// returns, per member user id, the indexes of the groups they are in, and
// the groups that could not be read to the end, with why: "not found: the
// group no longer exists" (ResourceNotFoundException) or the failed page's
// error. A failure of one group does not stop the others.
func (r *reader) memberships(ctx context.Context, groups []domain.GroupRef) (map[string][]int, map[int]string) {
	members := map[string][]int{}
	unread := map[int]string{}
	var mu sync.Mutex
	r.each(ctx, len(groups), func(ctx context.Context, gi int) {
		p := identitystore.NewListGroupMembershipsPaginator(r.client, &identitystore.ListGroupMembershipsInput{
			IdentityStoreId: aws.String(r.storeID),
			GroupId:         aws.String(groups[gi].IdCID),
			MaxResults:      aws.Int32(PageSize),
		})
		for page := 1; p.HasMorePages(); page++ {
			out, err := p.NextPage(ctx, r.opt)
			if err != nil {
				r.fail(fmt.Errorf("list memberships of group %s, page %d: %w", groups[gi].IdCID, page, err))
				reason := fmt.Sprintf("page %d: %v", page, err)
				var nf *types.ResourceNotFoundException
				if errors.As(err, &nf) {
					reason = "not found: the group no longer exists"
				}
				mu.Lock()
				unread[gi] = truncate(reason)
				mu.Unlock()
				return
			}
			mu.Lock()
			for _, m := range out.GroupMemberships {
				if u, ok := m.MemberId.(*types.MemberIdMemberUserId); ok && u.Value != "" {
					if gs := members[u.Value]; !slices.Contains(gs, gi) {
						members[u.Value] = append(gs, gi)
					}
				}
			}
			mu.Unlock()
		}
	})
	return members, unread
}

// profiles reads the profiles of members with the given strategy and
// returns them as snapshot users (groups filled in from members), sorted by
// user id, the store's user count when a ListUsers walk reached the end
// (else 0), and the ids of the members whose profile could not be read
// (sorted): a failed DescribeUser, or every member a failed ListUsers walk
// had not reached. A member whose user no longer exists is left out: they
// are gone.
func (r *reader) profiles(ctx context.Context, how ProfileRead, members map[string][]int, groups []domain.GroupRef) ([]domain.SnapshotUser, int, []string) {
	users := make([]domain.SnapshotUser, 0, len(members))
	total := 0
	var missing, unread []string
	switch how {
	case ReadNone:
		return nil, 0, nil
	case ReadDescribeUser:
		missing = make([]string, 0, len(members))
		for id := range members {
			missing = append(missing, id)
		}
	case ReadListUsers:
		var complete bool
		users, total, complete = r.listUsers(ctx, members, users)
		seen := make(map[string]bool, len(users))
		for _, u := range users {
			seen[u.UserID] = true
		}
		for id := range members {
			switch {
			case seen[id]:
			case complete:
				missing = append(missing, id) // created or renamed after the walk passed them
			default:
				unread = append(unread, id) // the walk failed before reaching them
			}
		}
	}
	described, failed := r.describeUsers(ctx, missing)
	users = append(users, described...)
	unread = append(unread, failed...)
	slices.Sort(unread)
	for i := range users {
		for _, gi := range members[users[i].UserID] {
			users[i].Groups = append(users[i].Groups, groups[gi])
		}
	}
	slices.SortFunc(users, func(a, b domain.SnapshotUser) int { return cmp.Compare(a.UserID, b.UserID) })
	return users, total, unread
}

// listUsers walks ListUsers until every member has been seen or the pages
// end, keeping only members; complete is false when a page failed. total
// counts every user when the walk reached the last page, else 0.
func (r *reader) listUsers(ctx context.Context, members map[string][]int, users []domain.SnapshotUser) (_ []domain.SnapshotUser, total int, complete bool) {
	p := identitystore.NewListUsersPaginator(r.client, &identitystore.ListUsersInput{
		IdentityStoreId: aws.String(r.storeID),
		MaxResults:      aws.Int32(PageSize),
		Extensions:      []string{enterpriseExtension},
	})
	found := map[string]bool{}
	seen := 0
	for page := 1; p.HasMorePages(); page++ {
		if len(found) == len(members) {
			return users, 0, true // every member seen: the rest of the store is irrelevant
		}
		out, err := p.NextPage(ctx, r.opt)
		if err != nil {
			r.fail(fmt.Errorf("list users, page %d: %w", page, err))
			return users, 0, false
		}
		seen += len(out.Users)
		for i := range out.Users {
			u := &out.Users[i]
			id := aws.ToString(u.UserId)
			if _, ok := members[id]; !ok || found[id] {
				continue
			}
			found[id] = true
			users = append(users, r.snapshotUser(id, userFields{
				userName: u.UserName, displayName: u.DisplayName, name: u.Name, emails: u.Emails,
				title: u.Title, extensions: u.Extensions, externalIDs: u.ExternalIds,
			}))
		}
	}
	return users, seen, true
}

// describeUsers reads each user with DescribeUser, in parallel, and
// returns the users read and the ids whose read failed.
func (r *reader) describeUsers(ctx context.Context, ids []string) ([]domain.SnapshotUser, []string) {
	out := make([]domain.SnapshotUser, len(ids))
	ok := make([]bool, len(ids))
	failed := make([]bool, len(ids))
	r.each(ctx, len(ids), func(ctx context.Context, i int) {
		u, err := r.client.DescribeUser(ctx, &identitystore.DescribeUserInput{
			IdentityStoreId: aws.String(r.storeID),
			UserId:          aws.String(ids[i]),
			Extensions:      []string{enterpriseExtension},
		}, r.opt)
		var nf *types.ResourceNotFoundException
		switch {
		case errors.As(err, &nf):
			return // deleted since its membership was listed
		case err != nil:
			r.fail(fmt.Errorf("describe user %s: %w", ids[i], err))
			failed[i] = true
			return
		}
		out[i], ok[i] = r.snapshotUser(ids[i], userFields{
			userName: u.UserName, displayName: u.DisplayName, name: u.Name, emails: u.Emails,
			title: u.Title, extensions: u.Extensions, externalIDs: u.ExternalIds,
		}), true
	})
	kept := out[:0]
	var unread []string
	for i := range out {
		if ok[i] {
			kept = append(kept, out[i])
		}
		if failed[i] {
			unread = append(unread, ids[i])
		}
	}
	return kept, unread
}

// each runs fn(0..n-1) on up to r.workers goroutines.
func (r *reader) each(ctx context.Context, n int, fn func(ctx context.Context, i int)) {
	work := make(chan int)
	var wg sync.WaitGroup
	for range min(r.workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				fn(ctx, i)
			}
		}()
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
}

// userFields are the attributes read from a types.User or a
// DescribeUserOutput.
type userFields struct {
	userName, displayName, title *string
	name                         *types.Name
	emails                       []types.Email
	extensions                   map[string]document.Interface
	externalIDs                  []types.ExternalId
}

// snapshotUser maps an Identity Store user: UserName → Login,
// Name.GivenName/FamilyName, DisplayName, the primary email (else the first
// one), Title, the enterprise extension's department, and the Okta user id
// from its ExternalIds (see oktaID).
func (r *reader) snapshotUser(id string, f userFields) domain.SnapshotUser {
	u := domain.SnapshotUser{
		UserID:      id,
		Login:       aws.ToString(f.userName),
		DisplayName: aws.ToString(f.displayName),
		Title:       aws.ToString(f.title),
		Email:       primaryEmail(f.emails),
	}
	u.OktaID, u.AmbiguousOktaIDs = oktaID(f.externalIDs, r.scimIssuer)
	if f.name != nil {
		u.FirstName = aws.ToString(f.name.GivenName)
		u.LastName = aws.ToString(f.name.FamilyName)
	}
	if doc, ok := f.extensions[enterpriseExtension]; ok && doc != nil {
		var ext struct {
			Department string `document:"department"`
		}
		if err := doc.UnmarshalSmithyDocument(&ext); err == nil {
			u.Department = ext.Department
		}
	}
	return u
}

func primaryEmail(emails []types.Email) string {
	for _, e := range emails {
		if e.Primary {
			return aws.ToString(e.Value)
		}
	}
	if len(emails) > 0 {
		return aws.ToString(emails[0].Value)
	}
	return ""
}

// oktaID finds the Okta user id among an IdC user's ExternalIds: the id of
// an entry whose issuer is issuer (or, when issuer is empty, starts with
// domain.DefaultSCIMIssuerPrefix, as IAM Identity Center records a SCIM
// push's) and that is shaped like an Okta user id. Several different such
// ids cannot be told apart: none is returned, and all are, as ambiguous.
func oktaID(ids []types.ExternalId, issuer string) (string, []string) {
	var found []string
	for _, x := range ids {
		iss, id := aws.ToString(x.Issuer), aws.ToString(x.Id)
		ok := iss == issuer
		if issuer == "" {
			ok = strings.HasPrefix(strings.ToLower(iss), domain.DefaultSCIMIssuerPrefix)
		}
		if ok && domain.IsOktaUserID(id) && !slices.Contains(found, id) {
			found = append(found, id)
		}
	}
	switch len(found) {
	case 0:
		return "", nil
	case 1:
		return found[0], nil
	}
	return "", found
}
