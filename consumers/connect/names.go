package connect

import (
	"golang.org/x/text/unicode/norm"

	"github.com/idsync/idsync/domain"
)

// nfc returns p with its name facts (first, last and display name) in
// Unicode Normalization Form C. Connect accepts names only in that form:
// "Text containing characters in a non-NFC form (for example, decomposed
// characters or combining marks) are not accepted" (UserIdentityInfo). A
// name that reaches idsync decomposed (as some directories and macOS
// input methods store it) is planned, compared with the recorded state and
// sent composed instead of being refused. The domain planners cannot do
// this themselves: they depend on the standard library only, which has no
// Unicode normalisation tables. Apply normalises its op's names too, so a
// plan made elsewhere is sent composed as well.
func nfc(p domain.Person) domain.Person {
	for _, s := range []*domain.Stamped{&p.FirstName, &p.LastName, &p.DisplayName} {
		s.Value = norm.NFC.String(s.Value)
	}
	return p
}
