package localrun_test

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/connect"
	"github.com/aws/aws-sdk-go-v2/service/workmail"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/awsclient"
	"github.com/idsync/idsync/internal/localrun"
	"github.com/idsync/idsync/internal/sim/simconnect"
	"github.com/idsync/idsync/internal/sim/simkit"
	"github.com/idsync/idsync/internal/sim/simokta"
	"github.com/idsync/idsync/internal/sim/simworkmail"
	"github.com/idsync/idsync/internal/testenv"
	"github.com/idsync/idsync/store"
)

// The chaos run's knobs: `go test -tags local -run TestChaos ./internal/localrun/
// -args -chaos.seed=7 -chaos.people=2000 -chaos.actions=10000` repeats a
// run; make bench runs BenchmarkChaos at full size.
var (
	chaosSeed    = flag.Uint64("chaos.seed", 1, "the chaos run's seed (0: one from the clock); printed on failure")
	chaosPeople  = flag.Int("chaos.people", 0, "people in the chaos run (default 150 for TestChaos, 2000 for BenchmarkChaos)")
	chaosActions = flag.Int("chaos.actions", 0, "random directory actions (default 600 for TestChaos, 10000 for BenchmarkChaos)")
	chaosDrift   = flag.Bool("chaos.drift", true, "change a handful of managed accounts behind idsync's back and expect them repaired (drift repair, checked every minute)")
)

// chaosFigures are what a chaos run reports.
type chaosFigures struct {
	seed                                     uint64
	people, actions                          int
	deliveries, duplicates, reordered, drops int
	targetFaults, refusedSends, crashes      int64
	messages, apiCalls                       int64
	dlq, statusLost                          int
	wall, convergence, driftRepair           time.Duration
}

func (f chaosFigures) String() string {
	return fmt.Sprintf("seed %d: %d people, %d actions; hook deliveries %d (%d duplicated, %d reordered, %d dropped); "+
		"faults: %d target throttles/5xx, %d queue sends refused, %d consumer crashes; %d messages handled, %d target and IdC API calls; "+
		"%d dead letters; %d people whose last lifecycle event was dropped; wall %s, convergence %s after the faults stopped, drift repaired %s after the accounts were changed",
		f.seed, f.people, f.actions, f.deliveries, f.duplicates, f.reordered, f.drops, f.targetFaults, f.refusedSends, f.crashes,
		f.messages, f.apiCalls, f.dlq, f.statusLost, f.wall.Round(time.Second), f.convergence.Round(time.Second), f.driftRepair.Round(time.Second))
}

// TestChaos is the chaos run at a reduced size (150 people, 600 actions
// unless -chaos.people / -chaos.actions say otherwise). See runChaos.
func TestChaos(t *testing.T) {
	people, actions := 150, 600
	if *chaosPeople > 0 {
		people = *chaosPeople
	}
	if *chaosActions > 0 {
		actions = *chaosActions
	}
	f := runChaos(t, people, actions)
	t.Logf("chaos: %s", f)
}

// BenchmarkChaos is the full-size chaos run (2,000 people, 10,000
// actions), reporting its figures on the benchmark line (make bench).
func BenchmarkChaos(b *testing.B) {
	people, actions := 2000, 10000
	if *chaosPeople > 0 {
		people = *chaosPeople
	}
	if *chaosActions > 0 {
		actions = *chaosActions
	}
	var f chaosFigures
	for b.Loop() {
		f = runChaos(b, people, actions)
	}
	b.Logf("chaos: %s", f)
	for _, m := range []struct {
		v    float64
		unit string
	}{
		{float64(f.people), "people"}, {float64(f.actions), "actions"}, {float64(f.deliveries), "deliveries"},
		{float64(f.duplicates), "duplicates"}, {float64(f.drops), "drops"}, {float64(f.targetFaults), "target-faults"},
		{float64(f.crashes), "crashes"}, {float64(f.refusedSends), "refused-sends"}, {float64(f.messages), "messages"},
		{float64(f.dlq), "dlq"}, {float64(f.apiCalls), "api-calls"}, {f.wall.Seconds(), "wall-s"},
		{f.convergence.Seconds(), "convergence-s"}, {f.driftRepair.Seconds(), "drift-repair-s"}, {float64(f.statusLost), "status-lost"},
	} {
		b.ReportMetric(m.v, m.unit)
	}
}

