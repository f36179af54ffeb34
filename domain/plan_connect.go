package domain

import (
	"slices"
	"strings"
	"time"
)

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
// cfg says p should have. It is pure and deterministic; now stamps
// Next.DisabledAt when an agent is stripped.
//
// A person who Qualifies gets an agent with the Winner group's profiles:
//   - no account (or one idsync deleted): create (Name = rendered username,
//     FirstName, LastName, Email, PhoneType, SecurityProfileIDs,
//     RoutingProfileID, HierarchyGroupID). Next.RemoteID is empty: the
//     applier fills it in from the create's answer.
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
// qualifies, which plans a create. An empty plan's Next is last.
//
// Errors: a rendered username that does not fit (1–64 characters of
// [a-zA-Z0-9_.@-], checked only at create), a first name over 255 or last
// name over 300 characters, or a failing template returns a Permanent error
// wrapping ErrInvalidAttribute. A qualifying person whose login, first name
// or last name is not known yet (Connect requires names with SAML) gets an
// empty plan with ReasonIncomplete.
func PlanConnect(cfg ConnectConfig, p Person, last TargetState, now time.Time) (Plan, error) {
	g, inGroup := cfg.Winner(p)
	want := inGroup && p.Active()
	if !last.Managed && (!want || last.Status != RemoteAbsent) {
		return noOp(last, ReasonNotManaged), nil
	}
	if !want {
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
		var ok bool
		if username, ok = chk.render("username", cfg.usernameTemplate(), d); ok {
			chk.length("username", username, 1, maxConnectUsername)
			chk.pattern("username", username, patternConnectUsername)
		}
	}
	if err := chk.err(); err != nil {
		return Plan{}, err
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

	next := last
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
	next := last
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
