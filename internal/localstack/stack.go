package localstack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/identitystore"
	"github.com/aws/aws-sdk-go-v2/service/identitystore/document"
	idstypes "github.com/aws/aws-sdk-go-v2/service/identitystore/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/idsync/idsync/consumers"
	cnapplier "github.com/idsync/idsync/consumers/connect"
	wmapplier "github.com/idsync/idsync/consumers/workmail"
	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/awsclient"
	"github.com/idsync/idsync/internal/lambdaenv"
	"github.com/idsync/idsync/internal/sim/simconnect"
	"github.com/idsync/idsync/internal/sim/simidentitystore"
	"github.com/idsync/idsync/internal/sim/simokta"
	"github.com/idsync/idsync/internal/sim/simworkmail"
	"github.com/idsync/idsync/producers/idcsnapshot"
	"github.com/idsync/idsync/producers/oktahook"
	"github.com/idsync/idsync/producers/publish"
	"github.com/idsync/idsync/store"
)

// Demo names seeded into the stand-ins.
const (
	WorkMailGroupName   = "workmail_users"
	ConnectGroupName    = "Amazon Connect Agents"
	SupervisorGroupName = "Amazon Connect Supervisors"
	MailDomain          = "example.com"
)

// Options configure a local stack.
type Options struct {
	// DynamoDBEndpoint and SQSEndpoint are the running engines (from
	// scripts/localaws). Both are required.
	DynamoDBEndpoint, SQSEndpoint string
	// Prefix names the tables and queues (default "idsync-local"). They are
	// recreated empty on every start.
	Prefix string
	// BasePort is the first of six consecutive loopback ports for the
	// WorkMail, Connect, IdentityStore, Okta stand-ins, the hook and spare;
	// 0 picks free ports.
	BasePort int
	// SnapshotInterval is how often the IdC snapshot runs (default 10 s).
	// Okta hooks carry ids and names only; the snapshot brings the profile
	// facts (first and last name) a Connect agent needs.
	SnapshotInterval time.Duration
	// MirrorLag delays the Okta stand-in's SCIM push into IdentityStore.
	MirrorLag time.Duration
	// RetryDelay is how long a failed record waits before it is delivered
	// again (default 2 s).
	RetryDelay time.Duration
	// Dir receives endpoints.env ("" writes nothing).
	Dir string
	// Log receives one line per event outcome and the stack's own lines.
	Log *slog.Logger
}

// Stack is a running local pipeline. Close stops everything it started.
type Stack struct {
	// Endpoints are the KEY=value pairs written to endpoints.env, in order.
	Endpoints [][2]string

	WorkMail      *simworkmail.Server
	Connect       *simconnect.Server
	IdentityStore *simidentitystore.Server
	Okta          *simokta.Server
	Store         *store.Store
	Config        domain.Config

	cancel  context.CancelFunc
	wg      sync.WaitGroup
	servers []*http.Server
}

// Endpoint returns one endpoint value by key ("" when unknown).
func (s *Stack) Endpoint(key string) string {
	for _, kv := range s.Endpoints {
		if kv[0] == key {
			return kv[1]
		}
	}
	return ""
}

func (s *Stack) set(key, value string) { s.Endpoints = append(s.Endpoints, [2]string{key, value}) }