// chaosGroups index the three mapped groups.
const (
	gWorkMail = iota
	gConnect
	gSupervisor
)

// chaosPerson is the test's own model of one Okta user: what the final
// directory says, kept as the actions are made, independent of idsync.
type chaosPerson struct {
	id          string
	login       string
	logins      []string // every login the person has had (accounts keep the first)
	first, last string
	status      string // Okta status, or "DELETED"
	groups      [3]bool
	left        [3]bool // was a member once (for rejoin)
}

func (p *chaosPerson) managedOnce() bool {
	return slices.Contains(p.groups[:], true) || slices.Contains(p.left[:], true)
}

// runChaos drives the pipeline wired as make run wires it (localrun: the
// hook, each target's consumer behind a poller, the snapshot on a
// schedule) through people Okta users and actions random directory
// actions made through the Okta stand-in's management API (join, move,
// rename, suspend, unsuspend, leave, rejoin, deactivate, delete, IdC
// re-creation), paced over the run, under:
//   - Okta's hook delivery faults: 10 % duplicated, 10 % reordered, 2 %
//     dropped;
//   - the WorkMail and Connect stand-ins throttling 20 % and answering 5 %
//     of calls with a 5xx;
//   - 1 % of consumer invocations crashing between a target call and its
//     commit;
//   - the Connect queue refusing every send for the middle fifth of the
//     actions.
//
// WorkMail's per-organisation user limit (and Connect's) is raised above
// the population, so nobody is expected in a DLQ. The stand-ins' quotas
// and the clients' rates are scaled by 20 (as BenchmarkBackfill does), the
// removal cap and the hook's removal brake are raised above the run's
// removals (10,000 random actions are a bulk change by design), and the
// settle window is 5 s (the Okta push lags 1 s here).
//
// Unmanaged accounts are made in both targets first. Then the faults stop
// and the run waits until two scheduled snapshot runs have started after
// the settle window and every target account equals what the final
// directory implies (computed from the test's own model of the Okta
// directory, never from idsync's store): one enabled mailbox with the
// current email and names for an active member of the WorkMail group, at
// most one disabled one for anyone else; one agent with the current names
// and the winning group's profiles for an active member of a Connect
// group, none for anyone else; no account for anyone twice; the unmanaged
// accounts unchanged. Then: every applied ledger row is unique, and the
// DLQs are empty (the user limits are above the population, so nothing is
// genuinely permanent; a dead letter's reason, and whether a consumer or
// the redrive policy put it there, is reported).
//
// IdC has no user status: a suspension or deactivation whose every
// delivery Okta dropped (or that reached the hook before the person's
// join and was dropped as about an unknown user) is repaired by the
// snapshot's status reconciliation, which reads Okta's non-active users.
// People whose last lifecycle event was never delivered are counted
// (statusLost) and compared like everyone else.
//
// A handful of managed accounts are changed behind idsync's back once the
// actions are over (-chaos.drift); the drift check runs every minute here
// and must repair them.
func runChaos(tb testing.TB, people, actions int) (fig chaosFigures) {
	seed := *chaosSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	fig = chaosFigures{seed: seed, people: people, actions: actions}
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("chaos run failed with -chaos.seed=%d (-chaos.people=%d -chaos.actions=%d): %s", seed, people, actions, fig)
		}
	})
	began := time.Now()
	env := testenv.Get(tb)
	ctx := testenv.LongContext(tb, time.Hour)
	const scale = 20
	s, err := localrun.Start(ctx, localrun.Options{
		DynamoDBEndpoint: env.DynamoDBEndpoint, SQSEndpoint: env.SQSEndpoint, Prefix: testenv.UniqueName(tb, "ch", 40),
		RequireIdCAssignment: true, MirrorLag: time.Second, SnapshotEvery: 5 * time.Second, RetryDelay: time.Second,
		Rates:             map[domain.Target]float64{domain.TargetWorkMail: 5 * scale, domain.TargetConnect: 2 * scale},
		HookFaults:        simokta.HookFaults{DuplicateRate: 0.10, ReorderRate: 0.10, DropRate: 0.02},
		Seed:              seed,
		ConsumerCrashRate: 0.01,
		Configure: func(c *domain.Config) {
			c.Snapshot.SettleWindow = domain.Duration(5 * time.Second)
			c.Snapshot.DriftEvery = domain.Duration(time.Minute)
			c.Snapshot.RemovalCap = domain.RemovalCap{Max: 10 * (people + actions), MaxPercent: 100, MinForPercent: 1}
			c.Hook.RemovalBrake = domain.RemovalBrake{Max: 10 * (people + actions), Window: domain.Duration(time.Minute)}
		},
	})
	if err != nil {
		tb.Fatalf("start: %v", err)
	}
	tb.Cleanup(s.Close)
	org, instance := s.Endpoint("WORKMAIL_ORGANIZATION_ID"), s.Endpoint("CONNECT_INSTANCE_ID")
	s.Connect.Control().SetQuota(simkit.EachOp, simkit.Quota{Rate: simconnect.DefaultRate * scale, Burst: simconnect.DefaultBurst})
	s.WorkMail.Control().SetQuota(simkit.EachOp, simkit.Quota{Rate: simworkmail.DefaultQuotaRate * scale, Burst: simworkmail.DefaultQuotaBurst})
	s.IdentityStore.Control().SetQuota(simkit.Collective, simkit.Quota{Rate: 20 * scale, Burst: 20})
	if err := s.WorkMail.SetUserLimit(org, 2*people+100); err != nil {
		tb.Fatal(err)
	}
	if err := s.Connect.SetUserLimit(instance, 2*people+100); err != nil {
		tb.Fatal(err)
	}

	// Unmanaged accounts, made before idsync sees anyone.
	for i := range 3 {
		if _, err := s.WorkMail.SeedUser(org, fmt.Sprintf("unmanaged.mbx%d", i), fmt.Sprintf("unmanaged.mbx%d@example.com", i)); err != nil {
			tb.Fatal(err)
		}
		if _, err := s.Connect.SeedUser(instance, fmt.Sprintf("unmanaged.agent%d", i)); err != nil {
			tb.Fatal(err)
		}
	}
	unmanagedWM, unmanagedCN := s.WorkMail.Users(org), s.Connect.Users(instance)

	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	groupIDs := [3]string{s.Endpoint("OKTA_WORKMAIL_GROUP_ID"), s.Endpoint("OKTA_CONNECT_GROUP_ID"), s.Endpoint("OKTA_SUPERVISOR_GROUP_ID")}
	faults := simkit.Faults{ThrottleRate: 0.20, ServerErrorRate: 0.05}
	s.WorkMail.Control().Reseed(seed)
	s.Connect.Control().Reseed(seed + 1)
	s.WorkMail.Control().SetFaults(simkit.EachOp, faults)
	s.Connect.Control().SetFaults(simkit.EachOp, faults)

	// The population: each person in each group with some probability.
	pop := make([]*chaosPerson, people)
	renames := 0
	for i := range pop {
		login := fmt.Sprintf("chaos.p%05d@example.com", i)
		p := &chaosPerson{login: login, logins: []string{login}, first: "Chaos", last: fmt.Sprintf("Person%05d", i), status: simokta.StatusActive}
		if p.id, err = s.Okta.CreateUser(simokta.Profile{Login: login, Email: login, FirstName: p.first, LastName: p.last}, true); err != nil {
			tb.Fatal(err)
		}
		for g, share := range [3]float64{0.6, 0.5, 0.1} {
			if rng.Float64() < share {
				if err := s.Okta.AddMember(groupIDs[g], p.id); err != nil {
					tb.Fatal(err)
				}
				p.groups[g] = true
			}
		}
		pop[i] = p
	}

	// The actions, paced over the run, with the Connect queue refusing
	// sends for the middle fifth of them.
	pace := 25 * time.Millisecond
	act := func(p *chaosPerson) error {
		alive := p.status == simokta.StatusActive || p.status == simokta.StatusSuspended
		for range 20 {
			g := rng.IntN(3)
			switch k := rng.IntN(100); {
			case k < 20 && alive && !p.groups[g]: // join
				p.groups[g] = true
				return s.Okta.AddMember(groupIDs[g], p.id)
			case k < 32 && alive && p.groups[g]: // leave
				p.groups[g], p.left[g] = false, true
				return s.Okta.RemoveMember(groupIDs[g], p.id)
			case k < 42 && alive && p.groups[g] && !p.groups[(g+1)%3]: // move
				to := (g + 1) % 3
				p.groups[g], p.left[g], p.groups[to] = false, true, true
				if err := s.Okta.RemoveMember(groupIDs[g], p.id); err != nil {
					return err
				}
				return s.Okta.AddMember(groupIDs[to], p.id)
			case k < 50 && alive && p.left[g] && !p.groups[g]: // rejoin
				p.groups[g] = true
				return s.Okta.AddMember(groupIDs[g], p.id)
			case k < 62 && alive: // rename: a new last name, and half the time a new login
				renames++
				p.last = fmt.Sprintf("Renamed%05d", renames)
				pr := simokta.Profile{LastName: p.last}
				if rng.IntN(2) == 0 {
					p.login = fmt.Sprintf("chaos.r%05d@example.com", renames)
					p.logins = append(p.logins, p.login)
					pr.Login, pr.Email = p.login, p.login
				}
				return s.Okta.UpdateProfile(p.id, pr)
			case k < 72 && p.status == simokta.StatusActive && p.managedOnce(): // suspend
				p.status = simokta.StatusSuspended
				return s.Okta.Lifecycle(p.id, simokta.OpSuspend)
			case k < 84 && p.status == simokta.StatusSuspended: // unsuspend
				p.status = simokta.StatusActive
				return s.Okta.Lifecycle(p.id, simokta.OpUnsuspend)
			case k < 88 && alive && p.managedOnce(): // deactivate
				p.status = simokta.StatusDeprovisioned
				return s.Okta.Lifecycle(p.id, simokta.OpDeactivate)
			case k < 91 && p.status == simokta.StatusDeprovisioned: // delete
				p.status = "DELETED"
				_, err := s.Okta.DeleteUser(p.id)
				return err
			case k >= 91 && alive && p.managedOnce(): // IdC re-creation
				return s.Okta.RepushUser(p.id)
			}
		}
		return nil // nothing applied to this person this time
	}
	for i := range actions {
		if i == actions*2/5 {
			s.SetQueueUnavailable(domain.TargetConnect, true)
		}
		if i == actions*3/5 {
			s.SetQueueUnavailable(domain.TargetConnect, false)
		}
		var p *chaosPerson
		for p == nil || p.status == "DELETED" {
			p = pop[rng.IntN(len(pop))]
		}
		if err := act(p); err != nil {
			tb.Fatalf("action %d on %s: %v", i, p.login, err)
		}
		time.Sleep(pace)
	}

	// The faults stop.
	s.Okta.SetHookFaults(simokta.HookFaults{})
	s.WorkMail.Control().SetFaults(simkit.EachOp, simkit.Faults{})
	s.Connect.Control().SetFaults(simkit.EachOp, simkit.Faults{})
	s.SetQueueUnavailable(domain.TargetConnect, false)
	if err := s.Okta.Flush(ctx); err != nil {
		tb.Fatal(err)
	}
	stopped := time.Now()
	settled := stopped.Add(5 * time.Second)

	fig.statusLost = len(lostStatus(s, pop))
	deadline := time.Now().Add(time.Duration(10+people/50) * time.Minute)
	// converge waits until every account is as the final directory implies
	// and at least two scheduled runs started after since.
	converge := func(what string, since time.Time) {
		var last []string
		for {
			runs := snapshotRunsSince(ctx, tb, s, since)
			last = compareChaos(s, pop, unmanagedWM, unmanagedCN)
			if runs >= 2 && len(last) == 0 {
				return
			}
			if time.Now().After(deadline) {
				fig.wall, fig.convergence = time.Since(began), time.Since(stopped)
				collectFigures(s, &fig)
				sort.Strings(last)
				tb.Logf("what Okta sent about the people who differ:\n%s", oktaStory(s, pop, last[:min(len(last), 5)]))
				tb.Fatalf("not converged %s %s (%d snapshot runs since): %d differences, first: %s",
					time.Since(since).Round(time.Second), what, runs, len(last), strings.Join(last[:min(len(last), 30)], "; "))
			}
			time.Sleep(time.Second)
		}
	}
	converge("after the faults stopped", settled)
	fig.convergence = time.Since(stopped)

	// Then a handful of managed accounts are changed behind idsync's back,
	// and the drift check (every minute here) must repair them.
	if *chaosDrift {
		drifted := time.Now()
		driftAccounts(ctx, tb, s, rng)
		converge("after the accounts were changed by hand", drifted)
		fig.driftRepair = time.Since(drifted)
	}
	fig.wall = time.Since(began)
	collectFigures(s, &fig)

	// Every applied ledger row is unique, and every dead letter has its
	// reason in the ledger.
	applied := map[string]int{}
	failed := map[string]string{}
	q := store.AuditQuery{From: began.Add(-time.Minute), PageSize: 1000}
	for {
		page, err := s.Store.Audit(ctx, q)
		if err != nil {
			tb.Fatal(err)
		}
		for _, e := range page.Entries {
			switch e.Outcome {
			case domain.OutcomeApplied:
				applied[strings.Join([]string{e.PersonKey, e.EventID, string(e.Target), string(e.Op), e.RemoteID}, "|")]++
			case domain.OutcomeFailed:
				failed[e.EventID+"|"+string(e.Target)] = e.Reason
			}
		}
		if page.Cursor == "" {
			break
		}
		q.Cursor = page.Cursor
	}
	for k, n := range applied {
		if n > 1 {
			tb.Errorf("applied ledger row %s recorded %d times", k, n)
		}
	}
	cfg, err := awsclient.Config(ctx, awsclient.Options{Local: true})
	if err != nil {
		tb.Fatal(err)
	}
	sq := awsclient.SQS(cfg, s.Endpoint("SQS_ENDPOINT"))
	for _, t := range []domain.Target{domain.TargetWorkMail, domain.TargetConnect} {
		dead, err := dlqMessages(ctx, sq, s.Settings.Queues[t].DLQURL)
		if err != nil {
			tb.Fatal(err)
		}
		fig.dlq += len(dead)
		for id, reason := range dead {
			switch ledger := failed[id+"|"+string(t)]; {
			case reason == "":
				tb.Errorf("%s dead letter %s was moved by SQS's redrive policy (a transient failure outlived the queue's retries); ledger: %q", t, id, ledger)
			case !strings.HasPrefix(ledger, "permanent") || !strings.Contains(ledger, reason):
				tb.Errorf("%s dead letter %s (reason %q): the ledger's failure is %q", t, id, reason, ledger)
			default:
				// The user limits are above the population: no failure
				// here is genuinely permanent.
				tb.Errorf("%s dead letter %s: %s", t, id, reason)
			}
		}
	}
	return fig
}

