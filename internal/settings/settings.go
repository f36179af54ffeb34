// Package settings is the one place that names idsync's environment
// variables and turns them into a typed Settings value. The Lambda mains,
// the local runner, the operator CLI and the CDK stack all use these names;
// nothing else spells them.
//
// Every component reads the same variables, so one settings file (the local
// runner's .local/endpoints.env, or a deployed function's environment)
// configures any of them. FromEnv reports every problem at once.
package settings

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/idsync/idsync/domain"
)

// Environment variable names. Per-target variables are built with
// QueueURLVar, DLQURLVar and RateVar from the target's name.
const (
	// EnvConfig holds the configuration document (JSON); EnvConfigFile a
	// path to it. One of the two is required by every function.
	EnvConfig     = "IDSYNC_CONFIG"
	EnvConfigFile = "IDSYNC_CONFIG_FILE"
	// EnvStateTable and EnvLedgerTable name the DynamoDB tables.
	EnvStateTable  = "STATE_TABLE"
	EnvLedgerTable = "LEDGER_TABLE"
	// EnvLogLevel is debug, info (default), warn or error.
	EnvLogLevel = "LOG_LEVEL"
	// EnvLocal ("true") uses static local credentials, for the stand-ins.
	EnvLocal = "IDSYNC_LOCAL"
	// EnvRegion is the AWS region (the SDK's own variable).
	EnvRegion = "AWS_REGION"
	// EnvTarget names the target a consumer function drives
	// (workmail, connect).
	EnvTarget = "IDSYNC_TARGET"
	// EnvDryRun overrides the configuration's dryRun for a consumer.
	EnvDryRun = "DRY_RUN"
	// EnvIdCRate is the snapshot's Identity Store requests per second.
	EnvIdCRate = "IDC_RATE"
	// Hook settings: the secret in Secrets Manager (EnvHookSecretID) or an
	// SSM SecureString (EnvHookSecretParameter); EnvHookSecret is a
	// plain-text secret honoured only with EnvLocal.
	EnvHookSecretID        = "HOOK_SECRET_ID"
	EnvHookSecretParameter = "HOOK_SECRET_PARAMETER"
	EnvHookSecret          = "HOOK_SECRET"
	EnvHookAuthHeader      = "HOOK_AUTH_HEADER"
	EnvHookSecretTTL       = "HOOK_SECRET_TTL"
	// EnvOktaOrgURL and EnvOktaAPIToken reach the Okta management API
	// (an SSWS API token); only idsync discover reads them, to find the
	// Okta groups it maps.
	EnvOktaOrgURL   = "OKTA_ORG_URL"
	EnvOktaAPIToken = "OKTA_API_TOKEN"
	// Okta API access for the consumers' enrichment, the snapshot's status
	// reconciliation (Okta's suspended and deactivated users; IdC has no
	// status) and the configuration check of the hook: the credentials of Okta's Users API, one JSON object
	// (oktaapi.ParseCredentials: an OAuth 2.0 service app with a private
	// key and okta.users.read, or an SSWS token) in a Secrets Manager
	// secret (EnvOktaAPISecretID) or an SSM SecureString
	// (EnvOktaAPISecretParameter); EnvOktaAPISecret holds the JSON itself,
	// honoured only with EnvLocal. EnvOktaAPIRate is the client-side
	// request rate (requests/s; default oktaapi.DefaultRate).
	EnvOktaAPISecretID        = "OKTA_API_SECRET_ID"
	EnvOktaAPISecretParameter = "OKTA_API_SECRET_PARAMETER"
	EnvOktaAPISecret          = "OKTA_API_SECRET"
	EnvOktaAPIRate            = "OKTA_API_RATE"
	// EnvLocalSnapshotEvery is the local runner's (idsync local, make run)
	// default snapshot interval, a Go duration; 0 never runs one.
	EnvLocalSnapshotEvery = "IDSYNC_SNAPSHOT_EVERY"
)