// serve starts h on a loopback port (port 0: any free one) and returns its
// base URL.
func (s *Stack) serve(port int, h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return "", fmt.Errorf("listen on 127.0.0.1:%d: %w", port, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	s.servers = append(s.servers, srv)
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), nil
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

// Start brings the pipeline up: stand-ins, tables, queues, demo seed data,
// configuration, hook, consumers and snapshotter. On error everything
// started so far is stopped.
//
// Errors: missing engine endpoints; listen, seeding and AWS errors.
func Start(ctx context.Context, o Options) (_ *Stack, err error) {
	if o.DynamoDBEndpoint == "" || o.SQSEndpoint == "" {
		return nil, errors.New("localstack: DynamoDB and SQS endpoints are required (run scripts/localaws start)")
	}
	if o.Prefix == "" {
		o.Prefix = "idsync-local"
	}
	if o.SnapshotInterval == 0 {
		o.SnapshotInterval = 10 * time.Second
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s := &Stack{cancel: cancel}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()

	// Stand-ins.
	s.WorkMail = simworkmail.New(simworkmail.Options{})
	s.Connect = simconnect.New(simconnect.Options{})
	s.IdentityStore = simidentitystore.New(simidentitystore.Options{})
	wmURL, err := s.serve(port(o.BasePort, 0), s.WorkMail)
	if err != nil {
		return nil, err
	}
	cnURL, err := s.serve(port(o.BasePort, 1), s.Connect)
	if err != nil {
		return nil, err
	}
	idsURL, err := s.serve(port(o.BasePort, 2), s.IdentityStore)
	if err != nil {
		return nil, err
	}
	awsCfg, err := awsclient.Config(ctx, awsclient.Options{Local: true, MaxAttempts: 10, NoRetryRateLimit: true})
	if err != nil {
		return nil, err
	}
	ids := awsclient.IdentityStore(awsCfg, idsURL)
	storeID := s.IdentityStore.AddIdentityStore()

	oktaLn, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port(o.BasePort, 3)))
	if err != nil {
		return nil, fmt.Errorf("listen for the Okta stand-in: %w", err)
	}
	oktaURL := "http://" + oktaLn.Addr().String()
	token := "00" + randomHex(20)
	s.Okta = simokta.New(simokta.Options{OrgURL: oktaURL, APIToken: token, Mirror: ids, IdentityStoreID: storeID,
		MirrorLag: o.MirrorLag, Logger: o.Log.With("component", "okta-standin")})
	oktaSrv := &http.Server{Handler: s.Okta, ReadHeaderTimeout: 10 * time.Second}
	s.servers = append(s.servers, oktaSrv)
	go func() { _ = oktaSrv.Serve(oktaLn) }()

	// Demo organisation.
	orgID := s.WorkMail.AddOrganization("idsync-demo", MailDomain)
	instanceID := s.Connect.AddInstance("idsync-demo", "SAML")
	agentProfile := s.Connect.AddSecurityProfile(instanceID, "Agent")
	routing := s.Connect.AddRoutingProfile(instanceID, "Basic Routing Profile")
	supervisorProfile := s.Connect.AddSecurityProfile(instanceID, "Supervisor")
	supervisorRouting := s.Connect.AddRoutingProfile(instanceID, "Supervisor Routing Profile")
	wmGroup, err := s.Okta.CreateGroup(WorkMailGroupName, "Members get a WorkMail mailbox", true)
	if err != nil {
		return nil, fmt.Errorf("seed Okta group: %w", err)
	}
	cnGroup, err := s.Okta.CreateGroup(ConnectGroupName, "Members get an Amazon Connect agent", true)
	if err != nil {
		return nil, fmt.Errorf("seed Okta group: %w", err)
	}
	supGroup, err := s.Okta.CreateGroup(SupervisorGroupName, "Members get an Amazon Connect supervisor", true)
	if err != nil {
		return nil, fmt.Errorf("seed Okta group: %w", err)
	}
	for _, u := range []simokta.Profile{
		{Login: "ana.silva@" + MailDomain, Email: "ana.silva@" + MailDomain, FirstName: "Ana", LastName: "Silva"},
		{Login: "ben.okafor@" + MailDomain, Email: "ben.okafor@" + MailDomain, FirstName: "Ben", LastName: "Okafor"},
		{Login: "chen.wei@" + MailDomain, Email: "chen.wei@" + MailDomain, FirstName: "Chen", LastName: "Wei"},
	} {
		if _, err := s.Okta.CreateUser(u, true); err != nil {
			return nil, fmt.Errorf("seed Okta user: %w", err)
		}
	}
	if err := s.Okta.Flush(ctx); err != nil {
		return nil, fmt.Errorf("mirror seed into IdentityStore: %w", err)
	}
	idcWM, err := idcGroupID(ctx, ids, storeID, WorkMailGroupName)
	if err != nil {
		return nil, err
	}
	idcCN, err := idcGroupID(ctx, ids, storeID, ConnectGroupName)
	if err != nil {
		return nil, err
	}
	idcSup, err := idcGroupID(ctx, ids, storeID, SupervisorGroupName)
	if err != nil {
		return nil, err
	}
	s.Config, err = domain.ParseConfig(mustJSON(domain.Config{
		WorkMail: &domain.WorkMailConfig{OrganizationID: orgID, Groups: []domain.GroupRef{{OktaID: wmGroup, IdCID: idcWM, Name: WorkMailGroupName}}},
		Connect: &domain.ConnectConfig{InstanceID: instanceID, Groups: []domain.ConnectGroup{{
			GroupRef:           domain.GroupRef{OktaID: cnGroup, IdCID: idcCN, Name: ConnectGroupName},
			SecurityProfileIDs: []string{agentProfile}, RoutingProfileID: routing, Priority: 2,
		}, {
			GroupRef:           domain.GroupRef{OktaID: supGroup, IdCID: idcSup, Name: SupervisorGroupName},
			SecurityProfileIDs: []string{agentProfile, supervisorProfile}, RoutingProfileID: supervisorRouting, Priority: 1,
		}}},
		// No settle window locally: the Okta stand-in's push into
		// IdentityStore lags by MirrorLag (a second), far less than the
		// snapshot interval, and the demo should converge within seconds.
		Snapshot: domain.SnapshotConfig{IdentityStoreID: storeID},
	}))
	if err != nil {
		return nil, fmt.Errorf("demo configuration: %w", err)
	}

	// Tables and queues, recreated empty.
	db := awsclient.DynamoDB(awsCfg, o.DynamoDBEndpoint)
	stateTable, ledgerTable := o.Prefix+"-state", o.Prefix+"-ledger"
	if err := recreateTable(ctx, db, store.StateTableSpec().CreateTableInput(stateTable)); err != nil {
		return nil, err
	}
	if err := recreateTable(ctx, db, store.LedgerTableSpec().CreateTableInput(ledgerTable)); err != nil {
		return nil, err
	}
	sq := awsclient.SQS(awsCfg, o.SQSEndpoint)
	wmQ, err := recreateQueue(ctx, sq, o.Prefix+"-workmail")
	if err != nil {
		return nil, err
	}
	cnQ, err := recreateQueue(ctx, sq, o.Prefix+"-connect")
	if err != nil {
		return nil, err
	}
	s.Store, err = store.New(db, store.Options{StateTable: stateTable, LedgerTable: ledgerTable, NewID: lambdaenv.NewULID})
	if err != nil {
		return nil, err
	}
	pub := publish.New(sq, []string{wmQ.url, cnQ.url})

	// The hook, registered and verified in the Okta org.
	secret := "hook-" + randomHex(16)
	hook := oktahook.New(oktahook.Config{GroupMapped: s.Config.GroupMapped},
		oktahook.NewSecretCache(oktahook.Static(oktahook.Secrets{Current: secret}), time.Hour, time.Now),
		s.Store, pub, o.Log.With("component", "oktahook"), nil, time.Now)
	hookBase, err := s.serve(port(o.BasePort, 4), hook)
	if err != nil {
		return nil, err
	}
	hookURL := hookBase + "/okta/events"
	hookID, err := s.Okta.CreateEventHook("idsync", hookURL, oktahook.DefaultAuthHeader, secret, hookEventTypes()...)
	if err != nil {
		return nil, fmt.Errorf("register event hook: %w", err)
	}
	if err := s.Okta.VerifyEventHook(ctx, hookID); err != nil {
		return nil, fmt.Errorf("verify event hook: %w", err)
	}

	// Consumers, polled as Lambda's event source mapping would.
	wmMeter := awsclient.NewMeter(awsclient.MeterOptions{Quota: wmapplier.DefaultQuota()})
	wm, err := wmapplier.New(wmapplier.Options{API: awsclient.WorkMail(awsCfg, wmURL, wmMeter.Install), Config: *s.Config.WorkMail,
		Logger: o.Log.With("component", "workmail")})
	if err != nil {
		return nil, err
	}
	cnMeter := awsclient.NewMeter(awsclient.MeterOptions{Quota: cnapplier.DefaultQuota()})
	cn, err := cnapplier.New(cnapplier.Options{API: awsclient.Connect(awsCfg, cnURL, cnMeter.Install), Config: *s.Config.Connect,
		Logger: o.Log.With("component", "connect")})
	if err != nil {
		return nil, err
	}
	for _, c := range []struct {
		target consumers.Target
		q      queue
	}{{wm, wmQ}, {cn, cnQ}} {
		runner, err := consumers.NewRunner(consumers.RunnerOptions{Target: c.target, Store: s.Store, DLQ: sq, DLQURL: c.q.dlqURL,
			Logger: o.Log.With("component", "consumer-"+string(c.target.Name())), Clock: time.Now, NewID: lambdaenv.NewULID})
		if err != nil {
			return nil, err
		}
		p := &Poller{SQS: sq, QueueURL: c.q.url, QueueARN: c.q.arn, Region: awsCfg.Region, Handler: runner.Handle,
			RetryDelay: o.RetryDelay, Log: o.Log}
		s.wg.Add(1)
		go func() { defer s.wg.Done(); _ = p.Run(runCtx) }()
	}

	// The snapshotter on a ticker.
	snap, err := idcsnapshot.New(s.Config, ids, s.Store, pub, idcsnapshot.NewLease(db, stateTable, idcsnapshot.LeaseOptions{}),
		idcsnapshot.Options{Logger: o.Log.With("component", "idcsnapshot")})
	if err != nil {
		return nil, err
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(o.SnapshotInterval)
		defer t.Stop()
		for {
			select {
			case <-runCtx.Done():
				return
			case <-t.C:
				if _, err := snap.Run(runCtx); err != nil && runCtx.Err() == nil {
					o.Log.Warn("snapshot run failed", "err", err.Error())
				}
			}
		}
	}()

	for _, kv := range [][2]string{
		{"HOOK_URL", hookURL}, {"HOOK_AUTH_HEADER", oktahook.DefaultAuthHeader}, {"HOOK_SECRET", secret},
		{"OKTA_ORG_URL", oktaURL}, {"OKTA_API_TOKEN", token},
		{"DYNAMODB_ENDPOINT", o.DynamoDBEndpoint}, {"SQS_ENDPOINT", o.SQSEndpoint},
		{"WORKMAIL_ENDPOINT", wmURL}, {"CONNECT_ENDPOINT", cnURL}, {"IDENTITYSTORE_ENDPOINT", idsURL},
		{"WORKMAIL_ORGANIZATION_ID", orgID}, {"CONNECT_INSTANCE_ID", instanceID}, {"IDENTITY_STORE_ID", storeID},
		{"STATE_TABLE", stateTable}, {"LEDGER_TABLE", ledgerTable},
		{"WORKMAIL_QUEUE_URL", wmQ.url}, {"WORKMAIL_DLQ_URL", wmQ.dlqURL},
		{"CONNECT_QUEUE_URL", cnQ.url}, {"CONNECT_DLQ_URL", cnQ.dlqURL},
		{"OKTA_WORKMAIL_GROUP_ID", wmGroup}, {"OKTA_CONNECT_GROUP_ID", cnGroup}, {"OKTA_SUPERVISOR_GROUP_ID", supGroup},
		{"IDC_WORKMAIL_GROUP_ID", idcWM}, {"IDC_CONNECT_GROUP_ID", idcCN}, {"IDC_SUPERVISOR_GROUP_ID", idcSup},
		{"IDSYNC_LOCAL", "true"}, {"AWS_REGION", awsCfg.Region}, {"AWS_DEFAULT_REGION", awsCfg.Region},
		{"AWS_ACCESS_KEY_ID", "local"}, {"AWS_SECRET_ACCESS_KEY", "local"},
	} {
		s.set(kv[0], kv[1])
	}
	if o.Dir != "" {
		if err := s.writeEnv(filepath.Join(o.Dir, "endpoints.env")); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Close stops the consumers, the snapshotter and every server. It is
// idempotent.
func (s *Stack) Close() {
	s.cancel()
	s.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, srv := range s.servers {
		_ = srv.Shutdown(ctx)
	}
	s.servers = nil
	if s.Okta != nil {
		s.Okta.Close()
	}
}

func (s *Stack) writeEnv(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("write endpoints: %w", err)
	}
	var b strings.Builder
	b.WriteString("# written by idsync local; KEY=value lines\n")
	for _, kv := range s.Endpoints {
		fmt.Fprintf(&b, "%s=%s\n", kv[0], kv[1])
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("write endpoints: %w", err)
	}
	return nil
}

// hookEventTypes are the Okta event types idsync subscribes to.
func hookEventTypes() []string {
	return []string{
		domain.OktaGroupMemberAdd, domain.OktaGroupMemberRemove, domain.OktaUserDeactivate, domain.OktaUserSuspend,
		domain.OktaUserUnsuspend, domain.OktaUserReactivate, domain.OktaUserDeleteInitiated, domain.OktaUserUpdateProfile,
		domain.OktaUserCreate, domain.OktaUserActivate,
	}
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

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return []byte("null")
	}
	return b
}

