package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/testenv"
	"github.com/idsync/idsync/store"
)

func TestPreviewFoldsWithoutWriting(t *testing.T) {
	f := newFixture(t)
	ctx := testenv.Context(t)
	bea := domain.Subject{OktaID: "00uBEA", Login: "bea@example.com"}
	added := ev(domain.KindMemberAdded, bea, "p1", t0, group("00gMAIL"))

	got, err := f.st.Preview(ctx, added)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Changed || !got.Created || !got.Person.MemberOf(domain.GroupRef{OktaID: "00gMAIL"}) {
		t.Fatalf("preview of a new person = %+v", got)
	}
	if _, err := f.st.Person(ctx, "00uBEA"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("preview wrote the person: %v", err)
	}

	if _, err := f.st.Fold(ctx, added); err != nil {
		t.Fatal(err)
	}
	suspended := ev(domain.KindSuspended, bea, "p2", t0.Add(time.Minute))
	got, err = f.st.Preview(ctx, suspended)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Changed || got.Created || got.Person.Status.Value != string(domain.StatusSuspended) || got.Person.Version != 1 {
		t.Fatalf("preview of a known person = %+v", got)
	}
	rec, err := f.st.Person(ctx, "00uBEA")
	if err != nil {
		t.Fatal(err)
	}
	if rec.Person.Version != 1 || rec.Person.Status.Value == string(domain.StatusSuspended) {
		t.Fatalf("preview changed the stored person: %+v", rec.Person)
	}
	if _, err := f.st.Preview(ctx, domain.Event{}); domain.KindOf(err) != domain.ErrorPermanent {
		t.Fatalf("invalid event: %v, want a permanent error", err)
	}
}
