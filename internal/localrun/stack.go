package localrun

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/identitystore"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/idsync/idsync/consumers"
	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/app"
	"github.com/idsync/idsync/internal/awsclient"
	"github.com/idsync/idsync/internal/settings"
	"github.com/idsync/idsync/internal/sim/simconnect"
	"github.com/idsync/idsync/internal/sim/simidentitystore"
	"github.com/idsync/idsync/internal/sim/simokta"
	"github.com/idsync/idsync/internal/sim/simssoadmin"
	"github.com/idsync/idsync/internal/sim/simworkmail"
	"github.com/idsync/idsync/store"
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
	// WorkMail, Connect, IdentityStore, Okta stand-ins, the hook and the SSO
	// Admin stand-in; 0 picks free ports.
	BasePort int
	// SnapshotEvery is how often the IdC snapshot runs; 0 never runs it on
	// a schedule (the hook path alone).
	SnapshotEvery time.Duration
	// MirrorLag delays the Okta stand-in's SCIM push into IdentityStore.
	MirrorLag time.Duration
	// OktaClock is the Okta stand-in's clock (default time.Now): its
	// users' and events' times, its answers' Date and its per-minute
	// rate-limit windows.
	OktaClock func() time.Time
	// RetryDelay is how long a failed record waits before it is delivered
	// again (default 2 s).
	RetryDelay time.Duration
	// ConsumerConcurrency is how many batches of a target's queue are
	// handled at once (default 2, the deployed stack's maxConcurrency):
	// Lambda runs that many instances, each on message groups the others
	// do not hold.
	ConsumerConcurrency int
	// Dir receives endpoints.env and config.json ("" writes nothing).
	Dir string
	// RequireIdCAssignment makes the WorkMail stand-in refuse, as WorkMail
	// does, to link a mailbox to an IAM Identity Center user who is not
	// assigned (directly or through a group) to its IdC application. The
	// demo's WorkMail group is assigned; facts about IdC users the stand-in
	// does not hold are then refused. Off by default; make run turns it on.
	RequireIdCAssignment bool
	// NoOktaAPI leaves the consumers and the snapshot without Okta API
	// access: Connect agents then get provisional names split from the
	// hook's display name until a snapshot brings the real ones, and a
	// lifecycle change whose hook deliveries are lost is never repaired
	// (the snapshot reconciles statuses with Okta's non-active users only
	// with access). By default a service app is registered in the Okta
	// stand-in (a generated key, okta.users.read, a read-only admin role)
	// and its credentials given to the consumers and the snapshot
	// (settings.OktaAPIAccess, local value).
	NoOktaAPI bool
	// Rates are the targets' client-side request rates (requests/s;
	// settings.RateVar), for the consumers; a target not listed keeps its
	// default quota.
	Rates map[domain.Target]float64
	// Log receives idsync's JSON log lines and the stand-ins'.
	Log *slog.Logger
	// Metrics receives EMF records (nil: none).
	Metrics io.Writer
	// HookFaults are the Okta stand-in's event hook delivery faults
	// (duplicates, reordering, drops); the zero value delivers every event
	// once, in order. `idsync local` starts with DefaultHookFaults.
	HookFaults simokta.HookFaults
	// Seed seeds the Okta stand-in (ids, event uuids, delivery faults) and
	// the consumer crashes, so a run repeats.
	Seed uint64
	// ConsumerCrashRate is the share of consumer invocations that crash
	// between a target call and its commit (the commit and every later
	// write of the invocation are lost; the batch comes back). Zero: none.
	ConsumerCrashRate float64
	// Configure, when set, adjusts the demo configuration before it is
	// validated (a chaos run raises the removal limits and shortens the
	// settle window).
	Configure func(*domain.Config)
}

// Stack is a running local pipeline. Close stops everything it started.
type Stack struct {
	// Endpoints are the KEY=value pairs written to endpoints.env, in order.
	Endpoints [][2]string
	// Settings are the settings every component was built from.
	Settings settings.Settings

	WorkMail      *simworkmail.Server
	Connect       *simconnect.Server
	IdentityStore *simidentitystore.Server
	Okta          *simokta.Server
	SSOAdmin      *simssoadmin.Server
	Store         *store.Store
	Config        domain.Config

	urls struct {
		workmail, connect, identityStore, okta, ssoAdmin string
	}
	storeID   string
	oktaToken string

	gate    *queueGate
	crasher *crasher
	handled atomic.Int64

	cancel  context.CancelFunc
	wg      sync.WaitGroup
	servers servers
}

