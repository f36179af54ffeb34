package simworkmail_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/workmail"
	"github.com/aws/aws-sdk-go-v2/service/workmail/types"

	"github.com/idsync/idsync/internal/sim/simworkmail"
)

// TestGroupsAndResourcesHoldNamesAndAddresses: users, groups and resources
// share one namespace of names and one of addresses. A name a group or
// resource holds answers NameAvailabilityException to CreateUser (and
// CreateGroup/CreateResource), an address they hold answers
// EmailAddressInUseException to RegisterToWorkMail and
// UpdatePrimaryEmailAddress, and DescribeUser of their name, id or
// address answers EntityNotFoundException; DescribeEntity names the
// holder of an address.
func TestGroupsAndResourcesHoldNamesAndAddresses(t *testing.T) {
	ctx := context.Background()
	f := setup(t, simworkmail.Options{}, 1)
	org := aws.String(f.org)

	group, err := f.client.CreateGroup(ctx, &workmail.CreateGroupInput{OrganizationId: org, Name: aws.String("sales")})
	if err != nil {
		t.Fatalf("CreateGroup: %v", err)
	}
	if _, err := f.client.RegisterToWorkMail(ctx, &workmail.RegisterToWorkMailInput{OrganizationId: org,
		EntityId: group.GroupId, Email: aws.String("sales@example.com")}); err != nil {
		t.Fatalf("RegisterToWorkMail group: %v", err)
	}
	room, err := f.client.CreateResource(ctx, &workmail.CreateResourceInput{OrganizationId: org, Name: aws.String("boardroom"),
		Type: types.ResourceTypeRoom, Description: aws.String("Fourth floor")})
	if err != nil {
		t.Fatalf("CreateResource: %v", err)
	}
	if _, err := f.client.RegisterToWorkMail(ctx, &workmail.RegisterToWorkMailInput{OrganizationId: org,
		EntityId: aws.String("boardroom"), Email: aws.String("boardroom@example.com")}); err != nil {
		t.Fatalf("RegisterToWorkMail resource by name: %v", err)
	}
	seeded, err := f.sim.AddGroup(f.org, "support", "help@example.org")
	if err != nil {
		t.Fatalf("AddGroup: %v", err)
	}

	// Names.
	for _, name := range []string{"SALES", "boardroom", "support"} {
		_, err := f.client.CreateUser(ctx, &workmail.CreateUserInput{OrganizationId: org, Name: aws.String(name), DisplayName: aws.String(name)})
		if !isA[*types.NameAvailabilityException](err) {
			t.Errorf("CreateUser %s: %v, want NameAvailabilityException", name, err)
		}
	}
	userID := f.createUser(t, "jane")
	if _, err := f.client.CreateGroup(ctx, &workmail.CreateGroupInput{OrganizationId: org, Name: aws.String("Jane")}); !isA[*types.NameAvailabilityException](err) {
		t.Errorf("CreateGroup named like a user: %v, want NameAvailabilityException", err)
	}
	if _, err := f.client.CreateResource(ctx, &workmail.CreateResourceInput{OrganizationId: org, Name: aws.String("sales"),
		Type: types.ResourceTypeEquipment}); !isA[*types.NameAvailabilityException](err) {
		t.Errorf("CreateResource named like a group: %v, want NameAvailabilityException", err)
	}

	// Addresses.
	for _, email := range []string{"sales@example.com", "Boardroom@Example.com", "help@example.org"} {
		_, err := f.client.RegisterToWorkMail(ctx, &workmail.RegisterToWorkMailInput{OrganizationId: org,
			EntityId: aws.String(userID), Email: aws.String(email)})
		if !isA[*types.EmailAddressInUseException](err) {
			t.Errorf("RegisterToWorkMail %s: %v, want EmailAddressInUseException", email, err)
		}
	}
	f.enabledUser(t, "joe", "joe@example.com")
	if _, err := f.client.UpdatePrimaryEmailAddress(ctx, &workmail.UpdatePrimaryEmailAddressInput{OrganizationId: org,
		EntityId: aws.String("joe"), Email: aws.String("sales@example.com")}); !isA[*types.EmailAddressInUseException](err) {
		t.Errorf("UpdatePrimaryEmailAddress to a group's address: %v, want EmailAddressInUseException", err)
	}
	if _, err := f.client.RegisterToWorkMail(ctx, &workmail.RegisterToWorkMailInput{OrganizationId: org,
		EntityId: aws.String("support"), Email: aws.String("joe@example.com")}); err != nil {
		t.Errorf("RegisterToWorkMail of an ENABLED group: %v", err)
	}

	// User operations do not see groups and resources.
	for _, ident := range []string{"sales", aws.ToString(group.GroupId), "sales@example.com", aws.ToString(room.ResourceId), "boardroom@example.com", seeded.ID} {
		_, err := f.client.DescribeUser(ctx, &workmail.DescribeUserInput{OrganizationId: org, UserId: aws.String(ident)})
		if !isA[*types.EntityNotFoundException](err) {
			t.Errorf("DescribeUser %s: %v, want EntityNotFoundException", ident, err)
		}
	}
	if _, err := f.client.UpdateUser(ctx, &workmail.UpdateUserInput{OrganizationId: org, UserId: aws.String("sales"),
		DisplayName: aws.String("x")}); !isA[*types.EntityNotFoundException](err) {
		t.Errorf("UpdateUser of a group: %v, want EntityNotFoundException", err)
	}
	list, err := f.client.ListUsers(ctx, &workmail.ListUsersInput{OrganizationId: org})
	if err != nil || len(list.Users) != 2 {
		t.Errorf("ListUsers = %v, %v; want only jane and joe", list, err)
	}

	// The holders describe themselves.
	g, err := f.client.DescribeGroup(ctx, &workmail.DescribeGroupInput{OrganizationId: org, GroupId: aws.String("sales@example.com")})
	if err != nil || aws.ToString(g.GroupId) != aws.ToString(group.GroupId) || g.State != types.EntityStateEnabled || aws.ToString(g.Name) != "sales" {
		t.Errorf("DescribeGroup = %+v, %v", g, err)
	}
	r, err := f.client.DescribeResource(ctx, &workmail.DescribeResourceInput{OrganizationId: org, ResourceId: room.ResourceId})
	if err != nil || r.Type != types.ResourceTypeRoom || aws.ToString(r.Email) != "boardroom@example.com" || aws.ToString(r.Description) != "Fourth floor" {
		t.Errorf("DescribeResource = %+v, %v", r, err)
	}
	for email, want := range map[string]types.EntityType{"sales@example.com": types.EntityTypeGroup,
		"boardroom@example.com": types.EntityTypeResource, "joe@example.com": types.EntityTypeUser} {
		e, err := f.client.DescribeEntity(ctx, &workmail.DescribeEntityInput{OrganizationId: org, Email: aws.String(email)})
		if err != nil || e.Type != want {
			t.Errorf("DescribeEntity %s = %+v, %v; want %s", email, e, err, want)
		}
	}
	if _, err := f.client.DescribeEntity(ctx, &workmail.DescribeEntityInput{OrganizationId: org, Email: aws.String("none@example.com")}); !isA[*types.EntityNotFoundException](err) {
		t.Errorf("DescribeEntity of a free address: %v, want EntityNotFoundException", err)
	}
	if _, err := f.client.DescribeGroup(ctx, &workmail.DescribeGroupInput{OrganizationId: org, GroupId: aws.String("jane")}); !isA[*types.EntityNotFoundException](err) {
		t.Errorf("DescribeGroup of a user: %v, want EntityNotFoundException", err)
	}

	snap := f.sim.Organizations()[0]
	if len(snap.Groups) != 2 || len(snap.Resources) != 1 || len(snap.Users) != 2 {
		t.Errorf("snapshot: %d groups, %d resources, %d users; want 2, 1, 2", len(snap.Groups), len(snap.Resources), len(snap.Users))
	}
}

