package opscli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/schollz/progressbar/v3"

	"github.com/idsync/idsync/consumers/workmail"
	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/store"
)

// The bulk mailbox export (idsync workmail export) for WorkMail's end of
// support: every managed mailbox exported to S3 within WorkMail's limit on
// concurrent export jobs, resumable, each export in the ledger.

// Bulk export limits and defaults.
const (
	// MaxExportConcurrency is WorkMail's limit on concurrent mailbox export
	// jobs per organisation ("You can run up to 10 concurrent mailbox
	// export jobs", admin guide, mail-export.html): the most jobs one run
	// keeps running, and its default.
	MaxExportConcurrency = 10
	// DefaultExportPoll is how often a running job is described.
	DefaultExportPoll = 30 * time.Second
	// ExportLimitWait is how long a start WorkMail refuses with
	// LimitExceededException (its concurrent jobs taken by others, e.g.
	// leavers' exports) is retried before the mailbox is reported as not
	// exported.
	ExportLimitWait = time.Hour
	// exportInterval: "You can run a mailbox export job for a given
	// mailbox as often as once every 24 hours" (mail-export.html).
	exportInterval = 24 * time.Hour
	// exportWriteTimeout bounds the bookkeeping writes made after an
	// interruption (the job already runs at WorkMail: record it).
	exportWriteTimeout = 15 * time.Second
)

// Errors of the bulk export.
var (
	// ErrExportIncomplete: the run ended with mailboxes not exported
	// (failed, refused, or waiting for WorkMail's 24 hours).
	ErrExportIncomplete = errors.New("mailboxes not exported")
	// ErrNoMailbox: --person names someone without a managed mailbox.
	ErrNoMailbox = errors.New("no managed WorkMail mailbox")
)

// WorkMailExportAPI is the WorkMail client the bulk export uses (the
// operator's *workmail.Client from internal/app).
type WorkMailExportAPI interface {
	workmail.ExportStarter
	workmail.ExportDescriber
	workmail.ExportLister
}

// ExportStore is the part of store.Store the bulk export uses.
type ExportStore interface {
	Auditor
	TargetRecords(ctx context.Context, t domain.Target) ([]store.Record, error)
	Person(ctx context.Context, key string) (store.Record, error)
	Target(ctx context.Context, key string, t domain.Target) (domain.TargetState, error)
	PutTarget(ctx context.Context, key string, next domain.TargetState, expected int64) (domain.TargetState, error)
	Append(ctx context.Context, entries ...domain.LedgerEntry) ([]domain.LedgerEntry, error)
}

// ExportArgs configures a bulk export.
type ExportArgs struct {
	// All exports every managed mailbox; Person (a login, Okta user id or
	// IdC user id) one person's. Exactly one is required.
	All    bool
	Person string
	// DryRun lists what would be done: it reads (the state, WorkMail's job
	// list) and calls no write, records nothing.
	DryRun bool
	// Concurrency is how many jobs the run keeps running (default and at
	// most MaxExportConcurrency).
	Concurrency int
	// Since: a mailbox whose latest export COMPLETED and was started at or
	// after Since is skipped. Zero means the since of the last --all run
	// (so that a re-run resumes it), else the run's start.
	Since time.Time
	// OrganizationID and To are the organisation and the destination
	// (required).
	OrganizationID string
	To             domain.MailboxExportTo
	// Poll is how often running jobs are described (default
	// DefaultExportPoll); LimitWait how long a start refused for WorkMail's
	// limits is retried (default ExportLimitWait).
	Poll, LimitWait time.Duration
	// Format of the summary (table by default); Progress, when set, gets a
	// progress bar (a terminal, for a table only).
	Format   Format
	Progress io.Writer
	// Clock and NewID (ULIDs) default to time.Now and ulid.Make.
	Clock func() time.Time
	NewID func() string
}

