package idsyncstack_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/infra/idsyncstack"
)

// hookSecretGenerated: the stack creates the hook secret with a value
// Secrets Manager generates; the template holds the rule, never a value,
// and the output gives the secret's ARN only.
func hookSecretGenerated(t *testing.T, s synthed) {
	t.Helper()
	secretID := s.id(s.stack.HookSecret)
	sp := props(s.resource(t, secretID))
	if d := cmp.Diff(obj{"PasswordLength": float64(idsyncstack.HookSecretLength), "ExcludePunctuation": true, "IncludeSpace": false},
		sp["GenerateSecretString"]); d != "" {
		t.Errorf("GenerateSecretString (-want +got):\n%s", d)
	}
	raw, err := json.Marshal(s.json)
	if err != nil {
		t.Fatal(err)
	}
	// No secret value, and no dynamic reference that would resolve one into
	// a property (an environment variable, an output).
	for _, leak := range []string{`"SecretString"`, "{{resolve:secretsmanager"} {
		if strings.Contains(string(raw), leak) {
			t.Errorf("the template contains %s", leak)
		}
	}
	out := s.json["Outputs"].(obj)["HookSecretArn"].(obj)
	if d := cmp.Diff(obj{"Ref": secretID}, out["Value"]); d != "" {
		t.Errorf("HookSecretArn output (-want +got):\n%s", d)
	}
}
