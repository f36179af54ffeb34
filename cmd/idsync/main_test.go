package main_test

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/localrun"
	"github.com/idsync/idsync/internal/testenv"
)

// goTool runs the go command in the repository root.
func goTool(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = filepath.Join("..", "..")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestOperatorBinaryLinksNoStandIn(t *testing.T) {
	deps := goTool(t, "list", "-deps", "./cmd/idsync")
	if !strings.Contains(deps, "github.com/idsync/idsync/internal/opscli") {
		t.Fatalf("go list -deps ./cmd/idsync does not list internal/opscli; the check is not looking at the right thing:\n%s", deps)
	}
	for _, p := range strings.Fields(deps) {
		if strings.Contains(p, "/internal/sim") || strings.Contains(p, "/internal/localrun") {
			t.Errorf("the operator binary links %s", p)
		}
	}
	local := goTool(t, "list", "-tags", "local", "-deps", "./cmd/idsync")
	if !strings.Contains(local, "github.com/idsync/idsync/internal/localrun") {
		t.Error("the local build does not link the local runner")
	}
}

func TestLambdaMainsStayThin(t *testing.T) {
	mains, err := filepath.Glob(filepath.Join("..", "*", "main.go"))
	if err != nil || len(mains) < 4 {
		t.Fatalf("mains %v: %v", mains, err)
	}
	for _, m := range mains {
		if filepath.Base(filepath.Dir(m)) == "idsync" {
			continue
		}
		b, err := os.ReadFile(m)
		if err != nil {
			t.Fatal(err)
		}
		if n := bytes.Count(b, []byte("\n")); n >= 60 {
			t.Errorf("%s has %d lines; a Lambda main builds through internal/app in under 60", m, n)
		}
		if !bytes.Contains(b, []byte(`"github.com/idsync/idsync/internal/app"`)) {
			t.Errorf("%s does not build through internal/app", m)
		}
	}
}

func TestExitCodesAndMessages(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "idsync")
	goTool(t, "build", "-o", bin, "./cmd/idsync")
	empty := filepath.Join(t.TempDir(), "none.env")
	tests := []struct {
		name string
		args []string
		code int
		says string
	}{
		{"help", []string{"--help"}, 0, "audit"},
		{"audit help", []string{"audit", "--help"}, 0, "--person"},
		{"unknown flag", []string{"audit", "--bogus"}, 2, "unknown flag"},
		{"no tables", []string{"audit", "--env-file", empty, "--person", "x"}, 2, "STATE_TABLE and LEDGER_TABLE are required"},
		{"bad output", []string{"audit", "--env-file", empty, "--output", "xml"}, 2, `--output "xml"`},
		{"local in the operator build", []string{"local"}, 2, "make run"},
		{"redrive help", []string{"redrive", "--help"}, 0, "--dry-run"},
		{"redrive without a target", []string{"redrive", "--env-file", empty}, 2, "--target is required"},
		{"redrive without tables", []string{"redrive", "--target", "connect", "--env-file", empty}, 2, "STATE_TABLE and LEDGER_TABLE are required"},
		{"replay help", []string{"replay", "--help"}, 0, "replay ledger"},
		{"replay alone", []string{"replay"}, 2, "replay snapshot or replay ledger"},
		{"replay something else", []string{"replay", "everything"}, 2, `unknown replay "everything"`},
		{"replay ledger without a selection", []string{"replay", "ledger", "--env-file", empty}, 2, "give --person, --from or --since"},
		{"explain without an id", []string{"audit", "explain", "--env-file", empty}, 2, "one EVENT_ID"},
		{"audit since and from", []string{"audit", "--since", "1h", "--from", "2026-01-01", "--env-file", empty}, 2, "exclude each other"},
		{"discover help", []string{"discover", "--help"}, 0, "--connect-group"},
		{"discover without groups", []string{"discover", "--env-file", empty}, 2, "name at least one group"},
		{"discover with a bad group", []string{"discover", "--connect-group", "Agents=high", "--env-file", empty}, 2, `priority "high" is not an integer`},
		{"adopt connect help", []string{"adopt", "connect", "--help"}, 0, "--apply"},
		{"adopt connect without tables", []string{"adopt", "connect", "--env-file", empty}, 2, "STATE_TABLE and LEDGER_TABLE are required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(bin, tt.args...)
			cmd.Env = append(os.Environ(), "STATE_TABLE=", "LEDGER_TABLE=")
			out, err := cmd.CombinedOutput()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.code || !strings.Contains(string(out), tt.says) {
				t.Errorf("exit %d, want %d; output lacks %q:\n%s", code, tt.code, tt.says, out)
			}
		})
	}
}

