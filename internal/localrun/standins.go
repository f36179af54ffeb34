package localrun

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/identitystore"
	"github.com/aws/aws-sdk-go-v2/service/identitystore/document"
	idstypes "github.com/aws/aws-sdk-go-v2/service/identitystore/types"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin"
	ssotypes "github.com/aws/aws-sdk-go-v2/service/ssoadmin/types"
	"github.com/aws/aws-sdk-go-v2/service/workmail"
	wmtypes "github.com/aws/aws-sdk-go-v2/service/workmail/types"
	"github.com/go-jose/go-jose/v4"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/awsclient"
	"github.com/idsync/idsync/internal/oktaapi"
	"github.com/idsync/idsync/internal/sim/simconnect"
	"github.com/idsync/idsync/internal/sim/simidentitystore"
	"github.com/idsync/idsync/internal/sim/simokta"
	"github.com/idsync/idsync/internal/sim/simssoadmin"
	"github.com/idsync/idsync/internal/sim/simworkmail"
)

// Demo names seeded into the stand-ins.
const (
	WorkMailGroupName   = "workmail_users"
	ConnectGroupName    = "Amazon Connect Agents"
	SupervisorGroupName = "Amazon Connect Supervisors"
	MailDomain          = "example.com"
)

// WorkMailProviderARN is the application provider the demo's WorkMail
// application in IAM Identity Center names.
const WorkMailProviderARN = "arn:aws:sso::aws:applicationProvider/workmail"

// demo is the seeded organisation: the stand-ins' ids and the matching
// configuration.
type demo struct {
	orgID, instanceID, storeID string
	idcInstanceArn, appArn     string
	oktaGroups, idcGroups      [3]string // workmail, connect, supervisors
	config                     domain.Config
}

// servers keeps the HTTP servers a stack started.
type servers []*http.Server

// serve starts h on a loopback port (port 0: any free one) and returns its
// base URL.
func (s *servers) serve(port int, h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return "", fmt.Errorf("listen on 127.0.0.1:%d: %w", port, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	*s = append(*s, srv)
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), nil
}

func (s *servers) shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, srv := range *s {
		_ = srv.Shutdown(ctx)
	}
	*s = nil
}

func port(base, i int) int {
	if base == 0 {
		return 0
	}
	return base + i
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// startStandIns starts the WorkMail, Connect, IdentityStore, Okta and SSO
// Admin stand-ins on ports o.BasePort+0…3 and +5 and records their
// endpoints in s. With o.RequireIdCAssignment, WorkMail asks SSO Admin and
// IdentityStore whether an IAM Identity Center user may be linked to a
// mailbox, as WorkMail does.
func (s *Stack) startStandIns(o Options, ids func(url string) *identitystore.Client) error {
	s.IdentityStore = simidentitystore.New(simidentitystore.Options{})
	s.SSOAdmin = simssoadmin.New(simssoadmin.Options{Principals: s.IdentityStore})
	wo := simworkmail.Options{}
	if o.RequireIdCAssignment {
		wo.IdentityCenter = s.SSOAdmin.AssignmentChecker(s.IdentityStore)
	}
	s.WorkMail = simworkmail.New(wo)
	s.Connect = simconnect.New(simconnect.Options{})
	var err error
	if s.urls.workmail, err = s.servers.serve(port(o.BasePort, 0), s.WorkMail); err != nil {
		return err
	}
	if s.urls.connect, err = s.servers.serve(port(o.BasePort, 1), s.Connect); err != nil {
		return err
	}
	if s.urls.identityStore, err = s.servers.serve(port(o.BasePort, 2), s.IdentityStore); err != nil {
		return err
	}
	if s.urls.ssoAdmin, err = s.servers.serve(port(o.BasePort, 5), s.SSOAdmin); err != nil {
		return err
	}
	s.storeID = s.IdentityStore.AddIdentityStore()
	oktaLn, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port(o.BasePort, 3)))
	if err != nil {
		return fmt.Errorf("listen for the Okta stand-in: %w", err)
	}
	s.urls.okta = "http://" + oktaLn.Addr().String()
	s.oktaToken = "00" + randomHex(20)
	s.Okta = simokta.New(simokta.Options{OrgURL: s.urls.okta, APIToken: s.oktaToken,
		Mirror: ids(s.urls.identityStore), IdentityStoreID: s.storeID,
		MirrorLag: o.MirrorLag, Clock: o.OktaClock, Logger: o.Log.With("component", "okta-standin"),
		Seed: o.Seed, Faults: o.HookFaults})
	oktaSrv := &http.Server{Handler: s.Okta, ReadHeaderTimeout: 10 * time.Second}
	s.servers = append(s.servers, oktaSrv)
	go func() { _ = oktaSrv.Serve(oktaLn) }()
	return nil
}

