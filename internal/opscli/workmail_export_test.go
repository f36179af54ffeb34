package opscli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	sdk "github.com/aws/aws-sdk-go-v2/service/workmail"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/awsclient"
	"github.com/idsync/idsync/internal/opscli"
	"github.com/idsync/idsync/internal/sim/simworkmail"
	"github.com/idsync/idsync/internal/testenv"
	"github.com/idsync/idsync/store"
)

func bulkTo() domain.MailboxExportTo {
	return domain.MailboxExportTo{
		Bucket: "idsync-mail-export", Prefix: "shutdown",
		KMSKeyARN: "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
		RoleARN:   "arn:aws:iam::123456789012:role/idsync-workmail-export",
	}
}

// countingAPI is the WorkMail client with the starts and the
// LimitExceededException answers counted; pause, when set, is called
// once before the cancelAfter-th start is sent, cancel once after it
// returned, and listed, when set, after every ListMailboxExportJobs.
type countingAPI struct {
	*sdk.Client
	mu          sync.Mutex
	sent        int
	starts      int
	limits      int
	cancelAfter int
	pause       func()
	cancel      func()
	listed      func()
	// onLimit, when set, is called once, after the first start refused
	// with LimitExceededException.
	onLimit func()
}

func (c *countingAPI) StartMailboxExportJob(ctx context.Context, in *sdk.StartMailboxExportJobInput, opts ...func(*sdk.Options)) (*sdk.StartMailboxExportJobOutput, error) {
	c.mu.Lock()
	c.sent++
	if c.pause != nil && c.sent == c.cancelAfter {
		c.pause()
	}
	c.mu.Unlock()
	out, err := c.Client.StartMailboxExportJob(ctx, in, opts...)
	c.mu.Lock()
	c.starts++
	var hook func()
	if awsclient.ErrorCode(err) == "LimitExceededException" {
		c.limits++
		hook, c.onLimit = c.onLimit, nil
	}
	if c.cancel != nil && c.starts == c.cancelAfter {
		c.cancel()
	}
	c.mu.Unlock()
	if hook != nil {
		hook()
	}
	return out, err
}

func (c *countingAPI) ListMailboxExportJobs(ctx context.Context, in *sdk.ListMailboxExportJobsInput, opts ...func(*sdk.Options)) (*sdk.ListMailboxExportJobsOutput, error) {
	out, err := c.Client.ListMailboxExportJobs(ctx, in, opts...)
	if c.listed != nil {
		c.listed()
	}
	return out, err
}

// pausableClock is real time that can be stopped: the stand-in's export
// jobs neither progress nor end while it is paused.
type pausableClock struct {
	mu       sync.Mutex
	lost     time.Duration // time spent paused
	pausedAt time.Time
}

func (c *pausableClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.pausedAt.IsZero() {
		return c.pausedAt.Add(-c.lost)
	}
	return time.Now().Add(-c.lost)
}

func (c *pausableClock) Pause() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pausedAt.IsZero() {
		c.pausedAt = time.Now()
	}
}

func (c *pausableClock) Resume() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.pausedAt.IsZero() {
		c.lost += time.Since(c.pausedAt)
		c.pausedAt = time.Time{}
	}
}

// bulkFixture is a state table with n people who each have a managed,
// enabled mailbox in a WorkMail stand-in whose export jobs take 60 ms of
// real time and write their objects under dir.
type bulkFixture struct {
	st     *store.Store
	sim    *simworkmail.Server
	client *sdk.Client
	org    string
	dir    string
	keys   []string
	box    map[string]string // person key → mailbox id
}

