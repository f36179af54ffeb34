package app_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/workmail"
	wmtypes "github.com/aws/aws-sdk-go-v2/service/workmail/types"

	"github.com/idsync/idsync/consumers/workmail"
	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/app"
	"github.com/idsync/idsync/internal/awsclient"
	"github.com/idsync/idsync/internal/enrich"
	"github.com/idsync/idsync/internal/settings"
	"github.com/idsync/idsync/internal/sim/simworkmail"
)

// connectWithoutIdC is a configuration whose Connect group has only an
// Okta group id: its members' names can come from Okta's Users API only.
func connectWithoutIdC(t *testing.T) domain.Config {
	t.Helper()
	cfg, err := domain.ParseConfig([]byte(`{
	  "snapshot": {"identityStoreId": "d-1234567890"},
	  "connect": {"instanceId": "4f1c2e3d-5a6b-4c7d-8e9f-0a1b2c3d4e5f", "groups": [
	    {"oktaId": "00g1agents00000000000", "name": "Agents", "securityProfileIds": ["sp-1"], "routingProfileId": "rp-1", "priority": 1}]}
	}`))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func newApp(t *testing.T, s settings.Settings) *app.App {
	t.Helper()
	s.StateTable, s.LedgerTable, s.Local, s.Region = "state", "ledger", true, "eu-west-1"
	if s.Queues == nil {
		s.Queues = map[domain.Target]settings.Queue{domain.TargetConnect: {URL: "http://127.0.0.1:1/q", DLQURL: "http://127.0.0.1:1/dlq"}}
	}
	s.Hook = settings.HookSecret{Value: "local", Header: settings.DefaultAuthHeader}
	a, err := app.New(context.Background(), app.Options{Settings: s, Component: settings.Consumer})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestConnectGroupWithoutIdCNeedsOktaAPI: the hook and the consumers
// refuse to start with a Connect group that has no IdC group while there
// is no Okta API access (its members would keep provisional names
// forever), naming the group and the settings that would fix it; with
// Okta API access they start.
func TestConnectGroupWithoutIdCNeedsOktaAPI(t *testing.T) {
	cfg := connectWithoutIdC(t)
	refused := newApp(t, settings.Settings{Config: cfg, HasConfig: true})
	for what, build := range map[string]func() error{
		"hook":     func() error { _, err := refused.Hook(); return err },
		"consumer": func() error { _, err := refused.Runner(domain.TargetConnect); return err },
	} {
		err := build()
		if !errors.Is(err, app.ErrInvalid) || !errors.Is(err, enrich.ErrInvalid) || domain.KindOf(err) != domain.ErrorPermanent {
			t.Fatalf("%s: err = %v, want ErrInvalid wrapping enrich.ErrInvalid", what, err)
		}
		for _, want := range []string{"connect.groups[0]", "00g1agents00000000000", settings.EnvOktaAPISecretID} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: error %q does not name %s", what, err, want)
			}
		}
	}

	allowed := newApp(t, settings.Settings{Config: cfg, HasConfig: true,
		OktaUsers: settings.OktaAPIAccess{SecretID: "idsync/okta-api"}})
	if err := allowed.CheckConfig(); err != nil {
		t.Fatalf("with Okta API access: %v", err)
	}
	if _, err := allowed.Hook(); err != nil {
		t.Errorf("hook with Okta API access: %v", err)
	}
	if _, err := allowed.Runner(domain.TargetConnect); err != nil {
		t.Errorf("consumer with Okta API access: %v", err)
	}
}

// TestLocalOktaCredentialsAreChecked: plain local Okta API credentials
// that do not parse stop the Connect consumer from starting, naming the
// variable, never the value.
func TestLocalOktaCredentialsAreChecked(t *testing.T) {
	cfg := connectWithoutIdC(t)
	a := newApp(t, settings.Settings{Config: cfg, HasConfig: true,
		OktaUsers: settings.OktaAPIAccess{Value: `{"orgUrl":"https://example.okta.com","ssws":"s3cr3t-token","clientId":"0oa1"}`}})
	_, err := a.Runner(domain.TargetConnect)
	if !errors.Is(err, app.ErrInvalid) || !strings.Contains(err.Error(), settings.EnvOktaAPISecret) {
		t.Fatalf("err = %v, want ErrInvalid naming %s", err, settings.EnvOktaAPISecret)
	}
	if strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("error %q shows the token", err)
	}
}

// TestWorkMailConsumerChecksIdentityCenterAtColdStart: with
// workmail.identityCenter configured, a WorkMail consumer whose
// organisation is not linked to IAM Identity Center does not start, and
// says so; linked to the configured instance and application, it starts.
func TestWorkMailConsumerChecksIdentityCenterAtColdStart(t *testing.T) {
	sim := simworkmail.New(simworkmail.Options{})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	org := sim.AddOrganization("idsync-test", "example.com")
	const (
		instance    = "arn:aws:sso:::instance/ssoins-7223a1b2c3d4e5f6"
		application = "arn:aws:sso::123456789012:application/ssoins-7223a1b2c3d4e5f6/apl-0a1b2c3d4e5f6a7b"
	)
	cfg, err := domain.ParseConfig([]byte(`{"snapshot": {"identityStoreId": "d-1234567890"},
	  "workmail": {"organizationId": "` + org + `", "groups": [{"oktaId": "00g1mail000000000000", "idcId": "9067c53e4f-1111"}],
	    "identityCenter": {"instanceArn": "` + instance + `", "applicationArn": "` + application + `"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	s := settings.Settings{Config: cfg, HasConfig: true, Endpoints: settings.Endpoints{WorkMail: srv.URL}}
	s.Queues = map[domain.Target]settings.Queue{domain.TargetWorkMail: {URL: "http://127.0.0.1:1/q", DLQURL: "http://127.0.0.1:1/dlq"}}
	a := newApp(t, s)
	_, err = a.Runner(domain.TargetWorkMail)
	if !errors.Is(err, app.ErrInvalid) || !errors.Is(err, workmail.ErrIdentityCenter) || !strings.Contains(err.Error(), "not linked to IAM Identity Center") {
		t.Fatalf("err = %v, want ErrInvalid wrapping workmail.ErrIdentityCenter saying the organisation is not linked", err)
	}

	cl, err := awsclient.Config(context.Background(), awsclient.Options{Local: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := awsclient.WorkMail(cl, srv.URL).PutIdentityProviderConfiguration(context.Background(), &sdk.PutIdentityProviderConfigurationInput{
		OrganizationId:                   aws.String(org),
		AuthenticationMode:               wmtypes.IdentityProviderAuthenticationModeIdentityProviderAndDirectory,
		IdentityCenterConfiguration:      &wmtypes.IdentityCenterConfiguration{InstanceArn: aws.String(instance), ApplicationArn: aws.String(application)},
		PersonalAccessTokenConfiguration: &wmtypes.PersonalAccessTokenConfiguration{Status: wmtypes.PersonalAccessTokenConfigurationStatusInactive},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := newApp(t, s).Runner(domain.TargetWorkMail); err != nil {
		t.Fatalf("linked organisation: %v", err)
	}
}