// ExportRow is one mailbox in the summary.
type ExportRow struct {
	PersonKey string `json:"person"`
	Login     string `json:"login,omitempty"`
	Mailbox   string `json:"mailbox"`
	JobID     string `json:"jobId,omitempty"`
	// State is the job's (RUNNING, COMPLETED, FAILED, CANCELLED), or
	// empty when none was started.
	State  domain.ExportJobState `json:"state,omitempty"`
	Object string                `json:"object,omitempty"` // S3Path: bucket/key
	// Outcome is exported, skipped, resumed (a running job followed),
	// failed, waiting (WorkMail's 24 hours), interrupted, or would-start /
	// would-follow in a dry run.
	Outcome string `json:"outcome"`
	Note    string `json:"note,omitempty"`
}

// Export row outcomes.
const (
	exportedOutcome    = "exported"
	skippedOutcome     = "skipped"
	resumedOutcome     = "resumed"
	failedOutcome      = "failed"
	waitingOutcome     = "waiting"
	interruptedOutcome = "interrupted"
	wouldStartOutcome  = "would-start"
	wouldFollowOutcome = "would-follow"
)

// ExportReport is what a run did.
type ExportReport struct {
	Since time.Time
	Rows  []ExportRow
	// Counts by outcome.
	Counts map[string]int
}

// exportItem is one mailbox's work.
type exportItem struct {
	key    string
	state  domain.TargetState
	follow workmail.ExportJob // a RUNNING job to follow instead of starting one
	// found is a COMPLETED job WorkMail lists that the state does not
	// record (a run interrupted before it could): recorded before the run.
	found *workmail.ExportJob
	row   ExportRow
}

// exporter is one run.
type exporter struct {
	st    ExportStore
	api   WorkMailExportAPI
	a     ExportArgs
	since time.Time
	runID string
	bar   *exportBar
}