func newBulkFixture(t *testing.T, n int, o simworkmail.Options) *bulkFixture {
	t.Helper()
	env := testenv.Get(t)
	db := env.DynamoDB(t)
	st, err := store.New(store.Options{
		DB:          db,
		StateTable:  env.CreateTable(t, db, store.StateTableSpec().CreateTableInput("state")),
		LedgerTable: env.CreateTable(t, db, store.LedgerTableSpec().CreateTableInput("ledger")),
	})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	o.NoQuota, o.ExportDir, o.Seed = true, dir, 11
	if o.Export.Duration == 0 {
		o.Export.Duration = 60 * time.Millisecond
	}
	sim := simworkmail.New(o)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	cfg, err := awsclient.Config(testenv.Context(t), awsclient.Options{Local: true, MaxAttempts: 3, MaxBackoff: 5 * time.Millisecond, NoRetryRateLimit: true})
	if err != nil {
		t.Fatal(err)
	}
	f := &bulkFixture{st: st, sim: sim, client: awsclient.WorkMail(cfg, srv.URL), dir: dir, box: map[string]string{}}
	f.org = sim.AddOrganization("bulk", "example.com")
	f.keys = make([]string, n)
	ids := make([]string, n)
	for i := range n {
		f.keys[i] = fmt.Sprintf("00ubulk%04d", i)
		if ids[i], err = sim.SeedUser(f.org, fmt.Sprintf("user%04d", i), fmt.Sprintf("user%04d@example.com", i)); err != nil {
			t.Fatal(err)
		}
		f.box[f.keys[i]] = ids[i]
	}
	// Seed the state in parallel: a person and a managed mailbox each.
	ctx := testenv.Context(t)
	at := time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	next := make(chan int)
	for range 8 {
		wg.Go(func() {
			for i := range next {
				login := fmt.Sprintf("user%04d@example.com", i)
				e := domain.Event{Source: domain.SourceIdCSnapshot, SourceEventID: "seed-" + f.keys[i], Kind: domain.KindMemberAdded,
					Subject: domain.Subject{OktaID: f.keys[i], Login: login}, Group: &domain.GroupRef{OktaID: "00gmail"},
					OccurredAt: at, ReceivedAt: at}
				e.ID = domain.NewEventID(e.Source, e.SourceEventID, f.keys[i], at)
				if _, err := st.Fold(ctx, e); err != nil {
					errs <- err
					continue
				}
				_, err := st.PutTarget(ctx, f.keys[i], domain.TargetState{Target: domain.TargetWorkMail, Managed: true, RemoteID: ids[i],
					Status: domain.RemoteEnabled, Name: fmt.Sprintf("user%04d", i), Email: login}, 0)
				if err != nil {
					errs <- err
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return f
}

func (f *bulkFixture) args(mod func(*opscli.ExportArgs)) opscli.ExportArgs {
	a := opscli.ExportArgs{All: true, OrganizationID: f.org, To: bulkTo(), Poll: 10 * time.Millisecond, LimitWait: 5 * time.Second}
	if mod != nil {
		mod(&a)
	}
	return a
}

// maxConcurrent is the most jobs that were RUNNING at one instant, from
// the stand-in's start and end times (a job not ended counts until now).
func maxConcurrent(jobs []simworkmail.ExportJob) int {
	type edge struct {
		at    time.Time
		delta int
	}
	var edges []edge
	for _, j := range jobs {
		edges = append(edges, edge{j.StartTime, 1})
		if !j.EndTime.IsZero() {
			edges = append(edges, edge{j.EndTime, -1})
		}
	}
	slices.SortFunc(edges, func(a, b edge) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return a.delta - b.delta // an end before a start at the same instant
	})
	n, most := 0, 0
	for _, e := range edges {
		n += e.delta
		most = max(most, n)
	}
	return most
}

// exportRows counts the ledger's export rows per person (everyone's rows
// of the day).
func exportRows(t *testing.T, st *store.Store, from time.Time) map[string]map[string]int {
	t.Helper()
	out := map[string]map[string]int{}
	q := store.AuditQuery{From: from.Add(-time.Minute), To: time.Now().Add(time.Minute), PageSize: store.MaxPageSize}
	for {
		page, err := st.Audit(testenv.Context(t), q)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Entries {
			if e.Op == "" {
				continue
			}
			if out[e.PersonKey] == nil {
				out[e.PersonKey] = map[string]int{}
			}
			out[e.PersonKey][string(e.Op)+":"+string(e.Outcome)]++
		}
		if page.Cursor == "" {
			return out
		}
		q.Cursor = page.Cursor
	}
}

// TestBulkExport300 exports 300 mailboxes with the default concurrency:
// the run is interrupted after 120 starts and resumed; WorkMail never runs
// more than 10 of the run's jobs at once (and never refuses a start for
// its limit), every mailbox is exported exactly once, every export is in
// the ledger and the state, and a third run exports nobody again.
func TestBulkExport300(t *testing.T) {
	// Jobs of 200 ms on a clock that stops at the interruption and goes on
	// once the resumed run has listed the jobs: the interrupted run's last
	// jobs still run then, and the resumed run must follow them, not start
	// new ones.
	clk := &pausableClock{}
	f := newBulkFixture(t, 300, simworkmail.Options{Clock: clk.Now, Export: simworkmail.ExportFaults{Duration: 200 * time.Millisecond}})
	begin := time.Now()

	ctx, cancel := context.WithCancel(testenv.Context(t))
	defer cancel()
	// The clock stops before the 120th start is sent, so that job at
	// least is still running when the resumed run lists the jobs, however
	// slowly the machine answers.
	api := &countingAPI{Client: f.client, cancelAfter: 120, pause: clk.Pause, cancel: cancel}
	var out bytes.Buffer
	rep, err := opscli.ExportMailboxes(ctx, f.st, api, &out, f.args(nil))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: %v", err)
	}
	firstRun := len(f.sim.ExportJobs(f.org))
	if firstRun < 120 || firstRun > 120+opscli.MaxExportConcurrency || rep.Counts["interrupted"] < 300-firstRun {
		t.Fatalf("after the interruption: %d jobs, counts %v", firstRun, rep.Counts)
	}
	interrupted := time.Since(begin)

	resume := &countingAPI{Client: f.client, listed: clk.Resume}
	out.Reset()
	rep, err = opscli.ExportMailboxes(testenv.Context(t), f.st, resume, &out, f.args(nil))
	if err != nil {
		t.Fatalf("resumed run: %v\n%s", err, out.String())
	}
	wall := time.Since(begin)
	jobs := f.sim.ExportJobs(f.org)
	perMailbox := map[string]int{}
	for _, j := range jobs {
		perMailbox[j.EntityID]++
		if j.State != simworkmail.ExportCompleted {
			t.Errorf("job %s of %s is %s", j.JobID, j.EntityID, j.State)
		}
	}
	if len(jobs) != 300 || len(perMailbox) != 300 {
		t.Fatalf("%d jobs for %d mailboxes, want 300 for 300", len(jobs), len(perMailbox))
	}
	most := maxConcurrent(jobs)
	if most > opscli.MaxExportConcurrency || api.limits+resume.limits != 0 {
		t.Errorf("at most %d jobs ran at once (want ≤ %d); %d starts refused for the limit", most, opscli.MaxExportConcurrency, api.limits+resume.limits)
	}
	if got := rep.Counts["exported"] + rep.Counts["resumed"] + rep.Counts["skipped"]; got != 300 || rep.Counts["exported"] != 300-firstRun ||
		rep.Counts["resumed"] == 0 {
		t.Errorf("resumed run's counts %v, want every mailbox and some running jobs followed", rep.Counts)
	}
	if resume.starts != 300-firstRun {
		t.Errorf("the resumed run sent %d starts, want %d (none for a mailbox already started)", resume.starts, 300-firstRun)
	}
	t.Logf("300 mailboxes: interrupted after %v with %d started, done after %v; at most %d jobs at once; %d + %d starts; resumed run %v",
		interrupted.Round(time.Millisecond), firstRun, wall.Round(time.Millisecond), most, api.starts, resume.starts, rep.Counts)

	var files int
	if err := filepath.WalkDir(f.dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(d.Name(), ".zip") {
			files++
		}
		return err
	}); err != nil || files != 300 {
		t.Errorf("%d objects written (%v), want 300", files, err)
	}
	recs, err := f.st.TargetRecords(testenv.Context(t), domain.TargetWorkMail)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		s := r.Target(domain.TargetWorkMail)
		if s.ExportState != domain.ExportCompleted || s.ExportPath != "idsync-mail-export/shutdown/"+s.ExportJobID+".zip" || s.ExportStartedAt.IsZero() {
			t.Errorf("%s: state %+v", r.Key, s)
		}
	}
	rows := exportRows(t, f.st, begin)
	for _, k := range f.keys {
		if rows[k]["export-start:applied"] != 1 || rows[k]["export-check:applied"] != 1 || len(rows[k]) != 2 {
			t.Errorf("%s: ledger rows %v, want one start and one completion", k, rows[k])
		}
	}

	// A third run has nothing left to export.
	again := &countingAPI{Client: f.client}
	out.Reset()
	rep, err = opscli.ExportMailboxes(testenv.Context(t), f.st, again, &out, f.args(nil))
	if err != nil || rep.Counts["skipped"] != 300 || again.starts != 0 || len(f.sim.ExportJobs(f.org)) != 300 {
		t.Errorf("third run: %v, counts %v, %d starts", err, rep.Counts, again.starts)
	}
	if !strings.HasPrefix(out.String(), "PERSON") || strings.Count(out.String(), "\n") != 301 || !strings.Contains(out.String(), "user0042@example.com") {
		t.Errorf("summary:\n%s", out.String())
	}
}

// TestBulkExportConcurrency keeps to a smaller --concurrency.
func TestBulkExportConcurrency(t *testing.T) {
	f := newBulkFixture(t, 20, simworkmail.Options{Export: simworkmail.ExportFaults{Duration: 300 * time.Millisecond}})
	var out bytes.Buffer
	rep, err := opscli.ExportMailboxes(testenv.Context(t), f.st, f.client, &out, f.args(func(a *opscli.ExportArgs) { a.Concurrency = 4 }))
	if err != nil || rep.Counts["exported"] != 20 {
		t.Fatalf("%v, %v", err, rep.Counts)
	}
	if most := maxConcurrent(f.sim.ExportJobs(f.org)); most > 4 || most < 2 {
		t.Errorf("at most %d jobs at once, want up to 4", most)
	}
}

// TestBulkExportWaitsForOthersJobs: a job started by someone else (a
// leaver's export) takes one of WorkMail's slots; the run's start refused
// with LimitExceededException is retried until the slot frees (here: the
// other job is cancelled once a start was refused), and nothing fails.
func TestBulkExportWaitsForOthersJobs(t *testing.T) {
	f := newBulkFixture(t, 12, simworkmail.Options{ExportConcurrency: 3})
	extra, err := f.sim.SeedUser(f.org, "leaver", "leaver@example.com")
	if err != nil {
		t.Fatal(err)
	}
	f.sim.SetExportFaults(simworkmail.ExportFaults{Duration: time.Hour}) // holds its slot
	other, err := f.client.StartMailboxExportJob(testenv.Context(t), &sdk.StartMailboxExportJobInput{
		ClientToken: ptr("leaver"), OrganizationId: &f.org, EntityId: &extra, RoleArn: ptr(bulkTo().RoleARN),
		KmsKeyArn: ptr(bulkTo().KMSKeyARN), S3BucketName: ptr("b"), S3Prefix: ptr("p"),
	})
	if err != nil {
		t.Fatal(err)
	}
	f.sim.SetExportFaults(simworkmail.ExportFaults{Duration: 60 * time.Millisecond})
	api := &countingAPI{Client: f.client, onLimit: func() {
		if _, err := f.client.CancelMailboxExportJob(testenv.Context(t), &sdk.CancelMailboxExportJobInput{
			ClientToken: ptr("cancel-leaver"), OrganizationId: &f.org, JobId: other.JobId,
		}); err != nil {
			t.Error(err)
		}
	}}
	var out bytes.Buffer
	rep, err := opscli.ExportMailboxes(testenv.Context(t), f.st, api, &out, f.args(func(a *opscli.ExportArgs) { a.Concurrency = 3 }))
	if err != nil || rep.Counts["exported"] != 12 {
		t.Fatalf("%v, %v\n%s", err, rep.Counts, out.String())
	}
	if api.limits == 0 {
		t.Error("no start was refused: the test does not test the wait")
	}
	if most := maxConcurrent(f.sim.ExportJobs(f.org)); most > 3 {
		t.Errorf("%d jobs at once", most)
	}
}

func ptr(s string) *string { return &s }

// TestBulkExportPersonRearmsALeaver: a leaver's export that WorkMail
// refused is remembered as FAILED and holds the delete; exporting that
// person with --person records a COMPLETED export started after the
// disable, which lets the next plan delete.
func TestBulkExportPersonRearmsALeaver(t *testing.T) {
	f := newBulkFixture(t, 3, simworkmail.Options{ExportDisabled: true})
	ctx := testenv.Context(t)
	key := f.keys[1]
	disabledAt := time.Now().Add(-15 * 24 * time.Hour).UTC()
	cur, err := f.st.Target(ctx, key, domain.TargetWorkMail)
	if err != nil {
		t.Fatal(err)
	}
	failed := cur
	failed.Status, failed.DisabledAt = domain.RemoteDisabled, disabledAt
	failed.ExportState, failed.ExportStartedAt, failed.ExportReason = domain.ExportFailed, disabledAt.Add(14*24*time.Hour), "start refused"
	if _, err := f.st.PutTarget(ctx, key, failed, cur.Version); err != nil {
		t.Fatal(err)
	}
	cfg := domain.WorkMailConfig{OrganizationID: f.org, Groups: []domain.GroupRef{{OktaID: "00gmail"}},
		OnLeave: domain.WorkMailLeave{Action: domain.LeaveDelete, DeleteAfterDays: 14, ExportTo: ptrTo(bulkTo())}}
	leaver := domain.Person{Key: key, OktaID: key}
	if plan, _ := domain.PlanWorkMail(cfg, "example.com", leaver, failed, time.Now()); len(plan.Ops) != 0 || !strings.HasPrefix(plan.Reason, domain.ReasonExportFailed) {
		t.Fatalf("before the re-arm: %+v", plan)
	}

	var out bytes.Buffer
	rep, err := opscli.ExportMailboxes(ctx, f.st, f.client, &out, f.args(func(a *opscli.ExportArgs) { a.All, a.Person = false, "user0001@example.com" }))
	if err != nil || len(rep.Rows) != 1 || rep.Rows[0].Outcome != "exported" || rep.Rows[0].PersonKey != key {
		t.Fatalf("%v, %+v", err, rep.Rows)
	}
	got, err := f.st.Target(ctx, key, domain.TargetWorkMail)
	if err != nil {
		t.Fatal(err)
	}
	if !got.ExportCovers() || got.Status != domain.RemoteDisabled {
		t.Fatalf("state %+v, want a completed export after the disable", got)
	}
	plan, err := domain.PlanWorkMail(cfg, "example.com", leaver, got, time.Now())
	if err != nil || len(plan.Ops) != 1 || plan.Ops[0].Kind != domain.OpDelete {
		t.Errorf("after the re-arm: %+v, %v; want the delete", plan, err)
	}
	if n := len(f.sim.ExportJobs(f.org)); n != 1 {
		t.Errorf("%d jobs, want only the person's", n)
	}
	if rows := exportRows(t, f.st, time.Now().Add(-time.Hour)); len(rows) != 1 || rows[key]["export-start:applied"] != 1 || rows[key]["export-check:applied"] != 1 {
		t.Errorf("ledger rows %v", rows)
	}
	// A disabled mailbox exported after its disable cannot change: not
	// exported again, whatever --since says.
	rep, err = opscli.ExportMailboxes(ctx, f.st, f.client, &out, f.args(func(a *opscli.ExportArgs) {
		a.All, a.Person, a.Since = false, key, time.Now().Add(time.Hour)
	}))
	if err != nil || rep.Rows[0].Outcome != "skipped" || rep.Rows[0].Note != "disabled, exported after the disable" {
		t.Errorf("exported leaver again: %v, %+v", err, rep.Rows)
	}
	// An enabled mailbox exported today, asked for again with a later
	// --since: WorkMail allows one export a day, so it waits.
	other := f.keys[2]
	for i, since := range []time.Time{{}, time.Now().Add(time.Hour)} {
		rep, err = opscli.ExportMailboxes(ctx, f.st, f.client, &out, f.args(func(a *opscli.ExportArgs) { a.All, a.Person, a.Since = false, other, since }))
		if i == 0 && (err != nil || rep.Rows[0].Outcome != "exported") {
			t.Fatalf("first export: %v, %+v", err, rep.Rows)
		}
	}
	if !errors.Is(err, opscli.ErrExportIncomplete) || rep.Rows[0].Outcome != "waiting" || !strings.Contains(rep.Rows[0].Note, "not before") {
		t.Errorf("second export of the day: %v, %+v", err, rep.Rows)
	}
	if _, err := opscli.ExportMailboxes(ctx, f.st, f.client, &out, f.args(func(a *opscli.ExportArgs) { a.All, a.Person = false, "nobody@example.com" })); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown person: %v", err)
	}
}