func recreateTable(ctx context.Context, db *dynamodb.Client, in *dynamodb.CreateTableInput) error {
	_, err := db.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: in.TableName})
	var nf *ddbtypes.ResourceNotFoundException
	if err != nil && !errors.As(err, &nf) {
		return fmt.Errorf("delete table %s: %w", aws.ToString(in.TableName), err)
	}
	if _, err := db.CreateTable(ctx, in); err != nil {
		return fmt.Errorf("create table %s: %w", aws.ToString(in.TableName), err)
	}
	w := dynamodb.NewTableExistsWaiter(db)
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: in.TableName}, 30*time.Second); err != nil {
		return fmt.Errorf("wait for table %s: %w", aws.ToString(in.TableName), err)
	}
	return nil
}

type queue struct{ url, arn, dlqURL string }

// recreateQueue makes an empty FIFO queue and its FIFO DLQ (after 5
// receives), with the visibility timeout the poller uses.
func recreateQueue(ctx context.Context, sq *sqs.Client, name string) (queue, error) {
	create := func(name string, attrs map[string]string) (string, string, error) {
		if out, err := sq.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)}); err == nil {
			if _, err := sq.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: out.QueueUrl}); err != nil {
				return "", "", fmt.Errorf("delete queue %s: %w", name, err)
			}
		}
		attrs[string(sqstypes.QueueAttributeNameFifoQueue)] = "true"
		out, err := sq.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
		if err != nil {
			return "", "", fmt.Errorf("create queue %s: %w", name, err)
		}
		got, err := sq.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: out.QueueUrl,
			AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
		if err != nil {
			return "", "", fmt.Errorf("queue attributes %s: %w", name, err)
		}
		return aws.ToString(out.QueueUrl), got.Attributes[string(sqstypes.QueueAttributeNameQueueArn)], nil
	}
	var q queue
	dlqURL, dlqARN, err := create(name+"-dlq.fifo", map[string]string{"MessageRetentionPeriod": "1209600"})
	if err != nil {
		return q, err
	}
	q.dlqURL = dlqURL
	q.url, q.arn, err = create(name+".fifo", map[string]string{
		string(sqstypes.QueueAttributeNameRedrivePolicy):     fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":"5"}`, dlqARN),
		string(sqstypes.QueueAttributeNameVisibilityTimeout): "180",
	})
	return q, err
}
