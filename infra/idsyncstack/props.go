package idsyncstack

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"

	"github.com/idsync/idsync/consumers"
	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/enrich"
)

// ErrInvalidProps is matched (errors.Is) by every problem New finds in its
// properties; configuration-document problems also match
// domain.ErrInvalidConfig.
var ErrInvalidProps = errors.New("invalid idsync stack properties")

// Defaults of Props.
const (
	DefaultPrefix          = "idsync-"
	DefaultCodeDir         = "../dist"
	DefaultScheduleRate    = 15 * time.Minute
	DefaultHookAuthHeader  = "Authorization"
	DefaultHookSecretTTL   = 5 * time.Minute
	DefaultConsumerTimeout = 2 * time.Minute
	DefaultMaxConcurrency  = 2
	DefaultWorkMailRate    = 5.0  // WorkMail requests/s for all consumer instances together, all operations
	DefaultConnectRate     = 2.0  // Connect requests/s per user API for all instances: its quota per operation, account and Region
	DefaultIdCRate         = 20.0 // IdentityStore's collective quota
	DefaultLogLevel        = "info"
	DefaultLogRetention    = awslogs.RetentionDays_THREE_MONTHS

	// MaxInlineConfig is the largest configuration document (compacted JSON)
	// New places in a function's environment: Lambda allows 4 KB for all
	// variables together, and the rest need up to about 1 KB.
	MaxInlineConfig = 3072

	// VisibilityFactor: each target queue's visibility timeout is this many
	// times its consumer's timeout (AWS's guidance for SQS event sources).
	VisibilityFactor = 6
	// MaxReceiveCount is how often a message is received before it moves to
	// the dead-letter queue: the consumers' own count (on the last receive
	// but one a retryable failure is left to reconciliation, the last kept
	// spare for a failed invocation, see consumers.RunnerOptions.MaxReceives).
	MaxReceiveCount = consumers.DefaultMaxReceives
	// Retention of every queue and dead-letter queue.
	Retention = 14 * 24 * time.Hour
	// BatchSize of the consumers' event source mappings (FIFO's maximum).
	BatchSize = 10
	// ConnectOwnershipTagKey is the tag the Connect consumer puts on agents it
	// creates (consumers/connect.DefaultTagKey); the consumer's TagResource
	// grant allows no other key.
	ConnectOwnershipTagKey = "idsync:person"

	// DefaultHookConcurrency is the hook's reserved concurrency: Okta's
	// deliveries are short (the hook answers within 3 s), so a handful of
	// instances suffice, and a flood of requests to the public URL cannot
	// take more of the account's concurrency than this.
	DefaultHookConcurrency = 10
	// DefaultQueueAgeAlarm: a target queue whose oldest message is older
	// than this alarms (a consumer that stopped, or a backlog it cannot
	// work off at the target's rate).
	DefaultQueueAgeAlarm = 30 * time.Minute
	// DefaultArchiveRetentionDays is the Object Lock retention of the
	// ledger archive.
	DefaultArchiveRetentionDays = 365
	// HookLatencyAlarm: the hook's p99 duration above this alarms; Okta
	// gives up on a delivery after 3 s.
	HookLatencyAlarm = 2500 * time.Millisecond
	// HookSecretLength is the length of a generated hook secret (letters
	// and digits, so it can be pasted into Okta's auth header field as is).
	HookSecretLength = 48
)

