package domain

import (
	"errors"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"
)

// ErrInvalidAttribute is returned (wrapped with the target, the attribute,
// the value's length and the target's limit or pattern, and marked
// Permanent) when a planner renders an attribute the target would reject: a
// name, email or username that does not fit the target's length or pattern,
// or a template that fails on the person's data. Retrying cannot help; the
// configuration or the person's profile must change. The error never holds
// the rendered value (a name or address derived from the person's login):
// it is logged, written to the ledger and carried in DLQ attributes.
var ErrInvalidAttribute = errors.New("attribute does not fit the target")

// Reasons planners give for a plan without ops. They are stable strings for
// the ledger; a reason may be followed by detail after ": ".
const (
	// ReasonNotManaged: idsync never created or adopted an account for the
	// person in the target and the person does not qualify for one, or an
	// account exists there that idsync does not manage. Nothing is touched.
	ReasonNotManaged = "not managed"
	// ReasonUpToDate: the account already matches the desired state.
	ReasonUpToDate = "up to date"
	// ReasonNoAccount: the person does not qualify and has no account.
	ReasonNoAccount = "no account"
	// ReasonIncomplete: the person qualifies but a fact needed to render the
	// account (login, names) is not known yet; a later fact re-plans.
	ReasonIncomplete = "incomplete profile"
	// ReasonAlreadyLeft: the leave policy has already been applied.
	ReasonAlreadyLeft = "already left"
	// ReasonGracePeriod: a disabled WorkMail mailbox awaits its deletion date
	// (or, with an unknown disable time, its grace period starts now).
	ReasonGracePeriod = "grace period"
)

// Patterns and limits from the AWS API models.
const (
	patternWorkMailName    = `^[\w\-.]+(@[a-zA-Z0-9.\-]+\.[a-zA-Z0-9-]{2,})?$`
	patternWorkMailEmail   = `^[a-zA-Z0-9._%+-]{1,64}@[a-zA-Z0-9.-]+\.[a-zA-Z-]{2,}$`
	patternConnectUsername = `^[a-zA-Z0-9_.@-]+$`

	maxWorkMailName      = 64
	maxWorkMailEmail     = 254
	maxWorkMailAttribute = 256 // DisplayName, FirstName, LastName
	maxConnectFirstName  = 255
	maxConnectLastName   = 300
)

// attrCheck collects the problems of rendered attributes. Its messages name
// the target, the attribute, the value's length and the limit or pattern,
// never the value itself: they end up in logs, the ledger and DLQ
// attributes.
type attrCheck struct {
	target Target
	errs   []error
}

func (c *attrCheck) fail(attr, format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf("%w: %s %s %s", ErrInvalidAttribute, c.target, attr, fmt.Sprintf(format, args...)))
}

// length checks 1 ≤ len ≤ max (or 0 ≤ len when min is 0), in characters.
func (c *attrCheck) length(attr, v string, minLen, maxLen int) {
	if n := utf8.RuneCountInString(v); n < minLen || n > maxLen {
		c.fail(attr, "has %d characters, want %d–%d", n, minLen, maxLen)
	}
}

// pattern checks that v matches pattern.
func (c *attrCheck) pattern(attr, v, pattern string) {
	if !matches(pattern, v) {
		c.fail(attr, "(%d characters) does not match %s", utf8.RuneCountInString(v), pattern)
	}
}

// render executes a template; ok is false (and the failure recorded) when
// it fails, so that the value's own checks can be skipped.
func (c *attrCheck) render(attr, text string, d TemplateData) (v string, ok bool) {
	v, err := render(attr, text, d)
	if err != nil {
		c.fail(attr, "template failed: %v", err)
		return "", false
	}
	return v, true
}

// err returns the joined problems, marked Permanent, or nil.
func (c *attrCheck) err() error {
	if len(c.errs) == 0 {
		return nil
	}
	return Permanent(errors.Join(c.errs...))
}

// sameSet reports whether a and b hold the same strings, in any order.
func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	as, bs := slices.Clone(a), slices.Clone(b)
	slices.Sort(as)
	slices.Sort(bs)
	return slices.Equal(as, bs)
}

// hasAccount reports whether last describes an account that exists in the
// target (enabled, or disabled/stripped).
func hasAccount(last TargetState) bool {
	return last.Status == RemoteEnabled || last.Status == RemoteDisabled
}

// settlesIntent reports whether last is a create intent and nothing else:
// no account recorded, a pinned name. For a person who no longer
// qualifies, that intent is settled with OpAdopt.
func settlesIntent(last TargetState) bool {
	return !last.Managed && last.Status == RemoteAbsent && last.PendingName != ""
}

// settleIntent is the plan of op, an OpAdopt: Next is last without its
// intent (what the applier finds replaces it; see consumers.Execute).
func settleIntent(op Op, last TargetState) Plan {
	return Plan{Ops: []Op{op}, Next: withoutIntent(last)}
}

// noOp is a plan with nothing to do: Next is last, unchanged.
func noOp(last TargetState, reason string) Plan {
	return Plan{Next: last, Reason: reason}
}

// withoutIntent is s without a create intent (PendingName, PendingAt): the
// state of an account that exists.
func withoutIntent(s TargetState) TargetState {
	s.PendingName, s.PendingAt = "", time.Time{}
	return s
}

// deletedState is the state after idsync deleted the account: still
// managed (a rejoin creates a new account), nothing else kept.
func deletedState(last TargetState, target Target) TargetState {
	return TargetState{Target: target, Managed: true, Status: RemoteDeleted, Version: last.Version}
}
