package simworkmail_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/workmail"
	"github.com/aws/aws-sdk-go-v2/service/workmail/types"

	"github.com/idsync/idsync/internal/sim/simworkmail"
)

func TestSeedUser(t *testing.T) {
	f := setup(t, simworkmail.Options{}, 1)
	if _, err := f.sim.SeedUser(f.org, "taken", "taken@example.com"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, org, user, email string
		want                   error
	}{
		{"unknown organisation", "m-ffffffffffffffffffffffffffffffff", "a", "", simworkmail.ErrNoOrganization},
		{"taken name, any case", f.org, "Taken", "", simworkmail.ErrSeed},
		{"taken email", f.org, "other", "TAKEN@example.com", simworkmail.ErrSeed},
		{"foreign domain", f.org, "other", "other@elsewhere.net", simworkmail.ErrSeed},
		{"invalid name", f.org, "has space", "", simworkmail.ErrSeed},
		{"disabled", f.org, "idle", "", nil},
		{"enabled", f.org, "busy", "busy@example.org", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id, err := f.sim.SeedUser(tc.org, tc.user, tc.email)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if tc.want != nil {
				return
			}
			d := f.describe(t, id)
			wantState := types.EntityStateDisabled
			if tc.email != "" {
				wantState = types.EntityStateEnabled
			}
			if d.State != wantState || aws.ToString(d.Email) != tc.email {
				t.Fatalf("seeded user: state %s email %s", d.State, aws.ToString(d.Email))
			}
		})
	}
}

// TestSeededIDsAreRepeatable: the default id generator depends only on Seed.
func TestSeededIDsAreRepeatable(t *testing.T) {
	run := func(seed uint64) (string, string) {
		s := simworkmail.New(simworkmail.Options{Seed: seed, NoQuota: true})
		org := s.AddOrganization("r", "r.example")
		id, err := s.SeedUser(org, "u", "")
		if err != nil {
			t.Fatal(err)
		}
		return org, id
	}
	o1, u1 := run(42)
	o2, u2 := run(42)
	o3, _ := run(43)
	if o1 != o2 || u1 != u2 {
		t.Fatalf("same seed, different ids: %s/%s vs %s/%s", o1, u1, o2, u2)
	}
	if o1 == o3 {
		t.Fatalf("different seeds, same organisation id %s", o1)
	}
	if len(o1) != 34 || o1[:2] != "m-" || len(u1) != 36 || u1[14] != '4' {
		t.Fatalf("ids %s %s are not shaped like WorkMail's", o1, u1)
	}
}

// TestConcurrentCreateSameName: of many concurrent CreateUser calls for one
// name exactly one wins; the rest get NameAvailabilityException.
func TestConcurrentCreateSameName(t *testing.T) {
	f := setup(t, simworkmail.Options{}, 1)
	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, errs[i] = f.client.CreateUser(context.Background(), &workmail.CreateUserInput{
				OrganizationId: aws.String(f.org), Name: aws.String("racer"), DisplayName: aws.String("Racer"),
			})
		})
	}
	wg.Wait()
	won, lost := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case isA[*types.NameAvailabilityException](err):
			lost++
		default:
			t.Fatalf("unexpected error: %v", err)
		}
	}
	if won != 1 || lost != n-1 || len(f.sim.Users(f.org)) != 1 {
		t.Fatalf("won %d lost %d users %d; want 1, %d, 1", won, lost, len(f.sim.Users(f.org)), n-1)
	}
}
