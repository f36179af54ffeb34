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
	"github.com/idsync/idsync/internal/awsclient"
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

// readState is where a run's reads stand: the cursors of every walk, what
// they found, and what could not be read. A run that cannot finish its
// reads in one invocation saves it (see progress.go) and the next
// invocation continues from it.
type readState struct {
	// Groups are the configured groups' membership walks, in the
	// snapshotter's group order.
	Groups []groupRead `json:"groups"`
	// Members maps each member's user id to the indexes of their groups
	// (kept in chunks, not in the cursor).
	Members map[string][]int `json:"-"`
	// ProfileRead is chosen once every membership walk has ended.
	ProfileRead ProfileRead `json:"profileRead,omitempty"`
	// List is the ListUsers walk (ReadListUsers).
	List listRead `json:"list"`
	// Users are the profiles read so far (kept in chunks).
	Users []domain.SnapshotUser `json:"-"`
	// Gone are members DescribeUser no longer found (deleted since their
	// membership was listed); Unread those whose profile could not be read.
	Gone   []string `json:"gone,omitempty"`
	Unread []string `json:"unread,omitempty"`
	// Described: every profile the walk did not provide has been asked
	// for with DescribeUser; the reads are over.
	Described bool `json:"described,omitempty"`
	// Errors counts the failed reads; FirstError describes one.
	Errors     int    `json:"errors,omitempty"`
	FirstError string `json:"firstError,omitempty"`
	// Calls and Throttled count Identity Store requests over every
	// invocation of the run.
	Calls     int64 `json:"calls,omitempty"`
	Throttled int64 `json:"throttled,omitempty"`

	found map[string]bool // user ids in Users or Gone
}

// groupRead is one group's membership walk.
type groupRead struct {
	ID    string `json:"id"`              // IdC group id
	Token string `json:"token,omitempty"` // next page, when started and not done
	Pages int    `json:"pages,omitempty"`
	Done  bool   `json:"done,omitempty"`
	// Unread says why the walk failed ("" when it did not): the group's
	// removals are withheld.
	Unread string `json:"unread,omitempty"`
}

// listRead is the ListUsers walk.
type listRead struct {
	Token string `json:"token,omitempty"`
	Pages int    `json:"pages,omitempty"`
	Seen  int    `json:"seen,omitempty"` // users on the pages read
	Done  bool   `json:"done,omitempty"`
	// Complete: the walk ended without a failure (at its last page, or
	// once every member had been seen); Total is then the store's size when
	// it reached the last page (else 0).
	Complete bool `json:"complete,omitempty"`
	Total    int  `json:"total,omitempty"`
}

func newReadState(groups []domain.GroupRef) *readState {
	rs := &readState{Members: map[string][]int{}, found: map[string]bool{}}
	for _, g := range groups {
		rs.Groups = append(rs.Groups, groupRead{ID: g.IdCID})
	}
	return rs
}

// membershipsDone reports whether every group's walk has ended.
func (rs *readState) membershipsDone() bool {
	for _, g := range rs.Groups {
		if !g.Done {
			return false
		}
	}
	return true
}

// done reports whether the reads are over.
func (rs *readState) done() bool {
	return rs.membershipsDone() && (rs.ProfileRead == ReadNone || rs.Described)
}

// addUser keeps a profile read, once per user id.
func (rs *readState) addUser(u domain.SnapshotUser) bool {
	if rs.found[u.UserID] {
		return false
	}
	rs.found[u.UserID] = true
	rs.Users = append(rs.Users, u)
	return true
}

// reader performs one invocation's reads on a readState. Every failed read
// is counted in the state and makes the snapshot incomplete; reading goes
// on wherever it still can, so that additions and profile changes are
// still found. A read cut short because ctx ended is no failure: the walk
// keeps its cursor and continues in the next invocation.
type reader struct {
	client     IdentityStore
	storeID    string
	opt        func(*identitystore.Options)
	workers    int
	scimIssuer string // exact SCIM issuer, or "" for any under domain.DefaultSCIMIssuerPrefix

	mu  sync.Mutex
	rs  *readState
	cut bool // a read was cut short: the reads continue next invocation
}

