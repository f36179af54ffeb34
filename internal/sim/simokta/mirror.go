package simokta

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/identitystore"
	"github.com/aws/aws-sdk-go-v2/service/identitystore/document"
	"github.com/aws/aws-sdk-go-v2/service/identitystore/types"
)

// IdentityStore is the part of the IdentityStore API the mirror calls; the
// real *identitystore.Client satisfies it.
//
// The mirror stands in for Okta's SCIM push to IAM Identity Center:
//   - A user is pushed when it first leaves STAGED (activation): CreateUser
//     with UserName = login, Name {GivenName, FamilyName, Formatted},
//     DisplayName (profile displayName, else "first last"), Emails [{work,
//     primary}], Title, and the enterprise extension
//     ("aws:identitystore:enterprise": department, employeeNumber,
//     costCenter, organization, division). A ConflictException (user name taken) adopts the
//     existing user found with GetUserId by userName. The public
//     CreateUser has no ExternalIds member, so the mirror then calls
//     UpdateUser with AttributePath "externalIds" and the value
//     [{"Issuer": ExternalIDIssuer, "Id": <Okta user id>}], which is how the
//     user's Okta id becomes its ExternalId (SCIM's externalId). The issuer
//     is IdC's, "https://scim.aws.com/<n>" by default (see
//     DefaultExternalIDIssuer); real SCIM creates the user with its
//     externalId in one request, so the short window in which the mirrored
//     user has no ExternalIds is the stand-in's, not IdC's.
//   - UserName is the Okta login (the AWS IAM Identity Center app's default
//     application username format, "Okta username"), and Emails is the one
//     primary work address [{Value: email, Type: "work", Primary: true}],
//     as IdC stores Okta's emails[type eq "work"] push.
//   - A profile change of a pushed user is UpdateUser with one operation
//     per changed attribute (userName, displayName, name.givenName,
//     name.familyName, title, emails, aws:identitystore:enterprise.<field>);
//     an attribute removed in Okta is an
//     operation without a value.
//   - Deactivation and suspension change nothing: Okta's SCIM push sets
//     active=false, but IdentityStore users have no status; idsync learns
//     status from the hooks. Deleting a pushed user is DeleteUser.
//   - Groups are pushed only when marked (CreateGroup(..., pushed=true) or
//     SetGroupPushed): CreateGroup with DisplayName = the group name and its
//     description (ConflictException adopts via GetGroupId by displayName),
//     then a membership per pushed member. Membership changes of a pushed
//     group are CreateGroupMembership / DeleteGroupMembership (the
//     membership id from the create, else GetGroupMembershipId). Deleting a
//     pushed group is DeleteGroup.
//
// Each change waits Options.MirrorLag, then runs in order on one worker;
// failures are logged and listed in State().Mirror.Errors, not retried
// (the SDK client's own retryer handles throttling).
type IdentityStore interface {
	CreateUser(ctx context.Context, in *identitystore.CreateUserInput, optFns ...func(*identitystore.Options)) (*identitystore.CreateUserOutput, error)
	UpdateUser(ctx context.Context, in *identitystore.UpdateUserInput, optFns ...func(*identitystore.Options)) (*identitystore.UpdateUserOutput, error)
	DeleteUser(ctx context.Context, in *identitystore.DeleteUserInput, optFns ...func(*identitystore.Options)) (*identitystore.DeleteUserOutput, error)
	GetUserId(ctx context.Context, in *identitystore.GetUserIdInput, optFns ...func(*identitystore.Options)) (*identitystore.GetUserIdOutput, error)
	CreateGroup(ctx context.Context, in *identitystore.CreateGroupInput, optFns ...func(*identitystore.Options)) (*identitystore.CreateGroupOutput, error)
	DeleteGroup(ctx context.Context, in *identitystore.DeleteGroupInput, optFns ...func(*identitystore.Options)) (*identitystore.DeleteGroupOutput, error)
	GetGroupId(ctx context.Context, in *identitystore.GetGroupIdInput, optFns ...func(*identitystore.Options)) (*identitystore.GetGroupIdOutput, error)
	CreateGroupMembership(ctx context.Context, in *identitystore.CreateGroupMembershipInput, optFns ...func(*identitystore.Options)) (*identitystore.CreateGroupMembershipOutput, error)
	DeleteGroupMembership(ctx context.Context, in *identitystore.DeleteGroupMembershipInput, optFns ...func(*identitystore.Options)) (*identitystore.DeleteGroupMembershipOutput, error)
	GetGroupMembershipId(ctx context.Context, in *identitystore.GetGroupMembershipIdInput, optFns ...func(*identitystore.Options)) (*identitystore.GetGroupMembershipIdOutput, error)
}