// ExportMailboxes exports the mailboxes a selects to a.To, printing a
// summary (person, login, mailbox, job id, state, object path, outcome) to
// w. It keeps at most a.Concurrency jobs running, follows jobs already
// running (an interrupted run's) instead of starting new ones, skips
// mailboxes exported since a.Since, and records each job's start and end
// in the ledger (ops export-start and export-check under the person) and
// in the mailbox's target state, as a leaver's export is; an --all run
// also records its start and end (export-run rows about no one person).
// A start refused for WorkMail's limits is retried for a.LimitWait; a
// mailbox exported less than 24 hours ago is reported as waiting.
//
// Errors: ErrUsage for contradictory or missing arguments (domain
// configuration errors for a bad destination); ErrNoMailbox; ResolvePerson's;
// the context's when interrupted (the summary is still printed: jobs
// already started go on at WorkMail, and a re-run follows them);
// ErrExportIncomplete when a mailbox was not exported; store and WorkMail
// errors reading what to export.
func ExportMailboxes(ctx context.Context, st ExportStore, api WorkMailExportAPI, w io.Writer, a ExportArgs) (ExportReport, error) {
	if a.All == (a.Person != "") {
		return ExportReport{}, fmt.Errorf("%w: give --all or --person", ErrUsage)
	}
	if a.OrganizationID == "" {
		return ExportReport{}, fmt.Errorf("%w: no WorkMail organisation (workmail.organizationId in the configuration)", ErrUsage)
	}
	if err := a.To.Check("exportTo"); err != nil {
		return ExportReport{}, fmt.Errorf("%w: the export destination (workmail.onLeave.exportTo or --bucket, --prefix, --kms-key-arn, --role-arn): %w", ErrUsage, err)
	}
	switch {
	case a.Concurrency < 0:
		return ExportReport{}, fmt.Errorf("%w: --concurrency %d must be positive", ErrUsage, a.Concurrency)
	case a.Concurrency == 0 || a.Concurrency > MaxExportConcurrency:
		a.Concurrency = MaxExportConcurrency
	}
	if a.Poll <= 0 {
		a.Poll = DefaultExportPoll
	}
	if a.LimitWait <= 0 {
		a.LimitWait = ExportLimitWait
	}
	if a.Clock == nil {
		a.Clock = time.Now
	}
	if a.NewID == nil {
		a.NewID = func() string { return ulid.Make().String() }
	}
	if a.Format == "" {
		a.Format = FormatTable
	}
	x := &exporter{st: st, api: api, a: a, runID: a.NewID()}
	var err error
	if x.since, err = x.resolveSince(ctx); err != nil {
		return ExportReport{}, err
	}
	items, err := x.mailboxes(ctx)
	if err != nil {
		return ExportReport{}, err
	}
	jobs, err := workmail.ListExports(ctx, api, a.OrganizationID)
	if err != nil {
		return ExportReport{}, fmt.Errorf("list the organisation's export jobs: %w", err)
	}
	byEntity := map[string][]workmail.ExportJob{}
	for _, j := range jobs {
		byEntity[j.EntityID] = append(byEntity[j.EntityID], j)
	}
	var work []*exportItem
	for _, it := range items {
		x.plan(it, byEntity[it.state.RemoteID])
		if it.row.Outcome == "" {
			work = append(work, it)
		}
	}
	// Jobs already running first: each holds one of the run's slots, so
	// that the run and an interrupted run's jobs together stay within
	// the concurrency.
	slices.SortStableFunc(work, func(p, q *exportItem) int {
		return cmp.Compare(boolInt(p.follow.ID == ""), boolInt(q.follow.ID == ""))
	})
	if !a.DryRun {
		for _, it := range items {
			if j := it.found; j != nil {
				if it.state.ExportJobID != j.ID {
					x.ledgerRow(ctx, it, domain.OpExportStart, domain.OutcomeApplied,
						"bulk export: export job "+j.ID+" found in WorkMail's job list, started by an interrupted run", j.ID)
				}
				x.recordState(ctx, it, func(s *domain.TargetState) {
					s.ExportJobID, s.ExportState, s.ExportStartedAt = j.ID, domain.ExportCompleted, j.Started
					s.ExportProgress, s.ExportPath, s.ExportReason = 100, j.Path, ""
				})
				x.ledgerRow(ctx, it, domain.OpExportCheck, domain.OutcomeApplied,
					"bulk export: export job "+j.ID+" COMPLETED: "+j.Path+" (found in WorkMail's job list)", j.ID)
			}
		}
	}
	if a.All && !a.DryRun {
		x.runRow(ctx, "start", map[string]string{"mailboxes": strconv.Itoa(len(items)), "toDo": strconv.Itoa(len(work))})
	}
	x.bar = newExportBar(a.Progress, len(items))
	x.bar.add(len(items) - len(work))
	x.run(ctx, work)
	x.bar.finish()

	rep := ExportReport{Since: x.since, Counts: map[string]int{}}
	for _, it := range items {
		rep.Rows = append(rep.Rows, it.row)
		rep.Counts[it.row.Outcome]++
	}
	if a.All && !a.DryRun {
		detail := map[string]string{}
		for k, n := range rep.Counts {
			detail[k] = strconv.Itoa(n)
		}
		x.runRow(ctx, "end", detail)
	}
	if err := printExportRows(w, a.Format, rep.Rows); err != nil {
		return rep, err
	}
	if err := ctx.Err(); err != nil {
		return rep, fmt.Errorf("interrupted with %d mailboxes not done (jobs already started go on at WorkMail; a re-run follows them): %w",
			rep.Counts[interruptedOutcome], err)
	}
	if n := rep.Counts[failedOutcome] + rep.Counts[waitingOutcome]; n > 0 {
		return rep, fmt.Errorf("%w: %d of %d (%d failed, %d waiting for WorkMail's 24 hours)", ErrExportIncomplete, n, len(items),
			rep.Counts[failedOutcome], rep.Counts[waitingOutcome])
	}
	return rep, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// resolveSince is a.Since, else the since of the last --all run, else
// now.
func (x *exporter) resolveSince(ctx context.Context) (time.Time, error) {
	if !x.a.Since.IsZero() {
		return x.a.Since.UTC(), nil
	}
	q := store.AuditQuery{System: true, Targets: []domain.Target{domain.TargetWorkMail},
		Outcomes: []domain.Outcome{domain.OutcomeExportRun}, Descending: true, PageSize: store.MaxPageSize}
	for {
		page, err := x.st.Audit(ctx, q)
		if err != nil {
			return time.Time{}, fmt.Errorf("find the last export run: %w", err)
		}
		for _, e := range page.Entries {
			if e.Detail["phase"] != "start" {
				continue
			}
			if t, err := time.Parse(time.RFC3339Nano, e.Detail["since"]); err == nil {
				return t, nil
			}
		}
		if page.Cursor == "" {
			return x.a.Clock().UTC(), nil
		}
		q.Cursor = page.Cursor
	}
}

// mailboxes reads what to export: every managed mailbox that is not
// deleted (--all), or the person's.
func (x *exporter) mailboxes(ctx context.Context) ([]*exportItem, error) {
	var recs []store.Record
	if x.a.All {
		all, err := x.st.TargetRecords(ctx, domain.TargetWorkMail)
		if err != nil {
			return nil, fmt.Errorf("read the mailboxes: %w", err)
		}
		recs = all
	} else {
		rec, err := mailboxOf(ctx, x.st, x.a.Person)
		if err != nil {
			return nil, err
		}
		recs = []store.Record{rec}
	}
	var items []*exportItem
	for _, rec := range recs {
		ts := rec.Target(domain.TargetWorkMail)
		if !ts.Managed || ts.RemoteID == "" || (ts.Status != domain.RemoteEnabled && ts.Status != domain.RemoteDisabled) {
			continue
		}
		items = append(items, &exportItem{key: rec.Key, state: ts,
			row: ExportRow{PersonKey: rec.Key, Login: rec.Person.Login.Value, Mailbox: ts.RemoteID}})
	}
	if !x.a.All && len(items) == 0 {
		return nil, fmt.Errorf("%w: %s", ErrNoMailbox, x.a.Person)
	}
	return items, nil
}

// plan decides an item from its state and the organisation's jobs of its
// mailbox (oldest first): skip it, follow a running job, wait for the 24
// hours, or (Outcome left empty) start.
func (x *exporter) plan(it *exportItem, jobs []workmail.ExportJob) {
	s, now := it.state, x.a.Clock()
	switch {
	case s.ExportState == domain.ExportCompleted && !s.ExportStartedAt.Before(x.since):
		it.skip(s.ExportJobID, s.ExportPath, "exported since "+x.since.Format(time.RFC3339))
		return
	case s.Status == domain.RemoteDisabled && s.ExportCovers():
		it.skip(s.ExportJobID, s.ExportPath, "disabled, exported after the disable")
		return
	}
	var recent *workmail.ExportJob
	listed := map[string]bool{}
	for i := range jobs {
		j := jobs[i]
		listed[j.ID] = true
		switch {
		case j.State == domain.ExportCompleted && !j.Started.Before(x.since):
			it.skip(j.ID, j.Path, "exported since "+x.since.Format(time.RFC3339))
			if s.ExportJobID != j.ID || s.ExportState != domain.ExportCompleted {
				it.found = &jobs[i]
			}
			return
		case j.State == domain.ExportRunning:
			it.follow = j
		}
		if now.Sub(j.Started) < exportInterval {
			recent = &jobs[i]
		}
	}
	// A job the state says is running and WorkMail no longer lists (older
	// than its seven days) is followed by DescribeMailboxExportJob.
	if it.follow.ID == "" && s.ExportState == domain.ExportRunning && s.ExportJobID != "" && !listed[s.ExportJobID] {
		it.follow = workmail.ExportJob{ID: s.ExportJobID, EntityID: s.RemoteID, State: domain.ExportRunning, Started: s.ExportStartedAt}
	}
	switch {
	case it.follow.ID != "" && x.a.DryRun:
		it.row.JobID, it.row.State, it.row.Outcome, it.row.Note = it.follow.ID, domain.ExportRunning, wouldFollowOutcome, "would follow the running job"
	case it.follow.ID != "":
	case recent != nil:
		it.row.JobID, it.row.State, it.row.Outcome = recent.ID, recent.State, waitingOutcome
		it.row.Note = "exported at " + recent.Started.UTC().Format(time.RFC3339) + "; WorkMail allows one export per mailbox every 24 hours: not before " +
			recent.Started.Add(exportInterval).UTC().Format(time.RFC3339)
	case x.a.DryRun:
		it.row.Outcome, it.row.Note = wouldStartOutcome, "would start an export"
	}
}

func (it *exportItem) skip(job, path, note string) {
	it.row.JobID, it.row.State, it.row.Object, it.row.Outcome, it.row.Note = job, domain.ExportCompleted, path, skippedOutcome, note
}

// run works the items off with a.Concurrency workers.
func (x *exporter) run(ctx context.Context, work []*exportItem) {
	next := make(chan *exportItem)
	var wg sync.WaitGroup
	for range min(x.a.Concurrency, len(work)) {
		wg.Go(func() {
			for it := range next {
				x.export(ctx, it)
				x.bar.add(1)
			}
		})
	}
	for _, it := range work {
		if ctx.Err() != nil {
			it.row.Outcome, it.row.Note = interruptedOutcome, "not started"
			continue
		}
		select {
		case next <- it:
		case <-ctx.Done():
			it.row.Outcome, it.row.Note = interruptedOutcome, "not started"
		}
	}
	close(next)
	wg.Wait()
}

// export starts (or takes over) one mailbox's job and follows it to its
// end.
func (x *exporter) export(ctx context.Context, it *exportItem) {
	job := it.follow
	if job.ID != "" {
		it.row.Outcome = resumedOutcome
		if it.state.ExportJobID != job.ID {
			// A start whose answer was lost (the run interrupted while the
			// call was on the wire): WorkMail runs the job, and the ledger
			// gets its start now.
			x.ledgerRow(ctx, it, domain.OpExportStart, domain.OutcomeApplied,
				"bulk export: export job "+job.ID+" found running, started by an interrupted run", job.ID)
		}
		x.recordState(ctx, it, func(s *domain.TargetState) {
			started := job.Started
			if s.ExportJobID == job.ID && !s.ExportStartedAt.IsZero() {
				started = s.ExportStartedAt
			}
			s.ExportJobID, s.ExportState, s.ExportStartedAt, s.ExportPath, s.ExportReason = job.ID, domain.ExportRunning, started, "", ""
		})
	} else {
		id, ok := x.start(ctx, it)
		if !ok {
			return
		}
		job = workmail.ExportJob{ID: id, State: domain.ExportRunning}
		it.row.Outcome = exportedOutcome
	}
	it.row.JobID, it.row.State = job.ID, domain.ExportRunning
	x.follow(ctx, it, job.ID)
}

// start starts the mailbox's export, retrying WorkMail's limits for
// a.LimitWait; it records the start (or a refusal) and reports whether a
// job runs.
func (x *exporter) start(ctx context.Context, it *exportItem) (string, bool) {
	token := domain.BulkExportClientToken(it.state.RemoteID, x.since, x.a.To)
	deadline := x.a.Clock().Add(x.a.LimitWait)
	for {
		id, err := workmail.StartExport(ctx, x.api, x.a.OrganizationID, it.state.RemoteID, token, x.a.To, "idsync: bulk export")
		if err == nil {
			now := x.a.Clock().UTC()
			x.recordState(ctx, it, func(s *domain.TargetState) {
				s.ExportJobID, s.ExportState, s.ExportStartedAt = id, domain.ExportRunning, now
				s.ExportProgress, s.ExportPath, s.ExportReason = 0, "", ""
			})
			x.ledgerRow(ctx, it, domain.OpExportStart, domain.OutcomeApplied, "bulk export: export job "+id+" started", id)
			return id, true
		}
		if ctx.Err() != nil {
			it.row.Outcome, it.row.Note = interruptedOutcome, "not started"
			return "", false
		}
		if domain.KindOf(err) == domain.ErrorPermanent {
			now := x.a.Clock().UTC()
			x.recordState(ctx, it, func(s *domain.TargetState) {
				s.ExportJobID, s.ExportState, s.ExportStartedAt = "", domain.ExportFailed, now
				s.ExportPath, s.ExportReason = "", workmail.ExportReason("start refused: "+err.Error())
			})
			x.ledgerRow(ctx, it, domain.OpExportStart, domain.OutcomeFailed, "bulk export: start refused: "+err.Error(), "")
			it.row.State, it.row.Outcome, it.row.Note = domain.ExportFailed, failedOutcome, "start refused: "+err.Error()
			return "", false
		}
		if !x.a.Clock().Before(deadline) {
			x.ledgerRow(ctx, it, domain.OpExportStart, domain.OutcomeFailed, "bulk export: not started within "+x.a.LimitWait.String()+": "+err.Error(), "")
			it.row.Outcome, it.row.Note = failedOutcome, "not started within "+x.a.LimitWait.String()+": "+err.Error()
			return "", false
		}
		if !sleep(ctx, x.a.Poll) {
			it.row.Outcome, it.row.Note = interruptedOutcome, "not started"
			return "", false
		}
	}
}

// follow describes job until it ends (or the run is interrupted) and
// records its end.
func (x *exporter) follow(ctx context.Context, it *exportItem, id string) {
	for {
		job, err := workmail.DescribeExport(ctx, x.api, x.a.OrganizationID, id)
		switch {
		case ctx.Err() != nil:
			it.row.Outcome, it.row.Note = interruptedOutcome, "still running at WorkMail; a re-run follows it"
			return
		case err != nil && domain.KindOf(err) == domain.ErrorPermanent:
			x.ended(ctx, it, workmail.ExportJob{ID: id, State: domain.ExportFailed, Reason: "job unreadable: " + err.Error()})
			return
		case err == nil && job.State.Ended():
			x.ended(ctx, it, job)
			return
		case err == nil:
			it.row.State = job.State
		}
		if !sleep(ctx, x.a.Poll) {
			it.row.Outcome, it.row.Note = interruptedOutcome, "still running at WorkMail; a re-run follows it"
			return
		}
	}
}

// ended records a job's end.
func (x *exporter) ended(ctx context.Context, it *exportItem, job workmail.ExportJob) {
	it.row.State = job.State
	x.recordState(ctx, it, func(s *domain.TargetState) {
		s.ExportJobID, s.ExportState = job.ID, job.State
		if job.State == domain.ExportCompleted {
			s.ExportProgress, s.ExportPath, s.ExportReason = 100, job.Path, ""
		} else {
			s.ExportProgress, s.ExportPath, s.ExportReason = job.Progress, "", workmail.ExportReason(job.Reason)
		}
	})
	if job.State == domain.ExportCompleted {
		it.row.Object = job.Path
		x.ledgerRow(ctx, it, domain.OpExportCheck, domain.OutcomeApplied, "bulk export: export job "+job.ID+" COMPLETED: "+job.Path, job.ID)
		return
	}
	reason := job.Reason
	if reason == "" {
		reason = "no error info"
	}
	x.ledgerRow(ctx, it, domain.OpExportCheck, domain.OutcomeFailed, "bulk export: export job "+job.ID+" "+string(job.State)+" ("+reason+")", job.ID)
	it.row.Outcome, it.row.Note = failedOutcome, reason
}

// bookkeeping returns a context for a write that must outlive an
// interruption: the job it records runs at WorkMail regardless.
func bookkeeping(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), exportWriteTimeout)
}

