package simokta_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/idsync/idsync/internal/sim/simokta"
)

// seedScenario drives the Go seeding surface: a verified hook, a user, a
// group and a membership.
func seedScenario(t *testing.T, srv *simokta.Server, rcv *receiver) {
	t.Helper()
	hid, err := srv.CreateEventHook("h", rcv.url(), "Authorization", "s3cret", simokta.EventGroupMemberAdd)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.VerifyEventHook(context.Background(), hid); err != nil {
		t.Fatal(err)
	}
	uid, err := srv.CreateUser(simokta.Profile{Login: "s@example.com", Email: "s@example.com", FirstName: "S", LastName: "T"}, true)
	if err != nil {
		t.Fatal(err)
	}
	gid, err := srv.CreateGroup("G", "", false)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.AddMember(gid, uid); err != nil {
		t.Fatal(err)
	}
}

func TestGoSeedingSurfaceDeliversHooks(t *testing.T) {
	o := newOrg(t, simokta.Options{Seed: 50, BatchWindow: time.Hour})
	rcv := newReceiver(t)
	seedScenario(t, o.srv, rcv)
	o.flush()
	posts := rcv.deliveries()
	if len(posts) != 1 || posts[0].header.Get("Authorization") != "s3cret" ||
		len(posts[0].env.Data.Events) != 1 || posts[0].env.Data.Events[0].EventType != simokta.EventGroupMemberAdd {
		t.Fatalf("deliveries = %+v", posts)
	}
	if _, err := o.srv.CreateEventHook("", rcv.url(), "", ""); !errors.Is(err, simokta.ErrInvalid) {
		t.Errorf("invalid hook: %v, want ErrInvalid", err)
	}
	if err := o.srv.VerifyEventHook(context.Background(), "whonope"); !errors.Is(err, simokta.ErrNotFound) {
		t.Errorf("unknown hook: %v, want ErrNotFound", err)
	}
}

func TestVerifyEventHookGoError(t *testing.T) {
	o := newOrg(t, simokta.Options{Seed: 51})
	rcv := newReceiver(t)
	rcv.verify = func(string) (int, string) { return http.StatusOK, `{"verification":"other"}` }
	hid, err := o.srv.CreateEventHook("h", rcv.url(), "", "", simokta.EventUserCreate)
	if err != nil {
		t.Fatal(err)
	}
	var apiErr *simokta.APIError
	err = o.srv.VerifyEventHook(context.Background(), hid)
	if !errors.Is(err, simokta.ErrVerification) || !errors.As(err, &apiErr) || apiErr.Code != "E0000001" {
		t.Errorf("= %v, want ErrVerification E0000001", err)
	}
}

func TestFlushHonoursContext(t *testing.T) {
	o := newOrg(t, simokta.Options{Seed: 52, BatchWindow: time.Hour, HookTimeout: time.Minute})
	rcv := newReceiver(t)
	release := make(chan struct{})
	rcv.respond = func(int) (int, time.Duration) { <-release; return 200, 0 }
	t.Cleanup(func() { close(release) })
	seedScenario(t, o.srv, rcv)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := o.srv.Flush(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Flush with a stuck receiver = %v, want DeadlineExceeded", err)
	}
}

func TestCloseStopsDelivery(t *testing.T) {
	tests := []struct {
		name string
		stop func(srv *simokta.Server, cancel context.CancelFunc)
	}{
		{"Close", func(srv *simokta.Server, _ context.CancelFunc) { srv.Close() }},
		{"context cancelled", func(_ *simokta.Server, cancel context.CancelFunc) { cancel() }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			o := newOrg(t, simokta.Options{Seed: 53, BatchWindow: time.Hour, Context: ctx})
			rcv := newReceiver(t)
			seedScenario(t, o.srv, rcv)
			tc.stop(o.srv, cancel)
			if err := o.srv.Flush(context.Background()); !errors.Is(err, simokta.ErrClosed) {
				t.Errorf("Flush after stop = %v, want ErrClosed", err)
			}
			o.srv.Close() // idempotent, and waits for the goroutines
			if n := len(rcv.deliveries()); n != 0 {
				t.Errorf("deliveries after stop = %d", n)
			}
		})
	}
}
