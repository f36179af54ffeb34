package domain

import (
	"strings"
	"time"
)

// Qualifies reports whether p should have an enabled mailbox: p is Active
// and a member (Person.MemberOf) of at least one of w.Groups.
func (w WorkMailConfig) Qualifies(p Person) bool {
	if !p.Active() {
		return false
	}
	for _, g := range w.Groups {
		if p.MemberOf(g) {
			return true
		}
	}
	return false
}

// PlanWorkMail plans the WorkMail ops that take p's mailbox from last to
// what cfg says p should have. It is pure and deterministic; domain is the
// mail domain (cfg.MailDomain, or the organisation's default resolved by the
// caller) and now is the clock reading used for the leave grace period.
//
// A person who Qualifies gets an enabled mailbox with rendered attributes:
//   - no account (or one idsync deleted): create (Name = last.PendingName
//     when a create intent is recorded, else the rendered name;
//     DisplayName, FirstName, LastName, IdentityProviderUserID =
//     p.IdCUserID when known, and Email, the address the register will
//     set, for the applier's adoption rules) then register (Email). The
//     register op has an empty RemoteID: the applier uses the id the
//     create returned. Next.RemoteID is empty too, and Next has no intent.
//   - disabled: enable (RemoteID, Email) – the same user registered again,
//     never a new one – then update-attributes if they changed.
//   - enabled: update-attributes (DisplayName, FirstName, LastName) and/or
//     update-email when they changed (email compared case-insensitively).
//     update-attributes also links the mailbox to p's IdC user
//     (IdentityProviderUserID) when p.IdCUserID is known and differs from
//     the link last recorded (last.IdentityProviderUserID, compared
//     case-insensitively): the IdC user became known after the create (the
//     SCIM push lags the hook), or the person was re-linked to a
//     re-created IdC user. An unknown IdC user id never clears a link.
//     WorkMail cannot rename a user, so a login rename changes the email and
//     display attributes and keeps the Name the mailbox was created with.
//
// Anyone else gets the leave policy: an enabled mailbox is disabled
// (Next.DisabledAt = now); with LeaveDelete a disabled mailbox is deleted
// once DisabledAt + DeleteAfterDays×24h ≤ now (with 0 days, disable and
// delete are planned together). A disabled mailbox stays disabled.
//
// With LeaveDelete and ExportTo the mailbox is exported before it is
// deleted. When the delete is due, the plan is, instead of the delete:
//   - export-start (RemoteID, ClientToken = ExportClientToken of the
//     mailbox, its DisabledAt and the destination) when no
//     export covers the mailbox yet (TargetState.ExportCovers) and none is
//     RUNNING;
//   - export-check (RemoteID, JobID) while the recorded job is RUNNING;
//   - nothing (ReasonExportFailed, naming the job and its reason) when an
//     export started after the disable FAILED or was CANCELLED: the mailbox
//     is kept until an operator re-arms the export;
//   - the delete once an export started after the disable COMPLETED.
//
// Both export ops have Next = last: what they learn (the job, its state)
// only the applier knows, and consumers.Execute takes it from the state
// reached. With 0 days an enabled mailbox is only disabled; the export
// (and then the delete) is planned from the committed disable time, so
// that its ClientToken never depends on a plan's clock.
//
// With cfg.Mode frozen, a qualifying person without a mailbox gets an
// empty plan with ReasonFrozen: no mailbox is created (a create intent
// recorded before the freeze is kept, not resumed). Existing mailboxes are
// updated and re-enabled as usual: re-enabling a disabled mailbox is not a
// new mailbox, and its content is already counted in the organisation's
// export.
//
// An account idsync does not manage (last.Managed false) is never touched:
// the plan is empty with ReasonNotManaged unless last.Status is absent and p
// qualifies, which plans a create, or last carries a create intent and p
// no longer qualifies, which plans an adopt (OpAdopt, the create's fields
// under the pinned name): the create may have made a mailbox before its
// commit was lost, and the leave policy applies to it once it is found.
// An empty plan's Next is last, except when
// a disabled mailbox's grace period starts (DisabledAt was unknown): persist
// Next whenever it differs from last. A state of an existing mailbox never
// carries a create intent: Next of every plan with ops for one has none.
//
// Errors: a rendered attribute that does not fit WorkMail's limits (Name
// 1–64 and its pattern, only checked at create, a pinned one too; email
// pattern and ≤254;
// DisplayName 1–256; FirstName/LastName ≤256) or a template that fails
// returns a Permanent error wrapping ErrInvalidAttribute. A qualifying person
// whose login is not known yet gets an empty plan with ReasonIncomplete.
func PlanWorkMail(cfg WorkMailConfig, domain string, p Person, last TargetState, now time.Time) (Plan, error) {
	want := cfg.Qualifies(p)
	settle := !want && settlesIntent(last)
	if !last.Managed && !settle && (!want || last.Status != RemoteAbsent) {
		return noOp(last, ReasonNotManaged), nil
	}
	if !want && !settle {
		return planWorkMailLeave(cfg, last, now), nil
	}
	if cfg.Frozen() && !hasAccount(last) && !settle {
		return noOp(last, ReasonFrozen+": workmail.mode is frozen; no new mailboxes"), nil
	}
	if p.Login.Value == "" {
		return noOp(last, ReasonIncomplete+": login unknown"), nil
	}

	d := NewTemplateData(p, domain)
	chk := attrCheck{target: TargetWorkMail}
	email, ok := chk.render("email", cfg.emailTemplate(), d)
	if ok {
		chk.length("email", email, 1, maxWorkMailEmail)
		chk.pattern("email", email, patternWorkMailEmail)
		if len(chk.errs) > 0 && domain == "" {
			chk.fail("email", "cannot be rendered: no mail domain was given")
		}
	}
	chk.length("displayName", d.DisplayName, 1, maxWorkMailAttribute)
	chk.length("firstName", d.FirstName, 0, maxWorkMailAttribute)
	chk.length("lastName", d.LastName, 0, maxWorkMailAttribute)
	create := !hasAccount(last)
	var name string
	if create {
		ok = true
		if name = last.PendingName; name == "" {
			name, ok = chk.render("name", cfg.nameTemplate(), d)
		}
		if ok {
			chk.length("name", name, 1, maxWorkMailName)
			chk.pattern("name", name, patternWorkMailName)
		}
	}
	if err := chk.err(); err != nil {
		return Plan{}, err
	}

	if settle {
		return settleIntent(Op{
			Target: TargetWorkMail, Kind: OpAdopt, Name: name,
			DisplayName: d.DisplayName, FirstName: d.FirstName, LastName: d.LastName,
			IdentityProviderUserID: p.IdCUserID, Email: email,
		}, last), nil
	}
	if create {
		return Plan{
			Ops: []Op{
				{
					Target: TargetWorkMail, Kind: OpCreate, Name: name,
					DisplayName: d.DisplayName, FirstName: d.FirstName, LastName: d.LastName,
					IdentityProviderUserID: p.IdCUserID, Email: email,
				},
				{Target: TargetWorkMail, Kind: OpRegister, Name: name, Email: email},
			},
			Next: TargetState{
				Target: TargetWorkMail, Managed: true, Status: RemoteEnabled,
				Name: name, Email: email, DisplayName: d.DisplayName,
				FirstName: d.FirstName, LastName: d.LastName, IdentityProviderUserID: p.IdCUserID,
				Version: last.Version,
			},
		}, nil
	}

	next := withoutIntent(last)
	next.Target = TargetWorkMail
	var ops []Op
	if last.Status == RemoteDisabled {
		ops = append(ops, Op{Target: TargetWorkMail, Kind: OpEnable, RemoteID: last.RemoteID, Email: email})
		next.Status = RemoteEnabled
		next.DisabledAt = time.Time{}
		next.Email = email
	}
	link := ""
	if p.IdCUserID != "" && !strings.EqualFold(last.IdentityProviderUserID, p.IdCUserID) {
		link = p.IdCUserID
	}
	if last.DisplayName != d.DisplayName || last.FirstName != d.FirstName || last.LastName != d.LastName || link != "" {
		ops = append(ops, Op{
			Target: TargetWorkMail, Kind: OpUpdateAttributes, RemoteID: last.RemoteID,
			DisplayName: d.DisplayName, FirstName: d.FirstName, LastName: d.LastName, IdentityProviderUserID: link,
		})
		next.DisplayName, next.FirstName, next.LastName = d.DisplayName, d.FirstName, d.LastName
		if link != "" {
			next.IdentityProviderUserID = link
		}
	}
	if !strings.EqualFold(next.Email, email) {
		ops = append(ops, Op{Target: TargetWorkMail, Kind: OpUpdateEmail, RemoteID: last.RemoteID, Email: email})
		next.Email = email
	}
	if len(ops) == 0 {
		return noOp(last, ReasonUpToDate), nil
	}
	return Plan{Ops: ops, Next: next}, nil
}