// collectFigures reads the counters of the stand-ins and the stack.
func collectFigures(s *localrun.Stack, f *chaosFigures) {
	for _, d := range s.Okta.Deliveries() {
		if d.Kind != simokta.KindDelivery {
			continue
		}
		switch {
		case d.Dropped:
			f.drops++
		case d.Attempt == 1:
			f.deliveries++
			if d.Duplicate {
				f.duplicates++
			}
			if d.Reordered {
				f.reordered++
			}
		}
	}
	for _, c := range []*simkit.Control{s.WorkMail.Control(), s.Connect.Control(), s.IdentityStore.Control()} {
		for _, n := range c.Counters() {
			f.apiCalls += n.Requests
			if c != s.IdentityStore.Control() {
				f.targetFaults += n.Throttled + n.ServerError
			}
		}
	}
	f.refusedSends, f.crashes = s.Faults()
	f.messages = s.Handled()
}

// snapshotRunsSince counts the snapshot runs started after t.
func snapshotRunsSince(ctx context.Context, tb testing.TB, s *localrun.Stack, t time.Time) int {
	page, err := s.Store.Audit(ctx, store.AuditQuery{System: true, From: t, PageSize: 1000})
	if err != nil {
		tb.Fatal(err)
	}
	n := 0
	for _, e := range page.Entries {
		if e.Outcome == domain.OutcomeSnapshot && e.At.After(t) {
			n++
		}
	}
	return n
}

