package simokta

import (
	"errors"
	"net/http"
	"strings"
	"unicode"
)

// expr is a parsed Okta filter/search expression (a SCIM-like subset):
//
//	expr   = term { "or" term }
//	term   = factor { "and" factor }
//	factor = "(" expr ")" | attr op value | attr "pr"
//	op     = eq | ne | sw | co | gt | ge | lt | le
//
// Values are double-quoted strings, or true/false/null and numbers. String
// comparisons are case-insensitive, as Okta's are for eq/sw/co.
type expr interface {
	match(get func(attr string) []string) bool
}

type orExpr []expr
type andExpr []expr

type cmpExpr struct {
	attr, op, val string
}

func (e orExpr) match(get func(string) []string) bool {
	for _, x := range e {
		if x.match(get) {
			return true
		}
	}
	return false
}

func (e andExpr) match(get func(string) []string) bool {
	for _, x := range e {
		if !x.match(get) {
			return false
		}
	}
	return true
}

// match holds when any of the attribute's values satisfies the
// comparison (ne: when none equals the value).
func (e cmpExpr) match(get func(string) []string) bool {
	vals := get(e.attr)
	if e.op == "ne" {
		for _, v := range vals {
			if strings.EqualFold(v, e.val) {
				return false
			}
		}
		return true
	}
	for _, v := range vals {
		if e.cmp(v) {
			return true
		}
	}
	return false
}

func (e cmpExpr) cmp(v string) bool {
	a, b := strings.ToLower(v), strings.ToLower(e.val)
	switch e.op {
	case "pr":
		return v != ""
	case "eq":
		return a == b
	case "sw":
		return strings.HasPrefix(a, b)
	case "co":
		return strings.Contains(a, b)
	case "gt":
		return v > e.val
	case "ge":
		return v >= e.val
	case "lt":
		return v < e.val
	case "le":
		return v <= e.val
	}
	return false
}

var errFilter = errors.New("invalid filter")

type lexer struct {
	toks []string
	pos  int
}

func (l *lexer) peek() string {
	if l.pos < len(l.toks) {
		return l.toks[l.pos]
	}
	return ""
}

func (l *lexer) next() string {
	t := l.peek()
	l.pos++
	return t
}

func tokenize(s string) ([]string, error) {
	var toks []string
	for i := 0; i < len(s); {
		c := rune(s[i])
		switch {
		case unicode.IsSpace(c):
			i++
		case c == '(' || c == ')':
			toks = append(toks, string(c))
			i++
		case c == '"':
			var b strings.Builder
			b.WriteByte('"')
			j := i + 1
			for ; j < len(s) && s[j] != '"'; j++ {
				if s[j] == '\\' && j+1 < len(s) {
					j++
				}
				b.WriteByte(s[j])
			}
			if j >= len(s) {
				return nil, errFilter
			}
			toks = append(toks, b.String())
			i = j + 1
		default:
			j := i
			for j < len(s) && !unicode.IsSpace(rune(s[j])) && s[j] != '(' && s[j] != ')' && s[j] != '"' {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		}
	}
	return toks, nil
}

// parseFilter parses an Okta filter or search expression; an unparsable one
// is Okta's E0000031.
func parseFilter(s string) (expr, *APIError) {
	bad := &APIError{Status: http.StatusBadRequest, Code: codeSearch, Summary: "Invalid search criteria.", kind: ErrInvalid}
	toks, err := tokenize(s)
	if err != nil || len(toks) == 0 {
		return nil, bad
	}
	l := &lexer{toks: toks}
	e, err := l.parseOr()
	if err != nil || l.pos != len(l.toks) {
		return nil, bad
	}
	return e, nil
}

func (l *lexer) parseOr() (expr, error) {
	var out orExpr
	for {
		t, err := l.parseAnd()
		if err != nil {
			return nil, err
		}
		out = append(out, t)
		if !strings.EqualFold(l.peek(), "or") {
			return out, nil
		}
		l.next()
	}
}

func (l *lexer) parseAnd() (expr, error) {
	var out andExpr
	for {
		f, err := l.parseFactor()
		if err != nil {
			return nil, err
		}
		out = append(out, f)
		if !strings.EqualFold(l.peek(), "and") {
			return out, nil
		}
		l.next()
	}
}

func (l *lexer) parseFactor() (expr, error) {
	if l.peek() == "(" {
		l.next()
		e, err := l.parseOr()
		if err != nil || l.next() != ")" {
			return nil, errFilter
		}
		return e, nil
	}
	attr := l.next()
	if attr == "" || attr == ")" || strings.HasPrefix(attr, `"`) {
		return nil, errFilter
	}
	op := strings.ToLower(l.next())
	switch op {
	case "pr":
		return cmpExpr{attr: attr, op: op}, nil
	case "eq", "ne", "sw", "co", "gt", "ge", "lt", "le":
	default:
		return nil, errFilter
	}
	v := l.next()
	if v == "" || v == "(" || v == ")" {
		return nil, errFilter
	}
	return cmpExpr{attr: attr, op: op, val: strings.TrimPrefix(v, `"`)}, nil
}

// userAttr reads an attribute of a user for filters: id, status, the
// timestamps, and profile.<name>.
func userAttr(u *user) func(string) []string {
	return func(attr string) []string {
		one := func(v string) []string { return []string{v} }
		switch attr {
		case "id":
			return one(u.id)
		case "status":
			return one(u.status)
		case "created":
			return one(fmtTime(u.created))
		case "lastUpdated":
			return one(fmtTime(u.lastUpdated))
		case "statusChanged":
			if !u.statusChanged.IsZero() {
				return one(fmtTime(u.statusChanged))
			}
		case "activated":
			if !u.activated.IsZero() {
				return one(fmtTime(u.activated))
			}
		}
		if name, ok := strings.CutPrefix(attr, "profile."); ok {
			if v, ok := u.profile[name]; ok {
				return one(v)
			}
		}
		return nil
	}
}

// logAttr reads an attribute of a log event for filters: eventType, uuid,
// published, severity, displayMessage, outcome.result, actor.id,
// actor.alternateId, transaction.id and target.id / target.type /
// target.alternateId / target.displayName (any target).
func logAttr(e *LogEvent) func(string) []string {
	return func(attr string) []string {
		one := func(v string) []string { return []string{v} }
		switch attr {
		case "eventType":
			return one(e.EventType)
		case "uuid":
			return one(e.UUID)
		case "published":
			return one(e.Published)
		case "severity":
			return one(e.Severity)
		case "displayMessage":
			return one(e.DisplayMessage)
		case "outcome.result":
			return one(e.Outcome.Result)
		case "actor.id":
			return one(e.Actor.ID)
		case "actor.alternateId":
			return one(e.Actor.AlternateID)
		case "transaction.id":
			return one(e.Transaction.ID)
		}
		var out []string
		for _, t := range e.Target {
			switch attr {
			case "target.id":
				out = append(out, t.ID)
			case "target.type":
				out = append(out, t.Type)
			case "target.alternateId":
				out = append(out, t.AlternateID)
			case "target.displayName":
				out = append(out, t.DisplayName)
			}
		}
		return out
	}
}
