package consumers_test

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/oklog/ulid/v2"

	"github.com/idsync/idsync/consumers"
	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/testenv"
	"github.com/idsync/idsync/store"
)

const group = "00gmailbox"

// fakeTarget is an in-memory target above the Target interface: a person in
// the mapped group gets an account; anyone else loses it. failNext makes
// the next Apply for a person fail with the given error; applies counts
// Apply calls.
type fakeTarget struct {
	mu       sync.Mutex
	accounts map[string]string // person key -> remote id
	applies  int
	failNext map[string]error
	// onApply, when set, sees every Apply's person, state and op first.
	onApply func(p domain.Person, state domain.TargetState, op domain.Op)
}

func (f *fakeTarget) Name() domain.Target { return domain.TargetWorkMail }

func (f *fakeTarget) Plan(_ context.Context, p domain.Person, last domain.TargetState, _ time.Time) (domain.Plan, error) {
	want := p.MemberOf(domain.GroupRef{OktaID: group}) && p.Active()
	next := last
	switch {
	case want && last.Status != domain.RemoteEnabled:
		next.Managed, next.Status = true, domain.RemoteEnabled
		return domain.Plan{Ops: []domain.Op{{Target: f.Name(), Kind: domain.OpCreate, Name: p.Login.Value}}, Next: next}, nil
	case !want && last.Status == domain.RemoteEnabled:
		next.Status = domain.RemoteDisabled
		return domain.Plan{Ops: []domain.Op{{Target: f.Name(), Kind: domain.OpDisable, RemoteID: last.RemoteID}}, Next: next}, nil
	}
	return domain.Plan{Next: last, Reason: domain.ReasonUpToDate}, nil
}