// cutShort reports whether err ended a read because ctx ended (or the
// quota's next token would come after it): no failure, the read is asked
// again next invocation. It notes the cut.
func (r *reader) cutShort(ctx context.Context, err error) bool {
	if ctx.Err() == nil && !errors.Is(err, awsclient.ErrRateLimited) &&
		!errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
		return false
	}
	r.mu.Lock()
	r.cut = true
	r.mu.Unlock()
	return true
}

// fail counts a failed read.
func (r *reader) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rs.Errors++
	if r.rs.FirstError == "" {
		r.rs.FirstError = truncate(err.Error())
	}
}

// run continues the reads from where r.rs stands until they are over or
// ctx ends. chooseProfile picks the profile read once the memberships are
// known.
func (r *reader) run(ctx context.Context, groups []domain.GroupRef, chooseProfile func(members int) ProfileRead) {
	if !r.rs.membershipsDone() {
		r.memberships(ctx, groups)
		if !r.rs.membershipsDone() || r.cut {
			return
		}
	}
	if r.rs.ProfileRead == "" {
		r.rs.ProfileRead = chooseProfile(len(r.rs.Members))
	}
	switch r.rs.ProfileRead {
	case ReadNone:
		return
	case ReadListUsers:
		if !r.rs.List.Done {
			r.listUsers(ctx)
			if !r.rs.List.Done || r.cut {
				return
			}
		}
	}
	if !r.rs.Described {
		r.describeMissing(ctx)
	}
}

// memberships continues every group's membership walk, groups in parallel,
// recording per member user id the indexes of the groups they are in. A
// group whose walk fails is done and unread, with why: "not found: the
// group no longer exists" (ResourceNotFoundException) or the failed page's
// error. A failure of one group does not stop the others.
func (r *reader) memberships(ctx context.Context, groups []domain.GroupRef) {
	r.each(ctx, len(groups), func(ctx context.Context, gi int) {
		r.mu.Lock()
		g := r.rs.Groups[gi]
		r.mu.Unlock()
		for !g.Done && ctx.Err() == nil {
			in := &identitystore.ListGroupMembershipsInput{
				IdentityStoreId: aws.String(r.storeID),
				GroupId:         aws.String(groups[gi].IdCID),
				MaxResults:      aws.Int32(PageSize),
			}
			if g.Token != "" {
				in.NextToken = aws.String(g.Token)
			}
			out, err := r.client.ListGroupMemberships(ctx, in, r.opt)
			if err != nil && r.cutShort(ctx, err) {
				break // continued next invocation
			}
			r.mu.Lock()
			switch {
			case err != nil:
				r.mu.Unlock()
				r.fail(fmt.Errorf("list memberships of group %s, page %d: %w", groups[gi].IdCID, g.Pages+1, err))
				r.mu.Lock()
				reason := fmt.Sprintf("page %d: %v", g.Pages+1, err)
				var nf *types.ResourceNotFoundException
				if errors.As(err, &nf) {
					reason = "not found: the group no longer exists"
				}
				g.Done, g.Unread, g.Token = true, truncate(reason), ""
			default:
				for _, m := range out.GroupMemberships {
					if u, ok := m.MemberId.(*types.MemberIdMemberUserId); ok && u.Value != "" {
						if gs := r.rs.Members[u.Value]; !slices.Contains(gs, gi) {
							r.rs.Members[u.Value] = append(gs, gi)
						}
					}
				}
				g.Pages++
				g.Token = aws.ToString(out.NextToken)
				g.Done = g.Token == ""
			}
			r.rs.Groups[gi] = g
			r.mu.Unlock()
		}
	})
}