// Props configures the stack. Exactly one of ConfigFile and ConfigParameter
// is required.
type Props struct {
	awscdk.StackProps

	// Prefix names the tables and queues ("idsync-" gives idsync-state,
	// idsync-ledger, idsync-workmail.fifo, …). Default DefaultPrefix.
	Prefix string

	// ConfigFile is a path to the configuration document. New reads and
	// validates it and places it, compacted, in IDSYNC_CONFIG
	// (settings.EnvConfig); the document must not exceed MaxInlineConfig
	// bytes. The
	// targets, the WorkMail organisation, the Connect instance, the identity
	// store and the IdC groups are taken from it.
	ConfigFile string
	// ConfigParameter names an SSM String parameter holding the document,
	// resolved by CloudFormation at deploy time (a changed document needs a
	// deploy). The document is not visible at synth, so WorkMailOrganizationID
	// and/or ConnectInstanceID (which targets to deploy) and IdentityStoreID
	// are required with it.
	ConfigParameter string
	// With ConfigParameter: the WorkMail organisation (deploys the WorkMail
	// target), the Connect instance (deploys the Connect target) and the IdC
	// identity store. With ConfigFile they must be empty or agree with the
	// document.
	WorkMailOrganizationID string
	ConnectInstanceID      string
	IdentityStoreID        string

	// HookSecretName names an existing Secrets Manager secret holding the
	// Okta hook's auth-header value (a plain string or
	// {"current","previous"}); the stack references it and grants the hook
	// read access. When empty (the default), the stack creates the secret
	// with a value Secrets Manager generates (HookSecretLength letters and
	// digits) and outputs its ARN; the value itself never appears in the
	// template.
	HookSecretName string
	// HookSecretKeyARN is the KMS key encrypting an existing secret when it
	// is not the account's aws/secretsmanager key; the hook is granted
	// kms:Decrypt on it through Secrets Manager only.
	HookSecretKeyARN string
	// HookAuthHeader is the header Okta sends the secret in (default
	// Authorization), HookSecretTTL how long the hook caches the secret
	// (default 5m): the Okta-facing settings.
	HookAuthHeader string
	HookSecretTTL  time.Duration
	// HookConcurrency is the hook function's reserved concurrency (default
	// DefaultHookConcurrency, 1 to 1000): the most instances requests to the
	// public URL can occupy.
	HookConcurrency int

	// ScheduleRate is how often the IdC snapshot runs: whole minutes, at
	// least 1 (default 15m).
	ScheduleRate time.Duration
	// IdCRate is the snapshot's IdentityStore request rate (default 20/s).
	IdCRate float64

	// ConsumerTimeout is each consumer's function timeout (default 2m); the
	// queues' visibility timeout is VisibilityFactor times it.
	ConsumerTimeout time.Duration
	// MaxConcurrency caps each consumer's concurrent instances through its
	// event source mapping (2 to 1000; default 2).
	MaxConcurrency int
	// WorkMailRate and ConnectRate are the request rates (per second) the
	// target's consumer instances may use together: WorkMailRate for all
	// WorkMail operations (one bucket, WORKMAIL_RATE), ConnectRate for each
	// Connect user API separately (Connect's quotas are per operation, and
	// the consumer's meter gives each operation its own bucket,
	// CONNECT_RATE). Up to MaxConcurrency instances run at once, each with
	// its own meter, so each gets rate / MaxConcurrency: together they keep
	// to the rate, per operation for Connect. Defaults DefaultWorkMailRate,
	// DefaultConnectRate.
	WorkMailRate float64
	ConnectRate  float64

	// CodeDir holds one directory per function with its bootstrap (default
	// DefaultCodeDir, i.e. make build's dist/ seen from infra/).
	CodeDir string
	// LogLevel is every function's LOG_LEVEL (default info); LogRetention
	// the retention of their log groups (default three months).
	LogLevel     string
	LogRetention awslogs.RetentionDays

	// AlarmEmails are subscribed (email protocol; each address confirms
	// once) to the topic every alarm notifies.
	AlarmEmails []string
	// AlarmTopicARN is an existing SNS topic to notify instead of one the
	// stack creates; AlarmEmails are then subscribed to it.
	AlarmTopicARN string
	// QueueAgeAlarm: a target queue whose oldest message is older than this
	// alarms (whole minutes, at least 5; default DefaultQueueAgeAlarm).
	QueueAgeAlarm time.Duration

	// OktaAPISecretName names an existing Secrets Manager secret holding
	// the credentials of Okta's Users API (one JSON object, see
	// internal/oktaapi.ParseCredentials: an OAuth 2.0 API service app with
	// a private key and the okta.users.read scope, or an SSWS token). The
	// Connect consumer reads it (OKTA_API_SECRET_ID; GetSecretValue on that
	// secret only) to give new agents their names from Okta seconds after
	// the hook; the hook and every consumer get the variable, so that
	// their configuration check knows Okta API access is configured. Empty:
	// no Okta API access; every Connect group then needs an idcId (agents
	// get provisional names until the snapshot brings the real ones). The
	// secret must use the account's aws/secretsmanager key.
	OktaAPISecretName string
	// SkipWorkMailAssignments leaves the WorkMail groups' assignments to
	// WorkMail's IAM Identity Center application alone. By default, when
	// the document names workmail.identityCenter.applicationArn, the stack
	// assigns every WorkMail group that has an idcId to that application
	// (AWS::SSO::ApplicationAssignment, principal type GROUP, kept when the
	// stack is deleted so that people keep signing in to WorkMail). Set it
	// when the groups are assigned already (by AWS's IdC → WorkMail
	// sample, by idsync discover --assign, in the console): CloudFormation
	// does not adopt an existing assignment.
	SkipWorkMailAssignments bool

	// ArchiveRetentionDays is the ledger archive's Object Lock retention in
	// COMPLIANCE mode (1 to 36500; default DefaultArchiveRetentionDays): for
	// that long after it is written, no one can delete or overwrite an
	// archived object version or shorten its retention.
	ArchiveRetentionDays int

	// The mailbox export bucket (MailExport), deployed when the
	// configuration document has workmail.onLeave.exportTo:
	// ExportBucketEncryption is its default encryption, ExportBucketKMS
	// (the configured key; the default) or ExportBucketS3 (SSE-S3);
	// ExportTransitionDays moves exports to S3 Glacier Flexible Retrieval
	// after that many days and ExportExpireDays deletes them after that
	// many (0: never, the defaults); ExportNoncurrentDays keeps a replaced
	// version that long (default DefaultExportNoncurrentDays).
	ExportBucketEncryption string
	ExportTransitionDays   int
	ExportExpireDays       int
	ExportNoncurrentDays   int
}

