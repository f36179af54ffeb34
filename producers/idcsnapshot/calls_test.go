package idcsnapshot_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/idsync/idsync/internal/sim/simidentitystore"
	"github.com/idsync/idsync/internal/testenv"
	"github.com/idsync/idsync/producers/idcsnapshot"
)

// TestAPICallsNearMinimum: 10,000 members of a group in a store of 12,000
// users cost ceil(10000/100) membership pages plus ceil(12000/100) ListUsers
// pages, within 5%. Every sixth user is not a member and the last members
// were created last, so the ListUsers walk cannot stop early. The walk
// leaves the store's size on the lease item, so the next run, over a group
// of 30, reads those 30 profiles with DescribeUser (31 calls instead of
// 121).
func TestAPICallsNearMinimum(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("seeds 12,000 users")
	}
	f := newFixture(t, simidentitystore.Options{Seed: 6, NoQuota: true})
	const users, members = 12000, 10000
	for i := range users {
		groups := []string{"mail"}
		if i%6 == 5 {
			groups = nil
		}
		if i%400 == 0 {
			groups = append(groups, "agents")
		}
		f.addUser(t, genUser(i), groups...)
	}
	st, pub := &memStore{}, &countingPublisher{}
	opts := idcsnapshot.Options{Rate: 5000, Burst: 100}
	mailOnly := f.cfg
	mailOnly.Connect = nil
	snap := f.snapshotter(t, setup{cfg: &mailOnly, store: st, pub: pub, opts: opts})

	sum, err := snap.Run(testenv.Context(t))
	if err != nil {
		t.Fatal(err)
	}
	minimum := int64((members+99)/100 + (users+99)/100)
	requests, throttled, byOp := simCalls(f.sim)
	t.Logf("10,000 members: %d requests (%d ListGroupMemberships, %d ListUsers, %d DescribeUser), minimum %d, %v",
		requests, byOp["ListGroupMemberships"].Requests, byOp["ListUsers"].Requests, byOp["DescribeUser"].Requests, minimum, sum.Duration)
	if requests > minimum+minimum/20 {
		t.Errorf("%d Identity Store requests, want at most %d (minimum %d + 5%%)", requests, minimum+minimum/20, minimum)
	}
	if sum.APICalls != requests || throttled != 0 {
		t.Errorf("summary counted %d calls, stand-in %d (%d throttled)", sum.APICalls, requests, throttled)
	}
	if sum.ProfileRead != idcsnapshot.ReadListUsers || sum.Members != members || sum.Users != members || !sum.Complete {
		t.Errorf("summary = %+v, want list-users, %d members and users, complete", sum, members)
	}
	if sum.Joiners != members || pub.events != members || st.put != members {
		t.Errorf("joiners %d, events %d, records %d; want %d, %d (one observed event each), %d", sum.Joiners, pub.events, st.put, members, members, members)
	}

	// Next run: a small group in a store now known to hold 12,000 users.
	f.sim.Control().ResetCounters()
	agentsOnly := f.cfg
	agentsOnly.WorkMail = nil
	sum, err = f.snapshotter(t, setup{cfg: &agentsOnly, store: st, pub: pub, opts: opts}).Run(testenv.Context(t))
	if err != nil {
		t.Fatal(err)
	}
	requests, _, byOp = simCalls(f.sim)
	if sum.ProfileRead != idcsnapshot.ReadDescribeUser || requests != 31 || byOp["DescribeUser"].Requests != 30 || sum.Users != 30 {
		t.Errorf("small group: %s, %d requests (%d DescribeUser), %d users; want describe-user, 31 requests, 30 users",
			sum.ProfileRead, requests, byOp["DescribeUser"].Requests, sum.Users)
	}
}

// TestThrottlingHonoursRetryAfter: with the client limit set far above the
// service quota (20/s), the stand-in throttles; every throttle's
// RetryAfterSeconds holds all requests back, the SDK retries, and the run
// still completes.
func TestThrottlingHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	f := newFixture(t, simidentitystore.Options{Seed: 7, RetryAfterSeconds: 2})
	for i := range 60 {
		f.addUser(t, genUser(i), "mail")
	}
	mailOnly := f.cfg
	mailOnly.Connect = nil
	sum, err := f.snapshotter(t, setup{cfg: &mailOnly, opts: idcsnapshot.Options{Rate: 1000, Burst: 100, Workers: 8}}).Run(testenv.Context(t))
	if err != nil {
		t.Fatal(err)
	}
	requests, throttled, _ := simCalls(f.sim)
	if !sum.Complete || sum.Users != 60 || sum.Joiners != 60 {
		t.Fatalf("summary = %+v, want a complete run over 60 users", sum)
	}
	if throttled == 0 || sum.Throttled != throttled || sum.APICalls != requests {
		t.Errorf("summary counted %d calls / %d throttled, stand-in %d / %d; want equal and some throttling",
			sum.APICalls, sum.Throttled, requests, throttled)
	}
	// After each throttled answer nothing is sent until RetryAfterSeconds
	// (2 s) has passed. Requests already in flight may still arrive, so
	// only the middle second of the pause is checked.
	hits := f.rec.requests()
	for _, h := range hits {
		if h.status != http.StatusTooManyRequests {
			continue
		}
		from, to := h.at.Add(500*time.Millisecond), h.at.Add(1500*time.Millisecond)
		for _, other := range hits {
			if other.at.After(from) && other.at.Before(to) {
				t.Fatalf("a %s request %v after a throttled answer, inside its 2 s RetryAfter", other.op, other.at.Sub(h.at))
			}
		}
	}
	t.Logf("60 users at a client limit of 1000/s: %d requests, %d throttled, %v", requests, throttled, sum.Duration)
}
