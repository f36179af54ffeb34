// Package app is idsync's one composition root: from a settings.Settings
// it builds the Okta hook, the IdC snapshotter and each target's consumer
// with their AWS clients, store, publisher, logger, metrics, clock and id
// generator. The Lambda mains under cmd/, the local runner and the
// end-to-end tests all build through it, so what runs locally is what runs
// deployed.
//
// Targets are pluggable: a target is a package implementing
// consumers.Target (and passing consumers/targettest) plus one entry in
// targets below.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/oklog/ulid/v2"

	"github.com/idsync/idsync/consumers"
	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/awsclient"
	"github.com/idsync/idsync/internal/emf"
	"github.com/idsync/idsync/internal/settings"
	"github.com/idsync/idsync/producers/idcsnapshot"
	"github.com/idsync/idsync/producers/oktahook"
	"github.com/idsync/idsync/producers/publish"
	"github.com/idsync/idsync/store"
)

// ErrInvalid is wrapped by every error about what the settings ask for
// (an unknown or unconfigured target, a missing queue or secret source).
var ErrInvalid = errors.New("app: invalid setup")

// Options build an App.
type Options struct {
	// Settings are required (settings.FromEnv, or built by the local runner
	// and tests).
	Settings settings.Settings
	// Component decides the AWS retry profile (the hook answers Okta within
	// 3 s and retries little; consumers and the snapshot ride out
	// throttling).
	Component settings.Component
	// Logger defaults to JSON on stdout at Settings.LogLevel.
	Logger *slog.Logger
	// Metrics receives EMF records (os.Stdout in Lambda, which CloudWatch
	// Logs turns into metrics); nil writes none.
	Metrics io.Writer
	// Clock defaults to time.Now; NewID (ULIDs) to ulid.Make.
	Clock func() time.Time
	NewID func() string
	// AWS, when set, is used instead of loading a configuration from
	// Settings (tests count requests with their own HTTP client).
	AWS *aws.Config
	// WrapHTTPClient, when set and AWS is not, wraps the HTTP client of
	// the configuration loaded from Settings, which then carries every AWS
	// request (the local runner injects queue outages through it).
	WrapHTTPClient func(aws.HTTPClient) aws.HTTPClient
	// WrapConsumerStore, when set, wraps the store each consumer runner
	// works through (the local runner's chaos run injects crashes between
	// a target call and its commit there). Nil: the store itself.
	WrapConsumerStore func(domain.Target, consumers.Store) consumers.Store
}

// App holds what every builder shares. Build it with New or FromEnv.
type App struct {
	Settings settings.Settings
	AWS      aws.Config
	Store    *store.Store

	component settings.Component
	log       *slog.Logger
	metrics   io.Writer
	now       func() time.Time
	newID     func() string
	wrapStore func(domain.Target, consumers.Store) consumers.Store

	metersMu sync.Mutex
	meters   map[domain.Target]*awsclient.Meter // one per target (meter)
}

// NewULID returns a new ULID string; the default id generator.
func NewULID() string { return ulid.Make().String() }

// retryProfile is the AWS retryer each component uses.
func retryProfile(c settings.Component) awsclient.Options {
	switch c {
	case settings.Hook:
		return awsclient.Options{MaxAttempts: 3, MaxBackoff: 500 * time.Millisecond}
	case settings.Snapshot:
		return awsclient.Options{MaxAttempts: 8, NoRetryRateLimit: true}
	case settings.Consumer:
		return awsclient.Options{MaxAttempts: 10, NoRetryRateLimit: true}
	}
	return awsclient.Options{}
}