func (f *fakeTarget) Apply(_ context.Context, p domain.Person, state domain.TargetState, op domain.Op) (consumers.Step, error) {
	if f.onApply != nil {
		f.onApply(p, state, op)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.applies++
	if err := f.failNext[p.Key]; err != nil {
		delete(f.failNext, p.Key)
		return consumers.Step{}, err
	}
	id := f.accounts[p.Key]
	if id == "" {
		id = "remote-" + p.Key
		f.accounts[p.Key] = id
	}
	next := state
	next.Managed, next.RemoteID, next.Status = true, id, domain.RemoteEnabled
	if op.Kind == domain.OpDisable {
		next.Status = domain.RemoteDisabled
	}
	return consumers.Step{State: next, RemoteID: id}, nil
}

type fixture struct {
	runner *consumers.Runner
	target *fakeTarget
	st     *store.Store
	sqs    *sqs.Client
	dlq    testenv.Queue
	logs   *bytes.Buffer
}

// backend is the store and dead-letter queue a runner works with: fresh
// tables in DynamoDB Local and a fresh FIFO queue (with its DLQ) in fauxqs.
type backend struct {
	st    *store.Store
	sqs   *sqs.Client
	dlq   testenv.Queue
	newID func() string
}

func newBackend(t *testing.T) backend {
	t.Helper()
	env := testenv.Get(t)
	db := env.DynamoDB(t)
	state := env.CreateTable(t, db, store.StateTableSpec().CreateTableInput("state"))
	ledger := env.CreateTable(t, db, store.LedgerTableSpec().CreateTableInput("ledger"))
	entropy := ulid.Monotonic(rand.Reader, 0)
	var mu sync.Mutex
	newID := func() string {
		mu.Lock()
		defer mu.Unlock()
		return ulid.MustNew(ulid.Now(), entropy).String()
	}
	st, err := store.New(store.Options{DB: db, StateTable: state, LedgerTable: ledger, NewID: newID})
	if err != nil {
		t.Fatal(err)
	}
	client := env.SQS(t)
	return backend{st: st, sqs: client, dlq: env.CreateFIFOQueue(t, client, "wm", 5, 30*time.Second), newID: newID}
}

// runner builds a runner of target on b with o's other options.
func (b backend) runner(t *testing.T, target consumers.Target, o consumers.RunnerOptions) *consumers.Runner {
	t.Helper()
	o.Target, o.Store, o.DLQ, o.DLQURL, o.NewID = target, b.st, b.sqs, b.dlq.DLQURL, b.newID
	r, err := consumers.NewRunner(o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func newFixture(t *testing.T, o consumers.RunnerOptions) *fixture {
	t.Helper()
	b := newBackend(t)
	target := &fakeTarget{accounts: map[string]string{}, failNext: map[string]error{}}
	logs := &bytes.Buffer{}
	o.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	return &fixture{runner: b.runner(t, target, o), target: target, st: b.st, sqs: b.sqs, dlq: b.dlq, logs: logs}
}

var base = time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)

func event(person string, kind domain.Kind, n int) domain.Event {
	at := base.Add(time.Duration(n) * time.Minute)
	uuid := fmt.Sprintf("uuid-%s-%d", person, n)
	e := domain.Event{
		Source: domain.SourceOktaHook, SourceEventID: uuid, Kind: kind,
		Subject:    domain.Subject{OktaID: person, Login: person + "@example.com"},
		OccurredAt: at, ReceivedAt: at,
	}
	if kind == domain.KindMemberAdded || kind == domain.KindMemberRemoved {
		e.Group = &domain.GroupRef{OktaID: group}
	}
	e.ID = domain.NewEventID(e.Source, uuid, person, at)
	return e
}

func record(t *testing.T, id string, e domain.Event) events.SQSMessage {
	t.Helper()
	body, err := domain.EncodeEvent(e)
	if err != nil {
		t.Fatal(err)
	}
	return events.SQSMessage{MessageId: id, Body: string(body), Attributes: map[string]string{
		"MessageGroupId": e.Subject.Key(), "MessageDeduplicationId": e.ID,
	}}
}

func failures(resp events.SQSEventResponse) []string {
	var ids []string
	for _, f := range resp.BatchItemFailures {
		ids = append(ids, f.ItemIdentifier)
	}
	return ids
}

func ledgerRows(t *testing.T, st *store.Store, key string) []domain.LedgerEntry {
	t.Helper()
	page, err := st.Audit(testenv.Context(t), store.AuditQuery{PersonKey: key, PageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	return page.Entries
}

func outcomes(rows []domain.LedgerEntry) string {
	var out []string
	for _, r := range rows {
		if r.Outcome == domain.OutcomeReceived {
			continue
		}
		s := string(r.Outcome)
		if r.Op != "" {
			s += ":" + string(r.Op)
		}
		out = append(out, s)
	}
	return strings.Join(out, " ")
}

func TestAppliesAndCommitsThenSkipsDuplicate(t *testing.T) {
	f := newFixture(t, consumers.RunnerOptions{})
	ctx := testenv.Context(t)
	join := event("00uada", domain.KindMemberAdded, 1)
	resp, err := f.runner.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{record(t, "m1", join)}})
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("first delivery: %v %v", err, failures(resp))
	}
	// The same event redelivered (new MessageId, as after a redrive).
	resp, err = f.runner.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{record(t, "m1-again", join)}})
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("redelivery: %v %v", err, failures(resp))
	}
	if f.target.applies != 1 {
		t.Fatalf("target applied %d times, want 1", f.target.applies)
	}
	rec, err := f.st.Person(ctx, "00uada")
	if err != nil {
		t.Fatal(err)
	}
	// Version 2: the create intent, then the commit.
	if got := rec.Target(domain.TargetWorkMail); got.RemoteID != "remote-00uada" || got.Status != domain.RemoteEnabled ||
		got.Version != 2 || got.PendingName != "" {
		t.Fatalf("target state = %+v", got)
	}
	if got := outcomes(ledgerRows(t, f.st, "00uada")); got != "applied:create skipped" {
		t.Fatalf("ledger outcomes = %q, want %q", got, "applied:create skipped")
	}
}

