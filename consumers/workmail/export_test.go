package workmail_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idsync/idsync/consumers"
	"github.com/idsync/idsync/consumers/workmail"
	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/awsclient"
	"github.com/idsync/idsync/internal/sim/simworkmail"
)

// fakeClock is a settable clock shared by the stand-in (its export jobs
// run on it) and the Applier.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func exportTo() domain.MailboxExportTo {
	return domain.MailboxExportTo{
		Bucket: "idsync-mail-export", Prefix: "workmail/leavers",
		KMSKeyARN: "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
		RoleARN:   "arn:aws:iam::123456789012:role/idsync-workmail-export",
	}
}

// exportFixture is a stand-in on a fake clock (jobs of an hour, objects
// written under a temporary directory) and an Applier exporting leavers'
// mailboxes 14 days after the disable, on the same clock.
type exportFixture struct {
	*fixture
	clock *fakeClock
	dir   string
	a     *workmail.Applier
	cfg   domain.WorkMailConfig
}

func newExportFixture(t *testing.T, o simworkmail.Options, mod func(*domain.WorkMailConfig)) *exportFixture {
	t.Helper()
	clk := &fakeClock{t: t0}
	dir := t.TempDir()
	o.Clock, o.ExportDir = clk.Now, dir
	if o.Export.Duration == 0 {
		o.Export.Duration = time.Hour
	}
	f := setup(t, o)
	cfg := f.cfg
	x := exportTo()
	cfg.OnLeave = domain.WorkMailLeave{Action: domain.LeaveDelete, DeleteAfterDays: 14, ExportTo: &x}
	if mod != nil {
		mod(&cfg)
	}
	return &exportFixture{fixture: f, clock: clk, dir: dir, cfg: cfg, a: f.applier(t, cfg, workmail.Options{Clock: clk.Now})}
}

// leave creates Jane's mailbox, disables it (she is deactivated) and moves
// the clock to the day the delete is due; it returns her person and the
// disabled mailbox's state.
func (f *exportFixture) leave(t *testing.T) (domain.Person, domain.TargetState) {
	t.Helper()
	_, s, _ := step(t, f.a, person(t, "jane_01_observed"), domain.TargetState{}, f.clock.Now())
	p := person(t, "jane_01_observed", "jane_07_deactivated")
	f.clock.Advance(time.Hour)
	plan, s, _ := step(t, f.a, p, s, f.clock.Now())
	if got := kinds(plan.Ops); len(got) != 1 || got[0] != domain.OpDisable {
		t.Fatalf("leave: ops %v, want disable", got)
	}
	f.clock.Advance(14 * 24 * time.Hour)
	return p, s
}

// plan plans p from last and fails the test unless the ops are want.
func (f *exportFixture) plan(t *testing.T, p domain.Person, last domain.TargetState, want ...domain.OpKind) domain.Plan {
	t.Helper()
	plan, err := f.a.Plan(context.Background(), p, last, f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if got := kinds(plan.Ops); strings.Join(opStrings(got), ",") != strings.Join(opStrings(want), ",") {
		t.Fatalf("ops %v (reason %q), want %v", got, plan.Reason, want)
	}
	return plan
}

func opStrings(ks []domain.OpKind) []string {
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = string(k)
	}
	return out
}