// New returns an App: the AWS configuration and the store.
//
// Errors: loading the AWS configuration; store.New's (missing tables).
func New(ctx context.Context, o Options) (*App, error) {
	a := &App{Settings: o.Settings, component: o.Component, log: o.Logger, metrics: o.Metrics, now: o.Clock, newID: o.NewID,
		wrapStore: o.WrapConsumerStore}
	if a.log == nil {
		a.log = slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: o.Settings.LogLevel}))
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.newID == nil {
		a.newID = NewULID
	}
	if o.AWS != nil {
		a.AWS = *o.AWS
	} else {
		ao := retryProfile(o.Component)
		ao.Local, ao.Region = o.Settings.Local, o.Settings.Region
		cfg, err := awsclient.Config(ctx, ao)
		if err != nil {
			return nil, err
		}
		if o.WrapHTTPClient != nil {
			cfg.HTTPClient = o.WrapHTTPClient(cfg.HTTPClient)
		}
		a.AWS = cfg
	}
	st, err := store.New(store.Options{
		DB:         awsclient.DynamoDB(a.AWS, o.Settings.Endpoints.DynamoDB),
		StateTable: o.Settings.StateTable, LedgerTable: o.Settings.LedgerTable,
		Clock: a.now, NewID: a.newID, GroupMapped: o.Settings.Config.GroupMapped,
	})
	if err != nil {
		return nil, err
	}
	a.Store = st
	return a, nil
}

// FromEnv reads component c's settings through getenv and builds an App
// that logs JSON to stdout and writes EMF metrics to stdout, as a Lambda
// function does.
//
// Errors: settings.FromEnv's (every problem at once) and New's.
func FromEnv(ctx context.Context, getenv func(string) string, c settings.Component) (*App, error) {
	s, err := settings.FromEnv(getenv, c)
	if err != nil {
		return nil, err
	}
	return New(ctx, Options{Settings: s, Component: c, Metrics: os.Stdout})
}

// Main is the body of every Lambda main: it reads component c's settings
// from the process environment, builds the App, builds the component with
// build and hands it to start (the Lambda runtime's Start, which does not
// return).
//
// Errors: FromEnv's and build's, for main to report before exiting.
func Main[T any](c settings.Component, build func(*App) (T, error), start func(T)) error {
	memoryLimit(os.Getenv)
	a, err := FromEnv(context.Background(), os.Getenv, c)
	if err != nil {
		return err
	}
	v, err := build(a)
	if err != nil {
		return err
	}
	start(v)
	return nil
}