// TestSeedGroupsAndResourcesOverHTTP: the /_sim seeding routes make
// groups and resources that hold their names and addresses.
func TestSeedGroupsAndResourcesOverHTTP(t *testing.T) {
	f := setup(t, simworkmail.Options{}, 1)
	post := func(path string, body map[string]string) (int, simworkmail.Entity) {
		t.Helper()
		raw, _ := json.Marshal(body)
		resp, err := http.Post(f.url+path, "application/json", bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var e simworkmail.Entity
		_ = json.NewDecoder(resp.Body).Decode(&e)
		return resp.StatusCode, e
	}
	if code, e := post("/_sim/groups", map[string]string{"organizationId": f.org, "name": "ops", "email": "ops@example.com"}); code != http.StatusOK || e.Type != simworkmail.EntityGroup || e.State != simworkmail.StateEnabled {
		t.Fatalf("seed group: %d %+v", code, e)
	}
	if code, e := post("/_sim/resources", map[string]string{"organizationId": f.org, "name": "van", "type": "EQUIPMENT"}); code != http.StatusOK || e.Type != simworkmail.EntityResource || e.State != simworkmail.StateDisabled {
		t.Fatalf("seed resource: %d %+v", code, e)
	}
	if code, _ := post("/_sim/groups", map[string]string{"organizationId": f.org, "name": "VAN"}); code != http.StatusBadRequest {
		t.Fatalf("seed group with a resource's name: %d, want 400", code)
	}
	if code, _ := post("/_sim/resources", map[string]string{"organizationId": "m-ffffffffffffffffffffffffffffffff", "name": "x", "type": "ROOM"}); code != http.StatusNotFound {
		t.Fatalf("seed resource in an unknown organisation: %d, want 404", code)
	}
	if _, err := f.sim.AddResource(f.org, "projector", "LAMP", ""); !errors.Is(err, simworkmail.ErrSeed) {
		t.Fatalf("AddResource with an unknown type: %v", err)
	}
	_, err := f.client.CreateUser(context.Background(), &workmail.CreateUserInput{OrganizationId: aws.String(f.org), Name: aws.String("ops"), DisplayName: aws.String("x")})
	if !isA[*types.NameAvailabilityException](err) {
		t.Fatalf("CreateUser named like a seeded group: %v", err)
	}
	id := f.createUser(t, "jo")
	_, err = f.client.RegisterToWorkMail(context.Background(), &workmail.RegisterToWorkMailInput{OrganizationId: aws.String(f.org),
		EntityId: aws.String(id), Email: aws.String("OPS@example.com")})
	if !isA[*types.EmailAddressInUseException](err) {
		t.Fatalf("RegisterToWorkMail with a seeded group's address: %v", err)
	}
}

// TestRegisterEnabledEntity: RegisterToWorkMail of an ENABLED user answers
// as EnabledRegistration says: by default 200 with no change (the
// operation's documentation: "It performs no change if the user, group, or
// resource is enabled"), the primary address kept even when the request
// names another; with RegisterAlreadyRegistered, the modelled
// EntityAlreadyRegisteredException.
func TestRegisterEnabledEntity(t *testing.T) {
	ctx := context.Background()
	register := func(f *fixture, id, email string) error {
		_, err := f.client.RegisterToWorkMail(ctx, &workmail.RegisterToWorkMailInput{OrganizationId: aws.String(f.org),
			EntityId: aws.String(id), Email: aws.String(email)})
		return err
	}
	t.Run("no change (default)", func(t *testing.T) {
		f := setup(t, simworkmail.Options{}, 1)
		id := f.enabledUser(t, "ann", "ann@example.com")
		before := f.describe(t, id)
		f.clock.Advance(3600e9)
		for _, email := range []string{"ann@example.com", "ann.new@example.com"} {
			if err := register(f, id, email); err != nil {
				t.Fatalf("RegisterToWorkMail %s: %v", email, err)
			}
		}
		after := f.describe(t, id)
		if aws.ToString(after.Email) != "ann@example.com" || !aws.ToTime(after.EnabledDate).Equal(aws.ToTime(before.EnabledDate)) {
			t.Fatalf("after: email %s enabled %v; want unchanged ann@example.com, %v",
				aws.ToString(after.Email), aws.ToTime(after.EnabledDate), aws.ToTime(before.EnabledDate))
		}
		// The other address stays free.
		if err := register(f, f.createUser(t, "bea"), "ann.new@example.com"); err != nil {
			t.Fatalf("address named by the no-op was taken: %v", err)
		}
	})
	t.Run("already registered", func(t *testing.T) {
		f := setup(t, simworkmail.Options{RegisterEnabled: simworkmail.RegisterAlreadyRegistered}, 1)
		id := f.enabledUser(t, "ann", "ann@example.com")
		if err := register(f, id, "ann@example.com"); !isA[*types.EntityAlreadyRegisteredException](err) {
			t.Fatalf("RegisterToWorkMail: %v, want EntityAlreadyRegisteredException", err)
		}
		f.sim.SetRegisterEnabled(simworkmail.RegisterNoChange)
		if err := register(f, id, "ann@example.com"); err != nil {
			t.Fatalf("after SetRegisterEnabled(RegisterNoChange): %v", err)
		}
	})
}
