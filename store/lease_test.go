package store_test

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/testenv"
	"github.com/idsync/idsync/store"
)

const leaseFor = 16 * time.Minute

// An SDK retry of an AcquireLease whose answer was lost must not lock the
// owner out of its own lease.
func TestAcquireLeaseIsIdempotentForItsOwner(t *testing.T) {
	f := newFixture(t)
	ctx := testenv.Context(t)
	first, err := f.st.AcquireLease(ctx, "snap", "run-a", leaseFor)
	if err != nil {
		t.Fatal(err)
	}
	if first.Owner != "run-a" || !first.ExpiresAt.Equal(t0.Add(leaseFor)) || first.TotalUsers != 0 {
		t.Fatalf("first hold = %+v", first)
	}
	f.clock.Advance(time.Minute)
	again, err := f.st.AcquireLease(ctx, "snap", "run-a", leaseFor)
	if err != nil {
		t.Fatalf("second AcquireLease by the holder: %v", err)
	}
	if again.Owner != "run-a" || !again.ExpiresAt.Equal(t0.Add(time.Minute+leaseFor)) {
		t.Fatalf("hold = %+v after %+v, want it extended", again, first)
	}
	_, err = f.st.AcquireLease(ctx, "snap", "run-b", leaseFor)
	var held *store.LeaseHeldError
	if !errors.Is(err, store.ErrLeaseHeld) || !errors.As(err, &held) {
		t.Fatalf("another owner: %v, want a LeaseHeldError", err)
	}
	if held.Name != "snap" || held.Owner != "run-a" || !held.ExpiresAt.Equal(again.ExpiresAt) {
		t.Errorf("held = %+v, want snap held by run-a until %v", held, again.ExpiresAt)
	}
	if domain.KindOf(err) != domain.ErrorRetryable {
		t.Errorf("a held lease is %v, want retryable", domain.KindOf(err))
	}
	if err := f.st.ReleaseLease(ctx, "snap", "run-a", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.AcquireLease(ctx, "snap", "run-b", leaseFor); err != nil {
		t.Fatalf("after release: %v", err)
	}
}

// TestLeaseExpiryAndRelease: an expired lease goes to the next owner, the
// former holder cannot release it, and the count a release stores comes
// back with the next hold.
func TestLeaseExpiryAndRelease(t *testing.T) {
	f := newFixture(t)
	ctx := testenv.Context(t)
	if _, err := f.st.AcquireLease(ctx, "snap", "run-a", leaseFor); err != nil {
		t.Fatal(err)
	}
	// Other leases are independent.
	if _, err := f.st.AcquireLease(ctx, "other", "run-b", leaseFor); err != nil {
		t.Fatalf("another lease: %v", err)
	}

	f.clock.Advance(leaseFor) // expiry is exclusive: still held at the instant it runs out
	if _, err := f.st.AcquireLease(ctx, "snap", "run-b", leaseFor); !errors.Is(err, store.ErrLeaseHeld) {
		t.Fatalf("at the expiry instant: %v, want ErrLeaseHeld", err)
	}
	f.clock.Advance(time.Millisecond)
	if _, err := f.st.AcquireLease(ctx, "snap", "run-b", leaseFor); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
	if err := f.st.ReleaseLease(ctx, "snap", "run-a", 500); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("release by the former holder = %v, want ErrLeaseLost", err)
	}
	if err := f.st.ReleaseLease(ctx, "snap", "run-b", 12000); err != nil {
		t.Fatal(err)
	}
	if err := f.st.ReleaseLease(ctx, "snap", "run-b", 12000); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("second release = %v, want ErrLeaseLost", err)
	}

	hold, err := f.st.AcquireLease(ctx, "snap", "run-c", leaseFor)
	if err != nil {
		t.Fatalf("after release, at once: %v", err)
	}
	if hold.TotalUsers != 12000 {
		t.Errorf("TotalUsers = %d, want the 12000 the last release stored", hold.TotalUsers)
	}
	// A release without a count keeps the stored one.
	if err := f.st.ReleaseLease(ctx, "snap", "run-c", 0); err != nil {
		t.Fatal(err)
	}
	if hold, err := f.st.AcquireLease(ctx, "snap", "run-d", leaseFor); err != nil || hold.TotalUsers != 12000 {
		t.Errorf("after a release without a count: %+v, %v; want TotalUsers 12000", hold, err)
	}
}

