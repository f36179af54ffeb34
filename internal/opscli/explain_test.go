package opscli_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/localrun"
	"github.com/idsync/idsync/internal/opscli"
	"github.com/idsync/idsync/internal/settings"
	"github.com/idsync/idsync/internal/testenv"
	"github.com/idsync/idsync/store"
)

// mailboxState returns the state of the WorkMail user named name ("" when
// there is none) and how many users have that name.
func mailboxState(s *localrun.Stack, name string) (string, int) {
	state, n := "", 0
	for _, u := range s.WorkMail.Users(s.Endpoint("WORKMAIL_ORGANIZATION_ID")) {
		if u.Name == name {
			state, n = u.State, n+1
		}
	}
	return state, n
}

func TestExplainTellsOneFactsStoryAcrossTargets(t *testing.T) {
	s := startStack(t, localrun.Options{})
	ctx := testenv.Context(t)
	ana := addToGroup(t, s, "OKTA_WORKMAIL_GROUP_ID", "ana.silva@example.com")
	testenv.Eventually(t, "Ana's mailbox enabled", func() string {
		if st, _ := mailboxState(s, "ana.silva"); st != "ENABLED" {
			return "mailbox " + st
		}
		return ""
	})
	// The hook's fact: its received row is under Ana's Okta id.
	var eventID string
	testenv.Eventually(t, "both targets processed the fact", func() string {
		page, err := s.Store.Audit(ctx, store.AuditQuery{PersonKey: ana})
		if err != nil {
			return err.Error()
		}
		done := map[domain.Target]bool{}
		for _, e := range page.Entries {
			if e.Outcome == domain.OutcomeReceived && e.Kind == domain.KindMemberAdded {
				eventID = e.EventID
			}
			if e.EventID == eventID && e.Target != "" {
				done[e.Target] = true
			}
		}
		if eventID == "" || !done[domain.TargetWorkMail] || !done[domain.TargetConnect] {
			return fmt.Sprintf("event %q, targets %v", eventID, done)
		}
		return ""
	})

	a := operator(t, s, nil)
	args := opscli.ExplainArgs{EventID: eventID, Targets: settings.Targets(s.Config), Groups: opscli.GroupNames(s.Config)}
	var out bytes.Buffer
	if err := opscli.Explain(ctx, a.Store, &out, args); err != nil {
		t.Fatal(err)
	}
	t.Logf("explain:\n%s", out.String())
	text := out.String()
	for _, want := range []string{
		"event " + eventID + " about " + ana + " (ana.silva@example.com)",
		"STEP ",
		"received ",
		"okta-hook member-added; occurred ",
		"group workmail_users (okta:",
		"folded ",
		"person " + ana + " (version ",
		"member of workmail_users (okta:",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("explain lacks %q", want)
		}
	}

	args.Format = opscli.FormatJSON
	out.Reset()
	if err := opscli.Explain(ctx, a.Store, &out, args); err != nil {
		t.Fatal(err)
	}
	var steps []string
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var r struct {
			Step     string `json:"step"`
			EventID  string `json:"eventId"`
			Login    string `json:"login"`
			Target   string `json:"target"`
			Op       string `json:"op"`
			Outcome  string `json:"outcome"`
			RemoteID string `json:"remoteId"`
			Detail   string `json:"detail"`
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		if r.EventID != eventID || r.Login != "ana.silva@example.com" {
			t.Errorf("step %s names event %s, login %q", r.Step, r.EventID, r.Login)
		}
		steps = append(steps, strings.TrimRight(fmt.Sprintf("%s %s %s %s", r.Step, r.Target, r.Op, r.Outcome), " "))
		if r.Step == "planned" && r.Target == "workmail" && r.Detail != "create, register" {
			t.Errorf("workmail planned %q", r.Detail)
		}
		if r.Step == "outcome" && r.Target == "workmail" && (!strings.HasPrefix(r.Detail, "committed") || r.RemoteID == "") {
			t.Errorf("workmail outcome %+v", r)
		}
		if r.Step == "planned" && r.Target == "connect" && !strings.HasPrefix(r.Detail, "nothing: ") {
			t.Errorf("connect planned %q", r.Detail)
		}
	}
	want := []string{
		"received   received",
		"folded",
		"planned workmail",
		"op workmail create applied",
		"op workmail register applied",
		"outcome workmail  applied",
		"planned connect",
		"outcome connect  skipped",
	}
	if strings.Join(steps, "|") != strings.Join(want, "|") {
		t.Fatalf("steps\n got %q\nwant %q", steps, want)
	}

	for _, tc := range []struct {
		name, id string
		want     error
	}{
		{"not an event id", "ana", opscli.ErrUsage},
		{"no such fact", domain.NewEventID(domain.SourceOktaHook, "nope", ana, time.Now()), store.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := opscli.Explain(ctx, a.Store, &out, opscli.ExplainArgs{EventID: tc.id}); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}