type mirrorKind string

const (
	mirrorCreateUser   mirrorKind = "CreateUser"
	mirrorUpdateUser   mirrorKind = "UpdateUser"
	mirrorDeleteUser   mirrorKind = "DeleteUser"
	mirrorCreateGroup  mirrorKind = "CreateGroup"
	mirrorDeleteGroup  mirrorKind = "DeleteGroup"
	mirrorAddMember    mirrorKind = "CreateGroupMembership"
	mirrorRemoveMember mirrorKind = "DeleteGroupMembership"
)

type mirrorOp struct {
	due       time.Time
	kind      mirrorKind
	userID    string // Okta user id
	groupID   string // Okta group id
	profile   map[string]string
	old       map[string]string
	groupName string
	groupDesc string
}

// MirrorError is one failed mirror change.
type MirrorError struct {
	Op      string    `json:"op"`
	OktaID  string    `json:"oktaId"`
	GroupID string    `json:"groupId,omitempty"`
	Error   string    `json:"error"`
	At      time.Time `json:"at"`
}

type mirrorState struct {
	queue   []mirrorOp
	busy    bool
	users   map[string]string    // Okta user id → IdentityStore UserId
	groups  map[string]string    // Okta group id → IdentityStore GroupId
	members map[[2]string]string // (Okta group id, Okta user id) → MembershipId
	errors  []MirrorError
	done    int
}

func newMirrorState() mirrorState {
	return mirrorState{users: map[string]string{}, groups: map[string]string{}, members: map[[2]string]string{}}
}

func (s *Server) mirrorLocked(op mirrorOp) {
	if s.o.Mirror == nil {
		return
	}
	op.due = time.Now().Add(s.o.MirrorLag)
	s.mirror.queue = append(s.mirror.queue, op)
	poke(s.mirrorWake)
}

// mirrorPushUserLocked pushes u once it has left STAGED, with its
// memberships of pushed groups; s.mu must be held.
func (s *Server) mirrorPushUserLocked(u *user) {
	if s.o.Mirror == nil || u.mirrored || u.status == StatusStaged {
		return
	}
	u.mirrored = true
	s.mirrorLocked(mirrorOp{kind: mirrorCreateUser, userID: u.id, profile: maps.Clone(u.profile)})
	for _, g := range s.sortedGroupsLocked() {
		if g.pushed && g.members[u.id] {
			s.mirrorLocked(mirrorOp{kind: mirrorAddMember, userID: u.id, groupID: g.id})
		}
	}
}

func (s *Server) mirrorUpdateUserLocked(u *user, old map[string]string) {
	if u.mirrored {
		s.mirrorLocked(mirrorOp{kind: mirrorUpdateUser, userID: u.id, profile: maps.Clone(u.profile), old: old})
	}
}

func (s *Server) mirrorDeleteUserLocked(u *user) {
	if u.mirrored {
		s.mirrorLocked(mirrorOp{kind: mirrorDeleteUser, userID: u.id})
	}
}

func (s *Server) mirrorMemberLocked(g *group, u *user, add bool) {
	if !g.pushed || !u.mirrored {
		return
	}
	kind := mirrorRemoveMember
	if add {
		kind = mirrorAddMember
	}
	s.mirrorLocked(mirrorOp{kind: kind, userID: u.id, groupID: g.id})
}

func (s *Server) mirrorGroupDeleteLocked(g *group) {
	if g.pushed {
		s.mirrorLocked(mirrorOp{kind: mirrorDeleteGroup, groupID: g.id})
	}
}

