package store_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/testenv"
	"github.com/idsync/idsync/store"
)

func TestSpecsMatchCreatedTables(t *testing.T) {
	f := newFixture(t)
	ctx := testenv.Context(t)
	for _, tc := range []struct {
		spec  store.TableSpec
		table string
	}{
		{store.StateTableSpec(), f.state},
		{store.LedgerTableSpec(), f.ledger},
	} {
		t.Run(tc.spec.NameSuffix, func(t *testing.T) {
			out, err := f.db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(tc.table)})
			if err != nil {
				t.Fatal(err)
			}
			d := out.Table
			keys := func(ks []types.KeySchemaElement) []string {
				var s []string
				for _, k := range ks {
					s = append(s, fmt.Sprintf("%s:%s", aws.ToString(k.AttributeName), k.KeyType))
				}
				return s
			}
			if got, want := keys(d.KeySchema), []string{tc.spec.PartitionKey.Name + ":HASH", tc.spec.SortKey.Name + ":RANGE"}; !cmp.Equal(got, want) {
				t.Errorf("key schema %v, want %v", got, want)
			}
			got := map[string]string{}
			for _, g := range d.GlobalSecondaryIndexes {
				got[aws.ToString(g.IndexName)] = fmt.Sprint(keys(g.KeySchema), " ", g.Projection.ProjectionType)
			}
			want := map[string]string{}
			for _, g := range tc.spec.GSIs {
				ks := []string{g.PartitionKey.Name + ":HASH"}
				if g.SortKey != nil {
					ks = append(ks, g.SortKey.Name+":RANGE")
				}
				want[g.Name] = fmt.Sprint(ks, " ", g.Projection)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("indexes differ from the spec (-spec +table):\n%s", diff)
			}
			ttl, err := f.db.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(tc.table)})
			if err != nil {
				t.Fatal(err)
			}
			gotTTL := ""
			if ttl.TimeToLiveDescription != nil && ttl.TimeToLiveDescription.TimeToLiveStatus == types.TimeToLiveStatusEnabled {
				gotTTL = aws.ToString(ttl.TimeToLiveDescription.AttributeName)
			}
			if gotTTL != tc.spec.TTLAttribute {
				t.Errorf("TTL attribute %q, want %q", gotTTL, tc.spec.TTLAttribute)
			}
		})
	}
}

