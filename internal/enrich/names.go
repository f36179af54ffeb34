package enrich

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/idsync/idsync/domain"
)

// provisionalCeilingUnix is 1971-01-01T00:00:00Z: every provisional fact
// occurs before it, every real fact after it.
const provisionalCeilingUnix = 365 * 24 * 60 * 60

// Connect's limits on names (UserIdentityInfo; domain's planner checks the
// same): provisional names are cut to fit rather than refused.
const (
	maxFirstName = 255
	maxLastName  = 300
)

// ProvisionalCeiling is the instant every provisional fact occurs before
// and every real fact after: 1971-01-01T00:00:00Z.
func ProvisionalCeiling() time.Time { return time.Unix(provisionalCeilingUnix, 0).UTC() }

// ProvisionalAt is the occurred-at of a provisional fact derived from a
// fact that occurred at basis: the Unix epoch plus basis's Unix seconds
// counted as milliseconds (1970-01-21 for a basis in 2026), clamped to
// [epoch, ProvisionalCeiling). It is therefore older than any real fact,
// so any real fact wins over it in the fold, and monotonic in basis (to
// the second), so a provisional fact derived from a newer basis wins over
// one derived from an older basis. A zero or pre-1970 basis gives the
// epoch itself (which is not the zero time.Time, so the fact validates).
func ProvisionalAt(basis time.Time) time.Time {
	secs := basis.Unix()
	if basis.IsZero() || secs < 0 {
		secs = 0
	}
	ms := min(secs, provisionalCeilingUnix*1000-1)
	return time.UnixMilli(ms).UTC()
}

// IsProvisional reports whether a person's field was last set by a
// provisional fact (stamped before ProvisionalCeiling; a never-set field,
// stamped with the zero time, is not provisional but unknown).
func IsProvisional(s domain.Stamped) bool {
	return !s.At.IsZero() && s.At.Before(ProvisionalCeiling())
}

// SplitName splits a display name into first and last name, as Connect
// needs them: the first word is
// the first name and the remaining words the last name ("Maria de la
// Cruz" → "Maria", "de la Cruz"), in Unicode NFC (Connect refuses other
// forms), white space of any kind collapsed. ok is false when the name
// does not give both (one word, or blank). Okta's hook display name is
// "<firstName> <lastName>", for which this is right; names written family
// name first ("山田 太郎") or "Last, First" are split the same way: the
// result is provisional and corrected by the next snapshot.
func SplitName(s string) (first, last string, ok bool) {
	words := strings.Fields(norm.NFC.String(s))
	if len(words) < 2 {
		return "", "", false
	}
	return words[0], strings.Join(words[1:], " "), true
}

// loginName turns a login's local part into a display name: "ana.silva"
// and "ana_silva" become "Ana Silva" (each word's first letter in title
// case; hyphens are kept, as in "Mary-jane").
func loginName(login string) string {
	local := login
	if i := strings.LastIndexByte(login, '@'); i >= 0 {
		local = login[:i]
	}
	if i := strings.IndexByte(local, '+'); i >= 0 { // sub-addressing
		local = local[:i]
	}
	words := strings.FieldsFunc(local, func(r rune) bool { return r == '.' || r == '_' || unicode.IsSpace(r) })
	for i, w := range words {
		r, n := utf8.DecodeRuneInString(w)
		words[i] = string(unicode.ToTitle(r)) + w[n:]
	}
	return strings.Join(words, " ")
}

// cut shortens s to at most n runes.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return strings.TrimSpace(string([]rune(s)[:n]))
}

// provisionalNames derives first and last name for p from its display
// name, else its login's local part, and returns the stamp of the fact
// they come from.
func provisionalNames(p domain.Person) (first, last string, basis domain.Stamped, ok bool) {
	switch {
	case strings.TrimSpace(p.DisplayName.Value) != "":
		first, last, ok = SplitName(p.DisplayName.Value)
		basis = p.DisplayName
	case p.Login.Value != "":
		first, last, ok = SplitName(loginName(p.Login.Value))
		basis = p.Login
	}
	if !ok {
		return "", "", domain.Stamped{}, false
	}
	return cut(first, maxFirstName), cut(last, maxLastName), basis, true
}

// needsNames reports whether p's first or last name is unknown or only
// provisional.
func needsNames(p domain.Person) bool {
	missing := func(s domain.Stamped) bool { return s.Value == "" || IsProvisional(s) }
	return missing(p.FirstName) || missing(p.LastName)
}
