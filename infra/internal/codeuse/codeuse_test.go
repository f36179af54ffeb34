package codeuse_test

import (
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/infra/internal/codeuse"
)

// TestAnalyze runs the analysis over testdata/mod, a module whose
// commands share a store reached through one DynamoDB interface; c and d
// run entries of a registry (package reg).
func TestAnalyze(t *testing.T) {
	dir, err := filepath.Abs("testdata/mod")
	if err != nil {
		t.Fatal(err)
	}
	uses, err := codeuse.Analyze(codeuse.Options{
		Dir: dir,
		Mains: []string{"example.com/fixture/cmd/a", "example.com/fixture/cmd/b",
			"example.com/fixture/cmd/c", "example.com/fixture/cmd/d"},
		TableEnv:   map[string]string{"STATE_TABLE": "State", "LEDGER_TABLE": "Ledger"},
		EMFPackage: "example.com/fixture/emf",
		Registry:   &codeuse.Registry{Type: "example.com/fixture/reg.entry", Key: "name", Selector: "REG_ENTRY"},
	})
	if err != nil {
		t.Fatal(err)
	}
	entry := func(main, key string) *codeuse.Use {
		if e := uses[main].Entries[key]; e != nil {
			return e
		}
		t.Fatalf("%s: no entry %q in %v", main, key, uses[main].Entries)
		return nil
	}
	for _, c := range []struct {
		main                         string
		use                          *codeuse.Use // default uses[main]
		items, actions, metrics, cps []string
		problems                     []string
	}{
		{
			main: "example.com/fixture/cmd/a",
			// Append: a types.Put on the ledger copied into a PutItemInput;
			// Find: a paginator on an index; Commit: transaction items on
			// both tables. Not Scan (All is never called), not SQS (the
			// Queue target is built by b only).
			items: []string{
				"dynamodb:ConditionCheckItem Ledger", "dynamodb:PutItem Ledger",
				"dynamodb:Query State/index/*", "dynamodb:UpdateItem State",
			},
			metrics: []string{"Applied"}, cps: []string{"a"},
		},
		{
			main: "example.com/fixture/cmd/b",
			// Rewrite through a method value, a parameter and a closure;
			// SendMessageBatch with a nil input is sqs:SendMessage.
			items:    []string{"dynamodb:BatchWriteItem State"},
			actions:  []string{"sqs:SendMessage"},
			metrics:  []string{"Applied"},
			cps:      []string{"b-*"}, // a constant prefix and an environment variable
			problems: []string{`dynamodb:PutItem: table name traced to "scratch":string`},
		},
		{
			// The whole command: both entries' functions.
			main:  "example.com/fixture/cmd/c",
			items: []string{"dynamodb:Query State/index/*", "dynamodb:Scan State"},
		},
		{
			// Selected by REG_ENTRY: only the entry's own function.
			main: "example.com/fixture/cmd/c#find", use: entry("example.com/fixture/cmd/c", "find"),
			items: []string{"dynamodb:Query State/index/*"},
		},
		{
			main: "example.com/fixture/cmd/c#all", use: entry("example.com/fixture/cmd/c", "all"),
			items: []string{"dynamodb:Scan State"},
		},
		{
			// Runs every entry: the per-entry uses would be unsound.
			main:     "example.com/fixture/cmd/d",
			items:    []string{"dynamodb:Query State/index/*", "dynamodb:Scan State"},
			problems: []string{"reg.entry.run is read where the entry is not selected by comparing its name with REG_ENTRY"},
		},
	} {
		u := c.use
		if u == nil {
			u = uses[c.main]
		}
		var items []string
		for it := range u.Items {
			items = append(items, it.Action+" "+it.Resource)
		}
		for what, got := range map[string][]string{
			"items": items, "actions": keys(u.Actions), "metrics": keys(u.Metrics), "components": keys(u.Components),
		} {
			want := map[string][]string{"items": c.items, "actions": c.actions, "metrics": c.metrics, "components": c.cps}[what]
			sort.Strings(got)
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("%s %s (-want +got):\n%s", c.main, what, d)
			}
		}
		if len(u.Problems) != len(c.problems) {
			t.Errorf("%s problems %q, want %q", c.main, u.Problems, c.problems)
		}
		for i, p := range c.problems {
			if i < len(u.Problems) && !strings.Contains(u.Problems[i], p) {
				t.Errorf("%s problem %q does not mention %q", c.main, u.Problems[i], p)
			}
		}
		for _, where := range u.Items {
			if len(where) == 0 || !strings.Contains(where[0], ".go:") {
				t.Errorf("%s: positions %v", c.main, where)
			}
		}
	}

	for _, main := range []string{"example.com/fixture/cmd/a", "example.com/fixture/cmd/b"} {
		if uses[main].Entries != nil {
			t.Errorf("%s reaches no registry entry but has entries %v", main, uses[main].Entries)
		}
	}
	if d := entry("example.com/fixture/cmd/d", "find"); len(d.Problems) != 1 {
		t.Errorf("cmd/d entry find: problems %q, want the registry's", d.Problems)
	}

	if _, err := codeuse.Analyze(codeuse.Options{Dir: dir, Mains: []string{"example.com/fixture/store"}}); err == nil {
		t.Error("a library package was accepted as a command")
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
