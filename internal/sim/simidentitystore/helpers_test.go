package simidentitystore_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/identitystore"

	"github.com/idsync/idsync/internal/awsclient"
	"github.com/idsync/idsync/internal/sim/simidentitystore"
)

// env is one stand-in behind an httptest server with a real SDK client.
type env struct {
	srv     *simidentitystore.Server
	url     string
	client  *identitystore.Client
	storeID string
}

func newEnv(t testing.TB, o simidentitystore.Options) *env {
	t.Helper()
	srv := simidentitystore.New(o)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	cfg, err := awsclient.Config(context.Background(), awsclient.Options{Local: true, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	return &env{srv: srv, url: hs.URL, client: awsclient.IdentityStore(cfg, hs.URL), storeID: srv.AddIdentityStore()}
}

// seedUsers seeds n users named user0000… and returns their ids in order.
func (e *env) seedUsers(t testing.TB, n int) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range n {
		id, err := e.srv.SeedUser(e.storeID, simidentitystore.User{
			UserName: fmt.Sprintf("user%05d", i), GivenName: "Given", FamilyName: fmt.Sprintf("Family%05d", i),
			Email:       fmt.Sprintf("user%05d@example.com", i),
			ExternalIDs: []simidentitystore.ExternalID{{Issuer: "https://example.okta.com", ID: oktaID(i)}},
		})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = id
	}
	return ids
}

// oktaID is the Okta user id of seeded user i.
func oktaID(i int) string { return fmt.Sprintf("00u%017d", i) }
