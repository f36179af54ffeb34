package connect_test

import (
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconnect "github.com/aws/aws-sdk-go-v2/service/connect"
	"github.com/aws/aws-sdk-go-v2/service/connect/types"
	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/consumers/connect"
	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/sim/simconnect"
	"github.com/idsync/idsync/internal/testenv"
)

// TestInventoryListsOwnedAgents: the drift check's inventory reads every
// page of SearchUsers through the real SDK client (over 500 agents: two
// pages) and keeps only the agents carrying the ownership tag, with their
// profiles and names as the stand-in answers them; an edit made through
// the SDK shows once the search index has caught up.
func TestInventoryListsOwnedAgents(t *testing.T) {
	e := newEnv(t, withSim(simconnect.Options{NoQuota: true, Seed: 7, UserLimit: 1000}))
	ctx := testenv.Context(t)
	create := func(name string, tagged bool) string {
		in := &awsconnect.CreateUserInput{
			InstanceId: aws.String(e.instance), Username: aws.String(name),
			IdentityInfo:       &types.UserIdentityInfo{FirstName: aws.String("F" + name), LastName: aws.String("L" + name)},
			PhoneConfig:        &types.UserPhoneConfig{PhoneType: types.PhoneTypeSoftPhone},
			SecurityProfileIds: []string{e.ids["SP_AGENT"]}, RoutingProfileId: aws.String(e.ids["RP_SUPPORT"]),
		}
		if tagged {
			in.Tags = map[string]string{connect.DefaultTagKey: "00u" + name}
		}
		out, err := e.client.CreateUser(ctx, in)
		if err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
		return aws.ToString(out.UserId)
	}
	var owned []string
	for i := range 520 {
		id := create(fmt.Sprintf("agent%03d", i), i%2 == 0)
		if i%2 == 0 {
			owned = append(owned, id)
		}
	}
	edited := owned[3]
	if _, err := e.client.UpdateUserSecurityProfiles(ctx, &awsconnect.UpdateUserSecurityProfilesInput{
		InstanceId: aws.String(e.instance), UserId: aws.String(edited), SecurityProfileIds: []string{e.ids["SP_SUPERVISOR"]},
	}); err != nil {
		t.Fatal(err)
	}
	e.catchUp()
	before := e.requests("SearchUsers")

	inv, err := connect.NewInventory(connect.InventoryOptions{API: e.client, Config: e.config(t, "config-delete.json")})
	if err != nil {
		t.Fatal(err)
	}
	got, err := inv.Accounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := e.requests("SearchUsers") - before; n != 2 {
		t.Errorf("%d SearchUsers requests for 520 agents, want 2 pages of 500", n)
	}
	if len(got) != len(owned) {
		t.Fatalf("%d agents listed, want the %d tagged ones", len(got), len(owned))
	}
	want := domain.Observed{
		State: domain.TargetState{Target: domain.TargetConnect, RemoteID: edited, SecurityProfileIDs: []string{e.ids["SP_SUPERVISOR"]},
			RoutingProfileID: e.ids["RP_SUPPORT"], FirstName: "Fagent006", LastName: "Lagent006"},
		Fields: []domain.AccountField{domain.FieldSecurityProfiles, domain.FieldRoutingProfile, domain.FieldHierarchyGroup,
			domain.FieldFirstName, domain.FieldLastName},
	}
	if d := cmp.Diff(want, got[edited]); d != "" {
		t.Errorf("edited agent (-want +got):\n%s", d)
	}
}

// TestNewInventoryRefusesBadSetup: no client or no instance is a
// configuration error.
func TestNewInventoryRefusesBadSetup(t *testing.T) {
	e := newEnv(t)
	cfg := e.config(t, "config-delete.json")
	for _, tc := range []struct {
		name string
		api  connect.InventoryAPI
		cfg  domain.ConnectConfig
	}{{"no client", nil, cfg}, {"no instance", e.client, domain.ConnectConfig{}}} {
		if _, err := connect.NewInventory(connect.InventoryOptions{API: tc.api, Config: tc.cfg}); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}
