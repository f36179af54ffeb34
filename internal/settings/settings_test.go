package settings_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/settings"
)

func config(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func lookup(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestFromEnvReadsEveryComponentsVariables(t *testing.T) {
	both := config(t, "both.json")
	base := map[string]string{
		settings.EnvConfig: both, settings.EnvStateTable: "st", settings.EnvLedgerTable: "lt",
		"WORKMAIL_QUEUE_URL": "https://q/wm", "WORKMAIL_DLQ_URL": "https://q/wm-dlq",
		"CONNECT_QUEUE_URL": "https://q/cn", "CONNECT_DLQ_URL": "https://q/cn-dlq",
		"CONNECT_RATE": "1.5", settings.EnvSQSEndpoint: "http://127.0.0.1:9324",
	}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name  string
		env   map[string]string
		c     settings.Component
		check func(t *testing.T, s settings.Settings)
		fails []string // substrings of the joined error; nil means success
	}{
		{name: "consumer", c: settings.Consumer, env: with(map[string]string{settings.EnvTarget: "connect", settings.EnvDryRun: "true"}),
			check: func(t *testing.T, s settings.Settings) {
				if s.Target != domain.TargetConnect || !s.DryRun || s.Rates[domain.TargetConnect] != 1.5 ||
					s.Queues[domain.TargetConnect].DLQURL != "https://q/cn-dlq" || s.Endpoints.SQS != "http://127.0.0.1:9324" {
					t.Errorf("settings %+v", s)
				}
			}},
		{name: "consumer of an unconfigured target", c: settings.Consumer,
			env:   with(map[string]string{settings.EnvTarget: "connect", settings.EnvConfig: config(t, "workmail_only.json")}),
			fails: []string{"IDSYNC_TARGET=connect but the configuration has no connect section"}},
		{name: "consumer of an unknown target without DLQ", c: settings.Consumer, env: with(map[string]string{settings.EnvTarget: "slack"}),
			fails: []string{`IDSYNC_TARGET="slack" is not one of`}},
		{name: "consumer without its DLQ", c: settings.Consumer, env: with(map[string]string{settings.EnvTarget: "workmail", "WORKMAIL_DLQ_URL": ""}),
			fails: []string{"WORKMAIL_DLQ_URL is required"}},
		{name: "hook with a secret", c: settings.Hook, env: with(map[string]string{settings.EnvHookSecretID: "idsync/hook", settings.EnvHookSecretTTL: "90s"}),
			check: func(t *testing.T, s settings.Settings) {
				if s.Hook != (settings.HookSecret{SecretID: "idsync/hook", Header: "Authorization", TTL: 90 * time.Second}) {
					t.Errorf("hook %+v", s.Hook)
				}
			}},
		{name: "a plain secret needs local", c: settings.Hook, env: with(map[string]string{settings.EnvHookSecret: "s3cret"}),
			fails: []string{"HOOK_SECRET_ID or HOOK_SECRET_PARAMETER is required"}},
		{name: "local plain secret", c: settings.Hook, env: with(map[string]string{settings.EnvHookSecret: "s3cret", settings.EnvLocal: "true"}),
			check: func(t *testing.T, s settings.Settings) {
				if s.Hook.Value != "s3cret" || !s.Local {
					t.Errorf("hook %+v", s.Hook)
				}
			}},
		{name: "consumer with Okta API access", c: settings.Consumer,
			env: with(map[string]string{settings.EnvTarget: "connect", settings.EnvOktaAPISecretID: "idsync/okta-api", settings.EnvOktaAPIRate: "4",
				settings.EnvOktaAPISecret: `{"ssws":"ignored without IDSYNC_LOCAL"}`}),
			check: func(t *testing.T, s settings.Settings) {
				if s.OktaUsers != (settings.OktaAPIAccess{SecretID: "idsync/okta-api", Rate: 4}) || !s.OktaUsers.Configured() {
					t.Errorf("Okta API access %+v", s.OktaUsers)
				}
			}},
		{name: "local plain Okta API credentials", c: settings.Consumer,
			env: with(map[string]string{settings.EnvTarget: "connect", settings.EnvLocal: "true", settings.EnvOktaAPISecret: `{"ssws":"00x"}`}),
			check: func(t *testing.T, s settings.Settings) {
				if s.OktaUsers != (settings.OktaAPIAccess{Value: `{"ssws":"00x"}`}) || !s.OktaUsers.Configured() {
					t.Errorf("Okta API access %+v", s.OktaUsers)
				}
			}},
		{name: "no Okta API access", c: settings.Consumer, env: with(map[string]string{settings.EnvTarget: "connect"}),
			check: func(t *testing.T, s settings.Settings) {
				if s.OktaUsers.Configured() {
					t.Errorf("Okta API access %+v", s.OktaUsers)
				}
			}},
		{name: "Okta API secret and parameter both", c: settings.Consumer,
			env: with(map[string]string{settings.EnvTarget: "connect", settings.EnvOktaAPISecretID: "a", settings.EnvOktaAPISecretParameter: "/b",
				settings.EnvOktaAPIRate: "0"}),
			fails: []string{"give OKTA_API_SECRET_ID or OKTA_API_SECRET_PARAMETER, not both", `OKTA_API_RATE="0"`}},
		{name: "everything wrong at once", c: settings.Snapshot,
			env: map[string]string{settings.EnvConfig: both, "CONNECT_RATE": "fast", settings.EnvLogLevel: "loud"},
			fails: []string{"STATE_TABLE is required", "LEDGER_TABLE is required", `CONNECT_RATE="fast"`, "LOG_LEVEL",
				"WORKMAIL_QUEUE_URL is required", "CONNECT_QUEUE_URL is required"}},
		{name: "no configuration", c: settings.Snapshot, env: map[string]string{settings.EnvStateTable: "st", settings.EnvLedgerTable: "lt"},
			fails: []string{"IDSYNC_CONFIG or IDSYNC_CONFIG_FILE is required"}},
		{name: "operator needs only tables", c: settings.Operator, env: map[string]string{settings.EnvStateTable: "st", settings.EnvLedgerTable: "lt"},
			check: func(t *testing.T, s settings.Settings) {
				if s.HasConfig || s.StateTable != "st" {
					t.Errorf("settings %+v", s)
				}
			}},
		{name: "setup needs nothing and reads the Okta API", c: settings.Setup,
			env: map[string]string{settings.EnvOktaOrgURL: "https://example.okta.com", settings.EnvOktaAPIToken: "00tok", settings.EnvRegion: "eu-west-1"},
			check: func(t *testing.T, s settings.Settings) {
				if s.HasConfig || s.StateTable != "" || s.Region != "eu-west-1" ||
					s.Okta != (settings.OktaAPI{OrgURL: "https://example.okta.com", APIToken: "00tok"}) {
					t.Errorf("settings %+v", s)
				}
			}},
		{name: "the Okta API needs both variables", c: settings.Setup, env: map[string]string{settings.EnvOktaOrgURL: "https://example.okta.com"},
			check: func(t *testing.T, s settings.Settings) {
				if s.Okta != (settings.OktaAPI{}) {
					t.Errorf("okta %+v", s.Okta)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := settings.FromEnv(lookup(tt.env), tt.c)
			if tt.fails == nil {
				if err != nil {
					t.Fatal(err)
				}
				tt.check(t, s)
				return
			}
			if !errors.Is(err, settings.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			for _, f := range tt.fails {
				if !strings.Contains(err.Error(), f) {
					t.Errorf("error lacks %q:\n%v", f, err)
				}
			}
		})
	}
}

func TestEnvironRoundTripsThroughFromEnv(t *testing.T) {
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "config.json")
	if err := os.WriteFile(cfgFile, []byte(config(t, "both.json")), 0o600); err != nil {
		t.Fatal(err)
	}
	in, err := settings.FromEnv(lookup(map[string]string{settings.EnvConfigFile: cfgFile}), settings.Operator)
	if err == nil {
		t.Fatal("tables missing but accepted")
	}
	in.StateTable, in.LedgerTable, in.Local, in.Region = "st", "lt", true, "eu-west-1"
	in.Queues = map[domain.Target]settings.Queue{domain.TargetWorkMail: {URL: "u1", DLQURL: "d1"}, domain.TargetConnect: {URL: "u2", DLQURL: "d2"}}
	in.Rates = map[domain.Target]float64{domain.TargetConnect: 2}
	in.Endpoints = settings.Endpoints{DynamoDB: "http://ddb", Connect: "http://cn"}
	in.Hook = settings.HookSecret{Value: "local-only", Header: "X-Hook", TTL: settings.DefaultSecretTTL}
	in.OktaUsers = settings.OktaAPIAccess{SecretID: "idsync/okta-api", Value: `{"orgUrl":"http://127.0.0.1:1","ssws":"00x"}`, Rate: 3}
	env := map[string]string{}
	for _, kv := range in.Environ(cfgFile) {
		env[kv[0]] = kv[1]
	}
	out, err := settings.FromEnv(lookup(env), settings.Hook)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, out); diff != "" {
		t.Errorf("round trip (-in +out):\n%s", diff)
	}
	in.Local = false
	for _, kv := range in.Environ(cfgFile) {
		if kv[0] == settings.EnvHookSecret || kv[0] == settings.EnvOktaAPISecret {
			t.Errorf("a non-local Environ writes %s", kv[0])
		}
	}
}

func TestLoadFilePrefersTheEnvironment(t *testing.T) {
	path := filepath.Join(t.TempDir(), "endpoints.env")
	if err := os.WriteFile(path, []byte("# comment\nSTATE_TABLE=from-file\nexport LEDGER_TABLE=\"quoted\"\nX=file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	get, err := settings.LoadFile(path, lookup(map[string]string{"X": "env"}))
	if err != nil {
		t.Fatal(err)
	}
	if get("X") != "env" || get("STATE_TABLE") != "from-file" || get("LEDGER_TABLE") != "quoted" {
		t.Fatalf("got %q %q %q", get("X"), get("STATE_TABLE"), get("LEDGER_TABLE"))
	}
	if err := os.WriteFile(path, []byte("no equals sign\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := settings.LoadFile(path, os.Getenv); !errors.Is(err, settings.ErrInvalid) {
		t.Fatalf("malformed line: %v, want ErrInvalid", err)
	}
	if _, err := settings.LoadFile(filepath.Join(t.TempDir(), "missing.env"), os.Getenv); err != nil {
		t.Fatalf("missing file: %v", err)
	}
}
