package domain_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportsStayPure keeps domain free of infrastructure: apart from itself
// and github.com/oklog/ulid/v2, everything it depends on (transitively) must
// be in the standard library. Test-only imports are not counted.
func TestImportsStayPure(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list dependencies: %v", err)
	}
	const self = "github.com/idsync/idsync/domain"
	out, err := exec.Command(goBin, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", self).CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps %s: %v\n%s", self, err, out)
	}
	allowed := map[string]bool{self: true, "github.com/oklog/ulid/v2": true}
	sawSelf := false
	for _, dep := range strings.Fields(string(out)) {
		if dep == self {
			sawSelf = true
		}
		if !allowed[dep] {
			t.Errorf("domain depends on %s: only the standard library and github.com/oklog/ulid/v2 are allowed", dep)
		}
	}
	if !sawSelf {
		t.Errorf("go list did not list %s itself; output:\n%s", self, out)
	}
}