// SetQueueUnavailable makes target t's queue refuse every send from the
// stack's components (down) or accept them again, as an SQS outage of
// that one queue would; receives go on. It is safe for concurrent use.
func (s *Stack) SetQueueUnavailable(t domain.Target, down bool) {
	s.gate.set(s.Settings.Queues[t].URL, down)
}

// Handled counts the queue messages the consumers were handed (every
// receive, redeliveries included).
func (s *Stack) Handled() int64 { return s.handled.Load() }

// Faults counts what the stack injected itself: sends refused by a queue
// made unavailable, and consumer invocations crashed between a target call
// and its commit.
func (s *Stack) Faults() (refusedSends, crashes int64) {
	if s.crasher != nil {
		crashes = s.crasher.crashes.Load()
	}
	return s.gate.refused.Load(), crashes
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

// Start brings the pipeline up: stand-ins, tables, queues, demo seed data,
// configuration, hook, consumers and snapshotter. On error everything
// started so far is stopped.
//
// Errors: missing engine endpoints; listen, seeding, AWS and app errors.
func Start(ctx context.Context, o Options) (_ *Stack, err error) {
	if o.DynamoDBEndpoint == "" || o.SQSEndpoint == "" {
		return nil, errors.New("localrun: DynamoDB and SQS endpoints are required (run scripts/localaws start)")
	}
	if o.Prefix == "" {
		o.Prefix = "idsync-local"
	}
	if o.Log == nil {
		o.Log = discard()
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s := &Stack{cancel: cancel, gate: &queueGate{}}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()

	awsCfg, err := awsclient.Config(ctx, awsclient.Options{Local: true, MaxAttempts: 10, NoRetryRateLimit: true})
	if err != nil {
		return nil, err
	}
	idsClient := func(url string) *identitystore.Client { return awsclient.IdentityStore(awsCfg, url) }
	if err := s.startStandIns(o, idsClient); err != nil {
		return nil, err
	}
	d, err := s.seedDemo(ctx, awsCfg, idsClient(s.urls.identityStore), o.Configure)
	if err != nil {
		return nil, err
	}
	s.Config = d.config

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
	queues := map[domain.Target]settings.Queue{}
	arns := map[domain.Target]string{}
	for _, t := range settings.Targets(s.Config) {
		q, err := recreateQueue(ctx, sq, o.Prefix+"-"+string(t))
		if err != nil {
			return nil, err
		}
		queues[t], arns[t] = settings.Queue{URL: q.url, DLQURL: q.dlqURL}, q.arn
	}

	secret := "hook-" + randomHex(16)
	s.Settings = settings.Settings{
		Config: s.Config, HasConfig: true, StateTable: stateTable, LedgerTable: ledgerTable,
		Local: true, Region: awsCfg.Region, Queues: queues, DryRun: s.Config.DryRun, Rates: map[domain.Target]float64{},
		Endpoints: settings.Endpoints{DynamoDB: o.DynamoDBEndpoint, SQS: o.SQSEndpoint,
			WorkMail: s.urls.workmail, Connect: s.urls.connect, IdentityStore: s.urls.identityStore, SSOAdmin: s.urls.ssoAdmin},
		Hook: settings.HookSecret{Value: secret, Header: settings.DefaultAuthHeader, TTL: time.Hour},
	}
	for t, r := range o.Rates {
		s.Settings.Rates[t] = r
	}
	if !o.NoOktaAPI {
		creds, err := s.registerServiceApp()
		if err != nil {
			return nil, err
		}
		s.Settings.OktaUsers = settings.OktaAPIAccess{Value: creds}
	}
	build := func(c settings.Component) (*app.App, error) {
		ao := app.Options{Settings: s.Settings, Component: c, Logger: o.Log, Metrics: o.Metrics, WrapHTTPClient: s.gate.wrap}
		if c == settings.Consumer && o.ConsumerCrashRate > 0 {
			ao.WrapConsumerStore = func(_ domain.Target, st consumers.Store) consumers.Store { return crashStore{st} }
		}
		return app.New(ctx, ao)
	}

	// The hook, registered and verified in the Okta org.
	hookApp, err := build(settings.Hook)
	if err != nil {
		return nil, err
	}
	s.Store = hookApp.Store
	hook, err := hookApp.Hook()
	if err != nil {
		return nil, err
	}
	hookBase, err := s.servers.serve(port(o.BasePort, 4), hook)
	if err != nil {
		return nil, err
	}
	hookURL := hookBase + "/okta/events"
	hookID, err := s.Okta.CreateEventHook("idsync", hookURL, s.Settings.Hook.Header, secret, domain.OktaHookEventTypes()...)
	if err != nil {
		return nil, fmt.Errorf("register event hook: %w", err)
	}
	if err := s.Okta.VerifyEventHook(ctx, hookID); err != nil {
		return nil, fmt.Errorf("verify event hook: %w", err)
	}

	// Consumers, polled as Lambda's event source mapping would.
	consumerApp, err := build(settings.Consumer)
	if err != nil {
		return nil, err
	}
	if o.ConsumerCrashRate > 0 {
		s.crasher = newCrasher(o.ConsumerCrashRate, o.Seed)
	}
	for _, t := range settings.Targets(s.Config) {
		runner, err := consumerApp.Runner(t)
		if err != nil {
			return nil, err
		}
		handler := SQSHandler(runner.Handle)
		if s.crasher != nil {
			handler = s.crasher.handler(handler)
		}
		counted := handler
		handler = func(ctx context.Context, b events.SQSEvent) (events.SQSEventResponse, error) {
			s.handled.Add(int64(len(b.Records)))
			return counted(ctx, b)
		}
		p := &Poller{SQS: sq, QueueURL: queues[t].URL, QueueARN: arns[t], Region: awsCfg.Region, Handler: handler,
			RetryDelay: o.RetryDelay, Concurrency: cmp.Or(o.ConsumerConcurrency, 2), Log: o.Log}
		s.wg.Add(1)
		go func() { defer s.wg.Done(); _ = p.Run(runCtx) }()
	}

	// The snapshotter on a ticker.
	if o.SnapshotEvery > 0 {
		snapApp, err := build(settings.Snapshot)
		if err != nil {
			return nil, err
		}
		snap, err := snapApp.Snapshotter()
		if err != nil {
			return nil, err
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			t := time.NewTicker(o.SnapshotEvery)
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
	}

	configFile := ""
	if o.Dir != "" {
		configFile = filepath.Join(o.Dir, "config.json")
		if err := writeConfig(configFile, s.Config); err != nil {
			return nil, err
		}
	}
	s.Endpoints = append(s.Endpoints, [][2]string{
		{"HOOK_URL", hookURL}, {settings.EnvOktaOrgURL, s.urls.okta}, {settings.EnvOktaAPIToken, s.oktaToken},
		{"WORKMAIL_ORGANIZATION_ID", d.orgID}, {"CONNECT_INSTANCE_ID", d.instanceID}, {"IDENTITY_STORE_ID", d.storeID},
		{"OKTA_WORKMAIL_GROUP_ID", d.oktaGroups[0]}, {"OKTA_CONNECT_GROUP_ID", d.oktaGroups[1]}, {"OKTA_SUPERVISOR_GROUP_ID", d.oktaGroups[2]},
		{"IDC_WORKMAIL_GROUP_ID", d.idcGroups[0]}, {"IDC_CONNECT_GROUP_ID", d.idcGroups[1]}, {"IDC_SUPERVISOR_GROUP_ID", d.idcGroups[2]},
		{"IDC_INSTANCE_ARN", d.idcInstanceArn}, {"WORKMAIL_APPLICATION_ARN", d.appArn},
	}...)
	s.Endpoints = append(s.Endpoints, s.Settings.Environ(configFile)...)
	// The local credentials, for the aws CLI and SDKs pointed at the
	// stand-ins.
	s.Endpoints = append(s.Endpoints, [][2]string{
		{"AWS_DEFAULT_REGION", awsCfg.Region}, {"AWS_ACCESS_KEY_ID", "local"}, {"AWS_SECRET_ACCESS_KEY", "local"},
	}...)
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
	s.servers.shutdown()
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

func writeConfig(path string, cfg domain.Config) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("write configuration: %w", err)
	}
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return fmt.Errorf("write configuration: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("write configuration: %w", err)
	}
	return nil
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
		string(sqstypes.QueueAttributeNameRedrivePolicy):     fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":"%d"}`, dlqARN, consumers.DefaultMaxReceives),
		string(sqstypes.QueueAttributeNameVisibilityTimeout): "180",
	})
	return q, err
}
