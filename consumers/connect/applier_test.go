package connect_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconnect "github.com/aws/aws-sdk-go-v2/service/connect"
	"github.com/aws/aws-sdk-go-v2/service/connect/types"

	"github.com/idsync/idsync/consumers"
	"github.com/idsync/idsync/consumers/connect"
	"github.com/idsync/idsync/domain"
)

func TestNew(t *testing.T) {
	e := newEnv(t)
	cfg := e.config(t, "config-delete.json")
	tests := []struct {
		name    string
		api     connect.API
		cfg     domain.ConnectConfig
		wantErr error
	}{
		{"ok", e.client, cfg, nil},
		{"no client", nil, cfg, domain.ErrInvalidConfig},
		{"no instance", e.client, domain.ConnectConfig{Groups: cfg.Groups}, domain.ErrInvalidConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := connect.New(connect.Options{API: tt.api, Config: tt.cfg})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("New error %v, want %v", err, tt.wantErr)
			}
			if err == nil && a.Name() != domain.TargetConnect {
				t.Errorf("Name() = %q", a.Name())
			}
		})
	}
}

// TestIdentityUpdateKeepsUnmanagedFields: UpdateUserIdentityInfo replaces
// the whole identity info; the applier carries over the secondary email
// and mobile that someone set in Connect.
func TestIdentityUpdateKeepsUnmanagedFields(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	a := e.applier(t, e.config(t, "config-delete.json"), connect.Options{})
	p, st := e.joined(t, a)
	if _, err := e.client.UpdateUserIdentityInfo(ctx, &awsconnect.UpdateUserIdentityInfoInput{
		InstanceId: aws.String(e.instance), UserId: aws.String(st.RemoteID),
		IdentityInfo: &types.UserIdentityInfo{
			FirstName: aws.String("Jane"), LastName: aws.String("Doe"), Email: aws.String("jane.doe@example.com"),
			SecondaryEmail: aws.String("jd@example.org"), Mobile: aws.String("+447700900123"),
		},
	}); err != nil {
		t.Fatal(err)
	}
	p.LastName.Value = "Roe"
	if _, _, err := e.sync(ctx, a, p, st, 2); err != nil {
		t.Fatal(err)
	}
	u, _ := e.user(t, p.Key)
	if u.LastName != "Roe" || u.SecondaryEmail != "jd@example.org" || u.Mobile != "+447700900123" {
		t.Errorf("user after update: last %q, secondary %q, mobile %q", u.LastName, u.SecondaryEmail, u.Mobile)
	}
}

// TestLogLines: one JSON line per op with ids, op and outcome, and no
// names or email addresses.
func TestLogLines(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	a := e.applier(t, e.config(t, "config-delete.json"), connect.Options{Logger: log})
	if _, err := e.sim.SeedUser(e.instance, "jane.doe@example.com"); err != nil {
		t.Fatal(err)
	}
	p := member(jane(t), agents, true, 1)
	plan, err := a.Plan(ctx, p, domain.TargetState{}, e.now)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := consumers.Execute(ctx, a, p, domain.TargetState{}, plan, nil); err == nil {
		t.Fatal("Apply succeeded against a clashing user")
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("%d log lines, want 1:\n%s", len(lines), buf.String())
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		"level": "WARN", "msg": "connect op", "target": "connect", "person": p.Key, "op": "create",
		"outcome": "failed", "errorKind": "permanent", "problem": connect.ErrNotOwned.Error(),
	} {
		if rec[k] != want {
			t.Errorf("log %s = %v, want %q", k, rec[k], want)
		}
	}
	for _, pii := range []string{"Jane", "Doe", "example.com"} {
		if strings.Contains(lines[0], pii) {
			t.Errorf("log line holds %q: %s", pii, lines[0])
		}
	}
}