// setPushedLocked marks g for Group Push; when it becomes pushed it is
// created in the mirror with its mirrored members. s.mu must be held.
func (s *Server) setPushedLocked(g *group, pushed bool) {
	if g.pushed == pushed {
		return
	}
	g.pushed = pushed
	if !pushed {
		return
	}
	s.mirrorLocked(mirrorOp{kind: mirrorCreateGroup, groupID: g.id, groupName: g.name, groupDesc: g.description})
	for _, u := range s.usersByIDLocked(g.members) {
		if u.mirrored {
			s.mirrorLocked(mirrorOp{kind: mirrorAddMember, userID: u.id, groupID: g.id})
		}
	}
}

func (s *Server) usersByIDLocked(ids map[string]bool) []*user {
	var out []*user
	for id := range ids {
		if u := s.users[id]; u != nil {
			out = append(out, u)
		}
	}
	sortUsers(out)
	return out
}

// runMirror applies queued mirror changes in order once each is due.
func (s *Server) runMirror() {
	for {
		s.mu.Lock()
		var op *mirrorOp
		var wait time.Duration
		if len(s.mirror.queue) > 0 {
			head := s.mirror.queue[0]
			if wait = time.Until(head.due); wait <= 0 {
				op = &head
				s.mirror.queue = s.mirror.queue[1:]
				s.mirror.busy = true
			}
		}
		s.mu.Unlock()
		if op != nil {
			err := s.applyMirror(*op)
			s.mu.Lock()
			s.mirror.busy = false
			s.mirror.done++
			if err != nil && s.ctx.Err() == nil {
				s.mirror.errors = append(s.mirror.errors, MirrorError{Op: string(op.kind), OktaID: op.userID,
					GroupID: op.groupID, Error: err.Error(), At: s.now()})
			}
			s.mu.Unlock()
			if err != nil {
				s.log.Warn("okta mirror change failed", "op", op.kind, "user", op.userID, "group", op.groupID, "err", err)
			} else {
				s.log.Info("okta mirror change", "op", op.kind, "user", op.userID, "group", op.groupID)
			}
			continue
		}
		var fire <-chan time.Time
		var timer *time.Timer
		if wait > 0 {
			timer = time.NewTimer(wait)
			fire = timer.C
		}
		select {
		case <-s.ctx.Done():
			if timer != nil {
				timer.Stop()
			}
			return
		case <-s.mirrorWake:
		case <-fire:
		}
		if timer != nil {
			timer.Stop()
		}
	}
}

// mirrorID reads the IdentityStore id the mirror knows for an Okta user
// (group=false) or group (group=true).
func (s *Server) mirrorID(group bool, oktaID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if group {
		return s.mirror.groups[oktaID]
	}
	return s.mirror.users[oktaID]
}

// setMirrorID records (or, with id "", forgets) the IdentityStore id of an
// Okta user or group.
func (s *Server) setMirrorID(group bool, oktaID, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.mirror.users
	if group {
		m = s.mirror.groups
	}
	if id == "" {
		delete(m, oktaID)
		return
	}
	m[oktaID] = id
}

// applyMirror makes one mirror change.
func (s *Server) applyMirror(op mirrorOp) error {
	ctx, m, store := s.ctx, s.o.Mirror, aws.String(s.o.IdentityStoreID)
	switch op.kind {
	case mirrorCreateUser:
		return s.mirrorCreateUser(ctx, op)
	case mirrorUpdateUser:
		id := s.mirrorID(false, op.userID)
		if id == "" {
			return fmt.Errorf("update user %s: %w", op.userID, errNotMirrored)
		}
		ops := profileOps(op.old, op.profile)
		if len(ops) == 0 {
			return nil
		}
		_, err := m.UpdateUser(ctx, &identitystore.UpdateUserInput{IdentityStoreId: store, UserId: &id, Operations: ops})
		return wrap("update user", err)
	case mirrorDeleteUser:
		id := s.mirrorID(false, op.userID)
		if id == "" {
			return fmt.Errorf("delete user %s: %w", op.userID, errNotMirrored)
		}
		_, err := m.DeleteUser(ctx, &identitystore.DeleteUserInput{IdentityStoreId: store, UserId: &id})
		if err == nil {
			s.setMirrorID(false, op.userID, "")
		}
		return wrap("delete user", err)
	case mirrorCreateGroup:
		return s.mirrorCreateGroup(ctx, op)
	case mirrorDeleteGroup:
		id := s.mirrorID(true, op.groupID)
		if id == "" {
			return fmt.Errorf("delete group %s: %w", op.groupID, errNotMirrored)
		}
		_, err := m.DeleteGroup(ctx, &identitystore.DeleteGroupInput{IdentityStoreId: store, GroupId: &id})
		if err == nil {
			s.setMirrorID(true, op.groupID, "")
		}
		return wrap("delete group", err)
	case mirrorAddMember, mirrorRemoveMember:
		return s.mirrorMembership(ctx, op)
	}
	return nil
}