// Endpoint override variables, one per AWS service idsync calls ("" or
// unset means AWS's own endpoint).
const (
	EnvDynamoDBEndpoint       = "DYNAMODB_ENDPOINT"
	EnvSQSEndpoint            = "SQS_ENDPOINT"
	EnvWorkMailEndpoint       = "WORKMAIL_ENDPOINT"
	EnvConnectEndpoint        = "CONNECT_ENDPOINT"
	EnvIdentityStoreEndpoint  = "IDENTITYSTORE_ENDPOINT"
	EnvSSOAdminEndpoint       = "SSOADMIN_ENDPOINT"
	EnvSecretsManagerEndpoint = "SECRETSMANAGER_ENDPOINT"
	EnvSSMEndpoint            = "SSM_ENDPOINT"
)

// QueueURLVar names target t's queue URL variable, e.g. WORKMAIL_QUEUE_URL.
func QueueURLVar(t domain.Target) string { return targetVar(t, "QUEUE_URL") }

// DLQURLVar names target t's dead-letter queue URL variable, e.g.
// CONNECT_DLQ_URL.
func DLQURLVar(t domain.Target) string { return targetVar(t, "DLQ_URL") }

// RateVar names target t's client-side request rate variable, e.g.
// CONNECT_RATE (requests per second; for a per-operation quota, per
// operation).
func RateVar(t domain.Target) string { return targetVar(t, "RATE") }

func targetVar(t domain.Target, suffix string) string {
	return strings.ToUpper(string(t)) + "_" + suffix
}

// Defaults.
const (
	DefaultAuthHeader = "Authorization"
	DefaultSecretTTL  = 5 * time.Minute
)

// ErrInvalid is wrapped by every problem FromEnv reports.
var ErrInvalid = errors.New("invalid settings")

// Component says which part of idsync the settings are for; it decides
// what is required.
type Component int

// Components.
const (
	// Hook: tables, the configuration, a queue per configured target, a
	// secret source.
	Hook Component = iota
	// Snapshot: tables, the configuration (with snapshot.identityStoreId),
	// a queue per configured target.
	Snapshot
	// Consumer: tables, the configuration, EnvTarget naming a configured
	// target, and that target's dead-letter queue.
	Consumer
	// Operator: tables only; everything else is read when present (the
	// operator CLI's commands check what they need).
	Operator
	// Setup: nothing is required; endpoints, region and the Okta API are
	// read when present (idsync discover, which runs before there is a
	// configuration or tables).
	Setup
)

// Queue is one target's queue and dead-letter queue.
type Queue struct {
	URL    string
	DLQURL string
}

// Endpoints are endpoint overrides ("" means AWS's).
type Endpoints struct {
	DynamoDB, SQS, WorkMail, Connect, IdentityStore, SSOAdmin, SecretsManager, SSM string
}

// HookSecret says where the hook's auth-header secret comes from.
type HookSecret struct {
	// SecretID (Secrets Manager) or Parameter (SSM SecureString); with
	// Local, Value may carry the secret itself instead.
	SecretID, Parameter, Value string
	// Header carries the secret (default DefaultAuthHeader).
	Header string
	// TTL is how long a fetched secret is cached (default DefaultSecretTTL).
	TTL time.Duration
}

// OktaAPI reaches the Okta management API.
type OktaAPI struct {
	OrgURL, APIToken string
}

// OktaAPIAccess says where the credentials of Okta's Users API come
// from; the zero value means there is no Okta API access.
type OktaAPIAccess struct {
	// SecretID (Secrets Manager) or Parameter (SSM SecureString); with
	// Local, Value may carry the credentials JSON itself instead.
	SecretID, Parameter, Value string
	// Rate is the client-side request rate (0: the client's default).
	Rate float64
}

// Configured reports whether a credentials source is set.
func (o OktaAPIAccess) Configured() bool {
	return o.SecretID != "" || o.Parameter != "" || o.Value != ""
}