// TestLeaseItemLayout pins the lease item (PK=LEASE#<name>, SK=LEASE) and
// checks that it is invisible to the person reads.
func TestLeaseItemLayout(t *testing.T) {
	f := newFixture(t)
	ctx := testenv.Context(t)
	if _, err := f.st.AcquireLease(ctx, "idcsnapshot", "run-a", leaseFor); err != nil {
		t.Fatal(err)
	}
	item := rawItem(t, f, f.state, "LEASE#idcsnapshot", "LEASE")
	if d := cmp.Diff([]string{"PK:S", "SK:S", "acquiredAt:S", "expiresAt:N", "owner:S"}, attrPaths(item)); d != "" {
		t.Errorf("held lease attributes (-want +got):\n%s", d)
	}
	if got, want := item["expiresAt"].(*types.AttributeValueMemberN).Value, strconv.FormatInt(t0.Add(leaseFor).UnixMilli(), 10); got != want {
		t.Errorf("expiresAt = %s, want epoch milliseconds of %v", got, t0.Add(leaseFor))
	}
	if got := stringAttr(item, "acquiredAt"); got != "2024-05-15T08:00:00Z" {
		t.Errorf("acquiredAt = %q", got)
	}
	if err := f.st.ReleaseLease(ctx, "idcsnapshot", "run-a", 7); err != nil {
		t.Fatal(err)
	}
	item = rawItem(t, f, f.state, "LEASE#idcsnapshot", "LEASE")
	if d := cmp.Diff([]string{"PK:S", "SK:S", "acquiredAt:S", "expiresAt:N", "totalUsers:N"}, attrPaths(item)); d != "" {
		t.Errorf("released lease attributes (-want +got):\n%s", d)
	}
	if got := item["expiresAt"].(*types.AttributeValueMemberN).Value; got != "0" {
		t.Errorf("released expiresAt = %s, want 0", got)
	}

	people, err := f.st.AllPeople(ctx)
	if err != nil || len(people) != 0 {
		t.Errorf("AllPeople with only a lease stored = %+v, %v; want none", people, err)
	}
	if _, err := f.st.Person(ctx, "idcsnapshot"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Person(lease name) = %v, want ErrNotFound", err)
	}
}

func TestLeaseRejectsInvalidArguments(t *testing.T) {
	f := newFixture(t)
	ctx := testenv.Context(t)
	for _, tc := range []struct {
		name, owner string
		d           time.Duration
	}{
		{"", "run-a", leaseFor},
		{"snap", "", leaseFor},
		{"snap", "run-a", 0},
		{"snap", "run-a", -time.Second},
	} {
		if _, err := f.st.AcquireLease(ctx, tc.name, tc.owner, tc.d); !errors.Is(err, store.ErrInvalid) || domain.KindOf(err) != domain.ErrorPermanent {
			t.Errorf("AcquireLease(%q, %q, %v) = %v, want a permanent ErrInvalid", tc.name, tc.owner, tc.d, err)
		}
	}
	for _, args := range [][2]string{{"", "run-a"}, {"snap", ""}} {
		if err := f.st.ReleaseLease(ctx, args[0], args[1], 0); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("ReleaseLease(%q, %q) = %v, want ErrInvalid", args[0], args[1], err)
		}
	}
	if ops := f.calls.ByOp(); len(ops) != 0 {
		t.Errorf("invalid lease calls sent requests: %v", ops)
	}
}

// TestMarkDriftChecked: the time of the last drift check comes back with
// the next hold, survives releases, and only the holder may record it.
func TestMarkDriftChecked(t *testing.T) {
	f := newFixture(t)
	ctx := testenv.Context(t)
	hold, err := f.st.AcquireLease(ctx, "snap", "run-a", leaseFor)
	if err != nil || !hold.DriftCheckedAt.IsZero() {
		t.Fatalf("first hold %+v, %v: want no drift check yet", hold, err)
	}
	at := t0.Add(3 * time.Minute)
	if err := f.st.MarkDriftChecked(ctx, "snap", "run-b", at); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("a non-holder's mark: %v, want ErrLeaseLost", err)
	}
	for range 2 { // idempotent
		if err := f.st.MarkDriftChecked(ctx, "snap", "run-a", at); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.st.ReleaseLease(ctx, "snap", "run-a", 12); err != nil {
		t.Fatal(err)
	}
	next, err := f.st.AcquireLease(ctx, "snap", "run-b", leaseFor)
	if err != nil || !next.DriftCheckedAt.Equal(at) || next.TotalUsers != 12 {
		t.Errorf("next hold %+v, %v: want the drift check at %v and 12 users", next, err, at)
	}
	if err := f.st.MarkDriftChecked(ctx, "snap", "run-b", time.Time{}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("a zero time: %v, want ErrInvalid", err)
	}
}