func TestRetryableFailureHoldsOnlyItsGroup(t *testing.T) {
	f := newFixture(t, consumers.RunnerOptions{})
	ctx := testenv.Context(t)
	f.target.failNext["00ubob"] = domain.Retryable(errors.New("ThrottlingException: slow down"))
	batch := events.SQSEvent{Records: []events.SQSMessage{
		record(t, "b1", event("00ubob", domain.KindMemberAdded, 1)),
		record(t, "a1", event("00uada", domain.KindMemberAdded, 1)),
		record(t, "b2", event("00ubob", domain.KindMemberRemoved, 2)),
		record(t, "a2", event("00uada", domain.KindMemberRemoved, 2)),
	}}
	resp, err := f.runner.Handle(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(failures(resp)); got != "[b1 b2]" {
		t.Fatalf("batch item failures = %s, want [b1 b2]", got)
	}
	if got := outcomes(ledgerRows(t, f.st, "00uada")); got != "applied:create applied:disable" {
		t.Fatalf("ada's ledger = %q", got)
	}
	// Redelivery of bob's records converges.
	resp, err = f.runner.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{batch.Records[0], batch.Records[2]}})
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("redelivery: %v %v", err, failures(resp))
	}
	rec, err := f.st.Person(ctx, "00ubob")
	if err != nil {
		t.Fatal(err)
	}
	if got := rec.Target(domain.TargetWorkMail).Status; got != domain.RemoteDisabled {
		t.Fatalf("bob's account = %q, want disabled", got)
	}
}

// TestLastReceiveHandsRetryableFailureToReconciliation: a retryable
// failure is returned to the queue until the record's last receive but one
// (MaxReceives − 1); then it is recorded as retries exhausted and
// acknowledged, not dead-lettered: the facts are folded, and the next
// reconciliation plans the person again. The last receive, which comes
// only when the invocation of the hand-over failed as a whole, hands over
// again. The DLQ stays empty.
func TestLastReceiveHandsRetryableFailureToReconciliation(t *testing.T) {
	f := newFixture(t, consumers.RunnerOptions{MaxReceives: 3})
	ctx := testenv.Context(t)
	for _, c := range []struct {
		receive string
		want    string // batch item failures
	}{{"", "[e1]"}, {"2", "[]"}, {"3", "[]"}} {
		f.target.failNext["00ueve"] = domain.Retryable(errors.New("ServiceUnavailableException: try later"))
		rec := record(t, "e1", event("00ueve", domain.KindMemberAdded, 1))
		if c.receive != "" {
			rec.Attributes["ApproximateReceiveCount"] = c.receive
		}
		resp, err := f.runner.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{rec}})
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(failures(resp)); got != c.want {
			t.Errorf("receive %q: batch item failures %s, want %s", c.receive, got, c.want)
		}
	}
	rows := ledgerRows(t, f.st, "00ueve")
	last := rows[len(rows)-1]
	if last.Outcome != domain.OutcomeFailed || !strings.Contains(last.Reason, "retries exhausted (receive 3 of 3), left to the next reconciliation") ||
		!strings.Contains(last.Reason, "try later") {
		t.Errorf("last row %+v, want the hand-over with its cause", last)
	}
	rec, err := f.st.Person(ctx, "00ueve")
	if err != nil || len(rec.Person.Groups) == 0 {
		t.Errorf("the facts are not folded: %+v, %v", rec.Person, err)
	}
	out, err := f.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(f.dlq.DLQURL), MaxNumberOfMessages: 10})
	if err != nil || len(out.Messages) != 0 {
		t.Errorf("DLQ holds %d messages (%v), want none", len(out.Messages), err)
	}
	if n := strings.Count(f.logs.String(), "retries exhausted"); n != 2 {
		t.Errorf("%d log lines say retries exhausted, want 2 (the hand-over and the spare receive's):\n%s", n, f.logs.String())
	}
}

// appliedCounter counts the runner's idempotency checks.
type appliedCounter struct {
	consumers.Store
	n int
}