// Settings is everything a component reads from its environment.
type Settings struct {
	Config      domain.Config
	HasConfig   bool // a configuration document was given
	StateTable  string
	LedgerTable string
	LogLevel    slog.Level
	// Local: static local credentials (the stand-ins).
	Local     bool
	Region    string
	Endpoints Endpoints
	// Queues holds every target whose queue variables are set.
	Queues map[domain.Target]Queue
	// Rates holds every target whose rate variable is set (requests/s).
	Rates map[domain.Target]float64
	// Target is the consumer's target (EnvTarget).
	Target domain.Target
	// DryRun is EnvDryRun, defaulting to the configuration's dryRun.
	DryRun bool
	// IdCRate is EnvIdCRate (0: the snapshot's default).
	IdCRate float64
	Hook    HookSecret
	// Okta is the Okta management API (EnvOktaOrgURL, EnvOktaAPIToken),
	// when both are set.
	Okta OktaAPI
	// OktaUsers is the consumers' and the snapshot's access to Okta's
	// Users API
	// (EnvOktaAPISecretID, EnvOktaAPISecretParameter, EnvOktaAPISecret,
	// EnvOktaAPIRate).
	OktaUsers OktaAPIAccess
}

// Targets lists the targets the configuration enables, in a fixed order.
func Targets(cfg domain.Config) []domain.Target {
	var ts []domain.Target
	if cfg.WorkMail != nil {
		ts = append(ts, domain.TargetWorkMail)
	}
	if cfg.Connect != nil {
		ts = append(ts, domain.TargetConnect)
	}
	return ts
}

// KnownTargets are the targets idsync can drive.
func KnownTargets() []domain.Target {
	return []domain.Target{domain.TargetWorkMail, domain.TargetConnect}
}

// reader reads variables and collects problems.
type reader struct {
	get      func(string) string
	problems []error
}

func (r *reader) problem(format string, args ...any) {
	r.problems = append(r.problems, fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...))
}

func (r *reader) str(name string) string { return strings.TrimSpace(r.get(name)) }

func (r *reader) required(name string) string {
	v := r.str(name)
	if v == "" {
		r.problem("%s is required", name)
	}
	return v
}

func (r *reader) boolean(name string, def bool) bool {
	v := r.str(name)
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		r.problem("%s=%q is not a boolean", name, v)
		return def
	}
	return b
}

