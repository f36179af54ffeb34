package main_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
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