func (c *appliedCounter) Applied(ctx context.Context, key string, t domain.Target, eventID string) (bool, error) {
	c.n++
	return c.Store.Applied(ctx, key, t, eventID)
}

// TestJoinerSkipsTheIdempotencyCheck: an event whose fold creates the
// person cannot have been applied before, so the runner makes no
// idempotency check for it (a joiner's round trip saved); the same record
// delivered again finds the person, is checked, and is a duplicate.
func TestJoinerSkipsTheIdempotencyCheck(t *testing.T) {
	b := newBackend(t)
	target := &fakeTarget{accounts: map[string]string{}, failNext: map[string]error{}}
	counter := &appliedCounter{Store: b.st}
	r, err := consumers.NewRunner(consumers.RunnerOptions{Target: target, Store: counter, DLQ: b.sqs, DLQURL: b.dlq.DLQURL, NewID: b.newID})
	if err != nil {
		t.Fatal(err)
	}
	ctx := testenv.Context(t)
	rec := record(t, "j1", event("00uhal", domain.KindMemberAdded, 1))
	for i, want := range []struct {
		checks   int
		outcomes string
	}{{0, "applied:create"}, {1, "applied:create skipped"}} {
		resp, err := r.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{rec}})
		if err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("delivery %d: %v %v", i+1, err, failures(resp))
		}
		if counter.n != want.checks {
			t.Errorf("delivery %d: %d idempotency checks in all, want %d", i+1, counter.n, want.checks)
		}
		if got := outcomes(ledgerRows(t, b.st, "00uhal")); got != want.outcomes {
			t.Errorf("delivery %d: ledger %q, want %q", i+1, got, want.outcomes)
		}
	}
	if target.applies != 1 {
		t.Errorf("%d target calls, want the one create", target.applies)
	}
}

// reconcileInFlight folds person's join and returns a reconcile event for
// the WorkMail target, with the snapshot's mark written as in flight; the
// mark names markEvent, or (when "") the event itself, whose id is
// returned as markEvent too.
func reconcileInFlight(t *testing.T, f *fixture, person, markEvent string) (recon domain.Event, marked string) {
	t.Helper()
	ctx := testenv.Context(t)
	if _, err := f.st.Fold(ctx, event(person, domain.KindMemberAdded, 1)); err != nil {
		t.Fatal(err)
	}
	at := base.Add(2 * time.Minute)
	recon = domain.Event{Source: domain.SourceIdCSnapshot, SourceEventID: "reconcile:workmail:d1", Kind: domain.KindReconcile,
		Subject: domain.Subject{OktaID: person}, Target: domain.TargetWorkMail, OccurredAt: at, ReceivedAt: at}
	recon.ID = domain.NewEventID(recon.Source, recon.SourceEventID, person, at)
	marked = cmp.Or(markEvent, recon.ID)
	if err := f.st.WriteMarks(ctx, []store.Mark{{Key: person, Target: domain.TargetWorkMail, Digest: "d1", EventID: marked,
		Since: at, At: at}}, nil); err != nil {
		t.Fatal(err)
	}
	return recon, marked
}

// TestExhaustedReconcileReleasesItsMark: a reconcile event whose retries
// run out releases the snapshot's mark of it, so the next scheduled run
// plans that difference again instead of holding it as in flight for
// snapshot.redeliverAfter; a mark that names a newer event stays.
func TestExhaustedReconcileReleasesItsMark(t *testing.T) {
	tests := []struct {
		name      string
		markEvent string // "": the mark names the failing event
		wantMark  bool
	}{
		{name: "the mark of the event is released"},
		{name: "a newer difference's mark stays", markEvent: "01NEWER", wantMark: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, consumers.RunnerOptions{MaxReceives: 2})
			ctx := testenv.Context(t)
			recon, markEvent := reconcileInFlight(t, f, "00ugus", tt.markEvent)
			f.target.failNext["00ugus"] = domain.Retryable(errors.New("ServiceUnavailableException: try later"))
			rec := record(t, "r1", recon)
			rec.Attributes["ApproximateReceiveCount"] = "2"
			resp, err := f.runner.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{rec}})
			if err != nil || len(resp.BatchItemFailures) != 0 {
				t.Fatalf("the last receive must be acknowledged: %v %v", err, failures(resp))
			}
			got, err := f.st.Person(ctx, "00ugus")
			if err != nil {
				t.Fatal(err)
			}
			m, ok := got.Marks[domain.TargetWorkMail]
			if ok != tt.wantMark || (ok && m.EventID != markEvent) {
				t.Errorf("mark %+v (present %v), want present %v", m, ok, tt.wantMark)
			}
		})
	}
}

