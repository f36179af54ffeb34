package simokta_test

import (
	"encoding/json"
	"maps"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/internal/sim/simokta"
)

var uuidRe = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestHookVerificationThenMembershipDelivery(t *testing.T) {
	o := newOrg(t, simokta.Options{Seed: 1, BatchWindow: time.Hour})
	rcv := newReceiver(t)
	h := o.createHook(rcv.url())
	if h.Status != simokta.HookActive || h.VerificationStatus != simokta.HookUnverified {
		t.Fatalf("new hook status %q/%q, want ACTIVE/UNVERIFIED", h.Status, h.VerificationStatus)
	}
	if _, ok := h.Channel.Config.AuthScheme["value"]; ok {
		t.Errorf("hook answer echoes the auth secret: %v", h.Channel.Config.AuthScheme)
	}
	var verified hookObj
	if resp := o.do(http.MethodPost, "/api/v1/eventHooks/"+h.ID+"/lifecycle/verify", nil, &verified); resp.StatusCode != http.StatusOK {
		t.Fatalf("verify: %d", resp.StatusCode)
	}
	if verified.VerificationStatus != simokta.HookVerified {
		t.Fatalf("verificationStatus %q, want VERIFIED", verified.VerificationStatus)
	}
	gets := rcv.verifications()
	if len(gets) != 1 {
		t.Fatalf("verification GETs = %d, want 1", len(gets))
	}
	if gets[0].Get("X-Okta-Verification-Challenge") == "" || gets[0].Get("Authorization") != "my-shared-secret" {
		t.Errorf("verification headers: challenge %q, auth %q", gets[0].Get("X-Okta-Verification-Challenge"), gets[0].Get("Authorization"))
	}

	u := o.createUser("isaac.brock@example.com", true, true)
	g := o.createGroup("West Coast Users")
	if resp := o.do(http.MethodPut, "/api/v1/groups/"+g.ID+"/users/"+u.ID, nil, nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("add member: %d", resp.StatusCode)
	}
	o.flush()

	posts := rcv.deliveries()
	if len(posts) != 1 {
		t.Fatalf("deliveries = %d, want 1 (the hook subscribes to membership events only)", len(posts))
	}
	p := posts[0]
	for k, want := range map[string]string{
		"Authorization": "my-shared-secret", "X-Other-Header": "some-other-value",
		"Content-Type": "application/json", "Accept": "application/json",
	} {
		if got := p.header.Get(k); got != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}
	env := p.env
	if env.EventType != "com.okta.event_hook" || env.EventTypeVersion != "1.0" || env.CloudEventsVersion != "0.1" ||
		env.ContentType != "application/json" {
		t.Errorf("envelope = %+v", env)
	}
	if want := "https://test.okta.example/api/v1/eventHooks/" + h.ID; env.Source != want {
		t.Errorf("source = %q, want %q", env.Source, want)
	}
	if !uuidRe.MatchString(env.EventID) {
		t.Errorf("eventId %q is not a uuid", env.EventID)
	}
	if _, err := time.Parse(time.RFC3339Nano, env.EventTime); err != nil {
		t.Errorf("eventTime: %v", err)
	}
	if len(env.Data.Events) != 1 {
		t.Fatalf("events = %d, want 1", len(env.Data.Events))
	}
	ev := env.Data.Events[0]
	if ev.EventType != simokta.EventGroupMemberAdd || ev.Outcome.Result != "SUCCESS" || ev.Version != "0" || ev.Actor.Type != "User" {
		t.Errorf("event = %+v", ev)
	}
	if !uuidRe.MatchString(ev.UUID) {
		t.Errorf("uuid %q is not a uuid", ev.UUID)
	}
	if _, err := time.Parse(time.RFC3339Nano, ev.Published); err != nil {
		t.Errorf("published: %v", err)
	}
	byType := map[string]int{}
	for _, tg := range ev.Target {
		byType[tg.Type]++
		switch tg.Type {
		case "User":
			if tg.ID != u.ID || tg.AlternateID != "isaac.brock@example.com" || tg.DisplayName != "Isaac Tester" {
				t.Errorf("User target = %+v", tg)
			}
		case "UserGroup":
			if tg.ID != g.ID || tg.AlternateID != "unknown" || tg.DisplayName != "West Coast Users" {
				t.Errorf("UserGroup target = %+v", tg)
			}
		}
	}
	if byType["User"] != 1 || byType["UserGroup"] != 1 || len(ev.Target) != 2 {
		t.Errorf("targets by type = %v", byType)
	}

	// Every member of Okta's documented sample is present, at every level.
	raw, err := os.ReadFile("testdata/hook_sample_membership_add.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc, got map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(p.body, &got); err != nil {
		t.Fatal(err)
	}
	if missing := missingKeys("", doc, got); len(missing) > 0 {
		t.Errorf("delivery lacks documented members: %v", missing)
	}
}