// recordState applies set to the mailbox's export fields in the stored
// state, re-reading on a concurrent write; a mailbox deleted meanwhile is
// left alone. A failure is noted on the row: the ledger and WorkMail's
// job list still tell a re-run.
func (x *exporter) recordState(ctx context.Context, it *exportItem, set func(*domain.TargetState)) {
	ctx, cancel := bookkeeping(ctx)
	defer cancel()
	var err error
	for range 5 {
		var cur domain.TargetState
		if cur, err = x.st.Target(ctx, it.key, domain.TargetWorkMail); err != nil {
			break
		}
		if !cur.Managed || cur.RemoteID != it.state.RemoteID {
			return
		}
		next := cur
		set(&next)
		if next.Equal(cur) {
			return
		}
		if it.state, err = x.st.PutTarget(ctx, it.key, next, cur.Version); !errors.Is(err, store.ErrConflict) {
			break
		}
	}
	if err != nil {
		it.row.Note = joinNote(it.row.Note, "state not recorded: "+err.Error())
	}
}

// ledgerRow records one step of the mailbox's export under the person.
func (x *exporter) ledgerRow(ctx context.Context, it *exportItem, op domain.OpKind, outcome domain.Outcome, reason, job string) {
	ctx, cancel := bookkeeping(ctx)
	defer cancel()
	detail := map[string]string{"run": x.runID, "since": x.since.Format(time.RFC3339Nano)}
	if job != "" {
		detail["jobId"] = job
	}
	_, err := x.st.Append(ctx, domain.LedgerEntry{ID: x.a.NewID(), At: x.a.Clock().UTC(), PersonKey: it.key,
		Target: domain.TargetWorkMail, Op: op, Outcome: outcome, RemoteID: it.state.RemoteID, Reason: truncateReason(reason), Detail: detail})
	if err != nil {
		it.row.Note = joinNote(it.row.Note, "ledger row not written: "+err.Error())
	}
}

