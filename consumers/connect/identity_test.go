package connect_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/idsync/idsync/consumers/connect"
	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/sim/simconnect"
)

// TestNamesSentInNFC: Connect accepts first and last names only in
// Unicode Normalization Form C. A person whose names reached idsync
// decomposed (a letter followed by a combining mark) gets an agent with
// the composed names, and the same names later, composed or not, plan
// nothing.
func TestNamesSentInNFC(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	a := e.applier(t, e.config(t, "config-delete.json"), connect.Options{})
	p := member(jane(t), agents, true, 1)
	p.FirstName.Value, p.LastName.Value = "Zoe\u0308", "Nun\u0303ez" // Zoë Nuñez, decomposed
	p.DisplayName.Value = "Zoe\u0308 Nun\u0303ez"

	st, _, err := e.sync(ctx, a, p, domain.TargetState{}, 3)
	if err != nil {
		t.Fatalf("sync: %v", err)
	}
	u, ok := e.user(t, p.Key)
	if !ok || u.FirstName != "Zo\u00eb" || u.LastName != "Nu\u00f1ez" {
		t.Fatalf("agent %+v, want the composed names", u)
	}
	if st.FirstName != u.FirstName || st.LastName != u.LastName {
		t.Errorf("state %+v does not record the names sent", st)
	}
	for _, names := range [][2]string{{"Zoe\u0308", "Nun\u0303ez"}, {"Zo\u00eb", "Nu\u00f1ez"}} {
		p.FirstName.Value, p.LastName.Value = names[0], names[1]
		if plan, err := a.Plan(ctx, p, st, e.now); err != nil || len(plan.Ops) != 0 {
			t.Errorf("re-plan with %q: ops %v, %v; want nothing", names, kinds(plan), err)
		}
	}

	// A profile change to another decomposed name is sent composed.
	p.LastName.Value = "Mu\u0308ller"
	st, _, err = e.sync(ctx, a, p, st, 3)
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if u, _ := e.user(t, p.Key); u.LastName != "M\u00fcller" || st.LastName != u.LastName {
		t.Errorf("agent last name %q, state %q; want the composed M\u00fcller", u.LastName, st.LastName)
	}
}

// TestUsernameLimitPerIdentityManagement: Connect usernames may have 64
// characters on an instance that uses SAML and 20 otherwise. The target
// reads the instance's identity management type once (DescribeInstance) and
// plans with its limit: a username too long for the instance is a
// permanent domain.ErrInvalidAttribute before any call, not a refused
// CreateUser.
func TestUsernameLimitPerIdentityManagement(t *testing.T) {
	const long = "jane.doe.long@example.com" // 25 characters
	tests := []struct {
		name     string
		identity string
		login    string
		wantErr  string // "" for created
	}{
		{"SAML, 25 characters", simconnect.IdentitySAML, long, ""},
		{"existing directory, 25 characters", simconnect.IdentityExistingDirectory, long,
			"connect username has 25 characters, want 1–20 with EXISTING_DIRECTORY identity management"},
		{"existing directory, 20 characters", simconnect.IdentityExistingDirectory, "jane.doe@example.com", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, withIdentity(tt.identity))
			a := e.applier(t, e.config(t, "config-delete.json"), connect.Options{})
			p := member(jane(t), agents, true, 1)
			p.Login.Value = tt.login
			for range 2 {
				plan, err := a.Plan(ctx, p, domain.TargetState{}, e.now)
				if tt.wantErr == "" {
					if err != nil || len(plan.Ops) != 1 || plan.Ops[0].Name != tt.login {
						t.Fatalf("plan %+v, %v; want a create under %q", plan.Ops, err, tt.login)
					}
					continue
				}
				if !errors.Is(err, domain.ErrInvalidAttribute) || domain.KindOf(err) != domain.ErrorPermanent ||
					!strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), "jane") {
					t.Fatalf("plan error %v (%s), want permanent ErrInvalidAttribute saying %q and no name", err, domain.KindOf(err), tt.wantErr)
				}
			}
			if n := e.requests("DescribeInstance"); n != 1 {
				t.Errorf("%d DescribeInstance calls for two plans, want 1", n)
			}
			if tt.wantErr != "" {
				if n := e.writes(); n != 0 {
					t.Errorf("%d write calls, want none", n)
				}
				return
			}
			st, _, err := e.sync(ctx, a, p, domain.TargetState{}, 3)
			if err != nil {
				t.Fatalf("sync: %v", err)
			}
			if u, ok := e.user(t, p.Key); !ok || u.Username != tt.login || st.Name != tt.login {
				t.Errorf("agent %+v, state %+v; want username %q", u, st, tt.login)
			}
		})
	}
}

// TestUnknownInstance: an instance id that is not among the account's
// instances is a permanent plan error, with no write.
func TestUnknownInstance(t *testing.T) {
	e := newEnv(t)
	cfg := e.config(t, "config-delete.json")
	cfg.InstanceID = "00000000-0000-4000-8000-00000000dead"
	a := e.applier(t, cfg, connect.Options{})
	_, err := a.Plan(context.Background(), member(jane(t), agents, true, 1), domain.TargetState{}, e.now)
	if !errors.Is(err, connect.ErrNoInstance) || domain.KindOf(err) != domain.ErrorPermanent || !strings.Contains(err.Error(), cfg.InstanceID) {
		t.Fatalf("err = %v (%s), want permanent ErrNoInstance naming the instance", err, domain.KindOf(err))
	}
	if n := e.writes(); n != 0 {
		t.Errorf("%d write calls, want none", n)
	}
}