// resolved are Props with defaults applied and the configuration resolved.
type resolved struct {
	Props
	// fromFile: configDoc is the compacted document from ConfigFile (else
	// the stack reads ConfigParameter).
	fromFile  bool
	configDoc string
	// workmail and connect say which targets are deployed.
	workmail, connect bool
	// idcGroupIDs are the configured IdC groups; nil when not known at
	// synth (ConfigParameter).
	idcGroupIDs []string
	// workmailApp is the document's workmail.identityCenter.applicationArn
	// and workmailIdCGroups its WorkMail groups' idcIds (known at synth
	// with ConfigFile only).
	workmailApp       string
	workmailIdCGroups []string
	// perInstanceWM and perInstanceCon are each consumer instance's rate
	// (Connect's per operation).
	perInstanceWM, perInstanceCon float64
	// exportTo is the document's workmail.onLeave.exportTo: the mailbox
	// export bucket and role are deployed; nil otherwise.
	exportTo *domain.MailboxExportTo
}

var (
	reWorkMailOrg   = regexp.MustCompile(`^m-[0-9a-f]{32}$`)
	rePrefix        = regexp.MustCompile(`^[A-Za-z0-9_-]{0,40}$`)
	reLogLevel      = regexp.MustCompile(`^(?i)(debug|info|warn|error)$`)
	reUUID          = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	reIdentityStore = regexp.MustCompile(`^(d-[0-9a-f]{10}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$`)
	reEmail         = regexp.MustCompile(`^[^@\s,]+@[^@\s,]+\.[^@\s,]+$`)
	reTopicARN      = regexp.MustCompile(`^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$`)
	reSecretName    = regexp.MustCompile(`^[A-Za-z0-9/_+=.@-]{1,512}$`)
)

