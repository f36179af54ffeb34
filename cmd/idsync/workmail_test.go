package main_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/sim/simworkmail"
	"github.com/idsync/idsync/internal/testenv"
	"github.com/idsync/idsync/store"
)

// run runs the operator binary with env added to the process's
// environment and returns its exit code, stdout and stderr.
func run(t *testing.T, bin string, env []string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return ee.ExitCode(), stdout.String(), stderr.String()
	case err != nil:
		t.Fatal(err)
	}
	return 0, stdout.String(), stderr.String()
}

// TestWorkMailExportCommand drives `idsync workmail export` as an operator
// does, against the local engines and a WorkMail stand-in through a
// settings file: usage errors exit 2, an export of every mailbox prints
// its summary as JSON and exits 0, and `idsync audit` shows the exports.
func TestWorkMailExportCommand(t *testing.T) {
	env := testenv.Get(t)
	bin := filepath.Join(t.TempDir(), "idsync")
	goTool(t, "build", "-o", bin, "./cmd/idsync")
	dir := t.TempDir()
	empty := filepath.Join(dir, "none.env")
	clean := []string{"STATE_TABLE=", "LEDGER_TABLE=", "IDSYNC_CONFIG=", "IDSYNC_CONFIG_FILE="}

	for _, tt := range []struct {
		name string
		args []string
		code int
		says string
	}{
		{"help", []string{"workmail", "export", "--help"}, 0, "--concurrency"},
		{"neither --all nor --person", []string{"workmail", "export", "--env-file", empty}, 2, "give --all or --person"},
		{"both", []string{"workmail", "export", "--all", "--person", "x", "--env-file", empty}, 2, "give --all or --person"},
		{"no tables", []string{"workmail", "export", "--all", "--env-file", empty}, 2, "STATE_TABLE and LEDGER_TABLE are required"},
		{"bad since", []string{"workmail", "export", "--all", "--since", "yesterday", "--env-file", empty}, 2, `"yesterday" is not RFC 3339`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := run(t, bin, clean, tt.args...)
			if code != tt.code || !strings.Contains(stdout+stderr, tt.says) {
				t.Errorf("exit %d, want %d; output lacks %q:\n%s%s", code, tt.code, tt.says, stdout, stderr)
			}
		})
	}

	// Three people with mailboxes in a stand-in, the state in DynamoDB
	// Local, the configuration's exportTo as the destination.
	db := env.DynamoDB(t)
	state := env.CreateTable(t, db, store.StateTableSpec().CreateTableInput("state"))
	ledger := env.CreateTable(t, db, store.LedgerTableSpec().CreateTableInput("ledger"))
	st, err := store.New(store.Options{DB: db, StateTable: state, LedgerTable: ledger})
	if err != nil {
		t.Fatal(err)
	}
	sim := simworkmail.New(simworkmail.Options{NoQuota: true, ExportDir: filepath.Join(dir, "s3"),
		Export: simworkmail.ExportFaults{Duration: 50 * time.Millisecond}})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	org := sim.AddOrganization("cli", "example.com")
	ctx := testenv.Context(t)
	at := time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC)
	for i := range 3 {
		key, login := fmt.Sprintf("00ucli%04d", i), fmt.Sprintf("user%d@example.com", i)
		id, err := sim.SeedUser(org, fmt.Sprintf("user%d", i), login)
		if err != nil {
			t.Fatal(err)
		}
		e := domain.Event{Source: domain.SourceIdCSnapshot, SourceEventID: "seed-" + key, Kind: domain.KindMemberAdded,
			Subject: domain.Subject{OktaID: key, Login: login}, Group: &domain.GroupRef{OktaID: "00gmail"}, OccurredAt: at, ReceivedAt: at}
		e.ID = domain.NewEventID(e.Source, e.SourceEventID, key, at)
		if _, err := st.Fold(ctx, e); err != nil {
			t.Fatal(err)
		}
		if _, err := st.PutTarget(ctx, key, domain.TargetState{Target: domain.TargetWorkMail, Managed: true, RemoteID: id, Status: domain.RemoteEnabled}, 0); err != nil {
			t.Fatal(err)
		}
	}
	config := filepath.Join(dir, "idsync.json")
	if err := os.WriteFile(config, fmt.Appendf(nil, `{"snapshot": {"identityStoreId": "d-9067c53e4f"},
	  "workmail": {"organizationId": %q, "groups": [{"oktaId": "00gmail"}],
	    "onLeave": {"action": "delete", "deleteAfterDays": 14, "exportTo": {"bucket": "idsync-mail-export", "prefix": "cli",
	      "kmsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
	      "roleArn": "arn:aws:iam::123456789012:role/idsync-workmail-export"}}}}`, org), 0o600); err != nil {
		t.Fatal(err)
	}
	settingsFile := filepath.Join(dir, "endpoints.env")
	if err := os.WriteFile(settingsFile, fmt.Appendf(nil, "STATE_TABLE=%s\nLEDGER_TABLE=%s\nDYNAMODB_ENDPOINT=%s\nWORKMAIL_ENDPOINT=%s\nIDSYNC_LOCAL=true\nAWS_REGION=us-east-1\nIDSYNC_CONFIG_FILE=%s\n",
		state, ledger, env.DynamoDBEndpoint, srv.URL, config), 0o600); err != nil {
		t.Fatal(err)
	}

	code, stdout, stderr := run(t, bin, clean, "workmail", "export", "--all", "--poll", "20ms", "--output", "json", "--env-file", settingsFile)
	if code != 0 || !strings.Contains(stderr, "3 mailboxes: 3 exported (since ") {
		t.Fatalf("export: exit %d\n%s\n%s", code, stdout, stderr)
	}
	dec := json.NewDecoder(strings.NewReader(stdout))
	n := 0
	for dec.More() {
		var row map[string]string
		if err := dec.Decode(&row); err != nil {
			t.Fatal(err)
		}
		if row["outcome"] != "exported" || row["state"] != "COMPLETED" || !strings.HasPrefix(row["object"], "idsync-mail-export/cli/") || row["jobId"] == "" {
			t.Errorf("row %v", row)
		}
		n++
	}
	if n != 3 || strings.Contains(stderr, "exporting mailboxes") {
		t.Errorf("%d rows; stderr %q (no progress bar off a terminal)", n, stderr)
	}
	code, stdout, _ = run(t, bin, clean, "audit", "--person", "user1@example.com", "--env-file", settingsFile)
	if code != 0 || !strings.Contains(stdout, "export-start") || !strings.Contains(stdout, "export-check") || !strings.Contains(stdout, "COMPLETED") {
		t.Errorf("audit: exit %d\n%s", code, stdout)
	}
	// A re-run resumes the same campaign: nothing to export.
	code, stdout, stderr = run(t, bin, clean, "workmail", "export", "--all", "--env-file", settingsFile)
	if code != 0 || !strings.Contains(stderr, "3 mailboxes: 3 skipped") || !strings.HasPrefix(stdout, "PERSON") {
		t.Errorf("re-run: exit %d\n%s\n%s", code, stdout, stderr)
	}
}