var errNotMirrored = errors.New("not in the mirror")

func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}

func displayNameOf(p map[string]string) string {
	if d := p["displayName"]; d != "" {
		return d
	}
	return strings.TrimSpace(p["firstName"] + " " + p["lastName"])
}

func (s *Server) mirrorCreateUser(ctx context.Context, op mirrorOp) error {
	m, store, p := s.o.Mirror, aws.String(s.o.IdentityStoreID), op.profile
	in := &identitystore.CreateUserInput{
		IdentityStoreId: store,
		UserName:        aws.String(p["login"]),
		DisplayName:     aws.String(displayNameOf(p)),
		Name: &types.Name{GivenName: aws.String(p["firstName"]), FamilyName: aws.String(p["lastName"]),
			Formatted: aws.String(strings.TrimSpace(p["firstName"] + " " + p["lastName"]))},
		Emails: []types.Email{{Value: aws.String(p["email"]), Type: aws.String("work"), Primary: true}},
	}
	if t := p["title"]; t != "" {
		in.Title = aws.String(t)
	}
	if ext := enterpriseOf(p); len(ext) > 0 {
		in.Extensions = map[string]document.Interface{enterpriseExtension: document.NewLazyDocument(ext)}
	}
	var id string
	out, err := m.CreateUser(ctx, in)
	var conflict *types.ConflictException
	switch {
	case err == nil:
		id = aws.ToString(out.UserId)
	case errors.As(err, &conflict):
		got, gerr := m.GetUserId(ctx, &identitystore.GetUserIdInput{IdentityStoreId: store,
			AlternateIdentifier: &types.AlternateIdentifierMemberUniqueAttribute{Value: types.UniqueAttribute{
				AttributePath: aws.String("userName"), AttributeValue: document.NewLazyDocument(p["login"])}}})
		if gerr != nil {
			return fmt.Errorf("create user: %w; adopt: %w", err, gerr)
		}
		id = aws.ToString(got.UserId)
	default:
		return wrap("create user", err)
	}
	s.setMirrorID(false, op.userID, id)
	ext := []map[string]string{{"Issuer": s.o.ExternalIDIssuer, "Id": op.userID}}
	_, err = m.UpdateUser(ctx, &identitystore.UpdateUserInput{IdentityStoreId: store, UserId: &id,
		Operations: []types.AttributeOperation{{AttributePath: aws.String("externalIds"), AttributeValue: document.NewLazyDocument(ext)}}})
	return wrap("set external id", err)
}

// enterpriseExtension is IdentityStore's extension for SCIM's enterprise
// user schema; enterpriseAttributes are the Okta profile attributes that
// Okta's SCIM push maps into it under the same names.
const enterpriseExtension = "aws:identitystore:enterprise"

var enterpriseAttributes = []string{"costCenter", "department", "division", "employeeNumber", "organization"}

func enterpriseOf(p map[string]string) map[string]string {
	ext := map[string]string{}
	for _, k := range enterpriseAttributes {
		if v := p[k]; v != "" {
			ext[k] = v
		}
	}
	return ext
}

// profileOps are the UpdateUser operations that take the mirrored user
// from old to p.
func profileOps(old, p map[string]string) []types.AttributeOperation {
	var ops []types.AttributeOperation
	set := func(path, before, after string) {
		if before == after {
			return
		}
		op := types.AttributeOperation{AttributePath: aws.String(path)}
		if after != "" {
			op.AttributeValue = document.NewLazyDocument(after)
		}
		ops = append(ops, op)
	}
	set("userName", old["login"], p["login"])
	set("displayName", displayNameOf(old), displayNameOf(p))
	set("name.givenName", old["firstName"], p["firstName"])
	set("name.familyName", old["lastName"], p["lastName"])
	set("title", old["title"], p["title"])
	for _, k := range enterpriseAttributes {
		set(enterpriseExtension+"."+k, old[k], p[k])
	}
	if old["email"] != p["email"] {
		ops = append(ops, types.AttributeOperation{AttributePath: aws.String("emails"),
			AttributeValue: document.NewLazyDocument([]map[string]any{{"value": p["email"], "type": "work", "primary": true}})})
	}
	return ops
}