// oktaStory tells, for the people the differences name (by any login),
// each Okta event about them and every delivery attempt that carried it
// (attempt, the hook's status, faults): what a failed run needs to tell a
// lost delivery from a pipeline fault.
func oktaStory(s *localrun.Stack, pop []*chaosPerson, diffs []string) string {
	ids := map[string]string{}
	for _, d := range diffs {
		for _, p := range pop {
			for _, l := range p.logins {
				if strings.HasPrefix(d, l+":") || strings.HasPrefix(d, l+" ") {
					ids[p.id] = p.login
				}
			}
		}
	}
	carried := map[string][]string{}
	for _, d := range s.Okta.Deliveries() {
		if d.Kind != simokta.KindDelivery {
			continue
		}
		desc := fmt.Sprintf("%s attempt %d status %d", d.At.Format("15:04:05.000"), d.Attempt, d.Status)
		if d.Error != "" {
			desc += " (" + d.Error + ")"
		}
		for _, f := range []struct {
			on   bool
			name string
		}{{d.Duplicate, " duplicate"}, {d.Reordered, " reordered"}, {d.Dropped, " dropped"}} {
			if f.on {
				desc += f.name
			}
		}
		for _, u := range d.Events {
			carried[u] = append(carried[u], desc)
		}
	}
	var b strings.Builder
	for _, e := range s.Okta.LogEvents() {
		for _, t := range e.Target {
			if login, ok := ids[t.ID]; ok && t.Type == "User" {
				fmt.Fprintf(&b, "  %s %s %s %s: %s\n", login, e.Published, e.EventType, e.UUID, strings.Join(carried[e.UUID], "; "))
			}
		}
	}
	return b.String()
}

