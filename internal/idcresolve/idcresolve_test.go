package idcresolve_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/identitystore"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/awsclient"
	"github.com/idsync/idsync/internal/idcresolve"
	"github.com/idsync/idsync/internal/sim/simidentitystore"
	"github.com/idsync/idsync/internal/sim/simkit"
	"github.com/idsync/idsync/internal/sim/simokta"
)

// scimIssuer is the issuer Okta's SCIM push gives mirrored users in the
// stand-in (simokta.DefaultExternalIDIssuer).
const scimIssuer = "https://scim.aws.com/4820611"

// env is the IdentityStore stand-in behind an httptest server with a real
// SDK client.
type env struct {
	srv     *simidentitystore.Server
	client  *identitystore.Client
	storeID string
	log     *bytes.Buffer
}

func newEnv(t *testing.T) *env {
	t.Helper()
	srv := simidentitystore.New(simidentitystore.Options{})
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	cfg, err := awsclient.Config(context.Background(), awsclient.Options{Local: true, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	return &env{srv: srv, client: awsclient.IdentityStore(cfg, hs.URL), storeID: srv.AddIdentityStore(), log: &bytes.Buffer{}}
}

func (e *env) resolver(t *testing.T, issuer string) *idcresolve.Resolver {
	t.Helper()
	r, err := idcresolve.New(idcresolve.Options{IdentityStore: e.client, IdentityStoreID: e.storeID, Issuer: issuer,
		Logger: slog.New(slog.NewJSONHandler(e.log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (e *env) seed(t *testing.T, login string, ext ...simidentitystore.ExternalID) string {
	t.Helper()
	id, err := e.srv.SeedUser(e.storeID, simidentitystore.User{UserName: login, GivenName: "Given", FamilyName: "Family",
		Email: login, ExternalIDs: ext})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// calls counts the stand-in's calls of op.
func (e *env) calls(op string) int64 { return e.srv.Control().Counters()[op].Requests }

// pushed creates and activates a user in an Okta stand-in that mirrors
// into the IdentityStore stand-in (Okta's SCIM push), and returns its Okta
// id and IdC user id.
func (e *env) pushed(t *testing.T, login string) (oktaID, idcID string) {
	t.Helper()
	org := simokta.New(simokta.Options{Mirror: e.client, IdentityStoreID: e.storeID})
	t.Cleanup(org.Close)
	oktaID, err := org.CreateUser(simokta.Profile{Login: login, Email: login, FirstName: "Ana", LastName: "Silva"}, true)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := org.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for _, st := range e.srv.State().IdentityStores {
		for _, u := range st.Users {
			if u.UserName == login {
				if len(u.ExternalIDs) != 1 || u.ExternalIDs[0] != (simidentitystore.ExternalID{Issuer: scimIssuer, ID: oktaID}) {
					t.Fatalf("mirrored external ids %v", u.ExternalIDs)
				}
				return oktaID, u.UserID
			}
		}
	}
	t.Fatal("user not mirrored")
	return "", ""
}

func TestResolveByExternalID(t *testing.T) {
	e := newEnv(t)
	oktaID, idcID := e.pushed(t, "ana.silva@example.com")
	m, err := e.resolver(t, scimIssuer).Resolve(context.Background(), oktaID, "ana.silva@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if m != (idcresolve.Match{UserID: idcID, By: idcresolve.ByExternalID}) {
		t.Errorf("Resolve = %+v, want %s by external id", m, idcID)
	}
	if e.calls("GetUserId") != 1 || e.calls("DescribeUser") != 0 {
		t.Errorf("calls: GetUserId %d, DescribeUser %d; want 1 and 0", e.calls("GetUserId"), e.calls("DescribeUser"))
	}
}

func TestResolveByLoginWithoutIssuer(t *testing.T) {
	e := newEnv(t)
	oktaID, idcID := e.pushed(t, "ana.silva@example.com")
	m, err := e.resolver(t, "").Resolve(context.Background(), oktaID, "ana.silva@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if m != (idcresolve.Match{UserID: idcID, By: idcresolve.ByUserName}) {
		t.Errorf("Resolve = %+v, want %s by user name", m, idcID)
	}
	if e.calls("GetUserId") != 1 || e.calls("DescribeUser") != 1 {
		t.Errorf("calls: GetUserId %d, DescribeUser %d; want 1 and 1", e.calls("GetUserId"), e.calls("DescribeUser"))
	}
}

// GetUserId needs the exact issuer: a wrong one finds nobody by external
// id, and the login finds the user, whose external id confirms it.
func TestWrongIssuerFallsBackToLogin(t *testing.T) {
	e := newEnv(t)
	oktaID, idcID := e.pushed(t, "ana.silva@example.com")
	m, err := e.resolver(t, "https://scim.aws.com/1111111").Resolve(context.Background(), oktaID, "ana.silva@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if m != (idcresolve.Match{UserID: idcID, By: idcresolve.ByUserName}) {
		t.Errorf("Resolve = %+v, want %s by user name", m, idcID)
	}
	if !strings.Contains(e.log.String(), "snapshot.scimIssuer") || !strings.Contains(e.log.String(), scimIssuer) {
		t.Errorf("no warning about the issuer:\n%s", e.log)
	}
	if strings.Contains(e.log.String(), "ana.silva") {
		t.Errorf("the log carries the login:\n%s", e.log)
	}
}

// Before the SCIM push, nobody is found, and that is no error.
func TestNotPushedYet(t *testing.T) {
	e := newEnv(t)
	for _, issuer := range []string{scimIssuer, ""} {
		m, err := e.resolver(t, issuer).Resolve(context.Background(), "00u1234567890abcdefg", "new.joiner@example.com")
		if err != nil || m != (idcresolve.Match{}) {
			t.Errorf("issuer %q: Resolve = %+v, %v; want zero, nil", issuer, m, err)
		}
	}
	m, err := e.resolver(t, scimIssuer).Resolve(context.Background(), "00u1234567890abcdefg", "")
	if err != nil || m != (idcresolve.Match{}) {
		t.Errorf("without login: Resolve = %+v, %v; want zero, nil", m, err)
	}
}

func TestLoginMatches(t *testing.T) {
	const login = "ben.okafor@example.com"
	for _, tc := range []struct {
		name     string
		ext      []simidentitystore.ExternalID
		issuer   string
		mismatch bool
	}{
		{"another Okta user's login", []simidentitystore.ExternalID{{Issuer: scimIssuer, ID: "00uSOMEONEELSE000000"}}, scimIssuer, true},
		{"another Okta user's login, issuer unknown", []simidentitystore.ExternalID{{Issuer: scimIssuer, ID: "00uSOMEONEELSE000000"}}, "", true},
		{"made by hand", nil, scimIssuer, false},
		{"external id of another provider", []simidentitystore.ExternalID{{Issuer: "https://hr.example.com", ID: "E-42"}}, "", false},
		{"its own external id under another SCIM issuer", []simidentitystore.ExternalID{{Issuer: "https://scim.aws.com/7", ID: "00uBEN00000000000000"}}, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			idcID := e.seed(t, login, tc.ext...)
			m, err := e.resolver(t, tc.issuer).Resolve(context.Background(), "00uBEN00000000000000", login)
			if tc.mismatch {
				if !errors.Is(err, idcresolve.ErrMismatch) || domain.KindOf(err) != domain.ErrorPermanent {
					t.Fatalf("Resolve = %+v, %v; want a permanent ErrMismatch", m, err)
				}
				if strings.Contains(err.Error(), "ben.okafor") || !strings.Contains(err.Error(), idcID) {
					t.Errorf("error %q: want ids, not the login", err)
				}
				return
			}
			if err != nil || m != (idcresolve.Match{UserID: idcID, By: idcresolve.ByUserName}) {
				t.Errorf("Resolve = %+v, %v; want %s by user name", m, err, idcID)
			}
		})
	}
}

func TestFailuresAreClassified(t *testing.T) {
	e := newEnv(t)
	oktaID, _ := e.pushed(t, "ana.silva@example.com")
	r := e.resolver(t, scimIssuer)

	e.srv.Control().SetFaults("GetUserId", simkit.Faults{ThrottleRate: 1})
	_, err := r.Resolve(context.Background(), oktaID, "ana.silva@example.com")
	ce, ok := errors.AsType[*awsclient.CallError](err)
	if !ok || ce.Code != "ThrottlingException" || ce.Operation != "GetUserId" || domain.KindOf(err) != domain.ErrorRetryable {
		t.Errorf("throttled: %v (%v), want a retryable ThrottlingException CallError", err, domain.KindOf(err))
	}
	e.srv.Control().SetFaults("GetUserId", simkit.Faults{ServerErrorRate: 1})
	if _, err := r.Resolve(context.Background(), oktaID, ""); domain.KindOf(err) != domain.ErrorRetryable {
		t.Errorf("5xx: %v (%v), want retryable", err, domain.KindOf(err))
	}
	e.srv.Control().SetFaults("GetUserId", simkit.Faults{})

	e.srv.SetAccessDenied("GetUserId", true)
	_, err = r.Resolve(context.Background(), oktaID, "")
	if ce, ok := errors.AsType[*awsclient.CallError](err); !ok || ce.Code != "AccessDeniedException" || domain.KindOf(err) != domain.ErrorPermanent {
		t.Errorf("denied: %v (%v), want a permanent AccessDeniedException", err, domain.KindOf(err))
	}
	e.srv.SetAccessDenied("GetUserId", false)

	wrong, err := idcresolve.New(idcresolve.Options{IdentityStore: e.client, IdentityStoreID: "d-0000000000", Issuer: scimIssuer})
	if err != nil {
		t.Fatal(err)
	}
	_, err = wrong.Resolve(context.Background(), oktaID, "")
	if ce, ok := errors.AsType[*awsclient.CallError](err); !ok || ce.Code != "ResourceNotFoundException" || domain.KindOf(err) != domain.ErrorPermanent {
		t.Errorf("unknown identity store: %v (%v), want a permanent error, not \"nobody yet\"", err, domain.KindOf(err))
	}
	if strings.Contains(err.Error(), "not present") {
		t.Errorf("error %q carries the service's message", err)
	}
}

func TestInvalid(t *testing.T) {
	if _, err := idcresolve.New(idcresolve.Options{}); !errors.Is(err, idcresolve.ErrInvalid) ||
		!strings.Contains(err.Error(), "IdentityStore and Options.IdentityStoreID") {
		t.Errorf("New({}) = %v", err)
	}
	e := newEnv(t)
	if _, err := e.resolver(t, "").Resolve(context.Background(), "", ""); !errors.Is(err, idcresolve.ErrInvalid) ||
		domain.KindOf(err) != domain.ErrorPermanent {
		t.Errorf("Resolve with no ids = %v", err)
	}
}