// TestPermanentReconcileFailureIsRecordedOnItsMark: a reconcile event
// that fails permanently is dead-lettered and its failure recorded on the
// person's reconcile mark for the target, so the snapshot does not send
// the same difference again before snapshot.retryFailedAfter.
func TestPermanentReconcileFailureIsRecordedOnItsMark(t *testing.T) {
	f := newFixture(t, consumers.RunnerOptions{})
	ctx := testenv.Context(t)
	recon, _ := reconcileInFlight(t, f, "00ufay", "")
	f.target.failNext["00ufay"] = domain.Permanent(errors.New("LimitExceededException: too many users"))
	resp, err := f.runner.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{record(t, "r1", recon)}})
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("a permanent failure must be acknowledged: %v %v", err, failures(resp))
	}
	recs, err := f.st.AllRecords(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.Key != "00ufay" {
			continue
		}
		m := r.Marks[domain.TargetWorkMail]
		if m.FailedEventID != recon.ID || !strings.Contains(m.FailedReason, "too many users") || m.FailedAt.IsZero() {
			t.Errorf("mark %+v, want the failure of %s recorded", m, recon.ID)
		}
		return
	}
	t.Fatal("no record for 00ufay")
}

func TestPoisonMessageIsDeadLetteredWithReasonAndPersonGoesOn(t *testing.T) {
	f := newFixture(t, consumers.RunnerOptions{})
	ctx := testenv.Context(t)
	poison := events.SQSMessage{MessageId: "p1", Body: `{"v":99,"id":"x"}`, Attributes: map[string]string{
		"MessageGroupId": "00ucat", "MessageDeduplicationId": "poison-1",
	}}
	permanent := event("00udan", domain.KindMemberAdded, 1)
	f.target.failNext["00udan"] = domain.Permanent(errors.New("InvalidParameterException: bad name"))
	batch := events.SQSEvent{Records: []events.SQSMessage{
		poison,
		record(t, "c1", event("00ucat", domain.KindMemberAdded, 1)),
		record(t, "d1", permanent),
	}}
	resp, err := f.runner.Handle(ctx, batch)
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("poison must be acknowledged: %v %v", err, failures(resp))
	}
	if got := outcomes(ledgerRows(t, f.st, "00ucat")); got != "applied:create" {
		t.Fatalf("cat's next event: ledger %q, want applied:create", got)
	}
	page, err := f.st.Audit(ctx, store.AuditQuery{System: true, PageSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Entries) != 1 || page.Entries[0].Outcome != domain.OutcomeFailed || !strings.Contains(page.Entries[0].Reason, "version") {
		t.Fatalf("poison ledger rows = %+v", page.Entries)
	}
	dan := ledgerRows(t, f.st, "00udan")
	if got := outcomes(dan); got != "failed:create failed" || !strings.Contains(dan[len(dan)-1].Reason, "bad name") {
		t.Fatalf("dan's ledger = %q %+v", got, dan)
	}
	out, err := f.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl: aws.String(f.dlq.DLQURL), MaxNumberOfMessages: 10, MessageAttributeNames: []string{"All"},
	})
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]string{}
	for _, m := range out.Messages {
		reasons[aws.ToString(m.Body)] = aws.ToString(m.MessageAttributes[consumers.AttrReason].StringValue)
	}
	if r := reasons[poison.Body]; !strings.Contains(r, "version") {
		t.Errorf("poison DLQ reason = %q", r)
	}
	if r := reasons[batch.Records[2].Body]; !strings.Contains(r, "bad name") {
		t.Errorf("permanent failure DLQ reason = %q", r)
	}
}

