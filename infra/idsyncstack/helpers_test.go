package idsyncstack_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/idsync/idsync/infra/idsyncstack"
)

// obj is a JSON object of the synthesised template.
type obj = map[string]any

// codeDir returns a directory with a placeholder bootstrap per function,
// standing in for make build's dist/ so synth needs no build.
func codeDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, fn := range idsyncstack.Functions() {
		if err := os.MkdirAll(filepath.Join(dir, fn.Asset), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, fn.Asset, "bootstrap"), []byte("#!/bin/sh\n# placeholder: "+fn.Asset+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// baseProps are valid properties over testdata/full.json, with the
// defaults for the rest (a generated hook secret, a new alarm topic).
func baseProps(t *testing.T) idsyncstack.Props {
	return idsyncstack.Props{
		ConfigFile:  "testdata/full.json",
		CodeDir:     codeDir(t),
		AlarmEmails: []string{"oncall@example.org", "idm-team@example.org"},
	}
}

// synthed is one synthesised stack.
type synthed struct {
	stack *idsyncstack.Stack
	tmpl  assertions.Template
	json  obj
}

// synth builds the stack in a fresh app writing to a temporary directory.
func synth(t *testing.T, p idsyncstack.Props) synthed {
	t.Helper()
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir())})
	st, err := idsyncstack.New(app, "Idsync", p)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	tmpl := assertions.Template_FromStack(st.Stack, nil)
	return synthed{stack: st, tmpl: tmpl, json: *tmpl.ToJSON()}
}

// must runs an assertions call, turning its panic (how jsii reports a
// failed match) into a test failure.
func must(t *testing.T, what string, fn func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s: %v", what, r)
		}
	}()
	fn()
}

// resources returns the template's resources of type typ by logical id.
func (s synthed) resources(typ string) map[string]obj {
	out := map[string]obj{}
	for id, r := range s.json["Resources"].(obj) {
		if r := r.(obj); r["Type"] == typ {
			out[id] = r
		}
	}
	return out
}

// resource returns one resource by logical id, failing when it is missing.
func (s synthed) resource(t *testing.T, id string) obj {
	t.Helper()
	r, ok := s.json["Resources"].(obj)[id].(obj)
	if !ok {
		t.Fatalf("no resource %s", id)
	}
	return r
}

// id returns the logical id of a construct's CloudFormation resource (its
// default child, or the construct itself for an L1 resource).
func (s synthed) id(c constructs.IConstruct) string {
	if el, ok := c.(awscdk.CfnElement); ok {
		return *s.stack.GetLogicalId(el)
	}
	return *s.stack.GetLogicalId(c.Node().DefaultChild().(awscdk.CfnElement))
}

// props returns a resource's Properties.
func props(r obj) obj {
	p, _ := r["Properties"].(obj)
	return p
}

// refID returns the logical id a {"Ref": id} or {"Fn::GetAtt": [id, …]}
// points to, or "".
func refID(v any) string {
	m, ok := v.(obj)
	if !ok {
		return ""
	}
	if r, ok := m["Ref"].(string); ok {
		return r
	}
	if ga, ok := m["Fn::GetAtt"].([]any); ok && len(ga) > 0 {
		s, _ := ga[0].(string)
		return s
	}
	return ""
}

// render turns an IAM resource value into text: logical ids become the
// names in names, pseudo parameters ${AWS::…}, joins are concatenated.
func render(v any, names map[string]string) string {
	switch x := v.(type) {
	case string:
		return x
	case obj:
		if ga, ok := x["Fn::GetAtt"].([]any); ok {
			return name(ga[0].(string), names) + "." + ga[1].(string)
		}
		if r, ok := x["Ref"].(string); ok {
			if strings.HasPrefix(r, "AWS::") {
				return "${" + r + "}"
			}
			return name(r, names)
		}
		if j, ok := x["Fn::Join"].([]any); ok {
			var parts []string
			for _, p := range j[1].([]any) {
				parts = append(parts, render(p, names))
			}
			return strings.Join(parts, j[0].(string))
		}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func name(id string, names map[string]string) string {
	if n, ok := names[id]; ok {
		return n
	}
	return id
}

// list returns v as a list (a single value becomes a one-element list).
func list(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	if v == nil {
		return nil
	}
	return []any{v}
}

// grants returns every "action resource" pair (with " if <condition>"
// when the statement has one) of the role's policies, sorted.
func (s synthed) grants(t *testing.T, roleID string, names map[string]string) []string {
	t.Helper()
	var out []string
	for _, p := range s.resources("AWS::IAM::Policy") {
		attached := false
		for _, r := range list(props(p)["Roles"]) {
			attached = attached || refID(r) == roleID
		}
		if !attached {
			continue
		}
		for _, st := range list(props(p)["PolicyDocument"].(obj)["Statement"]) {
			st := st.(obj)
			if st["Effect"] != "Allow" {
				t.Errorf("role %s: unexpected %v statement", roleID, st["Effect"])
			}
			cond := ""
			if c, ok := st["Condition"]; ok {
				b, _ := json.Marshal(c)
				cond = " if " + string(b)
			}
			for _, a := range list(st["Action"]) {
				for _, r := range list(st["Resource"]) {
					out = append(out, fmt.Sprintf("%s %s%s", a, render(r, names), cond))
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// each returns "action resource" for every pair.
func each(actions []string, resources ...string) []string {
	var out []string
	for _, a := range actions {
		for _, r := range resources {
			out = append(out, a+" "+r)
		}
	}
	return out
}