// missingKeys lists the object members of want (recursively, through the
// first element of arrays) that got lacks.
func missingKeys(path string, want, got any) []string {
	var out []string
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{path + " (not an object)"}
		}
		for _, k := range slices.Sorted(maps.Keys(w)) {
			gv, ok := g[k]
			if !ok {
				out = append(out, path+"."+k)
				continue
			}
			out = append(out, missingKeys(path+"."+k, w[k], gv)...)
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) == 0 || len(w) == 0 {
			return nil
		}
		out = append(out, missingKeys(path+"[0]", w[0], g[0])...)
	}
	return out
}

func TestHookVerificationFailures(t *testing.T) {
	tests := []struct {
		name     string
		verify   func(challenge string) (int, string)
		wantGets int
	}{
		{"wrong value", func(string) (int, string) { return 200, `{"verification":"nope"}` }, 1},
		{"not JSON", func(ch string) (int, string) { return 200, ch }, 1},
		{"4xx is not retried", func(string) (int, string) { return 404, `{}` }, 1},
		{"5xx is retried once", func(string) (int, string) { return 503, `{}` }, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := newOrg(t, simokta.Options{Seed: 2, BatchWindow: time.Hour})
			rcv := newReceiver(t)
			rcv.verify = tc.verify
			h := o.createHook(rcv.url())
			var e oktaError
			resp := o.do(http.MethodPost, "/api/v1/eventHooks/"+h.ID+"/lifecycle/verify", nil, &e)
			if resp.StatusCode != http.StatusBadRequest || e.ErrorCode != "E0000001" || len(e.ErrorCauses) == 0 {
				t.Fatalf("verify = %d %+v, want 400 E0000001 with a cause", resp.StatusCode, e)
			}
			if n := len(rcv.verifications()); n != tc.wantGets {
				t.Errorf("verification GETs = %d, want %d", n, tc.wantGets)
			}
			var got hookObj
			o.do(http.MethodGet, "/api/v1/eventHooks/"+h.ID, nil, &got)
			if got.VerificationStatus != simokta.HookUnverified {
				t.Errorf("verificationStatus = %q, want UNVERIFIED", got.VerificationStatus)
			}
			// An unverified hook receives nothing.
			u := o.createUser("a@example.com", true, true)
			g := o.createGroup("G")
			o.do(http.MethodPut, "/api/v1/groups/"+g.ID+"/users/"+u.ID, nil, nil)
			o.flush()
			if n := len(rcv.deliveries()); n != 0 {
				t.Errorf("unverified hook got %d deliveries", n)
			}
		})
	}
}

