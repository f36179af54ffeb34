package opscli_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go/middleware"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/awsclient"
	"github.com/idsync/idsync/internal/localrun"
	"github.com/idsync/idsync/internal/opscli"
	"github.com/idsync/idsync/internal/settings"
	"github.com/idsync/idsync/internal/sim/simidentitystore"
	"github.com/idsync/idsync/internal/sim/simkit"
	"github.com/idsync/idsync/internal/testenv"
	"github.com/idsync/idsync/store"
)

// cancelAfter returns an SDK API option that cancels a context once n
// SendMessageBatch calls have been sent: an operator's Ctrl-C in the middle
// of queueing.
func cancelAfter(n int32, cancel context.CancelFunc) func(*middleware.Stack) error {
	var sent atomic.Int32
	return func(stack *middleware.Stack) error {
		return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("cancelAfter",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				if middleware.GetOperationName(ctx) == "SendMessageBatch" && sent.Add(1) == n {
					cancel()
				}
				return next.HandleFinalize(ctx, in)
			}), middleware.After)
	}
}

// ledgerRows counts everyone's rows since from that match keep.
func ledgerRows(t *testing.T, st *store.Store, from time.Time, keep func(domain.LedgerEntry) bool) int {
	t.Helper()
	n := 0
	q := store.AuditQuery{From: from, PageSize: store.MaxPageSize}
	for {
		page, err := st.Audit(testenv.Context(t), q)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Entries {
			if keep(e) {
				n++
			}
		}
		if q.Cursor = page.Cursor; q.Cursor == "" {
			return n
		}
	}
}