func TestFold(t *testing.T) {
	ada := domain.Subject{OktaID: "00uADA", Login: "ada@example.com"}
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	added := ev(domain.KindMemberAdded, ada, "u1", at(1), group("00gMAIL"))
	email := ev(domain.KindProfileChanged, ada, "u2", at(2), profile(domain.Profile{Email: ptr("ada@example.com")}))
	older := ev(domain.KindProfileChanged, ada, "u0", at(0), profile(domain.Profile{Email: ptr("old@example.com")}))
	suspended := ev(domain.KindSuspended, ada, "u3", at(3))

	type step struct {
		e           domain.Event
		changed     bool
		created     bool
		wantVersion int64
	}
	for _, tc := range []struct {
		name      string
		steps     []step
		wantEmail string
		wantState domain.Status
	}{
		{
			name: "facts accumulate, one version each",
			steps: []step{
				{added, true, true, 1},
				{email, true, false, 2},
				{suspended, true, false, 3},
			},
			wantEmail: "ada@example.com", wantState: domain.StatusSuspended,
		},
		{
			name: "duplicates and older facts write nothing",
			steps: []step{
				{email, true, true, 1},
				{email, false, false, 1},
				{older, false, false, 1},
				{added, true, false, 2},
				{added, false, false, 2},
			},
			wantEmail: "ada@example.com",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := testenv.Context(t)
			for i, s := range tc.steps {
				res, err := f.st.Fold(ctx, s.e)
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				if res.Changed != s.changed || res.Created != s.created || res.Person.Version != s.wantVersion {
					t.Errorf("step %d: changed=%v created=%v version=%d, want %v %v %d",
						i, res.Changed, res.Created, res.Person.Version, s.changed, s.created, s.wantVersion)
				}
				if res.Key != ada.OktaID {
					t.Errorf("step %d: record key %q", i, res.Key)
				}
			}
			rec, err := f.st.Person(ctx, ada.OktaID)
			if err != nil {
				t.Fatal(err)
			}
			if rec.Person.Email.Value != tc.wantEmail || domain.Status(rec.Person.Status.Value) != tc.wantState {
				t.Errorf("stored email %q status %q, want %q %q", rec.Person.Email.Value, rec.Person.Status.Value, tc.wantEmail, tc.wantState)
			}
			// What Fold returned last is exactly what is stored.
			want, _ := f.st.Fold(ctx, tc.steps[len(tc.steps)-1].e)
			if diff := cmp.Diff(want.Person, rec.Person); diff != "" {
				t.Errorf("stored person differs from fold result:\n%s", diff)
			}
		})
	}

	t.Run("invalid event is permanent and writes nothing", func(t *testing.T) {
		f := newFixture(t)
		ctx := testenv.Context(t)
		bad := added
		bad.ID = "not-a-ulid"
		_, err := f.st.Fold(ctx, bad)
		if !errors.Is(err, domain.ErrInvalidEvent) || domain.KindOf(err) != domain.ErrorPermanent {
			t.Fatalf("got %v (kind %v), want permanent ErrInvalidEvent", err, domain.KindOf(err))
		}
		if _, err := f.st.Person(ctx, ada.OktaID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("person after invalid event: %v, want ErrNotFound", err)
		}
	})
}

// raceDB holds the first n partition reads until all n have happened, so
// that n writers surely read the same version before any of them writes.
type raceDB struct {
	store.DB
	mu      sync.Mutex
	waiting int
	release chan struct{}
}

func newRaceDB(db store.DB, n int) *raceDB {
	return &raceDB{DB: db, waiting: n, release: make(chan struct{})}
}

func (r *raceDB) Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	out, err := r.DB.Query(ctx, in, opts...)
	r.mu.Lock()
	hold := r.waiting > 0 && in.IndexName == nil
	if hold {
		r.waiting--
		if r.waiting == 0 {
			close(r.release)
		}
	}
	r.mu.Unlock()
	if hold {
		select {
		case <-r.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return out, err
}

func TestFoldRacingWritersBothFactsSurvive(t *testing.T) {
	ada := domain.Subject{OktaID: "00uADA"}
	at := t0.Add(time.Minute)
	inGroup := ev(domain.KindMemberAdded, ada, "race-group", at, group("00gMAIL"))
	email := ev(domain.KindProfileChanged, ada, "race-email", at.Add(time.Millisecond), profile(domain.Profile{Email: ptr("ada@example.com")}))

	for _, tc := range []struct {
		name        string
		seed        bool
		wantVersion int64
	}{
		{"existing person: version check", true, 3},
		{"new person: creation check", false, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := testenv.Context(t)
			if tc.seed {
				if _, err := f.st.Fold(ctx, ev(domain.KindUnsuspended, ada, "seed", t0)); err != nil {
					t.Fatal(err)
				}
			}
			o := f.opts
			o.DB = newRaceDB(f.db, 2)
			racing, err := store.New(o)
			if err != nil {
				t.Fatal(err)
			}
			results := make([]store.FoldResult, 2)
			errs := make([]error, 2)
			var wg sync.WaitGroup
			for i, e := range []domain.Event{inGroup, email} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					results[i], errs[i] = racing.Fold(ctx, e)
				}()
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("writer %d: %v", i, err)
				}
			}
			attempts := []int{results[0].Attempts, results[1].Attempts}
			sort.Ints(attempts)
			if !cmp.Equal(attempts, []int{1, 2}) {
				t.Errorf("attempts %v, want one writer to win at once and the other to retry once", attempts)
			}
			if !results[0].Changed || !results[1].Changed {
				t.Errorf("both folds must report a change: %v %v", results[0].Changed, results[1].Changed)
			}
			if results[0].Created == results[1].Created && !tc.seed {
				t.Errorf("exactly one writer creates the person: %v %v", results[0].Created, results[1].Created)
			}
			rec, err := f.st.Person(ctx, ada.OktaID)
			if err != nil {
				t.Fatal(err)
			}
			if !rec.Person.MemberOf(domain.GroupRef{OktaID: "00gMAIL"}) || rec.Person.Email.Value != "ada@example.com" {
				t.Errorf("a racing fact was lost: member=%v email=%q", rec.Person.MemberOf(domain.GroupRef{OktaID: "00gMAIL"}), rec.Person.Email.Value)
			}
			if rec.Person.Version != tc.wantVersion {
				t.Errorf("version %d, want %d", rec.Person.Version, tc.wantVersion)
			}
		})
	}

	t.Run("many writers", func(t *testing.T) {
		f := newFixture(t, func(o *store.Options) { o.FoldAttempts = 100 })
		ctx := testenv.Context(t)
		const writers, each = 8, 5
		var wg sync.WaitGroup
		errs := make(chan error, writers*each)
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					g := fmt.Sprintf("00g%02d%02d", w, i)
					if _, err := f.st.Fold(ctx, ev(domain.KindMemberAdded, ada, g, at, group(g))); err != nil {
						errs <- err
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		rec, err := f.st.Person(ctx, ada.OktaID)
		if err != nil {
			t.Fatal(err)
		}
		if len(rec.Person.Groups) != writers*each || rec.Person.Version != writers*each {
			t.Fatalf("%d groups at version %d, want %d and %d", len(rec.Person.Groups), rec.Person.Version, writers*each, writers*each)
		}
	})
}

