package simkit

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Problems collects input-validation problems the way AWS reports them: all
// at once, in one exception message.
type Problems struct {
	list []string
}

// Addf records one problem.
func (p *Problems) Addf(format string, args ...any) {
	p.list = append(p.list, fmt.Sprintf(format, args...))
}

// Required records a problem when a required member is missing.
func (p *Problems) Required(name, val string) {
	if val == "" {
		p.Addf("Value null at '%s' failed to satisfy constraint: Member must not be null", name)
	}
}

// Length records a problem when a set member's length (in characters) is out
// of [min,max]; max < 0 means no upper bound.
func (p *Problems) Length(name, val string, min, max int) {
	n := utf8.RuneCountInString(val)
	if val == "" && min > 0 {
		return // missing: reported by Required when the member is required
	}
	if n < min || (max >= 0 && n > max) {
		p.Addf("Value at '%s' failed to satisfy constraint: Member must have length between %d and %d", name, min, max)
	}
}

// Match records a problem when a set member does not match re.
func (p *Problems) Match(name, val string, re *regexp.Regexp) {
	if val != "" && !re.MatchString(val) {
		p.Addf("Value at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: %s", name, re.String())
	}
}

// Err returns nil when there are no problems, else one APIError with the
// given status and code listing every problem.
func (p *Problems) Err(status int, code string) *APIError {
	if len(p.list) == 0 {
		return nil
	}
	msg := fmt.Sprintf("%d validation error(s) detected: %s", len(p.list), strings.Join(p.list, "; "))
	return &APIError{Status: status, Code: code, Message: msg}
}
