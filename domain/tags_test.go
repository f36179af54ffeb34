package domain_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// allowedTagKeys are the struct tag keys domain types may carry: json, for
// the event envelope and the ledger's JSON output. Storage tags
// (dynamodbav and the like) belong to the adapter that stores the type.
var allowedTagKeys = map[string]bool{"json": true}

// TestNoStorageTags keeps persistence out of domain, as TestImportsStayPure
// keeps infrastructure out: no struct in the package's (non-test) source
// carries a tag other than json.
func TestNoStorageTags(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	tagged := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			st, ok := n.(*ast.StructType)
			if !ok {
				return true
			}
			for _, field := range st.Fields.List {
				if field.Tag == nil {
					continue
				}
				tagged++
				keys, err := tagKeys(field.Tag.Value)
				if err != nil {
					t.Errorf("%s: malformed struct tag %s: %v", fset.Position(field.Pos()), field.Tag.Value, err)
					continue
				}
				for _, k := range keys {
					if !allowedTagKeys[k] {
						t.Errorf("%s: struct tag key %q: domain types carry no storage tags; map the type in its adapter (store)",
							fset.Position(field.Pos()), k)
					}
				}
			}
			return true
		})
	}
	if tagged == 0 {
		t.Fatalf("found no tagged struct field in %v: is the test looking at the package's source?", files)
	}
}

// tagKeys returns the keys of a struct tag literal (`key:"value" ...`).
func tagKeys(lit string) ([]string, error) {
	tag, err := strconv.Unquote(lit)
	if err != nil {
		return nil, err
	}
	var keys []string
	for tag = strings.TrimSpace(tag); tag != ""; tag = strings.TrimSpace(tag) {
		key, rest, ok := strings.Cut(tag, ":")
		if !ok || key == "" || strings.ContainsAny(key, " \t\"") {
			return nil, strconv.ErrSyntax
		}
		value, err := strconv.QuotedPrefix(rest)
		if err != nil {
			return nil, err
		}
		keys = append(keys, key)
		tag = rest[len(value):]
	}
	return keys, nil
}
