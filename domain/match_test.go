package domain_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/idsync/idsync/domain"
)

// The patterns from the AWS API models that planners and event validation
// check, as the regular expressions the hand-written matchers stand for.
var (
	reWorkMailName    = regexp.MustCompile(`^[\w\-.]+(@[a-zA-Z0-9.\-]+\.[a-zA-Z0-9-]{2,})?$`)
	reWorkMailEmail   = regexp.MustCompile(`^[a-zA-Z0-9._%+-]{1,64}@[a-zA-Z0-9.-]+\.[a-zA-Z-]{2,}$`)
	reConnectUsername = regexp.MustCompile(`^[a-zA-Z0-9_.@-]+$`)
	reTargetName      = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)
)

// matchCorpus are strings at the edges of the patterns.
var matchCorpus = []string{
	"a", "A", "_", "-", ".", "@", "a@b", "a@b.c", "a@b.cd", "a@b.c1", "a@b.c-", "a@.cd", "a@b..cd", "a@-.cd",
	"jane.doe", "jane.doe@example.com", "jane.doe@example.co.uk", "jane+x@example.com", "jane%x@example.com",
	"jane@example", "jane@@example.com", "@example.com", "jane@example.c", "jane@ex ample.com", "jane doe",
	"é@example.com", "jane@exämple.com", "x@y.zz", "x@y.z9", "ab@1.23", "a.b-c_d", "a/b", "tab\t",
	"0123456789012345678901234567890123456789012345678901234567890123@example.com",
	"01234567890123456789012345678901234567890123456789012345678901234@example.com",
	"workmail", "connect", "work-mail2", "Workmail", "2workmail", "w", "abcdefghijklmnopqrstuvwxyzabcdef", "abcdefghijklmnopqrstuvwxyzabcdefg",
	"a_b@c.de", "a@b.c.de", "a@b-c.de", "user@sub.-x.io", "user@x.io.", "user@.", "user@a.",
}

// patternVerdicts says, through the exported API, whether s passes each
// pattern: the planners' attribute checks (a login rendered as the
// WorkMail name, the WorkMail email and the Connect username) and event
// validation (the target name).
func patternVerdicts(t testing.TB, s string) (name, email, username, target bool) {
	t.Helper()
	p := domain.Person{Key: "00u1", OktaID: "00u1", Login: domain.Stamped{Value: s}, FirstName: domain.Stamped{Value: "F"},
		LastName: domain.Stamped{Value: "L"}, Groups: map[string]domain.Membership{"okta:00g1": {Member: true}}}
	g := domain.GroupRef{OktaID: "00g1"}
	noMatch := func(err error, attr string) bool {
		return err != nil && strings.Contains(err.Error(), attr+" (") && strings.Contains(err.Error(), "does not match")
	}
	now := time.Unix(0, 0)
	_, err := domain.PlanWorkMail(domain.WorkMailConfig{Groups: []domain.GroupRef{g}, NameTemplate: "{{.Login}}", EmailTemplate: "ok@example.com"}, "example.com", p, domain.TargetState{}, now)
	name = !noMatch(err, "name")
	_, err = domain.PlanWorkMail(domain.WorkMailConfig{Groups: []domain.GroupRef{g}, NameTemplate: "ok", EmailTemplate: "{{.Login}}"}, "example.com", p, domain.TargetState{}, now)
	email = !noMatch(err, "email")
	_, err = domain.PlanConnect(domain.ConnectConfig{Groups: []domain.ConnectGroup{{GroupRef: g, SecurityProfileIDs: []string{"sp"}, RoutingProfileID: "rp"}},
		UsernameTemplate: "{{.Login}}"}, domain.ConnectIdentitySAML, p, domain.TargetState{}, now)
	username = !noMatch(err, "username")
	e := domain.Event{ID: domain.NewEventID(domain.SourceOktaHook, "u", "00u1", now.Add(time.Second)), Source: domain.SourceOktaHook,
		Kind: domain.KindSuspended, Subject: domain.Subject{OktaID: "00u1"}, Target: domain.Target(s), OccurredAt: now.Add(time.Second)}
	target = e.Validate() == nil
	return name, email, username, target
}

func checkPatterns(t *testing.T, s string) {
	t.Helper()
	name, email, username, target := patternVerdicts(t, s)
	for _, c := range []struct {
		what     string
		got      bool
		re       *regexp.Regexp
		ignoreRE bool
	}{
		{"WorkMail name", name, reWorkMailName, false},
		{"WorkMail email", email, reWorkMailEmail, false},
		{"Connect username", username, reConnectUsername, false},
		{"target name", target, reTargetName, s == ""},
	} {
		if !c.ignoreRE && c.got != c.re.MatchString(s) {
			t.Errorf("%s %q: accepted %v, the pattern says %v", c.what, s, c.got, c.re.MatchString(s))
		}
	}
}

// TestAttributePatternsMatchTheAPIModels holds the planners' and the
// event validation's pattern checks (hand-written: compiling a pattern
// costs more than a whole plan, and reconciliation plans every managed
// person on every run) equal to the patterns of the API models.
func TestAttributePatternsMatchTheAPIModels(t *testing.T) {
	for _, s := range matchCorpus {
		checkPatterns(t, s)
	}
}

func FuzzAttributePatterns(f *testing.F) {
	for _, s := range matchCorpus {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if s == "" || strings.ContainsAny(s, "{}") {
			t.Skip() // no login, or a string the template would not render as itself
		}
		checkPatterns(t, s)
	})
}