func TestReplaySnapshotProvisionsADirectoryOf500OnceWhenInterruptedAndRerun(t *testing.T) {
	const people, agents = 500, 10
	s := startStack(t, localrun.Options{Rates: map[domain.Target]float64{domain.TargetWorkMail: 1000, domain.TargetConnect: 1000}})
	s.WorkMail.Control().SetQuota(simkit.EachOp, simkit.Quota{})
	s.Connect.Control().SetQuota(simkit.EachOp, simkit.Quota{})
	ctx := testenv.LongContext(t, 10*time.Minute)
	start := time.Now().Add(-time.Minute)

	// A directory that exists before idsync: 500 people in the WorkMail
	// group, ten of them also agents.
	storeID := s.Endpoint("IDENTITY_STORE_ID")
	for i := range people {
		id, err := s.IdentityStore.SeedUser(storeID, simidentitystore.User{
			UserName: fmt.Sprintf("user%03d@example.com", i), GivenName: "User", FamilyName: fmt.Sprintf("N%03d", i),
			Email: fmt.Sprintf("user%03d@example.com", i),
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.IdentityStore.SeedMembership(storeID, s.Endpoint("IDC_WORKMAIL_GROUP_ID"), id); err != nil {
			t.Fatal(err)
		}
		if i < agents {
			if _, err := s.IdentityStore.SeedMembership(storeID, s.Endpoint("IDC_CONNECT_GROUP_ID"), id); err != nil {
				t.Fatal(err)
			}
		}
	}
	targets := settings.Targets(s.Config)
	deps := func(t *testing.T, cfg *aws.Config) opscli.ReplayDeps {
		d, err := opscli.ReplayDepsOf(operator(t, s, cfg), targets, true)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}

	// A dry run says what each target would get and changes nothing.
	var out, log bytes.Buffer
	if err := opscli.ReplaySnapshot(ctx, deps(t, nil), &out, &log, opscli.ReplayArgs{DryRun: true, Format: opscli.FormatCSV}); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	would := map[string]int{}
	for _, r := range rows[1:] { // PERSON, LOGIN, FACTS, TARGET, WOULD, REASON
		would[r[3]+": "+r[4]]++
	}
	if would["workmail: create, register"] != people || would["connect: create"] != agents || would["connect: nothing"] != people-agents {
		t.Fatalf("dry run would %v\n%s", would, log.String())
	}
	if !strings.Contains(log.String(), "nothing queued") {
		t.Errorf("dry-run summary: %s", log.String())
	}
	if n := ledgerRows(t, s.Store, start, func(domain.LedgerEntry) bool { return true }); n != 0 {
		t.Fatalf("the dry run wrote %d ledger rows", n)
	}
	if sys, err := s.Store.Audit(ctx, store.AuditQuery{System: true}); err != nil || len(sys.Entries) != 0 {
		t.Fatalf("the dry run wrote a summary row: %v %v", sys.Entries, err)
	}
	for _, tg := range targets {
		if n := depth(t, s, queue(s, tg).URL); n != 0 {
			t.Fatalf("the dry run queued %d messages for %s", n, tg)
		}
	}
	if n := len(s.WorkMail.Users(s.Endpoint("WORKMAIL_ORGANIZATION_ID"))); n != 0 {
		t.Fatalf("the dry run made %d mailboxes", n)
	}

	// The operator starts the backfill and interrupts it while it queues.
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	cfg, err := awsclient.Config(ctx, awsclient.Options{Local: true})
	if err != nil {
		t.Fatal(err)
	}
	cfg.APIOptions = append(cfg.APIOptions, cancelAfter(15, cancel))
	out.Reset()
	err = opscli.ReplaySnapshot(runCtx, deps(t, &cfg), &out, &log, opscli.ReplayArgs{Format: opscli.FormatCSV})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: %v\n%s", err, out.String())
	}
	if n := depth(t, s, queue(s, domain.TargetWorkMail).URL); n == 0 {
		t.Fatal("the interrupted run queued nothing; it was interrupted too early to show anything")
	}

	// Run again, as written, and wait for the consumers.
	out.Reset()
	if err := opscli.ReplaySnapshot(ctx, deps(t, nil), &out, &log, opscli.ReplayArgs{Format: opscli.FormatCSV, Wait: true, PollEvery: 200 * time.Millisecond}); err != nil {
		t.Fatalf("re-run: %v\n%s", err, out.String())
	}
	t.Logf("re-run:\n%s", out.String())

	names := map[string]int{}
	for _, u := range s.WorkMail.Users(s.Endpoint("WORKMAIL_ORGANIZATION_ID")) {
		names[u.Name]++
		if u.State != "ENABLED" || u.IdentityProviderUserID == "" {
			t.Errorf("mailbox %s is %s, IdC user %q", u.Name, u.State, u.IdentityProviderUserID)
		}
	}
	if len(names) != people {
		t.Fatalf("%d mailboxes, want %d", len(names), people)
	}
	for n, c := range names {
		if c != 1 {
			t.Errorf("%d mailboxes named %s", c, n)
		}
	}
	// An agent whose facts the interrupted run queued for WorkMail only,
	// and that WorkMail's consumer folded before the re-run, is not in the
	// re-run's diff (it compares with the shared person state); the re-run's
	// per-target reconciliation plans Connect from the person and Connect's
	// own state, and queues the create.
	agentsNow := func() map[string]int {
		m := map[string]int{}
		for _, u := range s.Connect.Users(s.Endpoint("CONNECT_INSTANCE_ID")) {
			m[u.Username]++
		}
		return m
	}
	have := agentsNow()
	if len(have) != agents {
		t.Errorf("%d agents, want %d: %v", len(have), agents, have)
	}
	for u, n := range have {
		if n != 1 {
			t.Errorf("%d agents named %s", n, u)
		}
	}
	creates := ledgerRows(t, s.Store, start, func(e domain.LedgerEntry) bool {
		return e.Target == domain.TargetWorkMail && e.Op == domain.OpCreate && e.Outcome == domain.OutcomeApplied
	})
	failed := ledgerRows(t, s.Store, start, func(e domain.LedgerEntry) bool {
		return e.Outcome == domain.OutcomeFailed && strings.HasPrefix(e.Reason, "permanent")
	})
	if creates != people || failed != 0 {
		t.Fatalf("ledger: %d applied WorkMail creates (want %d), %d permanent failures", creates, people, failed)
	}
}

func TestReplayLedgerReemitsRecordedFactsOnce(t *testing.T) {
	s := startStack(t, localrun.Options{})
	ctx := testenv.Context(t)
	ana := addToGroup(t, s, "OKTA_WORKMAIL_GROUP_ID", "ana.silva@example.com")
	testenv.Eventually(t, "Ana's mailbox", func() string {
		if st, _ := mailboxState(s, "ana.silva"); st != "ENABLED" {
			return "mailbox " + st
		}
		return ""
	})
	all := func(domain.LedgerEntry) bool { return true }
	start := time.Now().Add(-time.Hour)
	wait := func(what string, check func() bool) {
		testenv.Eventually(t, what, func() string {
			if !check() {
				return "not yet"
			}
			return ""
		})
	}
	// Both consumers have settled Ana's fact.
	wait("both targets", func() bool {
		return ledgerRows(t, s.Store, start, func(e domain.LedgerEntry) bool { return e.PersonKey == ana && e.Target != "" }) >= 3
	})
	before := ledgerRows(t, s.Store, start, all)
	d, err := opscli.ReplayDepsOf(operator(t, s, nil), settings.Targets(s.Config), false)
	if err != nil {
		t.Fatal(err)
	}
	args := opscli.ReplayArgs{Person: "ana.silva@example.com", Format: opscli.FormatCSV}

	// Dry run: what each target would get, nothing written or queued.
	var out, log bytes.Buffer
	dry := args
	dry.DryRun = true
	if err := opscli.ReplayLedger(ctx, d, &out, &log, dry); err != nil {
		t.Fatal(err)
	}
	rows, _ := csv.NewReader(&out).ReadAll()
	if len(rows) != 3 || rows[1][3] != "workmail" || rows[1][4] != "nothing" || rows[1][1] != "ana.silva@example.com" {
		t.Fatalf("dry run:\n%s", out.String())
	}
	if after := ledgerRows(t, s.Store, start, all); after != before {
		t.Fatalf("the dry run wrote %d rows", after-before)
	}

	// The replay: one replay event per recorded fact (the hook's
	// member-added, and the link to her IdC user the WorkMail consumer
	// looked up), the original time, nothing applied again; a second run
	// repeats the ids and adds nothing.
	for round := 1; round <= 2; round++ {
		out.Reset()
		a := args
		a.Wait, a.PollEvery = true, 200*time.Millisecond
		if err := opscli.ReplayLedger(ctx, d, &out, &log, a); err != nil {
			t.Fatalf("run %d: %v", round, err)
		}
		text := out.String()
		rows, _ := csv.NewReader(strings.NewReader(text)).ReadAll()
		// OCCURRED, PERSON, LOGIN, KIND, ORIGINAL EVENT, REPLAY EVENT, OUTCOME
		if len(rows) != 3 {
			t.Fatalf("run %d:\n%s", round, text)
		}
		kinds := map[string]bool{}
		for _, row := range rows[1:] {
			kinds[row[3]] = true
			if row[1] != ana || row[4] == row[5] {
				t.Fatalf("run %d:\n%s", round, text)
			}
			if want := map[int]string{1: "queued", 2: "queued again (replayed before)"}[round]; row[6] != want {
				t.Fatalf("run %d outcome %q, want %q", round, row[6], want)
			}
			orig, err := s.Store.ReceivedRow(ctx, row[4])
			if err != nil {
				t.Fatal(err)
			}
			replayed, err := s.Store.ReceivedRow(ctx, row[5])
			if err != nil {
				t.Fatal(err)
			}
			e, err := store.ReceivedEvent(replayed)
			if err != nil || e.Source != domain.SourceReplay || e.SourceEventID != orig.EventID || replayed.ID[:10] != orig.ID[:10] {
				t.Fatalf("replayed row %+v (event %+v, %v) of %+v", replayed, e, err, orig)
			}
		}
		if !kinds[string(domain.KindMemberAdded)] || !kinds[string(domain.KindProfileChanged)] {
			t.Fatalf("run %d replayed kinds %v, want the member-added and the IdC link:\n%s", round, kinds, text)
		}
	}
	wait("the replays settled", func() bool {
		return ledgerRows(t, s.Store, start, func(e domain.LedgerEntry) bool {
			return e.Source == domain.SourceReplay && e.Target == domain.TargetConnect
		}) >= 1
	})
	replays := ledgerRows(t, s.Store, start, func(e domain.LedgerEntry) bool {
		return e.Source == domain.SourceReplay && e.Outcome == domain.OutcomeReceived
	})
	applied := ledgerRows(t, s.Store, start, func(e domain.LedgerEntry) bool {
		return e.Source == domain.SourceReplay && e.Outcome == domain.OutcomeApplied
	})
	if replays != 2 || applied != 0 {
		t.Fatalf("%d replay facts recorded (want 2), %d ops applied again (want 0)", replays, applied)
	}
	if _, n := mailboxState(s, "ana.silva"); n != 1 {
		t.Fatalf("Ana has %d mailboxes", n)
	}

	for _, tc := range []struct {
		name string
		a    opscli.ReplayArgs
	}{
		{"nothing selected", opscli.ReplayArgs{}},
		{"person and range", opscli.ReplayArgs{Person: "x", From: time.Now()}},
		{"negative rate", opscli.ReplayArgs{Person: "x", Rate: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := opscli.ReplayLedger(ctx, d, &out, &log, tc.a); !errors.Is(err, opscli.ErrUsage) {
				t.Fatalf("err = %v, want ErrUsage", err)
			}
		})
	}
}

func TestReplayEventIsDeterministicPerRound(t *testing.T) {
	at := time.Date(2026, 11, 3, 9, 0, 0, 0, time.UTC)
	orig := domain.Event{Source: domain.SourceOktaHook, SourceEventID: "u1", Kind: domain.KindMemberAdded,
		Subject: domain.Subject{OktaID: "00ua"}, Group: &domain.GroupRef{OktaID: "00g"}, OccurredAt: at, ReceivedAt: at}
	orig.ID = domain.NewEventID(orig.Source, orig.SourceEventID, "00ua", at)
	later := at.Add(48 * time.Hour)
	for _, tc := range []struct {
		name       string
		a, b       domain.Event
		sameID     bool
		wantSource string
	}{
		{"the same round repeats the id", opscli.ReplayEvent(orig, 1, at), opscli.ReplayEvent(orig, 1, later), true, orig.ID},
		{"a new round is a new fact", opscli.ReplayEvent(orig, 1, at), opscli.ReplayEvent(orig, 2, at), false, orig.ID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if (tc.a.ID == tc.b.ID) != tc.sameID || tc.a.ID == orig.ID {
				t.Fatalf("ids %s %s (original %s)", tc.a.ID, tc.b.ID, orig.ID)
			}
			if tc.a.Source != domain.SourceReplay || tc.a.SourceEventID != tc.wantSource || !tc.a.OccurredAt.Equal(at) || tc.a.ID[:10] != orig.ID[:10] {
				t.Fatalf("replay event %+v", tc.a)
			}
			if err := tc.b.Validate(); err != nil {
				t.Fatal(err)
			}
		})
	}
}