func (r *reader) positive(name string) float64 {
	v := r.str(name)
	if v == "" {
		return 0
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f <= 0 {
		r.problem("%s=%q is not a positive number", name, v)
		return 0
	}
	return f
}

func (r *reader) duration(name string, def time.Duration) time.Duration {
	v := r.str(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		r.problem("%s=%q is not a positive duration", name, v)
		return def
	}
	return d
}

func (r *reader) config(required bool) (domain.Config, bool) {
	raw := r.get(EnvConfig)
	if raw == "" {
		path := r.str(EnvConfigFile)
		if path == "" {
			if required {
				r.problem("%s or %s is required", EnvConfig, EnvConfigFile)
			}
			return domain.Config{}, false
		}
		b, err := os.ReadFile(path)
		if err != nil {
			r.problem("%s: %v", EnvConfigFile, err)
			return domain.Config{}, false
		}
		raw = string(b)
	}
	cfg, err := domain.ParseConfig([]byte(raw))
	if err != nil {
		r.problems = append(r.problems, fmt.Errorf("%w: configuration document: %w", ErrInvalid, err))
		return cfg, false
	}
	return cfg, true
}

// FromEnv reads the settings component c needs through getenv (os.Getenv
// in mains; a settings file's lookup in the CLI).
//
// Errors: every problem at once, each wrapping ErrInvalid (a missing or
// malformed variable, an invalid configuration document, a consumer target
// that is unknown or not configured, a producer without a queue for a
// configured target, a hook without a secret source).
func FromEnv(getenv func(string) string, c Component) (Settings, error) {
	r := &reader{get: getenv}
	var s Settings
	s.Config, s.HasConfig = r.config(c != Operator && c != Setup)
	switch c {
	case Setup:
		s.StateTable, s.LedgerTable = r.str(EnvStateTable), r.str(EnvLedgerTable)
	case Operator:
		s.StateTable, s.LedgerTable = r.str(EnvStateTable), r.str(EnvLedgerTable)
		if s.StateTable == "" || s.LedgerTable == "" {
			r.problem("%s and %s are required", EnvStateTable, EnvLedgerTable)
		}
	default:
		s.StateTable, s.LedgerTable = r.required(EnvStateTable), r.required(EnvLedgerTable)
	}
	if err := s.LogLevel.UnmarshalText([]byte(orDefault(r.str(EnvLogLevel), "info"))); err != nil {
		r.problem("%s: %v", EnvLogLevel, err)
	}
	s.Local = r.boolean(EnvLocal, false)
	s.Region = r.str(EnvRegion)
	s.Endpoints = Endpoints{
		DynamoDB: r.str(EnvDynamoDBEndpoint), SQS: r.str(EnvSQSEndpoint),
		WorkMail: r.str(EnvWorkMailEndpoint), Connect: r.str(EnvConnectEndpoint),
		IdentityStore: r.str(EnvIdentityStoreEndpoint), SSOAdmin: r.str(EnvSSOAdminEndpoint),
		SecretsManager: r.str(EnvSecretsManagerEndpoint), SSM: r.str(EnvSSMEndpoint),
	}
	s.Queues, s.Rates = map[domain.Target]Queue{}, map[domain.Target]float64{}
	for _, t := range KnownTargets() {
		if q := (Queue{URL: r.str(QueueURLVar(t)), DLQURL: r.str(DLQURLVar(t))}); q != (Queue{}) {
			s.Queues[t] = q
		}
		if rate := r.positive(RateVar(t)); rate > 0 {
			s.Rates[t] = rate
		}
	}
	s.DryRun = r.boolean(EnvDryRun, s.Config.DryRun)
	s.IdCRate = r.positive(EnvIdCRate)
	s.Hook = HookSecret{
		SecretID: r.str(EnvHookSecretID), Parameter: r.str(EnvHookSecretParameter),
		Header: orDefault(r.str(EnvHookAuthHeader), DefaultAuthHeader),
		TTL:    r.duration(EnvHookSecretTTL, DefaultSecretTTL),
	}
	if s.Local {
		s.Hook.Value = r.str(EnvHookSecret)
	}
	if o := (OktaAPI{OrgURL: r.str(EnvOktaOrgURL), APIToken: r.str(EnvOktaAPIToken)}); o.OrgURL != "" && o.APIToken != "" {
		s.Okta = o
	}
	s.OktaUsers = OktaAPIAccess{SecretID: r.str(EnvOktaAPISecretID), Parameter: r.str(EnvOktaAPISecretParameter),
		Rate: r.positive(EnvOktaAPIRate)}
	if s.Local {
		s.OktaUsers.Value = r.str(EnvOktaAPISecret)
	}
	if s.OktaUsers.SecretID != "" && s.OktaUsers.Parameter != "" {
		r.problem("give %s or %s, not both", EnvOktaAPISecretID, EnvOktaAPISecretParameter)
	}
	switch c {
	case Hook, Snapshot:
		if s.HasConfig {
			for _, t := range Targets(s.Config) {
				if s.Queues[t].URL == "" {
					r.problem("%s is required: the configuration enables %s", QueueURLVar(t), t)
				}
			}
		}
		if c == Hook && s.Hook.SecretID == "" && s.Hook.Parameter == "" && s.Hook.Value == "" {
			r.problem("%s or %s is required", EnvHookSecretID, EnvHookSecretParameter)
		}
		if c == Snapshot && s.HasConfig && s.Config.Snapshot.IdentityStoreID == "" {
			r.problem("the configuration has no snapshot.identityStoreId")
		}
	case Consumer:
		s.Target = domain.Target(r.required(EnvTarget))
		switch {
		case s.Target == "":
		case !slices.Contains(KnownTargets(), s.Target):
			r.problem("%s=%q is not one of %v", EnvTarget, s.Target, KnownTargets())
		case s.HasConfig && !slices.Contains(Targets(s.Config), s.Target):
			r.problem("%s=%s but the configuration has no %s section", EnvTarget, s.Target, s.Target)
		default:
			if s.Queues[s.Target].DLQURL == "" {
				r.problem("%s is required", DLQURLVar(s.Target))
			}
		}
	}
	return s, errors.Join(r.problems...)
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// LoadFile reads a settings file of KEY=value lines (blank lines and lines
// starting with # ignored; an optional leading "export " accepted) and
// returns a lookup that prefers the process environment (getenv) and falls
// back to the file. A missing file is not an error: the lookup is then
// getenv alone.
//
// Errors: the file exists but cannot be read, or a line is not KEY=value.
func LoadFile(path string, getenv func(string) string) (func(string) string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return getenv, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read settings file: %w", err)
	}
	vals := map[string]string{}
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("%w: %s line %d is not KEY=value", ErrInvalid, path, i+1)
		}
		vals[strings.TrimSpace(k)] = strings.Trim(strings.TrimSpace(v), `"'`)
	}
	return func(k string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return vals[k]
	}, nil
}

