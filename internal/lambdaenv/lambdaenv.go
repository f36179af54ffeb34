// Package lambdaenv reads the configuration every idsync Lambda main shares
// from the environment, reporting every problem at once, and builds the AWS
// clients and the store from it.
//
// Variables:
//
//	IDSYNC_CONFIG         the configuration document (JSON), or
//	IDSYNC_CONFIG_FILE    a path to it (one of the two is required)
//	STATE_TABLE           DynamoDB state table (required)
//	LEDGER_TABLE          DynamoDB ledger table (required)
//	LOG_LEVEL             debug | info (default) | warn | error
//	IDSYNC_LOCAL          "true": static local credentials, for the stand-ins
//	<SERVICE>_ENDPOINT    optional endpoint overrides: DYNAMODB, SQS, WORKMAIL,
//	                      CONNECT, IDENTITYSTORE, SECRETSMANAGER, SSM
package lambdaenv

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/oklog/ulid/v2"

	"github.com/idsync/idsync/consumers"
	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/awsclient"
	"github.com/idsync/idsync/internal/emf"
	"github.com/idsync/idsync/store"
)

// ErrConfig is wrapped by every configuration problem.
var ErrConfig = errors.New("invalid environment")

// Env reads variables and collects problems.
type Env struct {
	get      func(string) string
	problems []error
}

// New reads from getenv (os.Getenv in mains).
func New(getenv func(string) string) *Env { return &Env{get: getenv} }

func (e *Env) problem(format string, args ...any) {
	e.problems = append(e.problems, fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...))
}

// Required returns a variable, recording a problem when it is empty.
func (e *Env) Required(name string) string {
	v := strings.TrimSpace(e.get(name))
	if v == "" {
		e.problem("%s is required", name)
	}
	return v
}

// Optional returns a variable or def when it is empty.
func (e *Env) Optional(name, def string) string {
	if v := strings.TrimSpace(e.get(name)); v != "" {
		return v
	}
	return def
}

// List returns a required comma-separated list.
func (e *Env) List(name string) []string {
	var out []string
	for _, p := range strings.Split(e.Required(name), ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Duration returns a duration variable (Go syntax, e.g. "90s") or def.
func (e *Env) Duration(name string, def time.Duration) time.Duration {
	v := e.Optional(name, "")
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		e.problem("%s=%q is not a duration", name, v)
		return def
	}
	return d
}

// Bool returns a boolean variable or def.
func (e *Env) Bool(name string, def bool) bool {
	v := e.Optional(name, "")
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		e.problem("%s=%q is not a boolean", name, v)
		return def
	}
	return b
}

// Config parses and validates the configuration document from
// IDSYNC_CONFIG or IDSYNC_CONFIG_FILE.
func (e *Env) Config() domain.Config {
	raw := e.get("IDSYNC_CONFIG")
	if raw == "" {
		path := e.get("IDSYNC_CONFIG_FILE")
		if path == "" {
			e.problem("IDSYNC_CONFIG or IDSYNC_CONFIG_FILE is required")
			return domain.Config{}
		}
		b, err := os.ReadFile(path)
		if err != nil {
			e.problem("IDSYNC_CONFIG_FILE: %v", err)
			return domain.Config{}
		}
		raw = string(b)
	}
	cfg, err := domain.ParseConfig([]byte(raw))
	if err != nil {
		e.problems = append(e.problems, fmt.Errorf("%w: configuration document: %w", ErrConfig, err))
	}
	return cfg
}

// Err returns every problem found so far, joined, or nil.
func (e *Env) Err() error { return errors.Join(e.problems...) }

// Logger returns a JSON slog logger at LOG_LEVEL.
func (e *Env) Logger() *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(e.Optional("LOG_LEVEL", "info"))); err != nil {
		e.problem("LOG_LEVEL: %v", err)
	}
	return slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: level}))
}

