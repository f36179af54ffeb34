package domain_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/idsync/idsync/domain"
)

// hookPerson is a person idsync knows only from Okta hooks: an Okta id and
// a login, a member of the mail group, no IdC user id yet.
func hookPerson(okta, login string) domain.Person {
	p := domain.Person{Key: okta, OktaID: okta}
	p.Login = domain.Stamped{Value: login, At: prevRunAt, By: "hook-" + okta}
	p.Groups = map[string]domain.Membership{grpMail.Key(): {Member: true, At: prevRunAt, By: "hook-" + okta}}
	return p
}

func TestSnapshotLinksByLoginOnlyWhenGuarded(t *testing.T) {
	const idc = "9067c2a4d1-11111111-2222-4333-8444-555566667777"
	user := domain.SnapshotUser{UserID: idc, Login: "Ana.Silva@example.com", FirstName: "Ana", LastName: "Silva",
		Groups: []domain.GroupRef{grpMail}}
	tests := []struct {
		name      string
		prev      []domain.Person
		link      bool
		user      domain.SnapshotUser
		wantOkta  string // the Okta id the user's facts carry ("" for none)
		conflicts int
	}{
		{name: "the one hook-only person with that login is the user", link: true, user: user,
			prev: []domain.Person{hookPerson("00uana0000000000001", "ana.silva@example.com")}, wantOkta: "00uana0000000000001"},
		{name: "off: a new person keyed by the IdC user id", link: false, user: user,
			prev: []domain.Person{hookPerson("00uana0000000000001", "ana.silva@example.com")}},
		{name: "two people with that login: a conflict, nobody linked", link: true, user: user,
			prev: []domain.Person{hookPerson("00uana0000000000001", "ana.silva@example.com"),
				hookPerson("00uana0000000000002", "ANA.SILVA@example.com")}, conflicts: 1},
		{name: "a person already linked to another IdC user is not a candidate", link: true, user: user,
			prev: []domain.Person{func() domain.Person {
				p := hookPerson("00uana0000000000001", "ana.silva@example.com")
				p.IdCUserID = "9067c2a4d1-99999999-2222-4333-8444-555566667777"
				return p
			}()}},
		{name: "an Okta id under the SCIM issuer wins over the login", link: true,
			user: func() domain.SnapshotUser { u := user; u.OktaID = "00uother000000000003"; return u }(),
			prev: []domain.Person{hookPerson("00uana0000000000001", "ana.silva@example.com")}, wantOkta: "00uother000000000003"},
		{name: "several Okta ids under the SCIM issuer: a conflict", link: true,
			user: func() domain.SnapshotUser {
				u := user
				u.AmbiguousOktaIDs = []string{"00uana0000000000001", "00uother000000000003"}
				return u
			}(),
			prev: []domain.Person{hookPerson("00uana0000000000001", "ana.silva@example.com")}, conflicts: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap := domain.Snapshot{RunID: "run-link", TakenAt: snapTakenAt, Complete: true, LinkByLogin: tt.link,
				Users: []domain.SnapshotUser{tt.user}, Groups: []domain.GroupRef{grpMail, grpSupport}}
			d, err := domain.DiffSnapshot(tt.prev, snap, wideCap)
			if err != nil {
				t.Fatal(err)
			}
			if len(d.Conflicts) != tt.conflicts {
				t.Fatalf("conflicts %+v, want %d", d.Conflicts, tt.conflicts)
			}
			for _, c := range d.Conflicts {
				if !errors.Is(c, domain.ErrIdentityConflict) || strings.Contains(c.Error(), "Ana") {
					t.Errorf("conflict %v: want ErrIdentityConflict with ids only", c)
				}
			}
			var about []domain.Event // the events about the IdC user
			for _, e := range d.Events {
				if e.Subject.IdCUserID == idc || (tt.wantOkta != "" && e.Subject.OktaID == tt.wantOkta) {
					about = append(about, e)
				}
			}
			if tt.conflicts > 0 {
				if len(d.Events) != 0 {
					t.Errorf("a conflict leaves everyone it names alone, got %+v", d.Events)
				}
				if len(about) != 0 {
					t.Errorf("a conflicted user gets events: %+v", about)
				}
				return
			}
			if len(about) == 0 {
				t.Fatal("no events about the user")
			}
			for _, e := range about {
				if e.Subject.OktaID != tt.wantOkta || e.Subject.IdCUserID != idc {
					t.Errorf("event %s about %+v, want Okta id %q and IdC id %s", e.Kind, e.Subject, tt.wantOkta, idc)
				}
			}
			// Folded, the facts reach the person they name, linked when an
			// Okta id was found.
			got := snapFoldAll(t, tt.prev, d.Events)
			var linked bool
			for _, p := range got {
				linked = linked || (p.OktaID == tt.wantOkta && p.IdCUserID == idc)
			}
			if !linked {
				t.Errorf("after folding, nobody carries Okta id %q and IdC id %s: %+v", tt.wantOkta, idc, got)
			}
		})
	}
}

func TestIsOktaUserID(t *testing.T) {
	for id, want := range map[string]bool{
		"00ub0oNGTSWTBKOLGLNR":                 true,
		"00u1gusnew00000008":                   true,
		"00g4wdylwlJQZ63kM5y8":                 false, // a group
		"f0a1b2c3-aad-object-id":               false, // an Entra object id
		"00u-not-alphanumeric":                 false,
		"00u12":                                false,
		"00uABCDEFGHIJKLMNOPQRSTUVWXYZ0123456": false,
	} {
		if got := domain.IsOktaUserID(id); got != want {
			t.Errorf("IsOktaUserID(%q) = %v, want %v", id, got, want)
		}
	}
}