// memoryLimit gives the Go runtime a soft memory limit of 90 % of the
// function's memory (AWS_LAMBDA_FUNCTION_MEMORY_SIZE, MiB) unless GOMEMLIMIT
// sets one: the collector then works harder near the limit instead of
// letting the heap double past it and the function be killed.
func memoryLimit(getenv func(string) string) {
	if getenv("GOMEMLIMIT") != "" {
		return
	}
	mb, err := strconv.Atoi(getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"))
	if err != nil || mb <= 0 {
		return
	}
	debug.SetMemoryLimit(int64(mb) << 20 / 10 * 9)
}

// Logger is the App's logger.
func (a *App) Logger() *slog.Logger { return a.log }

// metricsFor returns EMF metrics for component, or nil without a sink.
func (a *App) metricsFor(component string) *emf.Metrics {
	if a.metrics == nil {
		return nil
	}
	return emf.New(a.metrics, component, a.now)
}

// Publisher returns a publisher to the queue of every target the
// configuration enables, keyed by target.
//
// Errors: ErrInvalid when an enabled target has no queue URL; publish.New's.
func (a *App) Publisher() (*publish.Publisher, error) {
	queues := map[domain.Target]string{}
	for _, t := range settings.Targets(a.Settings.Config) {
		q := a.Settings.Queues[t]
		if q.URL == "" {
			return nil, fmt.Errorf("%w: no queue URL for target %s (%s)", ErrInvalid, t, settings.QueueURLVar(t))
		}
		queues[t] = q.URL
	}
	return publish.New(publish.Options{SQS: awsclient.SQS(a.AWS, a.Settings.Endpoints.SQS), Queues: queues})
}

// secretSource is where a secret of type T comes from, in the settings'
// order: Secrets Manager (id), an SSM SecureString (parameter), or, only
// with Settings.Local, the value itself (parsed by local). SM and SP are
// the reader's own client interfaces, which the SDK clients satisfy. It
// returns nil when the settings name no source.
//
// Errors: local's, for an unusable local value; ErrInvalid when an SDK
// client does not satisfy the reader's interface (a build mistake).
func secretSource[T, SM, SP any](a *App, id, parameter, value string,
	fromSecretsManager func(SM, string) func(context.Context) (T, error),
	fromSSM func(SP, string) func(context.Context) (T, error),
	local func(string) (func(context.Context) (T, error), error)) (func(context.Context) (T, error), error) {
	switch {
	case id != "":
		c, ok := any(awsclient.SecretsManager(a.AWS, a.Settings.Endpoints.SecretsManager)).(SM)
		if !ok {
			return nil, fmt.Errorf("%w: the Secrets Manager client is no %T", ErrInvalid, c)
		}
		return fromSecretsManager(c, id), nil
	case parameter != "":
		c, ok := any(awsclient.SSM(a.AWS, a.Settings.Endpoints.SSM)).(SP)
		if !ok {
			return nil, fmt.Errorf("%w: the SSM client is no %T", ErrInvalid, c)
		}
		return fromSSM(c, parameter), nil
	case value != "" && a.Settings.Local:
		return local(value)
	}
	return nil, nil
}

// hookSecrets returns where the hook's secret comes from.
func (a *App) hookSecrets() (*oktahook.SecretCache, error) {
	h := a.Settings.Hook
	fetch, err := secretSource(a, h.SecretID, h.Parameter, h.Value, oktahook.FromSecretsManager, oktahook.FromSSM,
		func(v string) (func(context.Context) (oktahook.Secrets, error), error) {
			return oktahook.Static(oktahook.Secrets{Current: v}), nil
		})
	if err != nil {
		return nil, err
	}
	if fetch == nil {
		return nil, fmt.Errorf("%w: the hook has no secret source (%s or %s)", ErrInvalid, settings.EnvHookSecretID, settings.EnvHookSecretParameter)
	}
	return oktahook.NewSecretCache(oktahook.SecretCacheOptions{Fetch: fetch, TTL: h.TTL, Clock: a.now}), nil
}

// Hook returns the Okta event-hook handler.
//
// Errors: ErrInvalid without a secret source or a queue, or for a
// configuration CheckConfig refuses; the constructors'.
func (a *App) Hook() (*oktahook.Handler, error) {
	if err := a.CheckConfig(); err != nil {
		return nil, err
	}
	secrets, err := a.hookSecrets()
	if err != nil {
		return nil, err
	}
	pub, err := a.Publisher()
	if err != nil {
		return nil, err
	}
	return oktahook.New(oktahook.Options{
		AuthHeader: a.Settings.Hook.Header, GroupMapped: a.Settings.Config.GroupMapped, Config: a.Settings.Config,
		Secrets: secrets, Ledger: a.Store, Publisher: pub, People: a.Store, Brake: a.Store,
		Logger: a.log.With("component", "oktahook"), Metrics: a.metricsFor("oktahook"), Clock: a.now,
	})
}

// Snapshotter returns the IdC snapshotter, reconciling with every enabled
// target's planner and, unless snapshot.drift is off, checking drift with
// every enabled target's inventory; with Okta API access (the settings'
// OktaUsers, as the consumers'), every run also reconciles statuses with
// Okta's non-active users.
//
// Errors: ErrInvalid without a queue, or with unusable local Okta API
// credentials; the targets' constructors';
// idcsnapshot.New's (no identity store id, no group with an IdC id).
func (a *App) Snapshotter() (*idcsnapshot.Snapshotter, error) {
	pub, err := a.Publisher()
	if err != nil {
		return nil, err
	}
	byTarget := map[domain.Target]idcsnapshot.Planner{}
	for _, def := range planners() {
		if !def.configured(a.Settings.Config) {
			continue
		}
		pl, err := def.build(a)
		if err != nil {
			return nil, err
		}
		byTarget[def.name] = pl
	}
	invs := map[domain.Target]idcsnapshot.Inventory{}
	for _, def := range inventories() {
		if !def.configured(a.Settings.Config) || a.Settings.Config.Snapshot.DriftOrDefault() == domain.DriftOff {
			continue
		}
		inv, err := def.build(a)
		if err != nil {
			return nil, err
		}
		invs[def.name] = inv
	}
	okta, err := a.oktaUsers()
	if err != nil {
		return nil, err
	}
	var statuses idcsnapshot.OktaUsers // nil without Okta API access (not a nil *Client)
	if okta != nil {
		statuses = okta
	}
	return idcsnapshot.New(idcsnapshot.Options{
		Okta:          statuses,
		Config:        a.Settings.Config,
		IdentityStore: awsclient.IdentityStore(a.AWS, a.Settings.Endpoints.IdentityStore),
		Store:         a.Store, Publisher: pub, Planners: byTarget, Inventories: invs, Rate: a.Settings.IdCRate,
		Logger: a.log.With("component", "idcsnapshot"), Metrics: a.metricsFor("idcsnapshot"),
		Clock: a.now, NewID: a.newID,
	})
}

// Runner returns the SQS batch runner for target t, with t's Enricher
// between the fold and the plan.
//
// Errors: ErrInvalid for a target that is unknown, not configured or has
// no dead-letter queue, or for a configuration CheckConfig refuses; the
// target's and the enricher's constructors'.
func (a *App) Runner(t domain.Target) (*consumers.Runner, error) {
	if err := a.CheckConfig(); err != nil {
		return nil, err
	}
	target, err := a.Target(t)
	if err != nil {
		return nil, err
	}
	enricher, err := a.Enricher(t)
	if err != nil {
		return nil, err
	}
	q := a.Settings.Queues[t]
	if q.DLQURL == "" {
		return nil, fmt.Errorf("%w: no dead-letter queue for target %s (%s)", ErrInvalid, t, settings.DLQURLVar(t))
	}
	if err := a.coldStartCheck(target); err != nil {
		return nil, err
	}
	component := "consumer-" + string(t)
	var st consumers.Store = a.Store
	if a.wrapStore != nil {
		st = a.wrapStore(t, st)
	}
	return consumers.NewRunner(consumers.RunnerOptions{
		Target: target, Store: st, DLQ: awsclient.SQS(a.AWS, a.Settings.Endpoints.SQS), DLQURL: q.DLQURL, Enricher: enricher,
		DryRun: a.Settings.DryRun, Logger: a.log.With("component", component), Metrics: a.metricsFor(component),
		Clock: a.now, NewID: a.newID,
	})
}

// ConsumerRunner returns the runner of the consumer's own target
// (Settings.Target, from IDSYNC_TARGET).
//
// Errors: Runner's.
func (a *App) ConsumerRunner() (*consumers.Runner, error) { return a.Runner(a.Settings.Target) }

// Target returns target t's consumers.Target, built from the
// configuration, with its client behind the target's quota.
//
// Errors: ErrInvalid for a target that is unknown or not configured; the
// target's constructor's.
func (a *App) Target(t domain.Target) (consumers.Target, error) {
	for _, def := range targets() {
		if def.name != t {
			continue
		}
		if !def.configured(a.Settings.Config) {
			return nil, fmt.Errorf("%w: the configuration has no %s section", ErrInvalid, t)
		}
		return def.build(a)
	}
	return nil, fmt.Errorf("%w: unknown target %q", ErrInvalid, t)
}

// checker is a target that can check its account at cold start
// (workmail.Applier: the organisation and its IAM Identity Center link).
type checker interface {
	Check(ctx context.Context) error
}

// coldStartCheckTimeout bounds the cold-start check.
const coldStartCheckTimeout = 30 * time.Second

// coldStartCheck runs target's Check, when it has one. A permanent failure
// (a misconfigured organisation) stops the consumer from starting, with
// the reason; a transient one is logged and left to the first plan, which
// checks again.
//
// Errors: the check's permanent failure, wrapped with ErrInvalid.
func (a *App) coldStartCheck(target consumers.Target) error {
	c, ok := target.(checker)
	if !ok {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), coldStartCheckTimeout)
	defer cancel()
	err := c.Check(ctx)
	switch {
	case err == nil:
		return nil
	case domain.KindOf(err) == domain.ErrorPermanent:
		return fmt.Errorf("%w: %s target: %w", ErrInvalid, target.Name(), err)
	}
	a.log.Warn("cold-start check failed; the first plan checks again", "target", string(target.Name()), "err", err.Error())
	return nil
}