func (s *Server) mirrorCreateGroup(ctx context.Context, op mirrorOp) error {
	m, store := s.o.Mirror, aws.String(s.o.IdentityStoreID)
	in := &identitystore.CreateGroupInput{IdentityStoreId: store, DisplayName: aws.String(op.groupName)}
	if op.groupDesc != "" {
		in.Description = aws.String(op.groupDesc)
	}
	out, err := m.CreateGroup(ctx, in)
	var conflict *types.ConflictException
	switch {
	case err == nil:
		s.setMirrorID(true, op.groupID, aws.ToString(out.GroupId))
		return nil
	case errors.As(err, &conflict):
		got, gerr := m.GetGroupId(ctx, &identitystore.GetGroupIdInput{IdentityStoreId: store,
			AlternateIdentifier: &types.AlternateIdentifierMemberUniqueAttribute{Value: types.UniqueAttribute{
				AttributePath: aws.String("displayName"), AttributeValue: document.NewLazyDocument(op.groupName)}}})
		if gerr != nil {
			return fmt.Errorf("create group: %w; adopt: %w", err, gerr)
		}
		s.setMirrorID(true, op.groupID, aws.ToString(got.GroupId))
		return nil
	}
	return wrap("create group", err)
}

func (s *Server) mirrorMembership(ctx context.Context, op mirrorOp) error {
	m, store := s.o.Mirror, aws.String(s.o.IdentityStoreID)
	uid, gid := s.mirrorID(false, op.userID), s.mirrorID(true, op.groupID)
	if uid == "" || gid == "" {
		return fmt.Errorf("%s %s in %s: %w", op.kind, op.userID, op.groupID, errNotMirrored)
	}
	key := [2]string{op.groupID, op.userID}
	if op.kind == mirrorAddMember {
		out, err := m.CreateGroupMembership(ctx, &identitystore.CreateGroupMembershipInput{IdentityStoreId: store,
			GroupId: &gid, MemberId: &types.MemberIdMemberUserId{Value: uid}})
		var conflict *types.ConflictException
		if errors.As(err, &conflict) {
			return nil // already a member
		}
		if err != nil {
			return wrap("create group membership", err)
		}
		s.mu.Lock()
		s.mirror.members[key] = aws.ToString(out.MembershipId)
		s.mu.Unlock()
		return nil
	}
	s.mu.Lock()
	mid := s.mirror.members[key]
	s.mu.Unlock()
	if mid == "" {
		got, err := m.GetGroupMembershipId(ctx, &identitystore.GetGroupMembershipIdInput{IdentityStoreId: store,
			GroupId: &gid, MemberId: &types.MemberIdMemberUserId{Value: uid}})
		if err != nil {
			return wrap("find group membership", err)
		}
		mid = aws.ToString(got.MembershipId)
	}
	_, err := m.DeleteGroupMembership(ctx, &identitystore.DeleteGroupMembershipInput{IdentityStoreId: store, MembershipId: &mid})
	if err == nil {
		s.mu.Lock()
		delete(s.mirror.members, key)
		s.mu.Unlock()
	}
	return wrap("delete group membership", err)
}

// RepushUser stands in for an admin re-provisioning a pushed user into IAM
// Identity Center (unassigned from the IdC app, then assigned again): the
// mirrored user is deleted and pushed anew with its memberships of pushed
// groups, so that IdentityStore holds it under a new UserId carrying the
// same external id. Okta's own user does not change and no event is
// logged.
//
// Errors: *APIError wrapping ErrNotFound (no such user); ErrInvalid when
// the user was never pushed. Not idempotent: each call re-creates.
func (s *Server) RepushUser(userID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.findUserLocked(userID)
	if u == nil {
		return userNotFound(userID)
	}
	if !u.mirrored {
		return fmt.Errorf("re-push user %s: %w: never pushed", userID, ErrInvalid)
	}
	s.mirrorDeleteUserLocked(u)
	u.mirrored = false
	s.mirrorPushUserLocked(u)
	return nil
}
