package idcsnapshot_test

import (
	"errors"
	"testing"

	"github.com/idsync/idsync/internal/sim/simidentitystore"
	"github.com/idsync/idsync/internal/testenv"
	"github.com/idsync/idsync/producers/idcsnapshot"
)

// An SDK retry of an Acquire whose answer was lost must not lock the run
// out of its own lease.
func TestAcquireIsIdempotentForItsOwner(t *testing.T) {
	f := newFixture(t, simidentitystore.Options{NoQuota: true})
	ctx := testenv.Context(t)
	first, err := f.lease.Acquire(ctx, "run-a")
	if err != nil {
		t.Fatal(err)
	}
	again, err := f.lease.Acquire(ctx, "run-a")
	if err != nil {
		t.Fatalf("second Acquire by the holder: %v", err)
	}
	if again.Owner != "run-a" || again.ExpiresAt.Before(first.ExpiresAt) {
		t.Fatalf("hold = %+v after %+v", again, first)
	}
	_, err = f.lease.Acquire(ctx, "run-b")
	var held *idcsnapshot.LeaseHeldError
	if !errors.As(err, &held) || held.Owner != "run-a" {
		t.Fatalf("another run: %v, want LeaseHeldError naming run-a", err)
	}
	if err := f.lease.Release(ctx, "run-a", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := f.lease.Acquire(ctx, "run-b"); err != nil {
		t.Fatalf("after release: %v", err)
	}
}
