package lambdaenv_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/lambdaenv"
)

func getenv(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestEveryProblemIsReportedAtOnce(t *testing.T) {
	e := lambdaenv.New(getenv(map[string]string{
		"IDSYNC_CONFIG": `{"workmail":{"organizationId":"not-an-org"}}`,
		"RATE":          "-1", "TTL": "soon", "DRY": "maybe",
	}))
	e.Config()
	e.Tables()
	e.List("QUEUE_URLS")
	e.Float("RATE", 1)
	e.Duration("TTL", time.Second)
	e.Bool("DRY", false)
	err := e.Err()
	if !errors.Is(err, lambdaenv.ErrConfig) || !errors.Is(err, domain.ErrInvalidConfig) {
		t.Fatalf("err = %v, want ErrConfig and domain.ErrInvalidConfig", err)
	}
	for _, want := range []string{"STATE_TABLE", "LEDGER_TABLE", "QUEUE_URLS", "RATE", "TTL", "DRY", "organizationId"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s:\n%v", want, err)
		}
	}
}

func TestValuesAndConfigFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.json")
	raw, err := os.ReadFile("../../domain/testdata/config/minimal.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	e := lambdaenv.New(getenv(map[string]string{
		"IDSYNC_CONFIG_FILE": path, "STATE_TABLE": "s", "LEDGER_TABLE": "l",
		"QUEUE_URLS": " a , b,", "RATE": "2.5", "TTL": "90s", "DRY": "true",
	}))
	cfg := e.Config()
	state, ledger := e.Tables()
	queues := e.List("QUEUE_URLS")
	if err := e.Err(); err != nil {
		t.Fatal(err)
	}
	if cfg.WorkMail == nil && cfg.Connect == nil {
		t.Fatalf("config not loaded: %+v", cfg)
	}
	if state != "s" || ledger != "l" || strings.Join(queues, "|") != "a|b" || e.Float("RATE", 1) != 2.5 ||
		e.Duration("TTL", 0) != 90*time.Second || !e.Bool("DRY", false) || e.Optional("NONE", "def") != "def" {
		t.Fatal("values not read as given")
	}
}

func TestMissingConfigFileIsAProblem(t *testing.T) {
	e := lambdaenv.New(getenv(map[string]string{"IDSYNC_CONFIG_FILE": "/nonexistent/config.json"}))
	e.Config()
	if err := e.Err(); !errors.Is(err, lambdaenv.ErrConfig) || !strings.Contains(err.Error(), "IDSYNC_CONFIG_FILE") {
		t.Fatalf("err = %v", err)
	}
	e = lambdaenv.New(getenv(nil))
	e.Config()
	if err := e.Err(); err == nil || !strings.Contains(err.Error(), "IDSYNC_CONFIG or IDSYNC_CONFIG_FILE") {
		t.Fatalf("err = %v", err)
	}
}