// lostStatus returns the people whose last lifecycle event Okta never
// delivered (every delivery carrying it dropped): IdC does not show a
// user's status, so only the snapshot's read of Okta's non-active users
// brings it to idsync.
func lostStatus(s *localrun.Stack, pop []*chaosPerson) map[string]bool {
	delivered := map[string]bool{}
	for _, d := range s.Okta.Deliveries() {
		if d.Kind == simokta.KindDelivery && !d.Dropped && d.Status > 0 {
			for _, u := range d.Events {
				delivered[u] = true
			}
		}
	}
	lastLifecycle := map[string]string{}
	for _, e := range s.Okta.LogEvents() {
		if !strings.HasPrefix(e.EventType, "user.lifecycle.") {
			continue
		}
		for _, t := range e.Target {
			if t.Type == "User" {
				lastLifecycle[t.ID] = e.UUID
			}
		}
	}
	lost := map[string]bool{}
	for _, p := range pop {
		if u, ok := lastLifecycle[p.id]; ok && !delivered[u] {
			lost[p.id] = true
		}
	}
	return lost
}

// compareChaos lists every difference between the targets' accounts and
// what the final directory implies.
func compareChaos(s *localrun.Stack, pop []*chaosPerson, unmanagedWM []simworkmail.User, unmanagedCN []simconnect.User) []string {
	var diffs []string
	cfg := s.Config
	byLogin := map[string]*chaosPerson{}
	for _, p := range pop {
		for _, l := range p.logins {
			byLogin[strings.ToLower(l)] = p
		}
	}
	unmanaged := map[string]any{}
	for _, u := range unmanagedWM {
		unmanaged[u.UserID] = u
	}
	for _, u := range unmanagedCN {
		unmanaged[u.ID] = u
	}
	mailboxes := map[*chaosPerson][]simworkmail.User{}
	for _, u := range s.WorkMail.Users(cfg.WorkMail.OrganizationID) {
		if was, ok := unmanaged[u.UserID]; ok {
			if !reflect.DeepEqual(was, u) {
				diffs = append(diffs, "unmanaged mailbox "+u.Name+" changed")
			}
			delete(unmanaged, u.UserID)
			continue
		}
		if u.State == simworkmail.StateDeleted {
			continue
		}
		p := byLogin[strings.ToLower(u.Name)+"@example.com"]
		if p == nil {
			diffs = append(diffs, "mailbox "+u.Name+" belongs to nobody")
			continue
		}
		mailboxes[p] = append(mailboxes[p], u)
	}
	agents := map[*chaosPerson][]simconnect.User{}
	for _, u := range s.Connect.Users(cfg.Connect.InstanceID) {
		if was, ok := unmanaged[u.ID]; ok {
			if !reflect.DeepEqual(was, u) {
				diffs = append(diffs, "unmanaged agent "+u.Username+" changed")
			}
			delete(unmanaged, u.ID)
			continue
		}
		p := byLogin[strings.ToLower(u.Username)]
		if p == nil {
			diffs = append(diffs, "agent "+u.Username+" belongs to nobody")
			continue
		}
		agents[p] = append(agents[p], u)
	}
	for range unmanaged {
		diffs = append(diffs, "an unmanaged account disappeared")
	}
	for _, p := range pop {
		mb, ag := mailboxes[p], agents[p]
		if len(mb) > 1 || len(ag) > 1 {
			diffs = append(diffs, fmt.Sprintf("%s has %d mailboxes and %d agents", p.login, len(mb), len(ag)))
			continue
		}
		active := p.status == simokta.StatusActive
		switch wantMB := active && p.groups[gWorkMail]; {
		case wantMB && len(mb) == 0:
			diffs = append(diffs, p.login+": no mailbox")
		case wantMB && (mb[0].State != simworkmail.StateEnabled || !strings.EqualFold(mb[0].Email, p.login) || mb[0].LastName != p.last):
			diffs = append(diffs, fmt.Sprintf("%s: mailbox %s %s %s", p.login, mb[0].State, mb[0].Email, mb[0].LastName))
		case !wantMB && len(mb) == 1 && mb[0].State != simworkmail.StateDisabled:
			diffs = append(diffs, fmt.Sprintf("%s (%s, groups %v): mailbox %s", p.login, p.status, p.groups, mb[0].State))
		}
		wantAgent := active && (p.groups[gConnect] || p.groups[gSupervisor])
		switch {
		case wantAgent && len(ag) == 0:
			diffs = append(diffs, p.login+": no agent")
		case wantAgent:
			g := cfg.Connect.Groups[0]
			if p.groups[gSupervisor] {
				g = cfg.Connect.Groups[1]
			}
			a := ag[0]
			if !strings.EqualFold(a.Email, p.login) || a.LastName != p.last || a.RoutingProfileID != g.RoutingProfileID ||
				!sameIDs(a.SecurityProfileIDs, g.SecurityProfileIDs) {
				diffs = append(diffs, fmt.Sprintf("%s: agent %s %s %s %v", p.login, a.Email, a.LastName, a.RoutingProfileID, a.SecurityProfileIDs))
			}
		case len(ag) == 1:
			diffs = append(diffs, fmt.Sprintf("%s (%s, groups %v): agent %s still there", p.login, p.status, p.groups, ag[0].Username))
		}
	}
	return diffs
}

