package idsyncstack_test

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/infra/idsyncstack"
	"github.com/idsync/idsync/infra/internal/codeuse"
	"github.com/idsync/idsync/infra/internal/iamop"
	"github.com/idsync/idsync/internal/settings"
)

// emfPackage writes the functions' metrics.
const emfPackage = "github.com/idsync/idsync/internal/emf"

// targetRegistry is internal/app's target registry: one entry per target
// (targetDef, keyed by its name) whose functions build that target's
// client and applier. The consumer binary runs the entry named by
// IDSYNC_TARGET, so each consumer function's code is the binary's code
// without the other entries' functions (codeuse.Registry, which also
// checks that the binary runs an entry only after selecting it by that
// variable).
var targetRegistry = &codeuse.Registry{
	Type:     "github.com/idsync/idsync/internal/app.targetDef",
	Key:      "name",
	Selector: settings.EnvTarget,
}

// analysis is the static analysis of the functions' commands, run once
// per test binary (it loads the whole module: a few seconds).
var analysis struct {
	once sync.Once
	uses map[string]*codeuse.Use
	err  error
}

// codeUses analyses every function's command in the repository. The
// tables are named by the environment variables that carry their names in
// s's functions (STATE_TABLE → "State", LEDGER_TABLE → "Ledger").
func codeUses(t *testing.T, s synthed) map[string]*codeuse.Use {
	t.Helper()
	tables := map[string]string{s.id(s.stack.StateTable): "State", s.id(s.stack.LedgerTable): "Ledger"}
	tableEnv := map[string]string{}
	for _, d := range s.deployedFunctions(t) {
		for k, v := range props(s.resource(t, d.id))["Environment"].(obj)["Variables"].(obj) {
			if m, ok := v.(obj); ok && m["Ref"] != nil {
				if label, ok := tables[refID(v)]; ok {
					tableEnv[k] = label
				}
			}
		}
	}
	if len(tableEnv) != 2 {
		t.Fatalf("table variables %v: want one for each table", tableEnv)
	}
	analysis.once.Do(func() {
		root, err := filepath.Abs(filepath.Join("..", ".."))
		if err != nil {
			analysis.err = err
			return
		}
		var mains []string
		for _, fn := range idsyncstack.Functions() {
			mains = append(mains, fn.Main)
		}
		analysis.uses, analysis.err = codeuse.Analyze(codeuse.Options{
			Dir: root, Mains: mains, TableEnv: tableEnv, EMFPackage: emfPackage, Registry: targetRegistry,
		})
	})
	if analysis.err != nil {
		t.Fatalf("analysing the functions' code: %v", analysis.err)
	}
	return analysis.uses
}

// functionUse is what fn's code does: its command's use, or for a
// consumer the use of its target's registry entry in the consumer command.
func functionUse(t *testing.T, uses map[string]*codeuse.Use, fn idsyncstack.Function) *codeuse.Use {
	t.Helper()
	u := uses[fn.Main]
	if u == nil {
		t.Fatalf("%s: no analysis of %s", fn.Name, fn.Main)
	}
	if fn.Target == "" {
		return u
	}
	e := u.Entries[string(fn.Target)]
	if e == nil {
		t.Fatalf("%s: %s reaches no %s entry %q (entries %v)", fn.Name, fn.Main, targetRegistry.Type, fn.Target, u.Entries)
	}
	return e
}

// deployedFunction is a function in the template with what the stack
// knows about it.
type deployedFunction struct {
	spec     idsyncstack.Function
	id       string // logical id of the function
	role     string // logical id of its role
	logGroup string // logical id of its log group
	queue    string // logical id of a consumer's queue
}

func (s synthed) deployedFunctions(t *testing.T) []deployedFunction {
	t.Helper()
	var out []deployedFunction
	for _, spec := range idsyncstack.Functions() {
		d := deployedFunction{spec: spec}
		switch spec.Name {
		case idsyncstack.FnOktaHook:
			d.id = s.id(s.stack.Hook)
		case idsyncstack.FnIdCSnapshot:
			d.id = s.id(s.stack.Snapshot)
		default:
			tgt, ok := s.stack.Targets[spec.Name]
			if !ok {
				continue
			}
			d.id, d.queue = s.id(tgt.Consumer), s.id(tgt.Queue)
		}
		p := props(s.resource(t, d.id))
		d.role = refID(p["Role"])
		d.logGroup = refID(p["LoggingConfig"].(obj)["LogGroup"])
		out = append(out, d)
	}
	return out
}