// resolve applies defaults and validates p, reading ConfigFile when set.
func resolve(p Props) (resolved, error) {
	s := resolved{Props: p}
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidProps}, args...)...))
	}
	if s.Prefix == "" {
		s.Prefix = DefaultPrefix
	}
	if !rePrefix.MatchString(s.Prefix) {
		bad("Prefix %q: letters, digits, '-' and '_' only, at most 40", s.Prefix)
	}
	if s.CodeDir == "" {
		s.CodeDir = DefaultCodeDir
	}
	if s.HookAuthHeader == "" {
		s.HookAuthHeader = DefaultHookAuthHeader
	}
	if s.HookSecretTTL == 0 {
		s.HookSecretTTL = DefaultHookSecretTTL
	}
	if s.ScheduleRate == 0 {
		s.ScheduleRate = DefaultScheduleRate
	}
	if s.IdCRate == 0 {
		s.IdCRate = DefaultIdCRate
	}
	if s.ConsumerTimeout == 0 {
		s.ConsumerTimeout = DefaultConsumerTimeout
	}
	if s.MaxConcurrency == 0 {
		s.MaxConcurrency = DefaultMaxConcurrency
	}
	if s.WorkMailRate == 0 {
		s.WorkMailRate = DefaultWorkMailRate
	}
	if s.ConnectRate == 0 {
		s.ConnectRate = DefaultConnectRate
	}
	if s.LogLevel == "" {
		s.LogLevel = DefaultLogLevel
	}
	if s.LogRetention == "" {
		s.LogRetention = DefaultLogRetention
	}
	if s.HookConcurrency == 0 {
		s.HookConcurrency = DefaultHookConcurrency
	}
	if s.QueueAgeAlarm == 0 {
		s.QueueAgeAlarm = DefaultQueueAgeAlarm
	}
	if s.ArchiveRetentionDays == 0 {
		s.ArchiveRetentionDays = DefaultArchiveRetentionDays
	}

	s.HookSecretName = strings.TrimSpace(s.HookSecretName)
	s.OktaAPISecretName = strings.TrimSpace(s.OktaAPISecretName)
	if s.OktaAPISecretName != "" && !reSecretName.MatchString(s.OktaAPISecretName) {
		bad("OktaAPISecretName %q is not a Secrets Manager secret name", s.OktaAPISecretName)
	}
	if s.HookSecretKeyARN != "" && s.HookSecretName == "" {
		bad("HookSecretKeyARN is for an existing secret: set HookSecretName too (a generated secret uses aws/secretsmanager)")
	}
	if s.HookConcurrency < 1 || s.HookConcurrency > 1000 {
		bad("HookConcurrency %d: 1 to 1000", s.HookConcurrency)
	}
	for _, e := range s.AlarmEmails {
		if !reEmail.MatchString(e) {
			bad("AlarmEmails: %q is not an email address", e)
		}
	}
	if s.AlarmTopicARN != "" && !reTopicARN.MatchString(s.AlarmTopicARN) {
		bad("AlarmTopicARN %q is not an SNS topic ARN", s.AlarmTopicARN)
	}
	if s.QueueAgeAlarm < 5*time.Minute || s.QueueAgeAlarm%time.Minute != 0 || s.QueueAgeAlarm >= Retention {
		bad("QueueAgeAlarm %s: whole minutes, at least 5, below the queues' 14-day retention", s.QueueAgeAlarm)
	}
	if s.ArchiveRetentionDays < 1 || s.ArchiveRetentionDays > 36500 {
		bad("ArchiveRetentionDays %d: 1 to 36500", s.ArchiveRetentionDays)
	}
	if s.HookSecretTTL < 0 {
		bad("HookSecretTTL %s is negative", s.HookSecretTTL)
	}
	if s.ScheduleRate < time.Minute || s.ScheduleRate%time.Minute != 0 {
		bad("ScheduleRate %s: whole minutes, at least 1", s.ScheduleRate)
	}
	// A consumer starts a record only with more than its time reserve (10 s,
	// consumers.RunnerOptions.TimeReserve) left: a shorter timeout would defer
	// every record until it reached the DLQ.
	if s.ConsumerTimeout < 30*time.Second || s.ConsumerTimeout%time.Second != 0 || s.ConsumerTimeout > 15*time.Minute {
		bad("ConsumerTimeout %s: whole seconds, 30s to 15m (the consumer keeps 10 s in reserve)", s.ConsumerTimeout)
	}
	if s.MaxConcurrency < 2 || s.MaxConcurrency > 1000 {
		bad("MaxConcurrency %d: 2 to 1000 (SQS event source limits)", s.MaxConcurrency)
	}
	for _, r := range []struct {
		name string
		v    float64
	}{{"IdCRate", s.IdCRate}, {"WorkMailRate", s.WorkMailRate}, {"ConnectRate", s.ConnectRate}} {
		if !(r.v > 0) {
			bad("%s %v: must be positive", r.name, r.v)
		}
	}
	if !reLogLevel.MatchString(s.LogLevel) {
		bad("LogLevel %q: debug, info, warn or error", s.LogLevel)
	}
	s.perInstanceWM = s.WorkMailRate / float64(s.MaxConcurrency)
	s.perInstanceCon = s.ConnectRate / float64(s.MaxConcurrency)

	switch {
	case s.ConfigFile != "" && s.ConfigParameter != "":
		bad("give ConfigFile or ConfigParameter, not both")
	case s.ConfigFile != "":
		errs = append(errs, s.fromConfigFile()...)
	case s.ConfigParameter != "":
		// The document, and so exportTo, is not known at synth: no export
		// bucket or role (create them by hand, or use ConfigFile).
		errs = append(errs, s.resolveExport(nil)...)
		s.workmail, s.connect = s.WorkMailOrganizationID != "", s.ConnectInstanceID != ""
		if !s.workmail && !s.connect {
			bad("with ConfigParameter, WorkMailOrganizationID and/or ConnectInstanceID say which targets to deploy")
		}
		if s.IdentityStoreID == "" {
			bad("with ConfigParameter, IdentityStoreID is required")
		}
	default:
		bad("ConfigFile or ConfigParameter is required")
	}
	// The ids become ARNs: reject what cannot be one (the document's ids
	// are already checked by domain.ParseConfig).
	if s.WorkMailOrganizationID != "" && !reWorkMailOrg.MatchString(s.WorkMailOrganizationID) {
		bad("WorkMailOrganizationID %q is not m- and 32 hex digits", s.WorkMailOrganizationID)
	}
	if s.ConnectInstanceID != "" && !reUUID.MatchString(s.ConnectInstanceID) {
		bad("ConnectInstanceID %q is not a UUID", s.ConnectInstanceID)
	}
	if s.IdentityStoreID != "" && !reIdentityStore.MatchString(s.IdentityStoreID) {
		bad("IdentityStoreID %q is not d- and 10 hex digits, or a UUID", s.IdentityStoreID)
	}

	for _, fn := range s.functions() {
		if _, err := os.Stat(filepath.Join(s.CodeDir, fn.Asset, "bootstrap")); err != nil {
			bad("code of %s: %v (run make build, or set CodeDir)", fn.Name, err)
		}
	}
	return s, errors.Join(errs...)
}

