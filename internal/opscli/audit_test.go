package opscli_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
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
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "TIME") {
		t.Fatalf("output:\n%s", out.String())
	}
	for i, op := range ops {
		if !strings.Contains(lines[i+1], " "+string(op)+" ") || !strings.Contains(lines[i+1], "00uana") {
			t.Errorf("line %d = %q, want op %s", i+1, lines[i+1], op)
		}
	}
	if strings.Contains(out.String(), login) {
		t.Error("audit output prints the login; rows carry ids only")
	}

	out.Reset()
	if err := opscli.Audit(ctx, st, &out, opscli.AuditArgs{Person: "00uana", Format: opscli.FormatJSON, Limit: 2}); err != nil {
		t.Fatal(err)
	}
	var first domain.LedgerEntry
	jsonLines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(jsonLines) != 2 || json.Unmarshal([]byte(jsonLines[0]), &first) != nil || first.Op != domain.OpCreate {
		t.Fatalf("JSON output with limit 2:\n%s", out.String())
	}

	out.Reset()
	if err := opscli.Audit(ctx, st, &out, opscli.AuditArgs{Person: "00uana", Format: opscli.FormatCSV, Limit: 1}); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(strings.NewReader(out.String())).ReadAll()
	if err != nil || len(rows) != 2 || rows[0][0] != "TIME" || rows[1][5] != string(domain.OpCreate) {
		t.Fatalf("CSV output with limit 1 (%v):\n%s", err, out.String())
	}

	if err := opscli.Audit(ctx, st, &out, opscli.AuditArgs{Person: "nobody@example.com"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown person: %v, want ErrNotFound", err)
	}
	if err := opscli.Audit(ctx, st, &out, opscli.AuditArgs{}); !errors.Is(err, opscli.ErrUsage) {
		t.Fatalf("no selection: %v, want ErrUsage", err)
	}
}
