package simconnect_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/connect"
	"github.com/aws/aws-sdk-go-v2/service/connect/types"

	"github.com/idsync/idsync/internal/sim/simconnect"
)

// instanceInput returns a valid CreateUser input for a fresh instance of
// the given identity management type.
func (e *env) instanceInput(t *testing.T, idType, username string) *connect.CreateUserInput {
	t.Helper()
	in := e.createInput(username)
	if idType == simconnect.IdentitySAML {
		return in
	}
	inst := e.sim.AddInstance("inst-"+strings.ToLower(idType), idType)
	in.InstanceId = aws.String(inst)
	in.SecurityProfileIds = []string{e.sim.AddSecurityProfile(inst, "Agent")}
	in.RoutingProfileId = aws.String(e.sim.AddRoutingProfile(inst, "Basic"))
	in.IdentityInfo.Email = aws.String("someone@example.com")
	if idType == simconnect.IdentityConnectManaged {
		in.Password = aws.String("Passw0rd!")
	}
	return in
}

// TestUsernameLimitPerIdentityManagement: CreateUserRequest.Username
// documents "For instances not using SAML for identity management, the user
// name can include up to 20 characters. If you are using SAML for identity
// management, the user name can include up to 64 characters"; a longer
// name is InvalidParameterException (400).
func TestUsernameLimitPerIdentityManagement(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		idType string
		max    int
	}{{simconnect.IdentitySAML, 64}, {simconnect.IdentityConnectManaged, 20}, {simconnect.IdentityExistingDirectory, 20}} {
		t.Run(tc.idType, func(t *testing.T) {
			e := newEnv(t, quotasOff())
			in := e.instanceInput(t, tc.idType, strings.Repeat("a", tc.max))
			if _, err := e.client.CreateUser(ctx, in); err != nil {
				t.Fatalf("CreateUser with %d characters: %v", tc.max, err)
			}
			in.Username = aws.String(strings.Repeat("b", tc.max+1))
			_, err := e.client.CreateUser(ctx, in)
			if !as[*types.InvalidParameterException](err) || httpStatus(err) != http.StatusBadRequest {
				t.Fatalf("CreateUser with %d characters: %v, want InvalidParameterException (400)", tc.max+1, err)
			}
		})
	}
}

// TestNamesMustBeNFC: UserIdentityInfo.FirstName and .LastName "must be in
// Unicode Normalization Form C (NFC). Text containing characters in a
// non-NFC form (for example, decomposed characters or combining marks) are
// not accepted." CreateUser and UpdateUserIdentityInfo refuse a decomposed
// name with InvalidParameterException and change nothing; the composed form
// of the same name is accepted.
func TestNamesMustBeNFC(t *testing.T) {
	ctx := context.Background()
	const (
		composed   = "Am\u00e9lie"        // é as one code point
		decomposed = "Ame\u0301lie"       // e + combining acute accent
		family     = "Go\u0308del"        // o + combining diaeresis
		familyNFC  = "G\u00f6del"         // ö
		hangulNFD  = "\u1112\u1161\u11ab" // 한 as conjoining jamo
	)
	e := newEnv(t, quotasOff())
	for name, info := range map[string]*types.UserIdentityInfo{
		"decomposed first name": {FirstName: aws.String(decomposed), LastName: aws.String("Poulain")},
		"decomposed last name":  {FirstName: aws.String("Kurt"), LastName: aws.String(family)},
		"conjoining jamo":       {FirstName: aws.String(hangulNFD), LastName: aws.String("Kim")},
	} {
		in := e.createInput("nfd-" + strings.ReplaceAll(name, " ", "-"))
		in.IdentityInfo = info
		_, err := e.client.CreateUser(ctx, in)
		if !as[*types.InvalidParameterException](err) || !strings.Contains(apiMessage(err), "Normalization Form C") {
			t.Errorf("CreateUser with a %s: %v, want InvalidParameterException", name, err)
		}
	}
	if got := e.sim.Users(e.instance); len(got) != 0 {
		t.Fatalf("refused creates stored %d users", len(got))
	}

	in := e.createInput("amelie")
	in.IdentityInfo = &types.UserIdentityInfo{FirstName: aws.String(composed), LastName: aws.String(familyNFC)}
	out, err := e.client.CreateUser(ctx, in)
	if err != nil {
		t.Fatalf("CreateUser with NFC names: %v", err)
	}
	_, err = e.client.UpdateUserIdentityInfo(ctx, &connect.UpdateUserIdentityInfoInput{InstanceId: aws.String(e.instance),
		UserId: out.UserId, IdentityInfo: &types.UserIdentityInfo{FirstName: aws.String(composed), LastName: aws.String(family)}})
	if !as[*types.InvalidParameterException](err) {
		t.Fatalf("UpdateUserIdentityInfo with a decomposed last name: %v, want InvalidParameterException", err)
	}
	if got := e.sim.Users(e.instance)[0]; got.FirstName != composed || got.LastName != familyNFC {
		t.Fatalf("names after the refused update: %q %q", got.FirstName, got.LastName)
	}
}

// TestConnectManagedLastNameLength: UserIdentityInfo says the model's
// name lengths apply to SAML instances and that with Amazon Connect
// identity management LastName is limited to 256 characters (SAML: 300).
func TestConnectManagedLastNameLength(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, quotasOff())
	saml := e.createInput("saml-long")
	saml.IdentityInfo.LastName = aws.String(strings.Repeat("l", 300))
	if _, err := e.client.CreateUser(ctx, saml); err != nil {
		t.Fatalf("SAML last name of 300: %v", err)
	}
	managed := e.instanceInput(t, simconnect.IdentityConnectManaged, "managed")
	managed.IdentityInfo.LastName = aws.String(strings.Repeat("l", 256))
	if _, err := e.client.CreateUser(ctx, managed); err != nil {
		t.Fatalf("CONNECT_MANAGED last name of 256: %v", err)
	}
	managed.Username = aws.String("managed2")
	managed.IdentityInfo.LastName = aws.String(strings.Repeat("l", 257))
	if _, err := e.client.CreateUser(ctx, managed); !as[*types.InvalidParameterException](err) {
		t.Fatalf("CONNECT_MANAGED last name of 257: %v, want InvalidParameterException", err)
	}
}
