package enrich_test

import (
	"encoding/json"
	"os"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/enrich"
)

func TestSplitName(t *testing.T) {
	raw, err := os.ReadFile("testdata/split.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Name, In, First, Last string
		OK                    bool
	}
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			first, last, ok := enrich.SplitName(tc.In)
			if first != tc.First || last != tc.Last || ok != tc.OK {
				t.Errorf("SplitName(%q) = %q, %q, %v; want %q, %q, %v", tc.In, first, last, ok, tc.First, tc.Last, tc.OK)
			}
			if ok && (!norm.NFC.IsNormalString(first) || !norm.NFC.IsNormalString(last)) {
				t.Errorf("SplitName(%q) is not NFC", tc.In)
			}
		})
	}
}

func TestProvisionalAt(t *testing.T) {
	ceiling := enrich.ProvisionalCeiling()
	if !ceiling.Equal(time.Date(1971, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("ceiling %v", ceiling)
	}
	earlier := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	later := earlier.Add(time.Second)
	a, b := enrich.ProvisionalAt(earlier), enrich.ProvisionalAt(later)
	if !a.Before(b) || !b.Before(ceiling) || a.IsZero() {
		t.Errorf("ProvisionalAt(%v) = %v, ProvisionalAt(%v) = %v: want increasing, non-zero, before %v", earlier, a, later, b, ceiling)
	}
	for _, basis := range []time.Time{{}, time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)} {
		at := enrich.ProvisionalAt(basis)
		if at.IsZero() || at.Before(time.Unix(0, 0)) || !at.Before(ceiling) {
			t.Errorf("ProvisionalAt(%v) = %v, want within [epoch, ceiling)", basis, at)
		}
	}
	if enrich.IsProvisional(domain.Stamped{}) || !enrich.IsProvisional(domain.Stamped{At: a}) || enrich.IsProvisional(domain.Stamped{At: earlier}) {
		t.Error("IsProvisional: want false for unset and real stamps, true for provisional ones")
	}
}

// Provisional names fit Connect's limits.
func TestLongDisplayNameIsCut(t *testing.T) {
	long := make([]rune, 0, 700)
	for range 300 {
		long = append(long, 'é')
	}
	long = append(long, ' ')
	for range 399 {
		long = append(long, 'ñ')
	}
	p := hookPerson(t, withDisplayName(string(long)))
	facts := enrichNoAPI(t, p)
	q := enrich.Apply(p, facts)
	if n := utf8.RuneCountInString(q.FirstName.Value); n != 255 {
		t.Errorf("first name of %d characters, want 255", n)
	}
	if n := utf8.RuneCountInString(q.LastName.Value); n != 300 {
		t.Errorf("last name of %d characters, want 300", n)
	}
}
