package idcsnapshot_test

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/identitystore"
	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/sim/simidentitystore"
	"github.com/idsync/idsync/internal/testenv"
	"github.com/idsync/idsync/producers/idcsnapshot"
	"github.com/idsync/idsync/store"
)

func TestNewRequiresCollaboratorsAndStoreID(t *testing.T) {
	raw, err := os.ReadFile("testdata/config.json")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := domain.ParseConfig(raw)
	if err != nil {
		t.Fatalf("testdata/config.json: %v", err)
	}
	full := idcsnapshot.Options{Config: cfg, IdentityStore: &identitystore.Client{}, Store: &memStore{}, Publisher: &countingPublisher{}}
	if _, err := idcsnapshot.New(full); err != nil {
		t.Fatalf("complete options: %v", err)
	}
	noStoreID := cfg
	noStoreID.Snapshot.IdentityStoreID = ""
	for name, mod := range map[string]func(*idcsnapshot.Options){
		"no identity store client": func(o *idcsnapshot.Options) { o.IdentityStore = nil },
		"no store":                 func(o *idcsnapshot.Options) { o.Store = nil },
		"no publisher":             func(o *idcsnapshot.Options) { o.Publisher = nil },
		"no identity store id":     func(o *idcsnapshot.Options) { o.Config = noStoreID },
		"no configuration":         func(o *idcsnapshot.Options) { o.Config = domain.Config{} },
	} {
		t.Run(name, func(t *testing.T) {
			o := full
			mod(&o)
			if s, err := idcsnapshot.New(o); !errors.Is(err, idcsnapshot.ErrInvalid) || s != nil {
				t.Errorf("New = %v, %v; want nil and ErrInvalid", s, err)
			}
		})
	}
}

// leaseSpy records the lease calls a run makes.
type leaseSpy struct {
	idcsnapshot.Store
	mu    sync.Mutex
	calls []string
	durs  []time.Duration
}

func (s *leaseSpy) AcquireLease(ctx context.Context, name, owner string, d time.Duration) (store.LeaseHold, error) {
	s.mu.Lock()
	s.calls, s.durs = append(s.calls, "acquire "+name), append(s.durs, d)
	s.mu.Unlock()
	return s.Store.AcquireLease(ctx, name, owner, d)
}

func (s *leaseSpy) ReleaseLease(ctx context.Context, name, owner string, totalUsers int) error {
	s.mu.Lock()
	s.calls = append(s.calls, "release "+name)
	s.mu.Unlock()
	return s.Store.ReleaseLease(ctx, name, owner, totalUsers)
}

// TestLeaseNameAndDuration: a run takes and gives back the lease named by
// Options.LeaseName for Options.LeaseDuration (defaults DefaultLeaseName
// and DefaultLeaseDuration), so a lease of another name does not block it.
func TestLeaseNameAndDuration(t *testing.T) {
	t.Parallel()
	f := newFixture(t, simidentitystore.Options{Seed: 9, NoQuota: true})
	ctx := testenv.Context(t)
	if _, err := f.st.AcquireLease(ctx, idcsnapshot.DefaultLeaseName, "someone-else", time.Hour); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		opts     idcsnapshot.Options
		name     string
		duration time.Duration
		wantErr  error
	}{
		{idcsnapshot.Options{}, idcsnapshot.DefaultLeaseName, idcsnapshot.DefaultLeaseDuration, store.ErrLeaseHeld},
		{idcsnapshot.Options{LeaseName: "staging", LeaseDuration: 20 * time.Minute}, "staging", 20 * time.Minute, nil},
	} {
		spy := &leaseSpy{Store: f.st}
		_, err := f.snapshotter(t, setup{store: spy, opts: tc.opts}).Run(ctx)
		if !errors.Is(err, tc.wantErr) {
			t.Errorf("lease %s: run = %v, want %v", tc.name, err, tc.wantErr)
		}
		want := []string{"acquire " + tc.name}
		if tc.wantErr == nil {
			want = append(want, "release "+tc.name)
		}
		if !cmp.Equal(spy.calls, want) || !cmp.Equal(spy.durs, []time.Duration{tc.duration}) {
			t.Errorf("lease calls %v for %v, want %v for %v", spy.calls, spy.durs, want, tc.duration)
		}
	}
}