// grantsMatchCode checks each function's role against what its code does
// (infra/internal/codeuse over the function's command): every action the
// role holds is one the code uses, or one a service uses on the function's
// behalf (the Lambda runtime writing the function's own log group, the SQS
// poller on a consumer's own queue, iamop.Implied); every DynamoDB item
// action is on a table, or a table's indexes, the code makes it on; and
// every DynamoDB item action the code makes is granted.
func grantsMatchCode(t *testing.T, s synthed) {
	t.Helper()
	violations, reports := grantViolations(t, s)
	for _, v := range violations {
		t.Error(v)
	}
	for _, r := range reports {
		t.Log(r)
	}
}

// grantViolations returns what grantsMatchCode fails on, and per function
// each grant with the code (or service) that needs it.
func grantViolations(t *testing.T, s synthed) (violations, reports []string) {
	t.Helper()
	errorf := func(format string, args ...any) { violations = append(violations, fmt.Sprintf(format, args...)) }
	tables := map[string]string{s.id(s.stack.StateTable): "State", s.id(s.stack.LedgerTable): "Ledger"}
	uses := codeUses(t, s)

	// resourceTable names a DynamoDB grant's resource: "State",
	// "State/index/*", "Ledger", or "".
	resourceTable := func(r any) string {
		if m, ok := r.(obj); ok {
			if j, ok := m["Fn::Join"].([]any); ok {
				parts := j[1].([]any)
				if len(parts) == 2 && parts[1] == "/index/*" {
					if l := tables[refID(parts[0])]; l != "" {
						return l + "/index/*"
					}
				}
				return ""
			}
			if ga, ok := m["Fn::GetAtt"].([]any); ok && len(ga) == 2 && ga[1] == "Arn" {
				return tables[refID(r)]
			}
		}
		return ""
	}
	eventSource := map[string]bool{"sqs:ReceiveMessage": true, "sqs:DeleteMessage": true, "sqs:GetQueueAttributes": true}

	for _, d := range s.deployedFunctions(t) {
		use := functionUse(t, uses, d.spec)
		name := d.spec.Name
		for _, p := range use.Problems {
			errorf("%s (%s): %s", name, d.spec.Main, p)
		}
		used := map[string]string{} // action → where
		for a, where := range use.Actions {
			used[a] = strings.Join(where, ", ")
			for _, imp := range iamop.Implied(a) {
				if _, ok := used[imp]; !ok {
					used[imp] = "implied by " + a
				}
			}
		}
		granted := map[codeuse.Item]bool{}
		var report []string
		for _, p := range s.resources("AWS::IAM::Policy") {
			attached := false
			for _, r := range list(props(p)["Roles"]) {
				attached = attached || refID(r) == d.role
			}
			if !attached {
				continue
			}
			for _, st := range list(props(p)["PolicyDocument"].(obj)["Statement"]) {
				st := st.(obj)
				for _, a := range list(st["Action"]) {
					action := a.(string)
					for _, r := range list(st["Resource"]) {
						switch {
						case (action == "logs:CreateLogStream" || action == "logs:PutLogEvents") && refID(r) == d.logGroup:
							report = append(report, action+": Lambda runtime, own log group")
						case d.queue != "" && eventSource[action] && refID(r) == d.queue:
							report = append(report, action+": SQS event source poller, own queue")
						case strings.HasPrefix(action, "dynamodb:"):
							table := resourceTable(r)
							if table == "" {
								errorf("%s: %s on %v, which is not a table or its indexes", name, action, r)
								continue
							}
							item := codeuse.Item{Action: action, Resource: table}
							granted[item] = true
							where, ok := use.Items[item]
							if !ok {
								errorf("%s: the role grants %s on %s, which the code never calls", name, action, table)
								continue
							}
							report = append(report, action+" on "+table+": "+strings.Join(where, ", "))
						default:
							where, ok := used[action]
							if !ok {
								errorf("%s: the role grants %s, which the code never calls", name, action)
								continue
							}
							report = append(report, action+": "+where)
						}
					}
				}
			}
		}
		for item, where := range use.Items {
			if !granted[item] {
				errorf("%s: the code calls %s on %s (%s) but the role does not grant it",
					name, item.Action, item.Resource, strings.Join(where, ", "))
			}
		}
		sort.Strings(report)
		report = dedupe(report)
		reports = append(reports, fmt.Sprintf("%s grants and why:\n  %s", name, strings.Join(report, "\n  ")))
	}
	return violations, reports
}

