package consumers_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	sdk "github.com/aws/aws-sdk-go-v2/service/workmail"

	"github.com/idsync/idsync/consumers"
	"github.com/idsync/idsync/consumers/workmail"
	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/awsclient"
	"github.com/idsync/idsync/internal/sim/simworkmail"
	"github.com/idsync/idsync/internal/testenv"
)

// stepClock is a settable clock shared by the runner, the WorkMail target
// and the stand-in, whose export jobs run on it.
type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *stepClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// exportSetup is a WorkMail runner over fresh tables and queues and a
// stand-in whose export jobs take an hour on the shared clock; leavers'
// mailboxes are exported 14 days after the disable, then deleted.
type exportSetup struct {
	b      backend
	sim    *simworkmail.Server
	client *sdk.Client
	org    string
	clock  *stepClock
	wm     *workmail.Applier
	r      *consumers.Runner
	n      int // events sent so far
}

func newExportSetup(t *testing.T, o simworkmail.Options, mode domain.WorkMailMode) *exportSetup {
	t.Helper()
	clk := &stepClock{t: base.Add(time.Hour)}
	o.NoQuota, o.Seed, o.Clock, o.ExportDir = true, 5, clk.Now, t.TempDir()
	if o.Export.Duration == 0 {
		o.Export.Duration = time.Hour
	}
	sim := simworkmail.New(o)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	org := sim.AddOrganization("export", "example.com")
	cfg, err := awsclient.Config(testenv.Context(t), awsclient.Options{
		Local: true, MaxAttempts: 3, MaxBackoff: 5 * time.Millisecond, NoRetryRateLimit: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	client := awsclient.WorkMail(cfg, srv.URL)
	wm, err := workmail.New(workmail.Options{API: client, Clock: clk.Now, Config: domain.WorkMailConfig{
		OrganizationID: org, Groups: []domain.GroupRef{{OktaID: group}}, Mode: mode,
		OnLeave: domain.WorkMailLeave{Action: domain.LeaveDelete, DeleteAfterDays: 14, ExportTo: &domain.MailboxExportTo{
			Bucket: "idsync-mail-export", Prefix: "leavers",
			KMSKeyARN: "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
			RoleARN:   "arn:aws:iam::123456789012:role/idsync-workmail-export",
		}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	b := newBackend(t)
	return &exportSetup{b: b, sim: sim, client: client, org: org, clock: clk, wm: wm,
		r: b.runner(t, wm, consumers.RunnerOptions{Clock: clk.Now})}
}

// deliver hands the runner one new event about who (each a new fact, as
// the snapshot's reconciliation or a hook would bring) and returns the
// batch item failures.
func (s *exportSetup) deliver(t *testing.T, r *consumers.Runner, who string, kind domain.Kind) ([]string, events.SQSMessage) {
	t.Helper()
	s.n++
	rec := record(t, who+"-"+string(kind)+"-"+string(rune('a'+s.n)), event(who, kind, s.n))
	resp, err := r.Handle(testenv.Context(t), events.SQSEvent{Records: []events.SQSMessage{rec}})
	if err != nil {
		t.Fatal(err)
	}
	return failures(resp), rec
}

// mustDeliver delivers and fails the test unless the record is settled.
func (s *exportSetup) mustDeliver(t *testing.T, who string, kind domain.Kind) events.SQSMessage {
	t.Helper()
	f, rec := s.deliver(t, s.r, who, kind)
	if len(f) != 0 {
		t.Fatalf("%s %s: returned for redelivery", who, kind)
	}
	return rec
}

// leaver joins who, disables the mailbox when they leave and moves the
// clock to the day its delete is due; it returns the mailbox id.
func (s *exportSetup) leaver(t *testing.T, who string) string {
	t.Helper()
	s.mustDeliver(t, who, domain.KindMemberAdded)
	s.clock.Advance(time.Hour)
	s.mustDeliver(t, who, domain.KindMemberRemoved)
	st := s.state(t, who)
	if st.Status != domain.RemoteDisabled {
		t.Fatalf("after the leave: %+v", st)
	}
	s.clock.Advance(14 * 24 * time.Hour)
	return st.RemoteID
}

func (s *exportSetup) state(t *testing.T, who string) domain.TargetState {
	t.Helper()
	rec, err := s.b.st.Person(testenv.Context(t), who)
	if err != nil {
		t.Fatal(err)
	}
	return rec.Target(domain.TargetWorkMail)
}

func (s *exportSetup) user(t *testing.T, id string) simworkmail.User {
	t.Helper()
	for _, u := range s.sim.Users(s.org) {
		if u.UserID == id {
			return u
		}
	}
	t.Fatalf("no user %s", id)
	return simworkmail.User{}
}

// TestRunnerExportsBeforeTheDueDelete: through the runner, on DynamoDB
// Local, a due delete is an export first: each step (start, checks while
// RUNNING, COMPLETED) is an acknowledged, committed op with its ledger
// row, and the delete follows only once the job COMPLETED.
func TestRunnerExportsBeforeTheDueDelete(t *testing.T) {
	s := newExportSetup(t, simworkmail.Options{ExportDisabled: true}, "")
	id := s.leaver(t, "00uexport")

	s.mustDeliver(t, "00uexport", domain.KindMemberRemoved)
	st := s.state(t, "00uexport")
	jobs := s.sim.ExportJobs(s.org)
	if len(jobs) != 1 || st.ExportJobID != jobs[0].JobID || st.ExportState != domain.ExportRunning || st.Status != domain.RemoteDisabled {
		t.Fatalf("after the start: state %+v, jobs %+v", st, jobs)
	}
	s.clock.Advance(20 * time.Minute)
	s.mustDeliver(t, "00uexport", domain.KindMemberRemoved)
	if st = s.state(t, "00uexport"); st.ExportState != domain.ExportRunning || st.ExportProgress != 33 {
		t.Fatalf("while running: %+v", st)
	}
	if u := s.user(t, id); u.State != simworkmail.StateDisabled {
		t.Fatalf("mailbox %s while exporting", u.State)
	}
	s.clock.Advance(time.Hour)
	s.mustDeliver(t, "00uexport", domain.KindMemberRemoved)
	if st = s.state(t, "00uexport"); st.ExportState != domain.ExportCompleted || st.ExportPath != "idsync-mail-export/leavers/"+jobs[0].JobID+".zip" {
		t.Fatalf("completed: %+v", st)
	}
	if u := s.user(t, id); u.State != simworkmail.StateDisabled {
		t.Fatalf("mailbox %s before the delete", u.State)
	}
	s.mustDeliver(t, "00uexport", domain.KindMemberRemoved)
	if st = s.state(t, "00uexport"); st.Status != domain.RemoteDeleted {
		t.Fatalf("after the delete: %+v", st)
	}
	if u := s.user(t, id); u.State != simworkmail.StateDeleted {
		t.Fatalf("mailbox %s, want DELETED", u.State)
	}
	rows := ledgerRows(t, s.b.st, "00uexport")
	want := "applied:create applied:register applied:disable applied:export-start applied:export-check applied:export-check applied:delete"
	if got := outcomes(rows); got != want {
		t.Fatalf("ledger %q\nwant   %q", got, want)
	}
	for _, r := range rows {
		if r.Op == domain.OpExportStart && (r.RemoteID != id || r.Reason != "export job "+jobs[0].JobID+" started") {
			t.Errorf("export-start row %+v", r)
		}
		if r.Op == domain.OpExportCheck && !strings.HasPrefix(r.Reason, "export job "+jobs[0].JobID) {
			t.Errorf("export-check row %+v", r)
		}
	}
	if got := s.b.dlqReasons(t); len(got) != 0 {
		t.Errorf("DLQ holds %v", got)
	}
}

// TestRunnerFailedExportIsDeadLetteredAndKeepsTheMailbox: a FAILED job is
// a permanent failure: dead-lettered with its reason, recorded in the
// state, and the mailbox stays; later events about the person are
// skipped with the reason instead of exporting (or dead-lettering) again.
func TestRunnerFailedExportIsDeadLetteredAndKeepsTheMailbox(t *testing.T) {
	s := newExportSetup(t, simworkmail.Options{ExportDisabled: true, Export: simworkmail.ExportFaults{
		FailureRate: 1, ErrorInfo: "Access denied writing to the bucket",
	}}, "")
	id := s.leaver(t, "00ufailed")
	s.mustDeliver(t, "00ufailed", domain.KindMemberRemoved)
	job := s.state(t, "00ufailed").ExportJobID
	s.clock.Advance(31 * time.Minute)
	rec := s.mustDeliver(t, "00ufailed", domain.KindMemberRemoved)

	reason := s.b.dlqReasons(t)[rec.Body]
	want := "apply: workmail mailbox export failed: mailbox " + id + ": export job " + job + " FAILED (Access denied writing to the bucket); the mailbox is kept"
	if reason != want {
		t.Errorf("DLQ reason %q\nwant       %q", reason, want)
	}
	st := s.state(t, "00ufailed")
	if st.ExportState != domain.ExportFailed || st.ExportReason != "Access denied writing to the bucket" || st.Status != domain.RemoteDisabled {
		t.Errorf("state %+v", st)
	}
	s.clock.Advance(24 * time.Hour)
	s.mustDeliver(t, "00ufailed", domain.KindMemberRemoved)
	rows := ledgerRows(t, s.b.st, "00ufailed")
	last := rows[len(rows)-1]
	if last.Outcome != domain.OutcomeSkipped || !strings.HasPrefix(last.Reason, "no change: "+domain.ReasonExportFailed+": job "+job+" FAILED") {
		t.Errorf("last row %+v, want a skip naming the failure", last)
	}
	if u := s.user(t, id); u.State != simworkmail.StateDisabled {
		t.Errorf("mailbox %s, want kept", u.State)
	}
	if n := len(s.sim.ExportJobs(s.org)); n != 1 {
		t.Errorf("%d jobs, want 1", n)
	}
	if got := s.b.dlqReasons(t); len(got) != 0 {
		t.Errorf("dead-lettered again: %v", got)
	}
}

// TestRunnerRetriedExportStartsOneJob: the consumer dies after
// StartMailboxExportJob answered and before its commit; the redelivered
// record plans the same start with the same ClientToken, and WorkMail
// answers the first job: one job, recorded.
func TestRunnerRetriedExportStartsOneJob(t *testing.T) {
	s := newExportSetup(t, simworkmail.Options{ExportDisabled: true}, "")
	s.leaver(t, "00ucrash")
	crashing := mustRunner(t, s, &crashingStore{Store: s.b.st, kill: true})
	failed, rec := s.deliver(t, crashing, "00ucrash", domain.KindMemberRemoved)
	if len(failed) != 1 {
		t.Fatal("the lost commit must be retried")
	}
	if st := s.state(t, "00ucrash"); st.ExportJobID != "" {
		t.Fatalf("the crash left %+v", st)
	}
	s.clock.Advance(5 * time.Minute)
	resp, err := crashing.Handle(testenv.Context(t), events.SQSEvent{Records: []events.SQSMessage{rec}})
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("redelivery: %v %v", err, failures(resp))
	}
	jobs := s.sim.ExportJobs(s.org)
	if len(jobs) != 1 {
		t.Fatalf("%d export jobs, want 1: %+v", len(jobs), jobs)
	}
	if st := s.state(t, "00ucrash"); st.ExportJobID != jobs[0].JobID || st.ExportState != domain.ExportRunning {
		t.Fatalf("state %+v, want job %s", st, jobs[0].JobID)
	}
	if n := s.sim.Control().Counters()["StartMailboxExportJob"].Requests; n != 2 {
		t.Errorf("StartMailboxExportJob sent %d times, want 2", n)
	}
}

func mustRunner(t *testing.T, s *exportSetup, st consumers.Store) *consumers.Runner {
	t.Helper()
	r, err := consumers.NewRunner(consumers.RunnerOptions{Target: s.wm, Store: st, DLQ: s.b.sqs, DLQURL: s.b.dlq.DLQURL,
		NewID: s.b.newID, Clock: s.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestRunnerExportLimitIsRetriedNotDeadLettered: at WorkMail's limit of
// concurrent export jobs the start is retried (the record comes back),
// nothing is dead-lettered, and a later delivery starts the job.
func TestRunnerExportLimitIsRetriedNotDeadLettered(t *testing.T) {
	s := newExportSetup(t, simworkmail.Options{ExportDisabled: true, ExportConcurrency: 1}, "")
	s.leaver(t, "00ulimit")
	other, err := s.sim.SeedUser(s.org, "other", "other@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := workmail.StartExport(context.Background(), s.client, s.org, other, "busy", domain.MailboxExportTo{
		Bucket: "b", Prefix: "p", KMSKeyARN: "arn:aws:kms:us-east-1:123456789012:key/k", RoleARN: "arn:aws:iam::123456789012:role/r",
	}, ""); err != nil {
		t.Fatal(err)
	}
	failed, rec := s.deliver(t, s.r, "00ulimit", domain.KindMemberRemoved)
	if len(failed) != 1 {
		t.Fatal("at the limit the record must come back for redelivery")
	}
	rows := ledgerRows(t, s.b.st, "00ulimit")
	if last := rows[len(rows)-1]; last.Outcome != domain.OutcomeFailed || !strings.HasPrefix(last.Reason, "retryable: apply: workmail mailbox export limit reached") {
		t.Errorf("last row %+v", last)
	}
	if got := s.b.dlqReasons(t); len(got) != 0 {
		t.Fatalf("dead-lettered: %v", got)
	}
	s.clock.Advance(2 * time.Hour)
	resp, err := s.r.Handle(testenv.Context(t), events.SQSEvent{Records: []events.SQSMessage{rec}})
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("redelivery: %v %v", err, failures(resp))
	}
	if st := s.state(t, "00ulimit"); st.ExportState != domain.ExportRunning {
		t.Errorf("state %+v", st)
	}
}

// TestRunnerFrozenSkipsJoinersAndDisablesLeavers: with workmail.mode
// frozen a joiner is recorded as skipped with the reason and nothing is
// created; a leaver's mailbox is still disabled.
func TestRunnerFrozenSkipsJoinersAndDisablesLeavers(t *testing.T) {
	s := newExportSetup(t, simworkmail.Options{ExportDisabled: true}, "")
	s.mustDeliver(t, "00ustays", domain.KindMemberAdded)
	id := s.state(t, "00ustays").RemoteID
	frozenCfg := domain.WorkMailConfig{OrganizationID: s.org, Groups: []domain.GroupRef{{OktaID: group}}, Mode: domain.WorkMailFrozen}
	frozen, err := workmail.New(workmail.Options{API: s.client, Config: frozenCfg, Clock: s.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	s.wm = frozen
	s.r = s.b.runner(t, frozen, consumers.RunnerOptions{Clock: s.clock.Now})

	s.mustDeliver(t, "00unewbie", domain.KindMemberAdded)
	rows := ledgerRows(t, s.b.st, "00unewbie")
	if got := outcomes(rows); got != "skipped" || rows[len(rows)-1].Reason != "no change: frozen: workmail.mode is frozen; no new mailboxes" {
		t.Errorf("joiner's ledger %q, %+v", got, rows[len(rows)-1])
	}
	if n := s.sim.Control().Counters()["CreateUser"].Requests; n != 1 {
		t.Errorf("CreateUser sent %d times, want only the member's before the freeze", n)
	}
	s.mustDeliver(t, "00ustays", domain.KindMemberRemoved)
	if u := s.user(t, id); u.State != simworkmail.StateDisabled {
		t.Errorf("leaver's mailbox %s, want DISABLED", u.State)
	}
	if len(s.sim.Users(s.org)) != 1 {
		t.Errorf("users %+v", s.sim.Users(s.org))
	}
}