func TestHookDeliveryRetries(t *testing.T) {
	tests := []struct {
		name       string
		respond    func(n int) (int, time.Duration)
		wantPosts  int
		wantStatus []int
	}{
		{"200 once", func(int) (int, time.Duration) { return 200, 0 }, 1, []int{200}},
		{"204 once", func(int) (int, time.Duration) { return 204, 0 }, 1, []int{204}},
		{"500 retried exactly once", func(int) (int, time.Duration) { return 500, 0 }, 2, []int{500, 500}},
		{"503 then 200", func(n int) (int, time.Duration) { return []int{503, 200}[n], 0 }, 2, []int{503, 200}},
		{"400 not retried", func(int) (int, time.Duration) { return 400, 0 }, 1, []int{400}},
		{"401 not retried", func(int) (int, time.Duration) { return 401, 0 }, 1, []int{401}},
		{"timeout retried once", func(int) (int, time.Duration) { return 200, 2 * time.Second }, 2, []int{0, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := newOrg(t, simokta.Options{Seed: 3, BatchWindow: time.Hour, HookTimeout: 150 * time.Millisecond})
			rcv := newReceiver(t)
			o.verifiedHook(rcv)
			rcv.mu.Lock()
			rcv.respond = tc.respond
			rcv.mu.Unlock()
			u := o.createUser("a@example.com", true, true)
			g := o.createGroup("G")
			o.do(http.MethodPut, "/api/v1/groups/"+g.ID+"/users/"+u.ID, nil, nil)
			o.flush()
			posts := rcv.deliveries()
			if len(posts) != tc.wantPosts {
				t.Fatalf("receiver got %d POSTs, want %d", len(posts), tc.wantPosts)
			}
			if len(posts) == 2 && (posts[0].env.EventID != posts[1].env.EventID || string(posts[0].body) != string(posts[1].body)) {
				t.Errorf("retry is not the same delivery: %s vs %s", posts[0].env.EventID, posts[1].env.EventID)
			}
			var statuses, numbers []int
			for _, a := range attempts(o.srv) {
				statuses = append(statuses, a.Status)
				numbers = append(numbers, a.Attempt)
				if a.Status == 0 && a.Error == "" {
					t.Errorf("attempt without status records no error: %+v", a)
				}
			}
			if diff := cmp.Diff(tc.wantStatus, statuses); diff != "" {
				t.Errorf("attempt statuses (-want +got):\n%s", diff)
			}
			wantNumbers := []int{1, 2}[:len(tc.wantStatus)]
			if diff := cmp.Diff(wantNumbers, numbers); diff != "" {
				t.Errorf("attempt numbers (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHookBatching(t *testing.T) {
	tests := []struct {
		name       string
		window     time.Duration
		wantSizes  []int
		wantInSync bool
	}{
		{"events within the window share one delivery", time.Hour, []int{3}, true},
		{"negative window sends each event alone", -1, []int{1, 1, 1}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := newOrg(t, simokta.Options{Seed: 4, BatchWindow: tc.window})
			rcv := newReceiver(t)
			o.verifiedHook(rcv)
			u := o.createUser("a@example.com", true, true)
			var gids []string
			for _, name := range []string{"G1", "G2", "G3"} {
				g := o.createGroup(name)
				gids = append(gids, g.ID)
				o.do(http.MethodPut, "/api/v1/groups/"+g.ID+"/users/"+u.ID, nil, nil)
			}
			o.flush()
			var sizes []int
			var groups []string
			for _, p := range rcv.deliveries() {
				sizes = append(sizes, len(p.env.Data.Events))
				for _, ev := range p.env.Data.Events {
					for _, tg := range ev.Target {
						if tg.Type == "UserGroup" {
							groups = append(groups, tg.ID)
						}
					}
				}
			}
			if diff := cmp.Diff(tc.wantSizes, sizes); diff != "" {
				t.Errorf("events per delivery (-want +got):\n%s", diff)
			}
			if tc.wantInSync {
				if diff := cmp.Diff(gids, groups); diff != "" {
					t.Errorf("batched events out of order (-want +got):\n%s", diff)
				}
			} else if diff := cmp.Diff(sorted(gids), sorted(groups)); diff != "" {
				t.Errorf("delivered groups (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHookBatchWindowClosesByItself(t *testing.T) {
	o := newOrg(t, simokta.Options{Seed: 5, BatchWindow: 20 * time.Millisecond})
	rcv := newReceiver(t)
	o.verifiedHook(rcv)
	u := o.createUser("a@example.com", true, true)
	g := o.createGroup("G")
	o.do(http.MethodPut, "/api/v1/groups/"+g.ID+"/users/"+u.ID, nil, nil)
	select {
	case <-rcv.posted:
	case <-time.After(10 * time.Second):
		t.Fatal("no delivery without Flush")
	}
	if n := len(rcv.deliveries()); n != 1 {
		t.Errorf("deliveries = %d, want 1", n)
	}
}

func TestHookFaults(t *testing.T) {
	tests := []struct {
		name   string
		faults simokta.HookFaults
		check  func(t *testing.T, posts []received, att []simokta.DeliveryAttempt, sent []string)
	}{
		{"duplicate", simokta.HookFaults{DuplicateRate: 1}, func(t *testing.T, posts []received, att []simokta.DeliveryAttempt, sent []string) {
			if len(posts) != 2 {
				t.Fatalf("POSTs = %d, want 2", len(posts))
			}
			if posts[0].env.EventID == posts[1].env.EventID {
				t.Errorf("duplicate delivery reuses eventId %s", posts[0].env.EventID)
			}
			a, b := uuidsOf(posts[0]), uuidsOf(posts[1])
			if diff := cmp.Diff(sorted(a), sorted(b)); diff != "" {
				t.Errorf("duplicate carries other events (-first +second):\n%s", diff)
			}
			dups := 0
			for _, x := range att {
				if x.Duplicate {
					dups++
				}
			}
			if dups != 1 {
				t.Errorf("attempts marked duplicate = %d, want 1", dups)
			}
		}},
		{"drop", simokta.HookFaults{DropRate: 1}, func(t *testing.T, posts []received, att []simokta.DeliveryAttempt, sent []string) {
			if len(posts) != 0 {
				t.Fatalf("POSTs = %d, want 0", len(posts))
			}
			if len(att) != 1 || !att[0].Dropped || att[0].Attempt != 0 {
				t.Errorf("attempts = %+v, want one dropped", att)
			}
		}},
		{"reorder", simokta.HookFaults{ReorderRate: 1, ReorderDelay: time.Millisecond}, func(t *testing.T, posts []received, att []simokta.DeliveryAttempt, sent []string) {
			if len(posts) != 1 {
				t.Fatalf("POSTs = %d, want 1", len(posts))
			}
			got := uuidsOf(posts[0])
			if diff := cmp.Diff(sorted(sent), sorted(got)); diff != "" {
				t.Errorf("reordered delivery lost or gained events (-want +got):\n%s", diff)
			}
			if slices.Equal(sent, got) {
				t.Errorf("events not reordered: %v", got)
			}
			if len(att) != 1 || !att[0].Reordered {
				t.Errorf("attempts = %+v, want one reordered", att)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := newOrg(t, simokta.Options{Seed: 6, BatchWindow: time.Hour, Faults: tc.faults})
			rcv := newReceiver(t)
			o.verifiedHook(rcv)
			u := o.createUser("a@example.com", true, true)
			for _, name := range []string{"G1", "G2", "G3", "G4", "G5", "G6"} {
				g := o.createGroup(name)
				o.do(http.MethodPut, "/api/v1/groups/"+g.ID+"/users/"+u.ID, nil, nil)
			}
			var sent []string
			for _, e := range o.srv.LogEvents() {
				if e.EventType == simokta.EventGroupMemberAdd {
					sent = append(sent, e.UUID)
				}
			}
			o.flush()
			tc.check(t, rcv.deliveries(), attempts(o.srv), sent)
		})
	}
}

func TestHookFaultsThroughControlSurface(t *testing.T) {
	o := newOrg(t, simokta.Options{Seed: 7, BatchWindow: time.Hour})
	resp, err := o.ts.Client().Post(o.ts.URL+"/_sim/hook-faults", "application/json",
		strings.NewReader(`{"duplicateRate":1,"dropRate":0.5,"reorderDelayMs":5}`))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("POST /_sim/hook-faults = %d", resp.StatusCode)
	}
	want := simokta.HookFaults{DuplicateRate: 1, DropRate: 0.5, ReorderDelay: 5 * time.Millisecond}
	if diff := cmp.Diff(want, o.srv.HookFaults()); diff != "" {
		t.Errorf("faults (-want +got):\n%s", diff)
	}
}

func TestHookLifecycleDeactivateStopsDelivery(t *testing.T) {
	o := newOrg(t, simokta.Options{Seed: 8, BatchWindow: time.Hour})
	rcv := newReceiver(t)
	h := o.verifiedHook(rcv)
	var got hookObj
	if resp := o.do(http.MethodPost, "/api/v1/eventHooks/"+h.ID+"/lifecycle/deactivate", nil, &got); resp.StatusCode != 200 || got.Status != simokta.HookInactive {
		t.Fatalf("deactivate = %d %q", resp.StatusCode, got.Status)
	}
	u := o.createUser("a@example.com", true, true)
	g := o.createGroup("G")
	o.do(http.MethodPut, "/api/v1/groups/"+g.ID+"/users/"+u.ID, nil, nil)
	o.flush()
	if n := len(rcv.deliveries()); n != 0 {
		t.Errorf("inactive hook got %d deliveries", n)
	}
	// Okta deletes only inactive hooks.
	if resp := o.do(http.MethodDelete, "/api/v1/eventHooks/"+h.ID, nil, nil); resp.StatusCode != http.StatusNoContent {
		t.Errorf("delete inactive hook = %d, want 204", resp.StatusCode)
	}
	var hooks []hookObj
	o.do(http.MethodGet, "/api/v1/eventHooks", nil, &hooks)
	if len(hooks) != 0 {
		t.Errorf("hooks after delete = %d", len(hooks))
	}
}

func TestDeleteActiveHookRefused(t *testing.T) {
	o := newOrg(t, simokta.Options{Seed: 9})
	h := o.createHook("http://127.0.0.1:1/hook")
	var e oktaError
	if resp := o.do(http.MethodDelete, "/api/v1/eventHooks/"+h.ID, nil, &e); resp.StatusCode != 400 || e.ErrorCode != "E0000001" {
		t.Errorf("delete active hook = %d %s, want 400 E0000001", resp.StatusCode, e.ErrorCode)
	}
}

func TestCreateHookValidation(t *testing.T) {
	o := newOrg(t, simokta.Options{Seed: 10})
	tests := []struct {
		name string
		body string
	}{
		{"no name", `{"events":{"type":"EVENT_TYPE","items":["user.lifecycle.create"]},"channel":{"type":"HTTP","version":"1.0.0","config":{"uri":"https://x.example/h"}}}`},
		{"wrong events type", `{"name":"h","events":{"type":"FLOW","items":["user.lifecycle.create"]},"channel":{"type":"HTTP","version":"1.0.0","config":{"uri":"https://x.example/h"}}}`},
		{"no items", `{"name":"h","events":{"type":"EVENT_TYPE","items":[]},"channel":{"type":"HTTP","version":"1.0.0","config":{"uri":"https://x.example/h"}}}`},
		{"bad uri", `{"name":"h","events":{"type":"EVENT_TYPE","items":["user.lifecycle.create"]},"channel":{"type":"HTTP","version":"1.0.0","config":{"uri":"not a url"}}}`},
		{"auth without value", `{"name":"h","events":{"type":"EVENT_TYPE","items":["user.lifecycle.create"]},"channel":{"type":"HTTP","version":"1.0.0","config":{"uri":"https://x.example/h","authScheme":{"type":"HEADER","key":"Authorization"}}}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var e oktaError
			resp := o.with(t).do(http.MethodPost, "/api/v1/eventHooks", tc.body, &e)
			if resp.StatusCode != http.StatusBadRequest || e.ErrorCode != "E0000001" || len(e.ErrorCauses) == 0 {
				t.Errorf("= %d %+v, want 400 E0000001 with causes", resp.StatusCode, e)
			}
		})
	}
}

func uuidsOf(p received) []string {
	var out []string
	for _, e := range p.env.Data.Events {
		out = append(out, e.UUID)
	}
	return out
}

func sorted(s []string) []string { return slices.Sorted(slices.Values(s)) }
