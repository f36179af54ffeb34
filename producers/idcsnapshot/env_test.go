package idcsnapshot_test

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/producers/idcsnapshot"
)

func TestLoadEnv(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("testdata/config.json")
	if err != nil {
		t.Fatal(err)
	}
	base := map[string]string{
		"CONFIG":       "testdata/config.json",
		"STATE_TABLE":  "idsync-state",
		"LEDGER_TABLE": "idsync-ledger",
		"QUEUE_URLS":   "http://localhost:4566/000000000000/workmail.fifo, http://localhost:4566/000000000000/connect.fifo",
	}
	with := func(changes map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for k, v := range changes {
			m[k] = v
		}
		return m
	}
	oktaOnly := strings.NewReplacer(`"idcId": "11111111-1111-4111-8111-111111111111", `, "",
		`"idcId": "22222222-2222-4222-8222-222222222222", `, "").Replace(string(doc))

	tests := []struct {
		name     string
		env      map[string]string
		wantErrs []string // substrings, one per reported problem
		check    func(t *testing.T, e idcsnapshot.Env)
	}{
		{
			name: "config from a path",
			env:  base,
			check: func(t *testing.T, e idcsnapshot.Env) {
				want := []string{"http://localhost:4566/000000000000/workmail.fifo", "http://localhost:4566/000000000000/connect.fifo"}
				if d := cmp.Diff(want, e.QueueURLs); d != "" {
					t.Errorf("queue URLs (-want +got):\n%s", d)
				}
				if e.Config.Snapshot.IdentityStoreID != "d-1234567890" || e.StateTable != "idsync-state" || e.LedgerTable != "idsync-ledger" || e.Local() {
					t.Errorf("env = %+v", e)
				}
			},
		},
		{
			name: "inline config, rate and endpoints",
			env: with(map[string]string{"CONFIG": string(doc), "IDC_RATE": "12.5",
				"IDENTITYSTORE_ENDPOINT": "http://127.0.0.1:9001", "DYNAMODB_ENDPOINT": "http://127.0.0.1:8000"}),
			check: func(t *testing.T, e idcsnapshot.Env) {
				if e.Rate != 12.5 || !e.Local() || e.IdentityStoreEndpoint != "http://127.0.0.1:9001" || len(e.Config.MappedGroups()) != 3 {
					t.Errorf("env = %+v", e)
				}
			},
		},
		{
			name:     "everything missing, all reported",
			env:      map[string]string{},
			wantErrs: []string{"STATE_TABLE: is required", "LEDGER_TABLE: is required", "QUEUE_URLS: is required", "CONFIG: is required"},
		},
		{
			name:     "bad rate, empty queue list and unreadable config together",
			env:      with(map[string]string{"IDC_RATE": "fast", "QUEUE_URLS": " , ", "CONFIG": "testdata/missing.json"}),
			wantErrs: []string{`IDC_RATE: "fast" is not a positive number`, "QUEUE_URLS: lists no queue URL", "CONFIG: read testdata/missing.json"},
		},
		{
			name:     "invalid config document",
			env:      with(map[string]string{"CONFIG": `{"snapshot": {"identityStoreId": "nope"}}`}),
			wantErrs: []string{"CONFIG:"},
		},
		{
			name:     "no group with an IdC id",
			env:      with(map[string]string{"CONFIG": oktaOnly}),
			wantErrs: []string{"CONFIG: no configured group has an idcId"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := idcsnapshot.LoadEnv(func(k string) string { return tc.env[k] }, os.ReadFile)
			if len(tc.wantErrs) == 0 {
				if err != nil {
					t.Fatalf("LoadEnv: %v", err)
				}
				tc.check(t, e)
				return
			}
			if !errors.Is(err, idcsnapshot.ErrEnv) {
				t.Fatalf("LoadEnv error = %v, want ErrEnv", err)
			}
			for _, want := range tc.wantErrs {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
			if got := strings.Count(err.Error(), "\n") + 1; got < len(tc.wantErrs) {
				t.Errorf("%d problems reported, want at least %d: %v", got, len(tc.wantErrs), err)
			}
		})
	}

	t.Run("config problems keep their type", func(t *testing.T) {
		_, err := idcsnapshot.LoadEnv(func(k string) string {
			return with(map[string]string{"CONFIG": `{"snapshot": {"identityStoreId": "nope"}}`})[k]
		}, os.ReadFile)
		var ce *domain.ConfigError
		if !errors.Is(err, domain.ErrInvalidConfig) || !errors.As(err, &ce) {
			t.Errorf("error %v does not carry the *domain.ConfigError", err)
		}
		_, err = idcsnapshot.LoadEnv(func(k string) string { return base[k] }, func(string) ([]byte, error) { return nil, fs.ErrPermission })
		if !errors.Is(err, idcsnapshot.ErrEnv) || !strings.Contains(err.Error(), "permission denied") {
			t.Errorf("unreadable config: %v", err)
		}
	})
}
