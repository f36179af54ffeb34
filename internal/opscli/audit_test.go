package opscli_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/opscli"
	"github.com/idsync/idsync/internal/testenv"
	"github.com/idsync/idsync/store"
)

func TestAuditByLoginPrintsRowsInOrderAcrossPages(t *testing.T) {
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
	ctx := testenv.Context(t)
	at := time.Date(2026, 11, 3, 9, 0, 0, 0, time.UTC)
	login := "ana.silva@example.com"
	e := domain.Event{Source: domain.SourceOktaHook, SourceEventID: "u1", Kind: domain.KindMemberAdded,
		Subject: domain.Subject{OktaID: "00uana", Login: login}, Group: &domain.GroupRef{OktaID: "00gwm"},
		OccurredAt: at, ReceivedAt: at}
	e.ID = domain.NewEventID(e.Source, e.SourceEventID, "00uana", at)
	if _, err := st.Fold(ctx, e); err != nil {
		t.Fatal(err)
	}
	ops := []domain.OpKind{domain.OpCreate, domain.OpRegister, domain.OpDisable}
	for i, op := range ops {
		id := ulid.MustNew(ulid.Timestamp(at.Add(time.Duration(i)*time.Minute)), ulid.DefaultEntropy()).String()
		if _, err := st.Append(ctx, domain.LedgerEntry{ID: id, At: at, PersonKey: "00uana", EventID: e.ID,
			Target: domain.TargetWorkMail, Op: op, Outcome: domain.OutcomeApplied, RemoteID: "wm-1"}); err != nil {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	if err := opscli.Audit(ctx, st, &out, opscli.AuditArgs{Person: login}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "TIME") || !strings.Contains(lines[0], " PERSON  LOGIN ") {
		t.Fatalf("output:\n%s", out.String())
	}
	// The ledger holds ids only; the table shows the login (read from the
	// person's state) beside the key, so that people can read it.
	for i, op := range ops {
		if !strings.Contains(lines[i+1], " "+string(op)+" ") || !strings.Contains(lines[i+1], "00uana  "+login+" ") {
			t.Errorf("line %d = %q, want op %s beside 00uana and %s", i+1, lines[i+1], op, login)
		}
	}

	out.Reset()
	if err := opscli.Audit(ctx, st, &out, opscli.AuditArgs{Person: "00uana", Format: opscli.FormatJSON, Limit: 2}); err != nil {
		t.Fatal(err)
	}
	var first struct {
		domain.LedgerEntry
		Login string `json:"login"`
	}
	jsonLines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(jsonLines) != 2 || json.Unmarshal([]byte(jsonLines[0]), &first) != nil || first.Op != domain.OpCreate || first.Login != login {
		t.Fatalf("JSON output with limit 2:\n%s", out.String())
	}

	out.Reset()
	if err := opscli.Audit(ctx, st, &out, opscli.AuditArgs{Person: "00uana", Format: opscli.FormatCSV, Limit: 1}); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(strings.NewReader(out.String())).ReadAll()
	if err != nil || len(rows) != 2 || rows[0][0] != "TIME" || rows[1][2] != login || rows[1][6] != string(domain.OpCreate) {
		t.Fatalf("CSV output with limit 1 (%v):\n%s", err, out.String())
	}

	if err := opscli.Audit(ctx, st, &out, opscli.AuditArgs{Person: "nobody@example.com"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown person: %v, want ErrNotFound", err)
	}
	if err := opscli.Audit(ctx, st, &out, opscli.AuditArgs{}); !errors.Is(err, opscli.ErrUsage) {
		t.Fatalf("no selection: %v, want ErrUsage", err)
	}
}

// newStore returns a store over fresh tables.
func newStore(t *testing.T) *store.Store {
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
	return st
}

func TestAuditShowsOnePersonsRowsRecordedUnderTwoKeys(t *testing.T) {
	st := newStore(t)
	ctx := testenv.Context(t)
	at := time.Date(2026, 11, 3, 9, 0, 0, 0, time.UTC)
	event := func(src domain.Source, id string, sub domain.Subject, kind domain.Kind, when time.Time) domain.Event {
		e := domain.Event{Source: src, SourceEventID: id, Kind: kind, Subject: sub,
			Group: &domain.GroupRef{IdCID: "idc-mail"}, OccurredAt: when, ReceivedAt: when}
		e.ID = domain.NewEventID(src, id, sub.Key(), when)
		return e
	}
	// The snapshot sees Bea first, by IdC id alone: she is stored under it.
	first := event(domain.SourceIdCSnapshot, "run-1/bea", domain.Subject{IdCUserID: "idc-bea", Login: "bea@example.com"}, domain.KindMemberAdded, at)
	// A later snapshot links her Okta id; then a hook fact names her by it.
	linked := event(domain.SourceIdCSnapshot, "run-2/bea", domain.Subject{OktaID: "00ubea", IdCUserID: "idc-bea", Login: "bea@example.com"}, domain.KindProfileChanged, at.Add(time.Hour))
	hook := event(domain.SourceOktaHook, "uuid-3", domain.Subject{OktaID: "00ubea", Login: "bea@example.com"}, domain.KindMemberRemoved, at.Add(2*time.Hour))
	for _, e := range []domain.Event{first, linked, hook} {
		if _, err := st.RecordReceived(ctx, e); err != nil {
			t.Fatal(err)
		}
		res, err := st.Fold(ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		if res.Key != "idc-bea" {
			t.Fatalf("Bea is stored under %s", res.Key)
		}
		// The consumer's row goes to the partition she is stored under.
		if _, err := st.Append(ctx, domain.LedgerEntry{ID: ulid.MustNew(ulid.Timestamp(e.OccurredAt.Add(time.Second)), ulid.DefaultEntropy()).String(),
			PersonKey: res.Key, EventID: e.ID, Source: e.Source, Kind: e.Kind, Target: domain.TargetWorkMail,
			Outcome: domain.OutcomeSkipped, Reason: "no change"}); err != nil {
			t.Fatal(err)
		}
	}

	for _, who := range []string{"bea@example.com", "00ubea", "idc-bea"} {
		t.Run(who, func(t *testing.T) {
			keys, err := opscli.PersonKeys(ctx, st, who)
			if err != nil || strings.Join(keys, ",") != "00ubea,idc-bea" {
				t.Fatalf("keys of %s: %v %v", who, keys, err)
			}
			var out bytes.Buffer
			if err := opscli.Audit(ctx, st, &out, opscli.AuditArgs{Person: who, Format: opscli.FormatCSV}); err != nil {
				t.Fatal(err)
			}
			rows, err := csv.NewReader(&out).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range rows[1:] {
				got = append(got, r[1]+":"+r[7])
				if r[2] != "bea@example.com" {
					t.Errorf("row %v lacks the login", r)
				}
			}
			want := []string{"idc-bea:received", "idc-bea:skipped", "00ubea:received", "idc-bea:skipped", "00ubea:received", "idc-bea:skipped"}
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Fatalf("rows in order %v, want %v", got, want)
			}
		})
	}
}

func TestAuditFollowPrintsNewRowsUntilCancelled(t *testing.T) {
	st := newStore(t)
	ctx, cancel := context.WithCancel(testenv.Context(t))
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	// Following starts from the command's now, which is before the rows
	// are appended whenever the goroutine below gets to run.
	begin := time.Now().Add(-time.Second)
	go func() {
		done <- opscli.Audit(ctx, st, pw, opscli.AuditArgs{Follow: true, Format: opscli.FormatJSON, PollEvery: 100 * time.Millisecond,
			Now: func() time.Time { return begin }})
		_ = pw.Close()
	}()
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	for i, outcome := range []domain.Outcome{domain.OutcomeApplied, domain.OutcomeFailed} {
		if _, err := st.Append(ctx, domain.LedgerEntry{PersonKey: "00ufollow", Outcome: outcome, Reason: fmt.Sprint("row ", i)}); err != nil {
			t.Fatal(err)
		}
		select {
		case l := <-lines:
			if !strings.Contains(l, `"outcome":"`+string(outcome)+`"`) {
				t.Fatalf("followed row %d: %s", i, l)
			}
		case <-time.After(time.Minute):
			t.Fatalf("row %d was not followed", i)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("follow ended with %v", err)
	}
	for l := range lines {
		t.Errorf("a row printed twice or late: %s", l)
	}
}

func TestAuditRefusesContradictions(t *testing.T) {
	st := newStore(t)
	ctx := testenv.Context(t)
	for _, tc := range []struct {
		name string
		a    opscli.AuditArgs
	}{
		{"nothing selected", opscli.AuditArgs{}},
		{"person and system", opscli.AuditArgs{Person: "x", System: true}},
		{"limit and follow", opscli.AuditArgs{Follow: true, Limit: 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := opscli.Audit(ctx, st, io.Discard, tc.a); !errors.Is(err, opscli.ErrUsage) {
				t.Fatalf("err = %v, want ErrUsage", err)
			}
		})
	}
}
