package domain

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// ConnectIdentity is a Connect instance's identity management type
// (DescribeInstance / ListInstances IdentityManagementType), which decides
// how long a username may be.
type ConnectIdentity string

// Connect identity management types.
const (
	ConnectIdentitySAML              ConnectIdentity = "SAML"
	ConnectIdentityConnectManaged    ConnectIdentity = "CONNECT_MANAGED"
	ConnectIdentityExistingDirectory ConnectIdentity = "EXISTING_DIRECTORY"
)

// Username limits from CreateUserRequest.Username's documentation: "If you
// are using SAML for identity management, the user name can include up to
// 64 characters from [a-zA-Z0-9_-.\@]+"; with Connect's own identity
// management (and, the documentation being silent on the directory case,
// with an existing directory too) "up to 20 characters"; and "Username can
// include @ only if used in an email format".
const (
	maxConnectUsernameSAML  = 64
	maxConnectUsernameOther = 20
)

// patternEmailFormed is an email-formed username (the only form that may
// hold an '@'): something, '@', a dotted domain.
const patternEmailFormed = `^[^@\s]+@[^@\s]+\.[^@\s]+$`

// UsernameLimit is the longest username, in characters, an instance of
// identity management type i accepts: 64 with SAML, 20 otherwise (also for
// an unknown or empty type: the stricter limit).
func (i ConnectIdentity) UsernameLimit() int {
	if i == ConnectIdentitySAML {
		return maxConnectUsernameSAML
	}
	return maxConnectUsernameOther
}

// Winner returns the group p takes its Connect profiles from: of the groups
// in k.Groups that p is a member of (Person.MemberOf), the one with the
// lowest Priority (the first in configuration order on a tie, which
// Validate forbids). ok is false when p is in none. Status is not
// considered; see Qualifies.
func (k ConnectConfig) Winner(p Person) (g ConnectGroup, ok bool) {
	for _, cg := range k.Groups {
		if p.MemberOf(cg.GroupRef) && (!ok || cg.Priority < g.Priority) {
			g, ok = cg, true
		}
	}
	return g, ok
}

// Qualifies reports whether p should have a Connect agent: p is Active and
// has a Winner group.
func (k ConnectConfig) Qualifies(p Person) bool {
	_, ok := k.Winner(p)
	return ok && p.Active()
}

