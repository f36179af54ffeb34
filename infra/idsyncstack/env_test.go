package idsyncstack_test

import (
	"os"
	"reflect"
	"slices"
	"sort"
	"testing"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/infra/idsyncstack"
	"github.com/idsync/idsync/internal/settings"
)

// deployedEnv returns a function's environment as the function sees it:
// values CloudFormation resolves at deploy (table names, queue URLs, the
// secret's ARN) become placeholders, and a configuration document read
// from SSM at deploy becomes doc.
func deployedEnv(t *testing.T, s synthed, id, doc string) map[string]string {
	t.Helper()
	env := map[string]string{}
	for k, v := range props(s.resource(t, id))["Environment"].(obj)["Variables"].(obj) {
		switch v := v.(type) {
		case string:
			env[k] = v
		default:
			env[k] = "resolved-at-deploy-" + k
			if k == settings.EnvConfig {
				env[k] = doc
			}
		}
	}
	return env
}

// settingsAccept: each deployed function's environment is exactly what
// internal/settings reads for its component. settings.FromEnv accepts it
// (so every variable the component requires is set, under the name
// settings gives it); every variable the stack sets is read (changing its
// value changes the settings or makes them invalid); a consumer's target is
// its own and it has only that target's variables; the producers have a
// queue for every deployed target and the configuration enables exactly
// the deployed targets.
func settingsAccept(t *testing.T, s synthed) {
	t.Helper()
	// A configuration read from SSM at deploy: a document enabling the
	// deployed targets.
	doc := "testdata/full.json"
	if _, ok := s.stack.Targets[idsyncstack.FnConnect]; !ok {
		doc = "testdata/workmail_only.json"
	}
	raw, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	var deployed []domain.Target
	for _, name := range []string{idsyncstack.FnWorkMail, idsyncstack.FnConnect} {
		if _, ok := s.stack.Targets[name]; ok {
			deployed = append(deployed, domain.Target(name))
		}
	}
	for _, d := range s.deployedFunctions(t) {
		c := settings.Consumer
		switch d.spec.Name {
		case idsyncstack.FnOktaHook:
			c = settings.Hook
		case idsyncstack.FnIdCSnapshot:
			c = settings.Snapshot
		}
		env := deployedEnv(t, s, d.id, string(raw))
		read := func(env map[string]string) (settings.Settings, error) {
			return settings.FromEnv(func(k string) string { return env[k] }, c)
		}
		st, err := read(env)
		if err != nil {
			t.Errorf("%s: settings.FromEnv refuses the environment: %v", d.spec.Name, err)
			continue
		}
		if again, _ := read(env); !reflect.DeepEqual(st, again) {
			t.Fatalf("%s: settings.FromEnv is not deterministic; this check cannot tell a read variable", d.spec.Name)
		}
		var names []string
		for k := range env {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			changed := with(env, k, env[k]+"x")
			if other, err := read(changed); err == nil && reflect.DeepEqual(st, other) {
				t.Errorf("%s: %s is set but internal/settings does not read it for this function", d.spec.Name, k)
			}
		}
		var queues, rates []domain.Target
		for tgt, q := range st.Queues {
			if q.URL != "" {
				queues = append(queues, tgt)
			}
		}
		for tgt := range st.Rates {
			rates = append(rates, tgt)
		}
		sort.Slice(queues, func(i, j int) bool { return queues[i] < queues[j] })
		sort.Slice(deployed, func(i, j int) bool { return deployed[i] < deployed[j] })
		switch c {
		case settings.Consumer:
			if st.Target != d.spec.Target || st.Queues[st.Target].DLQURL == "" || len(st.Queues) != 1 ||
				!slices.Equal(rates, []domain.Target{d.spec.Target}) {
				t.Errorf("%s: target %q, queues %v, rates %v; want its own target with its DLQ and rate only",
					d.spec.Name, st.Target, st.Queues, st.Rates)
			}
		default:
			configured := settings.Targets(st.Config)
			sort.Slice(configured, func(i, j int) bool { return configured[i] < configured[j] })
			if !slices.Equal(queues, deployed) || !slices.Equal(configured, deployed) {
				t.Errorf("%s: queues for %v, configured targets %v; want the deployed targets %v", d.spec.Name, queues, configured, deployed)
			}
		}
	}
}

// with returns a copy of m with k set to v.
func with(m map[string]string, k, v string) map[string]string {
	out := make(map[string]string, len(m))
	for key, val := range m {
		out[key] = val
	}
	out[k] = v
	return out
}