// runRow records the run's start or end about no one person.
func (x *exporter) runRow(ctx context.Context, phase string, detail map[string]string) {
	ctx, cancel := bookkeeping(ctx)
	defer cancel()
	detail["phase"], detail["run"], detail["since"] = phase, x.runID, x.since.Format(time.RFC3339Nano)
	detail["concurrency"], detail["bucket"], detail["prefix"] = strconv.Itoa(x.a.Concurrency), x.a.To.Bucket, x.a.To.Prefix
	// A failure to record the run only loses the default --since of the
	// next run; the exports themselves are recorded per person.
	_, _ = x.st.Append(ctx, domain.LedgerEntry{ID: x.a.NewID(), At: x.a.Clock().UTC(), Target: domain.TargetWorkMail,
		Outcome: domain.OutcomeExportRun, Reason: "workmail export --all: " + phase, Detail: detail})
}

func truncateReason(s string) string {
	if len(s) > 2048 {
		return s[:2048]
	}
	return s
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// sleep waits d or until ctx is done; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// printExportRows prints the summary sorted by person key.
func printExportRows(w io.Writer, f Format, rows []ExportRow) error {
	rows = slices.Clone(rows)
	slices.SortFunc(rows, func(a, b ExportRow) int { return cmp.Compare(a.PersonKey, b.PersonKey) })
	out := NewPrinter(w, f, "PERSON", "LOGIN", "MAILBOX", "JOB ID", "STATE", "OBJECT", "OUTCOME", "NOTE")
	for _, r := range rows {
		if err := out.Row(r, r.PersonKey, r.Login, r.Mailbox, r.JobID, string(r.State), r.Object, r.Outcome, r.Note); err != nil {
			return err
		}
	}
	return out.Flush()
}

// exportBar is the run's progress bar: mailboxes done of all; nil draws
// nothing.
type exportBar struct {
	mu  sync.Mutex
	bar *progressbar.ProgressBar
}

func newExportBar(w io.Writer, total int) *exportBar {
	if w == nil {
		return nil
	}
	return &exportBar{bar: progressbar.NewOptions(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("exporting mailboxes"),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)}
}

func (b *exportBar) add(n int) {
	if b == nil || n == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	_ = b.bar.Add(n)
}

func (b *exportBar) finish() {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	_ = b.bar.Finish()
	_ = b.bar.Clear()
}

// mailboxOf finds the stored record of who (a login, an Okta user id, an
// IdC user id or a person key) that holds their WorkMail state: of the
// person's keys (PersonKeys), the first whose record has one.
//
// Errors: PersonKeys'; store.ErrNotFound (wrapped) when none of the
// person's records has a WorkMail state.
func mailboxOf(ctx context.Context, st ExportStore, who string) (store.Record, error) {
	keys, err := PersonKeys(ctx, st, who)
	if err != nil {
		return store.Record{}, err
	}
	for _, k := range keys {
		rec, err := st.Person(ctx, k)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return store.Record{}, err
		}
		if _, ok := rec.Targets[domain.TargetWorkMail]; ok {
			return rec, nil
		}
	}
	return store.Record{}, fmt.Errorf("%s has no WorkMail mailbox idsync manages: %w", who, store.ErrNotFound)
}