// planWorkMailLeave applies the leave policy to a managed mailbox.
func planWorkMailLeave(cfg WorkMailConfig, last TargetState, now time.Time) Plan {
	deleting := cfg.leaveAction() == LeaveDelete
	exportTo := cfg.ExportTo()
	grace := time.Duration(cfg.OnLeave.DeleteAfterDays) * 24 * time.Hour
	switch last.Status {
	case RemoteEnabled:
		ops := []Op{{Target: TargetWorkMail, Kind: OpDisable, RemoteID: last.RemoteID}}
		next := withoutIntent(last)
		next.Target = TargetWorkMail
		next.Status = RemoteDisabled
		next.DisabledAt = now.UTC()
		if deleting && grace <= 0 && exportTo == nil {
			ops = append(ops, Op{Target: TargetWorkMail, Kind: OpDelete, RemoteID: last.RemoteID})
			next = deletedState(last, TargetWorkMail)
		}
		return Plan{Ops: ops, Next: next}
	case RemoteDisabled:
		if !deleting {
			return noOp(last, ReasonAlreadyLeft)
		}
		if grace > 0 && last.DisabledAt.IsZero() {
			next := last
			next.DisabledAt = now.UTC()
			return Plan{Next: next, Reason: ReasonGracePeriod + ": starts now"}
		}
		if due := last.DisabledAt.Add(grace); now.Before(due) {
			return noOp(last, ReasonGracePeriod+": delete due "+due.UTC().Format(time.RFC3339))
		}
		if exportTo != nil && !last.ExportCovers() {
			return planWorkMailExport(*exportTo, last)
		}
		return Plan{
			Ops:  []Op{{Target: TargetWorkMail, Kind: OpDelete, RemoteID: last.RemoteID}},
			Next: deletedState(last, TargetWorkMail),
		}
	default:
		return noOp(last, ReasonNoAccount)
	}
}

// planWorkMailExport is the plan of a due delete whose mailbox no export
// covers yet: follow the running job, hold after a failed one, or start
// one.
func planWorkMailExport(to MailboxExportTo, last TargetState) Plan {
	switch st := last.ExportState; {
	case st == ExportRunning && last.ExportJobID != "":
		return Plan{
			Ops:  []Op{{Target: TargetWorkMail, Kind: OpExportCheck, RemoteID: last.RemoteID, JobID: last.ExportJobID}},
			Next: last,
		}
	case (st == ExportFailed || st == ExportCancelled) && !last.ExportStartedAt.Before(last.DisabledAt):
		job := "no job"
		if last.ExportJobID != "" {
			job = "job " + last.ExportJobID
		}
		reason := ReasonExportFailed + ": " + job + " " + string(st)
		if last.ExportReason != "" {
			reason += " (" + last.ExportReason + ")"
		}
		return noOp(last, reason+"; the mailbox is kept until the export is re-armed (idsync workmail export --person)")
	}
	return Plan{
		Ops: []Op{{Target: TargetWorkMail, Kind: OpExportStart, RemoteID: last.RemoteID,
			ClientToken: ExportClientToken(last.RemoteID, last.DisabledAt, to)}},
		Next: last,
	}
}