// TestCommandsAgainstTheLocalPipeline runs the operator binary, as built
// for operators, against the local pipeline through its endpoints.env, as
// the README's runbook does: from a directory holding .local/endpoints.env
// (what make run writes), with no flags, and scripts/replay building the
// binary itself; one command names the file with --env-file instead.
func TestCommandsAgainstTheLocalPipeline(t *testing.T) {
	env := testenv.Get(t)
	work := t.TempDir()
	dir := filepath.Join(work, ".local")
	s, err := localrun.Start(testenv.Context(t), localrun.Options{
		DynamoDBEndpoint: env.DynamoDBEndpoint, SQSEndpoint: env.SQSEndpoint,
		Prefix: testenv.UniqueName(t, "cli", 60), Dir: dir, Log: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	bin := filepath.Join(t.TempDir(), "idsync")
	goTool(t, "build", "-o", bin, "./cmd/idsync")
	envFile := filepath.Join(dir, "endpoints.env")
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name           string
		cmd            []string
		stdout, stderr string
	}{
		{"redrive dry run", []string{bin, "redrive", "--target", "connect", "--dry-run"},
			"PERSON  LOGIN  KIND  EVENT ID  AGE  REASON  ACTION", "redrive connect (dry run, nothing moved): 0 listed"},
		{"replay snapshot dry run", []string{bin, "replay", "snapshot", "--dry-run"},
			"PERSON  LOGIN  FACTS  TARGET  WOULD  REASON", "snapshot (dry run): 0 members"},
		{"scripts/replay", []string{filepath.Join(root, "scripts", "replay"), "snapshot", "--dry-run"},
			"PERSON  LOGIN  FACTS", "nothing queued"},
		{"replay snapshot", []string{bin, "replay", "snapshot", "--output", "csv"},
			"RUN,OUTCOME,COMPLETE,MEMBERS", ""},
		{"audit with --env-file", []string{bin, "audit", "--system", "--env-file", envFile}, "snapshot-run", ""},
		{"adopt connect dry run", []string{bin, "adopt", "connect"},
			"PERSON  LOGIN  USERNAME  AGENT ID  TAG  OUTCOME  REASON", "adopt connect (dry run): 0 agents"},
		{"discover", []string{bin, "discover", "--workmail-group", "workmail_users",
			"--connect-group", "Amazon Connect Agents=2:Agent:Basic Routing Profile"},
			`"identityStoreId": "` + s.Endpoint("IDENTITY_STORE_ID") + `"`, "WorkMail organisation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(tt.cmd[0], tt.cmd[1:]...)
			cmd.Dir = work
			if tt.name != "scripts/replay" { // the script builds the binary it runs
				cmd.Env = append(os.Environ(), "IDSYNC="+bin)
			}
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("%v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.stdout) || !strings.Contains(stderr.String(), tt.stderr) {
				t.Fatalf("stdout lacks %q or stderr lacks %q\nstdout:\n%s\nstderr:\n%s", tt.stdout, tt.stderr, stdout.String(), stderr.String())
			}
			if tt.name == "discover" {
				if _, err := domain.ParseConfig(stdout.Bytes()); err != nil {
					t.Fatalf("discover wrote a document that does not validate: %v\n%s", err, stdout.String())
				}
			}
		})
	}
}