// TestDueDeleteExportsFirstAndDeletesOnlyAfterCompleted follows a leaver
// through the stand-in: when the delete is due the mailbox is exported
// (StartMailboxExportJob with the due delete's ClientToken), the running
// job is followed without waiting for it, and the mailbox is deleted only
// once the job COMPLETED and its object exists.
func TestDueDeleteExportsFirstAndDeletesOnlyAfterCompleted(t *testing.T) {
	f := newExportFixture(t, simworkmail.Options{ExportDisabled: true}, nil)
	p, s := f.leave(t)
	id := s.RemoteID

	plan := f.plan(t, p, s, domain.OpExportStart)
	if want := domain.ExportClientToken(id, s.DisabledAt, exportTo()); plan.Ops[0].ClientToken != want {
		t.Errorf("ClientToken %q, want %q", plan.Ops[0].ClientToken, want)
	}
	s, res, err := consumers.Execute(context.Background(), f.a, p, s, plan, f.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	jobs := f.sim.ExportJobs(f.org)
	if len(jobs) != 1 || jobs[0].EntityID != id || jobs[0].ClientToken != plan.Ops[0].ClientToken || jobs[0].S3BucketName != "idsync-mail-export" ||
		jobs[0].S3Prefix != "workmail/leavers" || jobs[0].RoleArn != exportTo().RoleARN || jobs[0].KmsKeyArn != exportTo().KMSKeyARN {
		t.Fatalf("jobs %+v", jobs)
	}
	if s.ExportJobID != jobs[0].JobID || s.ExportState != domain.ExportRunning || !s.ExportStartedAt.Equal(f.clock.Now()) ||
		s.Status != domain.RemoteDisabled || s.RemoteID != id {
		t.Errorf("state after the start %+v", s)
	}
	if !strings.Contains(res[0].Reason, "export job "+jobs[0].JobID+" started") {
		t.Errorf("note %q", res[0].Reason)
	}

	// Half way: still RUNNING; the op records the progress and returns.
	f.clock.Advance(30 * time.Minute)
	plan = f.plan(t, p, s, domain.OpExportCheck)
	s, res, err = consumers.Execute(context.Background(), f.a, p, s, plan, f.clock.Now)
	if err != nil || s.ExportState != domain.ExportRunning || s.ExportProgress != 50 || res[0].Reason != "export job "+s.ExportJobID+" RUNNING, 50%" {
		t.Fatalf("check: %v, state %+v, note %q", err, s, res[0].Reason)
	}
	if u := f.user(t, id); u.State != simworkmail.StateDisabled {
		t.Fatalf("user %s while exporting, want DISABLED", u.State)
	}

	f.clock.Advance(31 * time.Minute)
	plan = f.plan(t, p, s, domain.OpExportCheck)
	s, res, err = consumers.Execute(context.Background(), f.a, p, s, plan, f.clock.Now)
	wantPath := "idsync-mail-export/workmail/leavers/" + s.ExportJobID + ".zip"
	if err != nil || s.ExportState != domain.ExportCompleted || s.ExportProgress != 100 || s.ExportPath != wantPath {
		t.Fatalf("completed: %v, state %+v", err, s)
	}
	if !strings.Contains(res[0].Reason, "COMPLETED: "+wantPath) {
		t.Errorf("note %q", res[0].Reason)
	}
	if _, err := os.Stat(filepath.Join(f.dir, filepath.FromSlash(wantPath))); err != nil {
		t.Fatalf("exported object: %v", err)
	}
	if u := f.user(t, id); u.State != simworkmail.StateDisabled {
		t.Fatalf("user %s before the delete, want DISABLED", u.State)
	}

	plan = f.plan(t, p, s, domain.OpDelete)
	s, _, err = consumers.Execute(context.Background(), f.a, p, s, plan, f.clock.Now)
	if err != nil || s.Status != domain.RemoteDeleted {
		t.Fatalf("delete: %v, %+v", err, s)
	}
	if u := f.user(t, id); u.State != simworkmail.StateDeleted {
		t.Fatalf("user %s, want DELETED", u.State)
	}
	if n := len(f.sim.ExportJobs(f.org)); n != 1 {
		t.Errorf("%d export jobs, want 1", n)
	}
	f.plan(t, p, s) // nothing left to do
}

// TestFailedExportKeepsTheMailbox: a job that ends FAILED is a permanent
// error with the job's reason (without addresses); the state remembers
// it, so the next plans hold the delete instead of starting again, and
// the mailbox stays.
func TestFailedExportKeepsTheMailbox(t *testing.T) {
	f := newExportFixture(t, simworkmail.Options{ExportDisabled: true, Export: simworkmail.ExportFaults{
		FailureRate: 1, ErrorInfo: "Could not write s3://idsync-mail-export for jane.doe@example.com:  access   denied",
	}}, nil)
	p, s := f.leave(t)
	s, _, err := consumers.Execute(context.Background(), f.a, p, s, f.plan(t, p, s, domain.OpExportStart), f.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(31 * time.Minute) // failures happen half way
	running := s
	s, res, err := consumers.Execute(context.Background(), f.a, p, s, f.plan(t, p, s, domain.OpExportCheck), f.clock.Now)
	if !errors.Is(err, workmail.ErrExportFailed) || domain.KindOf(err) != domain.ErrorPermanent {
		t.Fatalf("check: %v, want a permanent ErrExportFailed", err)
	}
	wantReason := "Could not write s3://idsync-mail-export for <address> access denied"
	if !strings.Contains(err.Error(), "export job "+running.ExportJobID+" FAILED ("+wantReason+"); the mailbox is kept") ||
		strings.Contains(err.Error(), "jane.doe@") || strings.Contains(res[0].Reason, "jane.doe@") {
		t.Errorf("error %q", err)
	}
	if s.ExportState != domain.ExportFailed || s.ExportJobID != running.ExportJobID || s.ExportReason != wantReason ||
		!s.ExportStartedAt.Equal(running.ExportStartedAt) || s.Status != domain.RemoteDisabled {
		t.Errorf("state %+v, want the failure remembered", s)
	}
	plan := f.plan(t, p, s)
	if !strings.HasPrefix(plan.Reason, domain.ReasonExportFailed+": job "+s.ExportJobID+" FAILED") {
		t.Errorf("reason %q", plan.Reason)
	}
	f.clock.Advance(48 * time.Hour)
	f.plan(t, p, s) // still held, days later
	if u := f.user(t, s.RemoteID); u.State != simworkmail.StateDisabled {
		t.Errorf("user %s, want the mailbox kept", u.State)
	}
	if n := len(f.sim.ExportJobs(f.org)); n != 1 {
		t.Errorf("%d export jobs, want 1", n)
	}
}

// TestRetriedExportStartStartsNoSecondJob: the start's commit is lost (a
// crash after StartMailboxExportJob answered); the retry plans again from
// the stored state, later and from another event, with the same
// ClientToken, and WorkMail answers the first job instead of starting a
// second one.
func TestRetriedExportStartStartsNoSecondJob(t *testing.T) {
	f := newExportFixture(t, simworkmail.Options{ExportDisabled: true}, nil)
	p, s := f.leave(t)
	first, _, err := consumers.Execute(context.Background(), f.a, p, s, f.plan(t, p, s, domain.OpExportStart), f.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(10 * time.Minute)
	later := person(t, "jane_01_observed", "jane_07_deactivated", "jane_02_profile_changed")
	again, _, err := consumers.Execute(context.Background(), f.a, later, s, f.plan(t, later, s, domain.OpExportStart), f.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	if again.ExportJobID != first.ExportJobID {
		t.Errorf("retry recorded job %s, want %s", again.ExportJobID, first.ExportJobID)
	}
	if jobs := f.sim.ExportJobs(f.org); len(jobs) != 1 {
		t.Errorf("%d export jobs, want 1: %+v", len(jobs), jobs)
	}
	if n := f.sim.Control().Counters()["StartMailboxExportJob"].Requests; n != 2 {
		t.Errorf("StartMailboxExportJob sent %d times, want 2 (the retry replays the token)", n)
	}
}

// TestExportLimitIsRetryable: LimitExceededException from
// StartMailboxExportJob (the organisation's concurrent jobs, or the
// mailbox's 24 hours) is retryable, unlike the code's other meaning (a
// quota); nothing is recorded, so the next plan starts again.
func TestExportLimitIsRetryable(t *testing.T) {
	f := newExportFixture(t, simworkmail.Options{ExportDisabled: true, ExportConcurrency: 1}, nil)
	p, s := f.leave(t)
	other, err := f.sim.SeedUser(f.org, "other", "other@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := workmail.StartExport(context.Background(), f.client, f.org, other, "someone-else", exportTo(), ""); err != nil {
		t.Fatal(err)
	}
	plan := f.plan(t, p, s, domain.OpExportStart)
	got, res, err := consumers.Execute(context.Background(), f.a, p, s, plan, f.clock.Now)
	if !errors.Is(err, workmail.ErrExportLimit) || domain.KindOf(err) != domain.ErrorRetryable {
		t.Fatalf("start at the limit: %v (%v), want a retryable ErrExportLimit", err, domain.KindOf(err))
	}
	var ce *awsclient.CallError
	if !errors.As(err, &ce) || ce.Code != "LimitExceededException" || !strings.Contains(res[0].Reason, "LimitExceededException") {
		t.Errorf("error %v does not carry the call", err)
	}
	if !got.Equal(s) {
		t.Errorf("state changed: %+v", got)
	}
	if n := f.sim.Control().Counters()["StartMailboxExportJob"].Requests; n != 2 {
		t.Errorf("StartMailboxExportJob sent %d times, want once each (the client's retryer does not retry a limit)", n)
	}
	f.clock.Advance(2 * time.Hour) // the other job is done
	if s, _, err = consumers.Execute(context.Background(), f.a, p, s, f.plan(t, p, s, domain.OpExportStart), f.clock.Now); err != nil || s.ExportState != domain.ExportRunning {
		t.Fatalf("start after the limit: %v, %+v", err, s)
	}
}

// TestExportOfADisabledMailboxRefused: whether WorkMail exports a
// deregistered mailbox is not published, and the stand-in's default
// refuses it (InvalidParameterException). The refusal is permanent and
// remembered: the mailbox is kept and nothing is retried until an
// operator re-arms the export.
func TestExportOfADisabledMailboxRefused(t *testing.T) {
	f := newExportFixture(t, simworkmail.Options{}, nil)
	p, s := f.leave(t)
	s, _, err := consumers.Execute(context.Background(), f.a, p, s, f.plan(t, p, s, domain.OpExportStart), f.clock.Now)
	if !errors.Is(err, workmail.ErrExportFailed) || domain.KindOf(err) != domain.ErrorPermanent || !strings.Contains(err.Error(), "InvalidParameterException") {
		t.Fatalf("start: %v", err)
	}
	if s.ExportState != domain.ExportFailed || s.ExportJobID != "" || !strings.HasPrefix(s.ExportReason, "start refused: workmail StartMailboxExportJob: InvalidParameterException") {
		t.Errorf("state %+v", s)
	}
	f.plan(t, p, s)
	if u := f.user(t, s.RemoteID); u.State != simworkmail.StateDisabled {
		t.Errorf("user %s, want the mailbox kept", u.State)
	}
	if n := f.sim.Control().Counters()["StartMailboxExportJob"].Requests; n != 1 {
		t.Errorf("StartMailboxExportJob sent %d times", n)
	}
}

// TestExportCheckOfAnotherMailboxOrAnUnknownJob: a recorded job that
// WorkMail does not know, or that exports another mailbox, is a permanent
// failure and remembered.
func TestExportCheckOfAnotherMailboxOrAnUnknownJob(t *testing.T) {
	f := newExportFixture(t, simworkmail.Options{ExportDisabled: true}, nil)
	p, s := f.leave(t)
	other, err := f.sim.SeedUser(f.org, "other", "other@example.com")
	if err != nil {
		t.Fatal(err)
	}
	job, err := workmail.StartExport(context.Background(), f.client, f.org, other, "someone-else", exportTo(), "")
	if err != nil {
		t.Fatal(err)
	}
	for name, id := range map[string]string{"another mailbox's": job, "unknown": "00000000-0000-4000-8000-00000000dead"} {
		last := s
		last.ExportJobID, last.ExportState, last.ExportStartedAt = id, domain.ExportRunning, f.clock.Now()
		got, _, err := consumers.Execute(context.Background(), f.a, p, last, f.plan(t, p, last, domain.OpExportCheck), f.clock.Now)
		if !errors.Is(err, workmail.ErrExportFailed) || domain.KindOf(err) != domain.ErrorPermanent || got.ExportState != domain.ExportFailed {
			t.Errorf("%s job: %v, state %+v", name, err, got)
		}
	}
}

// TestFrozenCreatesNothingAndStillDisablesLeavers: with workmail.mode
// frozen a joiner gets no mailbox (an empty plan saying why, no write
// call), a leaver's mailbox is still disabled, and a rejoin of a disabled
// mailbox re-enables it (not a new mailbox).
func TestFrozenCreatesNothingAndStillDisablesLeavers(t *testing.T) {
	f := newExportFixture(t, simworkmail.Options{ExportDisabled: true}, nil)
	_, jane, _ := step(t, f.a, person(t, "jane_01_observed"), domain.TargetState{}, f.clock.Now())
	frozenCfg := f.cfg
	frozenCfg.Mode = domain.WorkMailFrozen
	frozen := f.applier(t, frozenCfg, workmail.Options{Clock: f.clock.Now})
	before := f.writes()

	john := person(t, "john_01_member_added")
	plan, err := frozen.Plan(context.Background(), john, domain.TargetState{}, f.clock.Now())
	if err != nil || len(plan.Ops) != 0 || plan.Reason != domain.ReasonFrozen+": workmail.mode is frozen; no new mailboxes" {
		t.Fatalf("joiner while frozen: %+v, %v", plan, err)
	}
	if n := f.writes(); n != before || len(f.live()) != 1 {
		t.Fatalf("%d write calls, %d users; want none made", n-before, len(f.live()))
	}

	p := person(t, "jane_01_observed", "jane_07_deactivated")
	plan, jane, _ = step(t, frozen, p, jane, f.clock.Now())
	if got := kinds(plan.Ops); len(got) != 1 || got[0] != domain.OpDisable {
		t.Fatalf("leaver while frozen: %v", got)
	}
	if u := f.user(t, jane.RemoteID); u.State != simworkmail.StateDisabled {
		t.Fatalf("leaver's mailbox %s, want DISABLED", u.State)
	}
	back := person(t, "jane_01_observed", "jane_07_deactivated", "jane_08_reactivated")
	plan, jane, _ = step(t, frozen, back, jane, f.clock.Now())
	if got := kinds(plan.Ops); len(got) != 1 || got[0] != domain.OpEnable {
		t.Fatalf("rejoin while frozen: %v", got)
	}
	if u := f.user(t, jane.RemoteID); u.State != simworkmail.StateEnabled || len(f.live()) != 1 {
		t.Fatalf("rejoined mailbox %s, %d users", u.State, len(f.live()))
	}
	if n := f.sim.Control().Counters()["CreateUser"].Requests; n != 1 {
		t.Errorf("CreateUser sent %d times, want only Jane's before the freeze", n)
	}
}

func TestExportReason(t *testing.T) {
	for in, want := range map[string]string{
		"":                                      "",
		"  Mailbox\texport failed \n":           "Mailbox export failed",
		"no access for ana@example.com, sorry":  "no access for <address> sorry",
		strings.Repeat("é", 200):                strings.Repeat("é", 128),
		"s3://bucket/prefix/user@corp/job.zip":  "<address>",
		"Failed: KMS key arn:aws:kms:r:1:key/k": "Failed: KMS key arn:aws:kms:r:1:key/k",
	} {
		if got := workmail.ExportReason(in); got != want {
			t.Errorf("ExportReason(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestListExports reads every page.
func TestListExports(t *testing.T) {
	f := setup(t, simworkmail.Options{NoExportInterval: true, ExportConcurrency: 200, ExportDisabled: true})
	var ids []string
	for i := range 120 {
		u, err := f.sim.SeedUser(f.org, "u"+string(rune('a'+i%26))+strings.Repeat("x", i/26), "")
		if err != nil {
			t.Fatal(err)
		}
		j, err := workmail.StartExport(context.Background(), f.client, f.org, u, "t-"+u, exportTo(), "")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, j)
	}
	jobs, err := workmail.ListExports(context.Background(), f.client, f.org)
	if err != nil || len(jobs) != 120 {
		t.Fatalf("ListExports: %d jobs, %v", len(jobs), err)
	}
	seen := map[string]bool{}
	for _, j := range jobs {
		seen[j.ID] = j.State == domain.ExportRunning && j.EntityID != ""
	}
	for _, id := range ids {
		if !seen[id] {
			t.Errorf("job %s missing or incomplete", id)
		}
	}
}