func ptrTo[T any](v T) *T { return &v }

// TestBulkExportDryRun reads and writes nothing.
func TestBulkExportDryRun(t *testing.T) {
	f := newBulkFixture(t, 5, simworkmail.Options{})
	api := &countingAPI{Client: f.client}
	var out bytes.Buffer
	rep, err := opscli.ExportMailboxes(testenv.Context(t), f.st, api, &out, f.args(func(a *opscli.ExportArgs) { a.DryRun, a.Format = true, opscli.FormatJSON }))
	if err != nil || rep.Counts["would-start"] != 5 || api.starts != 0 || len(f.sim.ExportJobs(f.org)) != 0 {
		t.Fatalf("%v, %v, %d starts", err, rep.Counts, api.starts)
	}
	dec := json.NewDecoder(&out)
	n := 0
	for dec.More() {
		var r opscli.ExportRow
		if err := dec.Decode(&r); err != nil || r.Outcome != "would-start" || r.Mailbox != f.box[r.PersonKey] {
			t.Errorf("row %+v, %v", r, err)
		}
		n++
	}
	if n != 5 {
		t.Errorf("%d JSON rows", n)
	}
	if rows := exportRows(t, f.st, time.Now().Add(-time.Hour)); len(rows) != 0 {
		t.Errorf("ledger rows %v", rows)
	}
	page, err := f.st.Audit(testenv.Context(t), store.AuditQuery{System: true})
	if err != nil || len(page.Entries) != 0 {
		t.Errorf("system rows %v, %v", page.Entries, err)
	}
}

func TestBulkExportUsage(t *testing.T) {
	for name, a := range map[string]opscli.ExportArgs{
		"neither --all nor --person": {OrganizationID: "m-x", To: bulkTo()},
		"both":                       {All: true, Person: "x", OrganizationID: "m-x", To: bulkTo()},
		"no organisation":            {All: true, To: bulkTo()},
		"no destination":             {All: true, OrganizationID: "m-x"},
		"negative concurrency":       {All: true, OrganizationID: "m-x", To: bulkTo(), Concurrency: -1},
	} {
		if _, err := opscli.ExportMailboxes(context.Background(), nil, nil, &bytes.Buffer{}, a); !errors.Is(err, opscli.ErrUsage) {
			t.Errorf("%s: %v, want ErrUsage", name, err)
		}
	}
}
