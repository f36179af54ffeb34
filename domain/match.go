package domain

import "regexp"

// matches reports whether s matches pattern (a constant of this package).
// The patterns planners check on every plan, and the target-name pattern
// events are validated with, are matched by hand-written functions that a
// test holds equal to the regular expressions (compiling a pattern costs
// more than a whole plan, and reconciliation plans every managed person on
// every run); the others are compiled when used.
func matches(pattern, s string) bool {
	switch pattern {
	case patternWorkMailName:
		return matchWorkMailName(s)
	case patternWorkMailEmail:
		return matchWorkMailEmail(s)
	case patternConnectUsername:
		return len(s) > 0 && all(s, func(c byte) bool { return alnum(c) || c == '_' || c == '.' || c == '@' || c == '-' })
	case targetPattern:
		return len(s) >= 1 && len(s) <= 32 && lower(s[0]) &&
			all(s[1:], func(c byte) bool { return lower(c) || digit(c) || c == '-' })
	}
	ok, err := regexp.MatchString(pattern, s)
	return err == nil && ok
}

func lower(c byte) bool { return c >= 'a' && c <= 'z' }
func digit(c byte) bool { return c >= '0' && c <= '9' }
func alpha(c byte) bool { return lower(c) || c >= 'A' && c <= 'Z' }
func alnum(c byte) bool { return alpha(c) || digit(c) }

// all reports whether every byte of s satisfies ok (true for "").
func all(s string, ok func(byte) bool) bool {
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

// dottedDomain reports whether d is <head>.<tail>: head one or more of
// [a-zA-Z0-9.-], tail (after the last dot) at least two bytes satisfying
// tailOK. It is the domain part of the WorkMail patterns.
func dottedDomain(d string, tailOK func(byte) bool) bool {
	dot := -1
	for i := len(d) - 1; i >= 0; i-- {
		if d[i] == '.' {
			dot = i
			break
		}
	}
	if dot < 1 || len(d)-dot-1 < 2 {
		return false
	}
	return all(d[:dot], func(c byte) bool { return alnum(c) || c == '.' || c == '-' }) && all(d[dot+1:], tailOK)
}

// matchWorkMailName is patternWorkMailName:
// ^[\w\-.]+(@[a-zA-Z0-9.\-]+\.[a-zA-Z0-9-]{2,})?$
func matchWorkMailName(s string) bool {
	local, domain := s, ""
	at := -1
	for i := 0; i < len(s); i++ {
		if s[i] == '@' {
			at = i
			break
		}
	}
	if at >= 0 {
		local, domain = s[:at], s[at+1:]
	}
	if len(local) == 0 || !all(local, func(c byte) bool { return alnum(c) || c == '_' || c == '-' || c == '.' }) {
		return false
	}
	return at < 0 || dottedDomain(domain, func(c byte) bool { return alnum(c) || c == '-' })
}

// matchWorkMailEmail is patternWorkMailEmail:
// ^[a-zA-Z0-9._%+-]{1,64}@[a-zA-Z0-9.-]+\.[a-zA-Z-]{2,}$
func matchWorkMailEmail(s string) bool {
	at := -1
	for i := 0; i < len(s); i++ {
		if s[i] == '@' {
			at = i
			break
		}
	}
	if at < 1 || at > 64 {
		return false
	}
	local := s[:at]
	if !all(local, func(c byte) bool { return alnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-' }) {
		return false
	}
	return dottedDomain(s[at+1:], func(c byte) bool { return alpha(c) || c == '-' })
}