// PlanConnect plans the Connect ops that take p's agent from last to what
// cfg says p should have, on an instance of identity management type
// identity. It is pure and deterministic; now stamps Next.DisabledAt when
// an agent is stripped.
//
// A person who Qualifies gets an agent with the Winner group's profiles:
//   - no account (or one idsync deleted): create (Name = last.PendingName
//     when a create intent is recorded, else the rendered username;
//     FirstName, LastName, Email, PhoneType, SecurityProfileIDs,
//     RoutingProfileID, HierarchyGroupID). Next.RemoteID is empty: the
//     applier fills it in from the create's answer; Next has no intent.
//   - an agent (enabled, or stripped: RemoteDisabled): update-identity when
//     first/last name or email changed, update-security-profiles when the
//     set differs, update-routing-profile, update-hierarchy-group (empty id
//     clears it); a stripped agent is thereby restored, never re-created.
//     Connect cannot rename a user: a login rename keeps the username the
//     agent was created with and updates its identity info.
//
// Anyone else gets the leave policy: LeaveDelete (default) plans delete;
// LeaveStrip plans strip to cfg.OnLeave's profiles (Next.Status becomes
// RemoteDisabled), once – a stripped agent with those profiles stays as it
// is. A person without an agent gets an empty plan.
//
// An account idsync does not manage (last.Managed false) is never touched:
// the plan is empty with ReasonNotManaged unless last.Status is absent and p
// qualifies, which plans a create, or last carries a create intent and p
// no longer qualifies, which plans an adopt (OpAdopt under the pinned
// username, no profiles): the create may have made an agent before its
// commit was lost, and the leave policy applies to it once it is found.
// An empty plan's Next is last.
//
// A state of an existing agent never carries a create intent: Next of every
// plan for one has none.
//
// Errors: a create's username that does not fit (1 to identity's
// UsernameLimit characters of [a-zA-Z0-9_.@-], an '@' only in an
// email-formed name; checked only at create, a pinned one too), a first
// name over 255 or last name over 300 characters, or a failing template
// returns a Permanent error wrapping ErrInvalidAttribute. A qualifying
// person whose login, first name or last name is not known yet (Connect
// requires names with SAML) gets an empty plan with ReasonIncomplete.
// Names are compared and sent as given: Connect accepts only Unicode NFC,
// which the caller ensures (the domain has no Unicode tables).
func PlanConnect(cfg ConnectConfig, identity ConnectIdentity, p Person, last TargetState, now time.Time) (Plan, error) {
	g, inGroup := cfg.Winner(p)
	want := inGroup && p.Active()
	settle := !want && settlesIntent(last)
	if !last.Managed && !settle && (!want || last.Status != RemoteAbsent) {
		return noOp(last, ReasonNotManaged), nil
	}
	if !want && !settle {
		return planConnectLeave(cfg, last, now), nil
	}
	var missing []string
	for _, f := range []struct{ name, v string }{
		{"login", p.Login.Value}, {"first name", p.FirstName.Value}, {"last name", p.LastName.Value},
	} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return noOp(last, ReasonIncomplete+": "+strings.Join(missing, ", ")+" unknown"), nil
	}

	d := NewTemplateData(p, "")
	chk := attrCheck{target: TargetConnect}
	chk.length("firstName", d.FirstName, 1, maxConnectFirstName)
	chk.length("lastName", d.LastName, 1, maxConnectLastName)
	create := !hasAccount(last)
	var username string
	if create {
		ok := true
		if username = last.PendingName; username == "" {
			username, ok = chk.render("username", cfg.usernameTemplate(), d)
		}
		if ok {
			checkConnectUsername(&chk, identity, username)
		}
	}
	if err := chk.err(); err != nil {
		return Plan{}, err
	}

	if settle {
		return settleIntent(Op{
			Target: TargetConnect, Kind: OpAdopt, Name: username,
			FirstName: d.FirstName, LastName: d.LastName, Email: d.Email, PhoneType: cfg.phoneType(),
		}, last), nil
	}
	if create {
		return Plan{
			Ops: []Op{{
				Target: TargetConnect, Kind: OpCreate, Name: username,
				FirstName: d.FirstName, LastName: d.LastName, Email: d.Email,
				PhoneType:          cfg.phoneType(),
				SecurityProfileIDs: slices.Clone(g.SecurityProfileIDs),
				RoutingProfileID:   g.RoutingProfileID,
				HierarchyGroupID:   g.HierarchyGroupID,
			}},
			Next: TargetState{
				Target: TargetConnect, Managed: true, Status: RemoteEnabled,
				Name: username, Email: d.Email, FirstName: d.FirstName, LastName: d.LastName,
				SecurityProfileIDs: slices.Clone(g.SecurityProfileIDs),
				RoutingProfileID:   g.RoutingProfileID,
				HierarchyGroupID:   g.HierarchyGroupID,
				Version:            last.Version,
			},
		}, nil
	}

	next := withoutIntent(last)
	next.Target = TargetConnect
	next.Status = RemoteEnabled
	next.DisabledAt = time.Time{}
	var ops []Op
	if last.FirstName != d.FirstName || last.LastName != d.LastName || last.Email != d.Email {
		ops = append(ops, Op{
			Target: TargetConnect, Kind: OpUpdateIdentity, RemoteID: last.RemoteID,
			FirstName: d.FirstName, LastName: d.LastName, Email: d.Email,
		})
		next.FirstName, next.LastName, next.Email = d.FirstName, d.LastName, d.Email
	}
	if !sameSet(last.SecurityProfileIDs, g.SecurityProfileIDs) {
		ops = append(ops, Op{
			Target: TargetConnect, Kind: OpUpdateSecurityProfiles, RemoteID: last.RemoteID,
			SecurityProfileIDs: slices.Clone(g.SecurityProfileIDs),
		})
		next.SecurityProfileIDs = slices.Clone(g.SecurityProfileIDs)
	}
	if last.RoutingProfileID != g.RoutingProfileID {
		ops = append(ops, Op{
			Target: TargetConnect, Kind: OpUpdateRoutingProfile, RemoteID: last.RemoteID,
			RoutingProfileID: g.RoutingProfileID,
		})
		next.RoutingProfileID = g.RoutingProfileID
	}
	if last.HierarchyGroupID != g.HierarchyGroupID {
		ops = append(ops, Op{
			Target: TargetConnect, Kind: OpUpdateHierarchyGroup, RemoteID: last.RemoteID,
			HierarchyGroupID: g.HierarchyGroupID,
		})
		next.HierarchyGroupID = g.HierarchyGroupID
	}
	if len(ops) == 0 {
		// Nothing to call; a stripped agent whose profiles already match
		// is merely recorded as enabled again.
		return Plan{Next: next, Reason: ReasonUpToDate}, nil
	}
	return Plan{Ops: ops, Next: next}, nil
}