// seedDemo creates the demo organisation in the stand-ins: the IAM
// Identity Center instance with its WorkMail application, the WorkMail
// organisation linked to it, the Connect instance with agent and
// supervisor profiles, three Okta users and three groups pushed to
// IdentityStore, the WorkMail group assigned to the WorkMail application,
// and the configuration mapping them.
func (s *Stack) seedDemo(ctx context.Context, awsCfg aws.Config, ids *identitystore.Client, configure func(*domain.Config)) (demo, error) {
	d := demo{storeID: s.storeID}
	d.idcInstanceArn = s.SSOAdmin.AddInstance(s.storeID)
	d.appArn = s.SSOAdmin.AddApplication(d.idcInstanceArn, "Amazon WorkMail", WorkMailProviderARN)
	d.orgID = s.WorkMail.AddOrganization("idsync-demo", MailDomain)
	if err := s.WorkMail.SetIdentityStoreID(d.orgID, s.storeID); err != nil {
		return d, fmt.Errorf("seed WorkMail: %w", err)
	}
	if _, err := awsclient.WorkMail(awsCfg, s.urls.workmail).PutIdentityProviderConfiguration(ctx, &workmail.PutIdentityProviderConfigurationInput{
		OrganizationId:     aws.String(d.orgID),
		AuthenticationMode: wmtypes.IdentityProviderAuthenticationModeIdentityProviderAndDirectory,
		IdentityCenterConfiguration: &wmtypes.IdentityCenterConfiguration{
			InstanceArn: aws.String(d.idcInstanceArn), ApplicationArn: aws.String(d.appArn),
		},
		PersonalAccessTokenConfiguration: &wmtypes.PersonalAccessTokenConfiguration{Status: wmtypes.PersonalAccessTokenConfigurationStatusInactive},
	}); err != nil {
		return d, fmt.Errorf("link WorkMail to IAM Identity Center: %w", err)
	}
	d.instanceID = s.Connect.AddInstance("idsync-demo", "SAML")
	agentProfile := s.Connect.AddSecurityProfile(d.instanceID, "Agent")
	routing := s.Connect.AddRoutingProfile(d.instanceID, "Basic Routing Profile")
	supervisorProfile := s.Connect.AddSecurityProfile(d.instanceID, "Supervisor")
	supervisorRouting := s.Connect.AddRoutingProfile(d.instanceID, "Supervisor Routing Profile")
	for i, g := range []struct{ name, desc string }{
		{WorkMailGroupName, "Members get a WorkMail mailbox"},
		{ConnectGroupName, "Members get an Amazon Connect agent"},
		{SupervisorGroupName, "Members get an Amazon Connect supervisor"},
	} {
		id, err := s.Okta.CreateGroup(g.name, g.desc, true)
		if err != nil {
			return d, fmt.Errorf("seed Okta group: %w", err)
		}
		d.oktaGroups[i] = id
	}
	for _, u := range []simokta.Profile{
		{Login: "ana.silva@" + MailDomain, Email: "ana.silva@" + MailDomain, FirstName: "Ana", LastName: "Silva"},
		{Login: "ben.okafor@" + MailDomain, Email: "ben.okafor@" + MailDomain, FirstName: "Ben", LastName: "Okafor"},
		{Login: "chen.wei@" + MailDomain, Email: "chen.wei@" + MailDomain, FirstName: "Chen", LastName: "Wei"},
	} {
		if _, err := s.Okta.CreateUser(u, true); err != nil {
			return d, fmt.Errorf("seed Okta user: %w", err)
		}
	}
	if err := s.Okta.Flush(ctx); err != nil {
		return d, fmt.Errorf("mirror seed into IdentityStore: %w", err)
	}
	for i, name := range []string{WorkMailGroupName, ConnectGroupName, SupervisorGroupName} {
		id, err := idcGroupID(ctx, ids, d.storeID, name)
		if err != nil {
			return d, err
		}
		d.idcGroups[i] = id
	}
	if _, err := awsclient.SSOAdmin(awsCfg, s.urls.ssoAdmin).CreateApplicationAssignment(ctx, &ssoadmin.CreateApplicationAssignmentInput{
		ApplicationArn: aws.String(d.appArn), PrincipalId: aws.String(d.idcGroups[0]), PrincipalType: ssotypes.PrincipalTypeGroup,
	}); err != nil {
		return d, fmt.Errorf("assign %s to the WorkMail application: %w", WorkMailGroupName, err)
	}
	ref := func(i int, name string) domain.GroupRef {
		return domain.GroupRef{OktaID: d.oktaGroups[i], IdCID: d.idcGroups[i], Name: name}
	}
	cfg := domain.Config{
		WorkMail: &domain.WorkMailConfig{OrganizationID: d.orgID, Groups: []domain.GroupRef{ref(0, WorkMailGroupName)}},
		Connect: &domain.ConnectConfig{InstanceID: d.instanceID, Groups: []domain.ConnectGroup{{
			GroupRef: ref(1, ConnectGroupName), SecurityProfileIDs: []string{agentProfile}, RoutingProfileID: routing, Priority: 2,
		}, {
			GroupRef:           ref(2, SupervisorGroupName),
			SecurityProfileIDs: []string{agentProfile, supervisorProfile}, RoutingProfileID: supervisorRouting, Priority: 1,
		}}},
		Snapshot: domain.SnapshotConfig{IdentityStoreID: d.storeID, SettleWindow: domain.Duration(domain.DefaultSettleWindow)},
	}
	cfg.WorkMail.IdentityCenter = domain.WorkMailIdentityCenter{InstanceARN: d.idcInstanceArn, ApplicationARN: d.appArn}
	if configure != nil {
		configure(&cfg)
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		return d, fmt.Errorf("demo configuration: %w", err)
	}
	if d.config, err = domain.ParseConfig(b); err != nil {
		return d, fmt.Errorf("demo configuration: %w", err)
	}
	return d, nil
}