func TestLookupsAndLinking(t *testing.T) {
	f := newFixture(t)
	ctx := testenv.Context(t)
	fold := func(e domain.Event) store.FoldResult {
		t.Helper()
		r, err := f.st.Fold(ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	ada := domain.Subject{OktaID: "00uADA", IdCUserID: "idc-ada", Login: "Ada.Lovelace@example.com"}
	fold(ev(domain.KindMemberAdded, ada, "a1", t0, group("00gMAIL")))

	// Grace is first seen by the snapshot with her IdC id only, then linked.
	graceIdC := domain.Subject{IdCUserID: "idc-grace", Login: "grace@example.com"}
	snap := ev(domain.KindMemberAdded, graceIdC, "run1", t0, group("00gMAIL"), func(e *domain.Event) { e.Source = domain.SourceIdCSnapshot })
	if r := fold(snap); r.Key != "idc-grace" || !r.Created {
		t.Fatalf("first sight: key %q created %v", r.Key, r.Created)
	}
	linked := fold(ev(domain.KindProfileChanged, domain.Subject{OktaID: "00uGRACE", IdCUserID: "idc-grace"}, "run2", t0.Add(time.Minute),
		func(e *domain.Event) { e.Source = domain.SourceIdCSnapshot }))
	if linked.Created || linked.Key != "idc-grace" || linked.Person.Key != "00uGRACE" || linked.Person.OktaID != "00uGRACE" {
		t.Fatalf("linking: created=%v key=%q person key=%q okta=%q", linked.Created, linked.Key, linked.Person.Key, linked.Person.OktaID)
	}
	// A hook event knows only the Okta id: it must reach the same person.
	hook := fold(ev(domain.KindSuspended, domain.Subject{OktaID: "00uGRACE"}, "h1", t0.Add(2*time.Minute)))
	if hook.Created || hook.Key != "idc-grace" || hook.Person.Status.Value != string(domain.StatusSuspended) {
		t.Fatalf("hook after linking: created=%v key=%q status=%q", hook.Created, hook.Key, hook.Person.Status.Value)
	}

	for _, tc := range []struct {
		name    string
		find    func() (store.Record, error)
		wantKey string
		wantErr error
	}{
		{"okta id, own partition", func() (store.Record, error) { return f.st.FindByOktaID(ctx, "00uADA") }, "00uADA", nil},
		{"okta id, linked person", func() (store.Record, error) { return f.st.FindByOktaID(ctx, "00uGRACE") }, "idc-grace", nil},
		{"idc id, through the index", func() (store.Record, error) { return f.st.FindByIdCUserID(ctx, "idc-ada") }, "00uADA", nil},
		{"idc id, own partition", func() (store.Record, error) { return f.st.FindByIdCUserID(ctx, "idc-grace") }, "idc-grace", nil},
		{"unknown okta id", func() (store.Record, error) { return f.st.FindByOktaID(ctx, "00uNOBODY") }, "", store.ErrNotFound},
		{"empty id", func() (store.Record, error) { return f.st.FindByIdCUserID(ctx, "") }, "", store.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec, err := tc.find()
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
			if rec.Key != tc.wantKey {
				t.Fatalf("key %q, want %q", rec.Key, tc.wantKey)
			}
		})
	}

	t.Run("login, case-insensitive, follows renames", func(t *testing.T) {
		got, err := f.st.FindByLogin(ctx, "ada.lovelace@EXAMPLE.com")
		if err != nil || len(got) != 1 || got[0].Key != "00uADA" {
			t.Fatalf("by login: %v %+v", err, got)
		}
		renamed := ada
		renamed.Login = "ada.king@example.com"
		fold(ev(domain.KindProfileChanged, renamed, "rename", t0.Add(time.Hour)))
		if got, err := f.st.FindByLogin(ctx, "Ada.Lovelace@example.com"); err != nil || len(got) != 0 {
			t.Fatalf("old login still finds %d people (%v)", len(got), err)
		}
		if got, err := f.st.FindByLogin(ctx, "ada.king@example.com"); err != nil || len(got) != 1 || got[0].Key != "00uADA" {
			t.Fatalf("new login: %v %+v", err, got)
		}
	})

	t.Run("all people", func(t *testing.T) {
		people, err := f.st.AllPeople(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, p := range people {
			keys = append(keys, p.Key)
		}
		if want := []string{"00uADA", "00uGRACE"}; !cmp.Equal(keys, want) {
			t.Fatalf("people %v, want %v (a linked person is one person)", keys, want)
		}
	})
}

func TestTargetState(t *testing.T) {
	f := newFixture(t)
	ctx := testenv.Context(t)
	got, err := f.st.Target(ctx, "00uADA", domain.TargetWorkMail)
	if err != nil || got.Version != 0 || got.Target != domain.TargetWorkMail || got.Managed {
		t.Fatalf("absent target: %+v %v", got, err)
	}
	want := domain.TargetState{Target: domain.TargetWorkMail, Managed: true, RemoteID: "wm-1", Status: domain.RemoteEnabled,
		Name: "ada", Email: "ada@example.com", DisabledAt: t0}
	for _, tc := range []struct {
		name     string
		expected int64
		version  int64
		wantErr  error
	}{
		{"create", 0, 1, nil},
		{"create again", 0, 0, store.ErrConflict},
		{"update", 1, 2, nil},
		{"stale update", 1, 0, store.ErrConflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			put, err := f.st.PutTarget(ctx, "00uADA", want, tc.expected)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			read, err := f.st.Target(ctx, "00uADA", domain.TargetWorkMail)
			if err != nil {
				t.Fatal(err)
			}
			w := want
			w.Version = tc.version
			if diff := cmp.Diff(w, read); diff != "" || put.Version != tc.version {
				t.Fatalf("stored state (put version %d):\n%s", put.Version, diff)
			}
		})
	}
	rec, err := f.st.Person(ctx, "00uADA")
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a target alone is no person: %+v %v", rec, err)
	}
}