// AWS loads the AWS configuration (static credentials when IDSYNC_LOCAL).
func (e *Env) AWS(ctx context.Context, o awsclient.Options) (aws.Config, error) {
	o.Local = e.Bool("IDSYNC_LOCAL", false)
	return awsclient.Config(ctx, o)
}

// Endpoint returns the override for a service ("" means AWS's).
func (e *Env) Endpoint(service string) string { return e.Optional(service+"_ENDPOINT", "") }

// Tables reads STATE_TABLE and LEDGER_TABLE (both required).
func (e *Env) Tables() (state, ledger string) {
	return e.Required("STATE_TABLE"), e.Required("LEDGER_TABLE")
}

// Store builds the store over the given tables.
//
// Errors: store.New's (missing table names).
func (e *Env) Store(cfg aws.Config, state, ledger string) (*store.Store, error) {
	db := awsclient.DynamoDB(cfg, e.Endpoint("DYNAMODB"))
	return store.New(db, store.Options{StateTable: state, LedgerTable: ledger, NewID: NewULID})
}

// NewULID returns a new ULID string (monotonic within one process is not
// needed: ledger ids only need to be unique and time-ordered).
func NewULID() string { return ulid.Make().String() }

// Float returns a positive number variable or def.
func (e *Env) Float(name string, def float64) float64 {
	v := e.Optional(name, "")
	if v == "" {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f <= 0 {
		e.problem("%s=%q is not a positive number", name, v)
		return def
	}
	return f
}

// Problemf records a problem of the caller's.
func (e *Env) Problemf(format string, args ...any) { e.problem(format, args...) }

// Consumer is what both consumer Lambdas load from the environment: the
// configuration, AWS, the store, the dead-letter queue, dry-run and the
// target's client-side rate (requests/s, from rateVar).
type Consumer struct {
	Env    *Env
	Config domain.Config
	AWS    aws.Config
	Store  *store.Store
	DLQURL string
	DryRun bool
	Rate   float64
	Logger *slog.Logger
}

// LoadConsumer reads DLQ_URL, DRY_RUN (default: the configuration's
// dryRun), rateVar, the configuration and the tables, then builds AWS and
// the store. need reports a configuration problem of the target's (e.g. a
// missing section) or "".
//
// Errors: every environment problem at once, wrapping ErrConfig; AWS and
// store construction errors.
func LoadConsumer(ctx context.Context, getenv func(string) string, rateVar string, defRate float64, need func(domain.Config) string) (*Consumer, error) {
	e := New(getenv)
	c := &Consumer{Env: e, Logger: e.Logger(), Config: e.Config()}
	state, ledger := e.Tables()
	c.DLQURL = e.Required("DLQ_URL")
	c.DryRun = e.Bool("DRY_RUN", c.Config.DryRun)
	c.Rate = e.Float(rateVar, defRate)
	if msg := need(c.Config); msg != "" {
		e.problem("%s", msg)
	}
	if err := e.Err(); err != nil {
		return nil, err
	}
	var err error
	if c.AWS, err = e.AWS(ctx, awsclient.Options{MaxAttempts: 10, NoRetryRateLimit: true}); err != nil {
		return nil, err
	}
	if c.Store, err = e.Store(c.AWS, state, ledger); err != nil {
		return nil, err
	}
	return c, nil
}

// Runner returns the SQS batch runner for target, logging and writing EMF
// metrics as component.
//
// Errors: consumers.NewRunner's.
func (c *Consumer) Runner(target consumers.Target, component string) (*consumers.Runner, error) {
	return consumers.NewRunner(consumers.RunnerOptions{
		Target: target, Store: c.Store, DLQ: awsclient.SQS(c.AWS, c.Env.Endpoint("SQS")), DLQURL: c.DLQURL, DryRun: c.DryRun,
		Logger: c.Logger, Metrics: emf.New(os.Stdout, component, time.Now), Clock: time.Now, NewID: NewULID,
	})
}