func idcGroupID(ctx context.Context, ids *identitystore.Client, storeID, name string) (string, error) {
	out, err := ids.GetGroupId(ctx, &identitystore.GetGroupIdInput{
		IdentityStoreId: aws.String(storeID),
		AlternateIdentifier: &idstypes.AlternateIdentifierMemberUniqueAttribute{Value: idstypes.UniqueAttribute{
			AttributePath: aws.String("displayName"), AttributeValue: document.NewLazyDocument(name),
		}},
	})
	if err != nil {
		return "", fmt.Errorf("find IdC group %q: %w", name, err)
	}
	return aws.ToString(out.GroupId), nil
}

// discard is a logger that writes nothing.
func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// registerServiceApp registers an OAuth 2.0 API service app for idsync in
// the Okta stand-in, as an admin sets one up for the Users API: a key pair
// generated here (ES256, the public key registered with a kid), the
// okta.users.read scope, a read-only admin role and DPoP not required. It
// returns the credentials document (oktaapi.ParseCredentials) the
// consumers read: one line of JSON holding the private key.
//
// Errors: key generation, registration.
func (s *Stack) registerServiceApp() (string, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", fmt.Errorf("the Okta service app's key: %w", err)
	}
	kid := "idsync-local-" + randomHex(4)
	jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: kid, Algorithm: string(jose.ES256), Use: "sig"}}})
	if err != nil {
		return "", fmt.Errorf("the Okta service app's key: %w", err)
	}
	clientID, err := s.Okta.RegisterServiceApp(simokta.ServiceApp{JWKS: jwks, Scopes: []string{oktaapi.ScopeUsersRead},
		AdminRoles: []string{simokta.RoleReadOnlyAdmin}})
	if err != nil {
		return "", fmt.Errorf("register the Okta service app: %w", err)
	}
	private, err := jose.JSONWebKey{Key: key, KeyID: kid, Algorithm: string(jose.ES256), Use: "sig"}.MarshalJSON()
	if err != nil {
		return "", fmt.Errorf("the Okta service app's key: %w", err)
	}
	doc, err := json.Marshal(map[string]any{"orgUrl": s.urls.okta, "clientId": clientID, "keyId": kid,
		"privateKeyJwk": json.RawMessage(private), "scopes": []string{oktaapi.ScopeUsersRead}})
	if err != nil {
		return "", fmt.Errorf("the Okta service app's credentials: %w", err)
	}
	return string(doc), nil
}
