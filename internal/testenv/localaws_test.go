package testenv_test

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/idsync/idsync/internal/testenv"
)

// A second start while the engines run must return at once, reporting
// them as already running (the engines must not hold the start lock).
func TestLocalawsSecondStartIsANoOp(t *testing.T) {
	env := testenv.Get(t) // the engines run from here on
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, cmd := range []string{"start", "status"} {
		out, err := exec.CommandContext(ctx, "../../scripts/localaws", cmd).CombinedOutput()
		if ctx.Err() != nil {
			t.Fatalf("scripts/localaws %s did not return within 30 s (a held lock?)", cmd)
		}
		if err != nil {
			t.Fatalf("scripts/localaws %s: %v\n%s", cmd, err, out)
		}
		if cmd == "start" && !strings.Contains(string(out), "already running") {
			t.Errorf("second start did not report the running engines:\n%s", out)
		}
	}
	if env.DynamoDBEndpoint == "" || env.SQSEndpoint == "" {
		t.Fatal("no endpoints")
	}
}
