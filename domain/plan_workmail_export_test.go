package domain_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/idsync/idsync/domain"
)

func fxExportTo() domain.MailboxExportTo {
	return domain.MailboxExportTo{
		Bucket: "idsync-mail-export", Prefix: "workmail/leavers",
		KMSKeyARN: "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
		RoleARN:   "arn:aws:iam::111122223333:role/idsync-workmail-export",
	}
}

func fxWorkMailExporting(days int) domain.WorkMailConfig {
	c := fxWorkMailDeleting(days)
	x := fxExportTo()
	c.OnLeave.ExportTo = &x
	return c
}

// withExport is s with an export job recorded.
func withExport(s domain.TargetState, id string, st domain.ExportJobState, started time.Time) domain.TargetState {
	s.ExportJobID, s.ExportState, s.ExportStartedAt = id, st, started
	return s
}

// TestPlanWorkMailExportBeforeDelete: with exportTo, a due delete is an
// export first: start, follow while RUNNING, hold after a failure, delete
// once an export started after the disable COMPLETED.
func TestPlanWorkMailExportBeforeDelete(t *testing.T) {
	now := fxAt(24 * 60)
	leaver := fxJane(nil, fxMail)
	disabledAt := now.Add(-15 * 24 * time.Hour)
	due := fxMailboxDisabled(disabledAt)
	token := domain.ExportClientToken(fxMailboxID, disabledAt, fxExportTo())
	startOps := []domain.Op{wmOp(domain.OpExportStart, domain.Op{RemoteID: fxMailboxID, ClientToken: token})}
	deleted := domain.TargetState{Target: domain.TargetWorkMail, Managed: true, Status: domain.RemoteDeleted, Version: 3}
	running := withExport(due, "job-1", domain.ExportRunning, now.Add(-time.Hour))
	completed := withExport(due, "job-1", domain.ExportCompleted, now.Add(-time.Hour))
	failed := withExport(due, "job-1", domain.ExportFailed, now.Add(-time.Hour))
	failed.ExportReason = "Mailbox export failed"
	refused := withExport(due, "", domain.ExportFailed, now.Add(-time.Hour))
	refused.ExportReason = "start refused: workmail StartMailboxExportJob: InvalidParameterException (HTTP 400)"
	cancelled := withExport(due, "job-1", domain.ExportCancelled, now.Add(-time.Hour))
	before := disabledAt.Add(-time.Hour) // an export of the still enabled mailbox

	tests := []struct {
		name string
		cfg  domain.WorkMailConfig
		last domain.TargetState
		want domain.Plan
	}{
		{"enabled leaver: disable only", fxWorkMailExporting(14), fxMailbox(),
			domain.Plan{Ops: []domain.Op{wmOp(domain.OpDisable, domain.Op{RemoteID: fxMailboxID})}, Next: fxMailboxDisabled(now)}},
		{"0 days: disable only, the export follows from the committed disable time", fxWorkMailExporting(0), fxMailbox(),
			domain.Plan{Ops: []domain.Op{wmOp(domain.OpDisable, domain.Op{RemoteID: fxMailboxID})}, Next: fxMailboxDisabled(now)}},
		{"within the grace period: nothing", fxWorkMailExporting(30 - 2), fxMailboxDisabled(now.Add(-time.Hour)),
			domain.Plan{Next: fxMailboxDisabled(now.Add(-time.Hour)),
				Reason: domain.ReasonGracePeriod + ": delete due " + now.Add(-time.Hour).Add(28*24*time.Hour).Format(time.RFC3339)}},
		{"delete due, no export: start one", fxWorkMailExporting(14), due, domain.Plan{Ops: startOps, Next: due}},
		{"delete due, job running: check it", fxWorkMailExporting(14), running,
			domain.Plan{Ops: []domain.Op{wmOp(domain.OpExportCheck, domain.Op{RemoteID: fxMailboxID, JobID: "job-1"})}, Next: running}},
		{"delete due, export completed after the disable: delete", fxWorkMailExporting(14), completed,
			domain.Plan{Ops: []domain.Op{wmOp(domain.OpDelete, domain.Op{RemoteID: fxMailboxID})}, Next: deleted}},
		{"delete due, export completed before the disable: export again", fxWorkMailExporting(14),
			withExport(due, "job-0", domain.ExportCompleted, before), domain.Plan{Ops: startOps, Next: withExport(due, "job-0", domain.ExportCompleted, before)}},
		{"delete due, an old export failed before the disable: start", fxWorkMailExporting(14),
			withExport(due, "job-0", domain.ExportFailed, before), domain.Plan{Ops: startOps, Next: withExport(due, "job-0", domain.ExportFailed, before)}},
		{"delete due, a bulk export still running from before the disable: check it", fxWorkMailExporting(14),
			withExport(due, "job-0", domain.ExportRunning, before),
			domain.Plan{Ops: []domain.Op{wmOp(domain.OpExportCheck, domain.Op{RemoteID: fxMailboxID, JobID: "job-0"})},
				Next: withExport(due, "job-0", domain.ExportRunning, before)}},
		{"delete due, the export failed: the mailbox is kept", fxWorkMailExporting(14), failed,
			domain.Plan{Next: failed, Reason: domain.ReasonExportFailed + ": job job-1 FAILED (Mailbox export failed); the mailbox is kept until the export is re-armed (idsync workmail export --person)"}},
		{"delete due, the start was refused: the mailbox is kept", fxWorkMailExporting(14), refused,
			domain.Plan{Next: refused, Reason: domain.ReasonExportFailed + ": no job FAILED (" + refused.ExportReason + "); the mailbox is kept until the export is re-armed (idsync workmail export --person)"}},
		{"delete due, the export was cancelled: the mailbox is kept", fxWorkMailExporting(14), cancelled,
			domain.Plan{Next: cancelled, Reason: domain.ReasonExportFailed + ": job job-1 CANCELLED; the mailbox is kept until the export is re-armed (idsync workmail export --person)"}},
		{"without exportTo the delete is not held", fxWorkMailDeleting(14), due,
			domain.Plan{Ops: []domain.Op{wmOp(domain.OpDelete, domain.Op{RemoteID: fxMailboxID})}, Next: deleted}},
		{"exportTo with the disable policy is not an export (rejected by Validate)", func() domain.WorkMailConfig {
			c := fxWorkMailExporting(0)
			c.OnLeave.Action, c.OnLeave.DeleteAfterDays = domain.LeaveDisable, 0
			return c
		}(), due, domain.Plan{Next: due, Reason: domain.ReasonAlreadyLeft}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := domain.PlanWorkMail(tt.cfg, "example.com", leaver, tt.last, now)
			if err != nil {
				t.Fatalf("PlanWorkMail: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
		})
	}
}

// TestExportClientToken: the token of a due delete depends on the mailbox,
// its disable time, the attempt and the destination, and on nothing else
// (neither the event nor the planning clock), and fits the API model
// (1–128 of [\x21-\x7e]).
func TestExportClientToken(t *testing.T) {
	at := fxAt(10)
	x := fxExportTo()
	base := domain.ExportClientToken(fxMailboxID, at, x)
	if base != domain.ExportClientToken(fxMailboxID, at.In(time.FixedZone("CEST", 7200)), x) {
		t.Error("the same disable instant in another zone gives another token")
	}
	other := x
	other.Prefix = "elsewhere"
	for name, tok := range map[string]string{
		"mailbox":     domain.ExportClientToken("b1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d", at, x),
		"disable":     domain.ExportClientToken(fxMailboxID, at.Add(time.Second), x),
		"destination": domain.ExportClientToken(fxMailboxID, at, other),
		"bulk":        domain.BulkExportClientToken(fxMailboxID, at, x),
	} {
		if tok == base {
			t.Errorf("another %s gives the same token", name)
		}
	}
	for _, tok := range []string{base, domain.BulkExportClientToken(fxMailboxID, at, x)} {
		if len(tok) < 1 || len(tok) > 128 || strings.ContainsFunc(tok, func(r rune) bool { return r < 0x21 || r > 0x7e }) {
			t.Errorf("token %q does not fit IdempotencyClientToken", tok)
		}
	}
	// The plans of one due delete made at different times by different
	// events carry the same token.
	disabled := fxMailboxDisabled(at)
	cfg := fxWorkMailExporting(0)
	var tokens []string
	for i, p := range []domain.Person{fxJane(nil, fxMail), fxFold(fxJane(nil, fxMail), fxFact(domain.KindDeactivated, 99, "later"))} {
		plan, err := domain.PlanWorkMail(cfg, "example.com", p, disabled, fxAt(100+i*50))
		if err != nil || len(plan.Ops) != 1 || plan.Ops[0].Kind != domain.OpExportStart {
			t.Fatalf("plan %d: %+v, %v", i, plan, err)
		}
		tokens = append(tokens, plan.Ops[0].ClientToken)
	}
	if tokens[0] != tokens[1] || tokens[0] != domain.ExportClientToken(fxMailboxID, at, x) {
		t.Errorf("tokens %q", tokens)
	}
}

// TestPlanWorkMailFrozen: a frozen organisation creates nothing, and still
// disables, exports and deletes leavers, updates and re-enables existing
// mailboxes.
func TestPlanWorkMailFrozen(t *testing.T) {
	now := fxAt(24 * 60)
	frozen := fxWorkMailExporting(14)
	frozen.Mode = domain.WorkMailFrozen
	member := fxJane([]domain.GroupRef{fxMail})
	leaver := fxJane(nil, fxMail)
	deleted := domain.TargetState{Target: domain.TargetWorkMail, Managed: true, Status: domain.RemoteDeleted, Version: 3}
	intent := domain.TargetState{Target: domain.TargetWorkMail, PendingName: "jane.doe", PendingAt: fxAt(1), Version: 1}
	renamed := fxFold(member, fxFact(domain.KindProfileChanged, 10, "ren",
		withProfile(domain.Profile{LastName: ptr("Smith"), DisplayName: ptr("Jane Smith")})))
	tests := []struct {
		name   string
		person domain.Person
		last   domain.TargetState
		want   []domain.OpKind
		reason string
	}{
		{"joiner: nothing", member, domain.TargetState{}, nil, domain.ReasonFrozen + ": workmail.mode is frozen; no new mailboxes"},
		{"rejoin after deletion: nothing", member, deleted, nil, domain.ReasonFrozen + ": workmail.mode is frozen; no new mailboxes"},
		{"create intent from before the freeze: not resumed", member, intent, nil, domain.ReasonFrozen + ": workmail.mode is frozen; no new mailboxes"},
		{"login unknown: frozen first", fxFold(domain.Person{}, fxFact(domain.KindMemberAdded, 0, "hook", withGroup(fxMail), withSubject(domain.Subject{OktaID: fxOkta}))),
			domain.TargetState{}, nil, domain.ReasonFrozen + ": workmail.mode is frozen; no new mailboxes"},
		{"leaver: disabled", leaver, fxMailbox(), []domain.OpKind{domain.OpDisable}, ""},
		{"leaver due: exported", leaver, fxMailboxDisabled(now.Add(-15 * 24 * time.Hour)), []domain.OpKind{domain.OpExportStart}, ""},
		{"leaver exported: deleted", leaver, withExport(fxMailboxDisabled(now.Add(-15*24*time.Hour)), "j", domain.ExportCompleted, now),
			[]domain.OpKind{domain.OpDelete}, ""},
		{"rejoin of a disabled mailbox: re-enabled", member, fxMailboxDisabled(now.Add(-time.Hour)), []domain.OpKind{domain.OpEnable}, ""},
		{"profile change: updated", renamed, fxMailbox(), []domain.OpKind{domain.OpUpdateAttributes}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := domain.PlanWorkMail(frozen, "example.com", tt.person, tt.last, now)
			if err != nil {
				t.Fatal(err)
			}
			var kinds []domain.OpKind
			for _, op := range got.Ops {
				kinds = append(kinds, op.Kind)
			}
			if diff := cmp.Diff(tt.want, kinds, cmpopts.EquateEmpty()); diff != "" || got.Reason != tt.reason {
				t.Errorf("ops (-want +got):\n%s\nreason %q, want %q", diff, got.Reason, tt.reason)
			}
			if len(got.Ops) == 0 && !got.Next.Equal(tt.last) {
				t.Errorf("an empty plan changes the state: %+v", got.Next)
			}
		})
	}
}

func TestMailboxExportToCheck(t *testing.T) {
	if err := fxExportTo().Check("exportTo"); err != nil {
		t.Errorf("valid destination: %v", err)
	}
	err := domain.MailboxExportTo{Bucket: "b"}.Check("exportTo")
	var ce *domain.ConfigError
	if !errors.Is(err, domain.ErrInvalidConfig) || !errors.As(err, &ce) ||
		!strings.Contains(err.Error(), "exportTo.prefix") || !strings.Contains(err.Error(), "exportTo.kmsKeyArn") || !strings.Contains(err.Error(), "exportTo.roleArn") {
		t.Errorf("Check = %v", err)
	}
}