// Environ renders the settings that have variables of their own as
// KEY=value pairs in a fixed order, for a settings file or a child
// process's environment. configFile, when not empty, is written as
// EnvConfigFile (the configuration document itself is not rendered).
// Secrets other than a local EnvHookSecret and EnvOktaAPISecret are never
// written.
func (s Settings) Environ(configFile string) [][2]string {
	var out [][2]string
	add := func(k, v string) {
		if v != "" {
			out = append(out, [2]string{k, v})
		}
	}
	add(EnvConfigFile, configFile)
	add(EnvStateTable, s.StateTable)
	add(EnvLedgerTable, s.LedgerTable)
	if s.Local {
		add(EnvLocal, "true")
	}
	add(EnvRegion, s.Region)
	e := s.Endpoints
	for _, kv := range [][2]string{
		{EnvDynamoDBEndpoint, e.DynamoDB}, {EnvSQSEndpoint, e.SQS}, {EnvWorkMailEndpoint, e.WorkMail},
		{EnvConnectEndpoint, e.Connect}, {EnvIdentityStoreEndpoint, e.IdentityStore}, {EnvSSOAdminEndpoint, e.SSOAdmin},
		{EnvSecretsManagerEndpoint, e.SecretsManager}, {EnvSSMEndpoint, e.SSM},
	} {
		add(kv[0], kv[1])
	}
	for _, t := range KnownTargets() {
		add(QueueURLVar(t), s.Queues[t].URL)
		add(DLQURLVar(t), s.Queues[t].DLQURL)
		if r := s.Rates[t]; r > 0 {
			add(RateVar(t), strconv.FormatFloat(r, 'f', -1, 64))
		}
	}
	add(EnvHookAuthHeader, s.Hook.Header)
	add(EnvHookSecretID, s.Hook.SecretID)
	add(EnvHookSecretParameter, s.Hook.Parameter)
	if s.Local {
		add(EnvHookSecret, s.Hook.Value)
	}
	add(EnvOktaAPISecretID, s.OktaUsers.SecretID)
	add(EnvOktaAPISecretParameter, s.OktaUsers.Parameter)
	if s.Local {
		add(EnvOktaAPISecret, s.OktaUsers.Value)
	}
	if s.OktaUsers.Rate > 0 {
		add(EnvOktaAPIRate, strconv.FormatFloat(s.OktaUsers.Rate, 'f', -1, 64))
	}
	return out
}