// Username renders p's Connect username with the configured template, as
// PlanConnect's create renders it (a create intent's pinned name aside);
// the operator's adoption of existing agents matches agents by it.
//
// Errors: a failing template, Permanent wrapping ErrInvalidAttribute.
func (k ConnectConfig) Username(p Person) (string, error) {
	chk := attrCheck{target: TargetConnect}
	username, _ := chk.render("username", k.usernameTemplate(), NewTemplateData(p, ""))
	return username, chk.err()
}

// checkConnectUsername checks a create's username against the rules of an
// instance of identity management type identity.
func checkConnectUsername(chk *attrCheck, identity ConnectIdentity, username string) {
	if n, limit := utf8.RuneCountInString(username), identity.UsernameLimit(); n < 1 || n > limit {
		kind := string(identity)
		if kind == "" {
			kind = "unknown"
		}
		chk.fail("username", "has %d characters, want 1–%d with %s identity management", n, limit, kind)
	}
	chk.pattern("username", username, patternConnectUsername)
	if strings.Contains(username, "@") && !matches(patternEmailFormed, username) {
		chk.fail("username", "(%d characters) holds an '@' but is not email-formed", utf8.RuneCountInString(username))
	}
}

// planConnectLeave applies the leave policy to a managed agent.
func planConnectLeave(cfg ConnectConfig, last TargetState, now time.Time) Plan {
	if !hasAccount(last) {
		return noOp(last, ReasonNoAccount)
	}
	if cfg.leaveAction() != LeaveStrip {
		return Plan{
			Ops:  []Op{{Target: TargetConnect, Kind: OpDelete, RemoteID: last.RemoteID}},
			Next: deletedState(last, TargetConnect),
		}
	}
	strip := cfg.OnLeave
	if last.Status == RemoteDisabled && sameSet(last.SecurityProfileIDs, strip.SecurityProfileIDs) &&
		last.RoutingProfileID == strip.RoutingProfileID {
		return noOp(last, ReasonAlreadyLeft)
	}
	next := withoutIntent(last)
	next.Target = TargetConnect
	next.Status = RemoteDisabled
	next.SecurityProfileIDs = slices.Clone(strip.SecurityProfileIDs)
	next.RoutingProfileID = strip.RoutingProfileID
	if last.Status != RemoteDisabled || next.DisabledAt.IsZero() {
		next.DisabledAt = now.UTC()
	}
	return Plan{
		Ops: []Op{{
			Target: TargetConnect, Kind: OpStrip, RemoteID: last.RemoteID,
			SecurityProfileIDs: slices.Clone(strip.SecurityProfileIDs),
			RoutingProfileID:   strip.RoutingProfileID,
		}},
		Next: next,
	}
}