func TestUnstartedRecordsAreReportedNearTheDeadline(t *testing.T) {
	f := newFixture(t, consumers.RunnerOptions{TimeReserve: time.Hour})
	ctx, cancel := context.WithTimeout(testenv.Context(t), time.Minute)
	defer cancel()
	resp, err := f.runner.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{
		record(t, "a1", event("00uada", domain.KindMemberAdded, 1)),
		record(t, "b1", event("00ubob", domain.KindMemberAdded, 1)),
	}})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(failures(resp)); got != "[a1 b1]" || f.target.applies != 0 {
		t.Fatalf("failures = %s, applies = %d; want both reported and nothing applied", got, f.target.applies)
	}
}

func TestDryRunRecordsWouldRowsAndCommitsNothing(t *testing.T) {
	f := newFixture(t, consumers.RunnerOptions{DryRun: true})
	ctx := testenv.Context(t)
	resp, err := f.runner.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{record(t, "a1", event("00uada", domain.KindMemberAdded, 1))}})
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatal(err, failures(resp))
	}
	if f.target.applies != 0 {
		t.Errorf("the target's Apply ran %d times in a dry run", f.target.applies)
	}
	// Nothing is stored: neither target state nor the folded person, so
	// that switching dry run off replays the same facts into real changes.
	if rec, err := f.st.Person(ctx, "00uada"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("dry run stored the person: %+v %v", rec, err)
	}
	if got := outcomes(ledgerRows(t, f.st, "00uada")); got != "would:create" {
		t.Fatalf("ledger = %q, want would:create", got)
	}
}

func TestNewRunnerNeedsItsCollaborators(t *testing.T) {
	target := &fakeTarget{}
	full := func() consumers.RunnerOptions {
		return consumers.RunnerOptions{Target: target, Store: &store.Store{}, DLQ: &sqs.Client{}, DLQURL: "https://sqs/dlq"}
	}
	tests := []struct {
		name    string
		change  func(o *consumers.RunnerOptions)
		missing string
	}{
		{"complete", func(*consumers.RunnerOptions) {}, ""},
		{"no target", func(o *consumers.RunnerOptions) { o.Target = nil }, "Target"},
		{"no store", func(o *consumers.RunnerOptions) { o.Store = nil }, "Store"},
		{"no DLQ", func(o *consumers.RunnerOptions) { o.DLQ = nil }, "DLQ"},
		{"no DLQ URL", func(o *consumers.RunnerOptions) { o.DLQURL = "" }, "DLQURL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := full()
			tt.change(&o)
			r, err := consumers.NewRunner(o)
			if tt.missing == "" {
				if err != nil || r == nil {
					t.Fatalf("NewRunner = %v, %v", r, err)
				}
				return
			}
			if !errors.Is(err, consumers.ErrInvalid) || !strings.Contains(err.Error(), tt.missing) {
				t.Errorf("err = %v, want ErrInvalid naming %s", err, tt.missing)
			}
		})
	}
}

func TestOneLogLinePerEventOutcome(t *testing.T) {
	f := newFixture(t, consumers.RunnerOptions{})
	ctx := testenv.Context(t)
	e := event("00uada", domain.KindMemberAdded, 1)
	if _, err := f.runner.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{record(t, "m1", e)}}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(f.logs.String()), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], `"eventId":"`+e.ID+`"`) || !strings.Contains(lines[0], `"outcome":"applied"`) {
		t.Fatalf("log lines = %q", lines)
	}
	if strings.Contains(f.logs.String(), "@example.com") {
		t.Fatal("log carries a login (PII beyond ids)")
	}
}