// fromConfigFile reads, validates and compacts the configuration document
// and takes the targets and ids from it.
func (s *resolved) fromConfigFile() []error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidProps}, args...)...))
	}
	raw, err := os.ReadFile(s.ConfigFile)
	if err != nil {
		bad("ConfigFile: %v", err)
		return errs
	}
	cfg, err := domain.ParseConfig(raw)
	if err != nil {
		errs = append(errs, fmt.Errorf("%w: ConfigFile %s: %w", ErrInvalidProps, s.ConfigFile, err))
		return errs
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil { // cannot fail after ParseConfig
		bad("ConfigFile: %v", err)
		return errs
	}
	s.fromFile, s.configDoc = true, compact.String()
	if len(s.configDoc) > MaxInlineConfig {
		bad("ConfigFile: the compacted document is %d bytes; Lambda's 4 KB environment allows at most %d", len(s.configDoc), MaxInlineConfig)
	}

	agree := func(field, prop, doc string) string {
		if prop != "" && prop != doc {
			bad("%s %q disagrees with the configuration document's %q", field, prop, doc)
		}
		return doc
	}
	var exportTo *domain.MailboxExportTo
	if cfg.WorkMail != nil {
		s.workmail = true
		s.WorkMailOrganizationID = agree("WorkMailOrganizationID", s.WorkMailOrganizationID, cfg.WorkMail.OrganizationID)
		exportTo = cfg.WorkMail.ExportTo()
	} else if s.WorkMailOrganizationID != "" {
		bad("WorkMailOrganizationID is set but the configuration document has no workmail section")
	}
	if cfg.Connect != nil {
		s.connect = true
		s.ConnectInstanceID = agree("ConnectInstanceID", s.ConnectInstanceID, cfg.Connect.InstanceID)
	} else if s.ConnectInstanceID != "" {
		bad("ConnectInstanceID is set but the configuration document has no connect section")
	}
	if !s.workmail && !s.connect {
		bad("ConfigFile: the configuration document configures no target")
	}
	s.IdentityStoreID = agree("IdentityStoreID", s.IdentityStoreID, cfg.Snapshot.IdentityStoreID)
	if s.IdentityStoreID == "" {
		bad("ConfigFile: snapshot.identityStoreId is required: the IdC snapshot is what corrects lost or reordered hook deliveries")
	}
	s.idcGroupIDs = []string{}
	for _, g := range cfg.MappedGroups() {
		if g.IdCID != "" {
			s.idcGroupIDs = append(s.idcGroupIDs, g.IdCID)
		}
	}
	if len(s.idcGroupIDs) == 0 {
		bad("ConfigFile: no configured group has an idcId, so the snapshot has nothing to read")
	}
	if err := enrich.CheckConfig(cfg, s.OktaAPISecretName != ""); err != nil {
		errs = append(errs, fmt.Errorf("%w: ConfigFile %s: %w (set OktaAPISecretName, or give the group its idcId)", ErrInvalidProps, s.ConfigFile, err))
	}
	if cfg.WorkMail != nil {
		s.workmailApp = cfg.WorkMail.IdentityCenter.ApplicationARN
		for _, g := range cfg.WorkMail.Groups {
			if g.IdCID != "" {
				s.workmailIdCGroups = append(s.workmailIdCGroups, g.IdCID)
			}
		}
	}
	return append(errs, s.resolveExport(exportTo)...)
}

// functions lists the deployed functions.
func (s resolved) functions() []Function {
	var out []Function
	for _, fn := range Functions() {
		if (fn.Name == FnWorkMail && !s.workmail) || (fn.Name == FnConnect && !s.connect) {
			continue
		}
		out = append(out, fn)
	}
	return out
}

// formatRate renders a rate for an environment variable.
func formatRate(r float64) string { return strconv.FormatFloat(r, 'f', -1, 64) }