func sameIDs(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// driftAccounts changes a handful of managed accounts through the
// targets' APIs, as an administrator in the consoles would: a mailbox
// disabled, an agent's security profiles replaced. Only drift repair
// (issue 12) brings them back; runChaos calls it with -chaos.drift.
func driftAccounts(ctx context.Context, tb testing.TB, s *localrun.Stack, rng *rand.Rand) {
	tb.Helper()
	cfg, err := awsclient.Config(ctx, awsclient.Options{Local: true})
	if err != nil {
		tb.Fatal(err)
	}
	wm, cn := awsclient.WorkMail(cfg, s.Endpoint("WORKMAIL_ENDPOINT")), awsclient.Connect(cfg, s.Endpoint("CONNECT_ENDPOINT"))
	org, instance := s.Endpoint("WORKMAIL_ORGANIZATION_ID"), s.Endpoint("CONNECT_INSTANCE_ID")
	mailboxes, changed := s.WorkMail.Users(org), 0
	for _, i := range rng.Perm(len(mailboxes)) {
		u := mailboxes[i]
		if changed == 3 || u.State != simworkmail.StateEnabled || strings.HasPrefix(u.Name, "unmanaged.") {
			continue
		}
		if _, err := wm.DeregisterFromWorkMail(ctx, &workmail.DeregisterFromWorkMailInput{OrganizationId: aws.String(org), EntityId: aws.String(u.UserID)}); err != nil {
			tb.Fatalf("drift: disable mailbox %s: %v", u.Name, err)
		}
		changed++
	}
	agents, changed := s.Connect.Users(instance), 0
	other := s.Config.Connect.Groups[1].SecurityProfileIDs
	for _, i := range rng.Perm(len(agents)) {
		u := agents[i]
		if changed == 3 || strings.HasPrefix(u.Username, "unmanaged.") {
			continue
		}
		if _, err := cn.UpdateUserSecurityProfiles(ctx, &connect.UpdateUserSecurityProfilesInput{InstanceId: aws.String(instance),
			UserId: aws.String(u.ID), SecurityProfileIds: other}); err != nil {
			tb.Fatalf("drift: edit agent %s: %v", u.Username, err)
		}
		changed++
	}
}