func dedupe(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// grantsCheckFailsOnExtraGrants: the check reports a grant the code does
// not use, and a DynamoDB item action the code makes that is not granted,
// on a copy of s's template with a consumer's policy changed.
func grantsCheckFailsOnExtraGrants(t *testing.T, s synthed) {
	t.Helper()
	raw, err := json.Marshal(s.json)
	if err != nil {
		t.Fatal(err)
	}
	var doctored synthed = s
	if err := json.Unmarshal(raw, &doctored.json); err != nil {
		t.Fatal(err)
	}
	role := refID(props(doctored.resource(t, s.id(s.stack.Targets[idsyncstack.FnWorkMail].Consumer)))["Role"])
	for _, p := range doctored.resources("AWS::IAM::Policy") {
		if refID(list(props(p)["Roles"])[0]) != role {
			continue
		}
		doc := props(p)["PolicyDocument"].(obj)
		var kept []any
		for _, st := range list(doc["Statement"]) {
			if st.(obj)["Sid"] != "Ledger" { // drop the ledger grants
				kept = append(kept, st)
			}
		}
		state := obj{"Fn::GetAtt": []any{s.id(s.stack.StateTable), "Arn"}}
		kept = append(kept,
			obj{"Effect": "Allow", "Action": []any{"dynamodb:Scan", "dynamodb:BatchWriteItem"}, "Resource": state},
			obj{"Effect": "Allow", "Action": "sqs:PurgeQueue", "Resource": "arn:aws:sqs:eu-west-1:111122223333:q"},
			// The other target's API: the consumer binary calls it, this
			// function's target entry does not.
			obj{"Effect": "Allow", "Action": "connect:CreateUser", "Resource": "arn:aws:connect:eu-west-1:111122223333:instance/i"})
		doc["Statement"] = kept
	}
	violations, _ := grantViolations(t, doctored)
	got := strings.Join(violations, "\n")
	for _, want := range []string{
		"workmail: the role grants dynamodb:Scan on State, which the code never calls",
		"workmail: the role grants dynamodb:BatchWriteItem on State, which the code never calls",
		"workmail: the role grants sqs:PurgeQueue, which the code never calls",
		"workmail: the role grants connect:CreateUser, which the code never calls",
		"workmail: the code calls dynamodb:GetItem on Ledger (store/ledger.go:",
		"workmail: the code calls dynamodb:PutItem on Ledger (store/ledger.go:",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("violations do not include %q:\n%s", want, got)
		}
	}
	for _, v := range violations {
		if !strings.HasPrefix(v, "workmail: ") {
			t.Errorf("violation for a function that was not changed: %s", v)
		}
	}
}

// consumerUsesFollowTheRegistry: the consumer command as a whole calls
// every target's API (the analysis follows internal/app's builders), and
// each consumer function's use, its target's registry entry, calls its
// own target's API and no other's.
func consumerUsesFollowTheRegistry(t *testing.T, s synthed) {
	t.Helper()
	uses := codeUses(t, s)
	calls := func(u *codeuse.Use, target domain.Target) bool {
		for a := range u.Actions {
			if strings.HasPrefix(a, string(target)+":") {
				return true
			}
		}
		return false
	}
	for _, fn := range idsyncstack.Functions() {
		if fn.Target == "" {
			continue
		}
		own := functionUse(t, uses, fn)
		for _, other := range idsyncstack.Functions() {
			if other.Target == "" {
				continue
			}
			if !calls(uses[fn.Main], other.Target) {
				t.Errorf("%s calls no %s API: the analysis does not follow internal/app's builders", fn.Main, other.Target)
			}
			if got, want := calls(own, other.Target), other.Target == fn.Target; got != want {
				t.Errorf("%s (entry %s of %s): calls the %s API %v, want %v", fn.Name, fn.Target, fn.Main, other.Target, got, want)
			}
		}
	}
}