// listUsers continues the ListUsers walk until every member has been seen
// or the pages end (or ctx ends), keeping only members.
func (r *reader) listUsers(ctx context.Context) {
	l := &r.rs.List
	for !l.Done && ctx.Err() == nil {
		if l.Pages > 0 && len(r.rs.found) >= len(r.rs.Members) && r.allMembersFound() {
			l.Done, l.Complete, l.Token = true, true, "" // every member seen: the rest of the store is irrelevant
			return
		}
		in := &identitystore.ListUsersInput{
			IdentityStoreId: aws.String(r.storeID),
			MaxResults:      aws.Int32(PageSize),
			Extensions:      []string{enterpriseExtension},
		}
		if l.Token != "" {
			in.NextToken = aws.String(l.Token)
		}
		out, err := r.client.ListUsers(ctx, in, r.opt)
		if err != nil && r.cutShort(ctx, err) {
			return // continued next invocation
		}
		if err != nil {
			r.fail(fmt.Errorf("list users, page %d: %w", l.Pages+1, err))
			l.Done, l.Token = true, ""
			return
		}
		l.Pages++
		l.Seen += len(out.Users)
		for i := range out.Users {
			u := &out.Users[i]
			id := aws.ToString(u.UserId)
			if _, ok := r.rs.Members[id]; !ok || r.rs.found[id] {
				continue
			}
			r.rs.addUser(r.snapshotUser(id, userFields{
				userName: u.UserName, displayName: u.DisplayName, name: u.Name, emails: u.Emails,
				title: u.Title, extensions: u.Extensions, externalIDs: u.ExternalIds,
			}))
		}
		l.Token = aws.ToString(out.NextToken)
		if l.Token == "" {
			l.Done, l.Complete, l.Total = true, true, l.Seen
		}
	}
}

// allMembersFound reports whether every member's profile is in hand.
func (r *reader) allMembersFound() bool {
	for id := range r.rs.Members {
		if !r.rs.found[id] {
			return false
		}
	}
	return true
}

// describeMissing reads with DescribeUser, in parallel, every member whose
// profile is not in hand: all of them for ReadDescribeUser, those a
// complete ListUsers walk did not meet (created or renamed after it
// passed them) for ReadListUsers. After a failed walk the rest are unread.
// A member DescribeUser does not find is gone (deleted since their
// membership was listed).
func (r *reader) describeMissing(ctx context.Context) {
	var missing []string
	for id := range r.rs.Members {
		if !r.rs.found[id] {
			missing = append(missing, id)
		}
	}
	slices.Sort(missing)
	if r.rs.ProfileRead == ReadListUsers && !r.rs.List.Complete {
		r.rs.Unread = append(r.rs.Unread, missing...) // the walk failed before reaching them
		r.rs.Described = true
		return
	}
	r.each(ctx, len(missing), func(ctx context.Context, i int) {
		if ctx.Err() != nil {
			return
		}
		u, err := r.client.DescribeUser(ctx, &identitystore.DescribeUserInput{
			IdentityStoreId: aws.String(r.storeID),
			UserId:          aws.String(missing[i]),
			Extensions:      []string{enterpriseExtension},
		}, r.opt)
		var nf *types.ResourceNotFoundException
		switch {
		case err != nil && r.cutShort(ctx, err):
			return // asked again next invocation
		case errors.As(err, &nf):
			r.mu.Lock()
			r.rs.found[missing[i]] = true
			r.rs.Gone = append(r.rs.Gone, missing[i])
			r.mu.Unlock()
			return
		case err != nil:
			r.fail(fmt.Errorf("describe user %s: %w", missing[i], err))
			r.mu.Lock()
			r.rs.found[missing[i]] = true
			r.rs.Unread = append(r.rs.Unread, missing[i])
			r.mu.Unlock()
			return
		}
		su := r.snapshotUser(missing[i], userFields{
			userName: u.UserName, displayName: u.DisplayName, name: u.Name, emails: u.Emails,
			title: u.Title, extensions: u.Extensions, externalIDs: u.ExternalIds,
		})
		r.mu.Lock()
		r.rs.addUser(su)
		r.mu.Unlock()
	})
	if ctx.Err() == nil && !r.cut {
		r.rs.Described = true
	}
}

// result is what the reads found, for the diff: the users (groups filled
// in from the memberships) sorted by user id, the unread groups and the
// unread users (sorted), and the store's size when a ListUsers walk
// reached its end (else 0). Members whose user is gone are left out.
func (rs *readState) result(groups []domain.GroupRef) readResult {
	users := slices.Clone(rs.Users)
	for i := range users {
		users[i].Groups = nil
		for _, gi := range rs.Members[users[i].UserID] {
			users[i].Groups = append(users[i].Groups, groups[gi])
		}
	}
	slices.SortFunc(users, func(a, b domain.SnapshotUser) int { return cmp.Compare(a.UserID, b.UserID) })
	res := readResult{users: users, unreadUsers: slices.Sorted(slices.Values(rs.Unread)), total: rs.List.Total}
	for gi, g := range rs.Groups {
		if g.Unread != "" {
			res.unreadGroups = append(res.unreadGroups, groups[gi])
		}
	}
	return res
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
