package domain

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/template"
	"time"
)

// Config is the one JSON document every idsync component reads: which
// groups give which entitlements in which target, how names are rendered,
// what happens on leave, and how the IdC snapshot runs. A nil WorkMail or
// Connect section means that target is not provisioned.
//
//	{
//	  "snapshot": {"identityStoreId": "d-1234567890", "settleWindow": "10m",
//	               "removalCap": {"max": 50, "maxPercent": 10, "minForPercent": 5},
//	               "redeliverAfter": "1h", "retryFailedAfter": "24h"},
//	  "hook": {"removalBrake": {"max": 50, "window": "10m"}},
//	  "workmail": {
//	    "organizationId": "m-0123456789abcdef0123456789abcdef",
//	    "mailDomain": "example.com",
//	    "groups": [{"oktaId": "00g1mail", "idcId": "9067…", "name": "Mail users"}],
//	    "nameTemplate": "{{.LoginLocal}}",
//	    "emailTemplate": "{{.LoginLocal}}@{{.Domain}}",
//	    "onLeave": {"action": "delete", "deleteAfterDays": 30},
//	    "identityCenter": {"instanceArn": "arn:aws:sso:::instance/ssoins-…",
//	                       "applicationArn": "arn:aws:sso::123456789012:application/ssoins-…/apl-…",
//	                       "assignmentGrace": "1h"},
//	    "mode": "active"
//	  },
//	  (or, exporting each leaver's mailbox before it is deleted:
//	   "onLeave": {"action": "delete", "deleteAfterDays": 14,
//	               "exportTo": {"bucket": "…", "prefix": "workmail/leavers",
//	                            "kmsKeyArn": "arn:aws:kms:…", "roleArn": "arn:aws:iam::…:role/…"}})
//	  "connect": {
//	    "instanceId": "…", "phoneType": "SOFT_PHONE", "usernameTemplate": "{{.Login}}",
//	    "groups": [{"oktaId": "00g1agents", "idcId": "…", "securityProfileIds": ["…"],
//	                "routingProfileId": "…", "hierarchyGroupId": "…", "priority": 10}],
//	    "onLeave": {"action": "strip", "securityProfileIds": ["…"], "routingProfileId": "…"}
//	  }
//	}
type Config struct {
	WorkMail *WorkMailConfig `json:"workmail,omitempty"`
	Connect  *ConnectConfig  `json:"connect,omitempty"`
	Snapshot SnapshotConfig  `json:"snapshot"`
	// Hook configures the Okta event-hook endpoint.
	Hook HookConfig `json:"hook,omitzero"`
	// DryRun asks consumers to plan and record each op as OutcomeWould
	// without calling the target.
	DryRun bool `json:"dryRun,omitempty"`
}

// LeaveAction is what happens to a person's account when they no longer
// qualify for it (left every mapped group, or suspended, deactivated,
// deleted).
type LeaveAction string

// Leave actions. WorkMail takes disable (default) or delete; Connect takes
// delete (default) or strip.
const (
	// LeaveDisable deregisters the mailbox (WorkMail keeps it for 30 days).
	LeaveDisable LeaveAction = "disable"
	// LeaveDelete deletes the account. In WorkMail the mailbox is disabled
	// first and deleted once WorkMailLeave.DeleteAfterDays have passed.
	LeaveDelete LeaveAction = "delete"
	// LeaveStrip keeps the Connect user but reduces it to the configured
	// leave security profiles and routing profile.
	LeaveStrip LeaveAction = "strip"
)

// Connect phone types.
const (
	PhoneTypeSoft = "SOFT_PHONE"
	PhoneTypeDesk = "DESK_PHONE"
)

// Defaults that ParseConfig and WithDefaults apply to fields left empty.
const (
	DefaultNameTemplate      = "{{.LoginLocal}}"
	DefaultEmailTemplate     = "{{.LoginLocal}}@{{.Domain}}"
	DefaultUsernameTemplate  = "{{.Login}}"
	DefaultPhoneType         = PhoneTypeSoft
	DefaultWorkMailLeave     = LeaveDisable
	DefaultConnectLeave      = LeaveDelete
	DefaultMaxRemovals       = 50
	DefaultMaxRemovalPercent = 10.0
	// DefaultMinRemovalsForPercent is RemovalCap.MinForPercent's default:
	// a run removing at most 5 people is never refused by the percentage.
	DefaultMinRemovalsForPercent = 5
	// DefaultSettleWindow is SnapshotConfig.SettleWindow's default.
	DefaultSettleWindow = 10 * time.Minute
	// MaxSettleWindow bounds SnapshotConfig.SettleWindow (exclusive).
	MaxSettleWindow = 24 * time.Hour
	// DefaultAssignmentGrace is WorkMailIdentityCenter.AssignmentGrace's
	// default.
	DefaultAssignmentGrace = time.Hour
	// MaxAssignmentGrace bounds WorkMailIdentityCenter.AssignmentGrace.
	MaxAssignmentGrace = 24 * time.Hour
	// DefaultRedeliverAfter is SnapshotConfig.RedeliverAfter's default.
	DefaultRedeliverAfter = time.Hour
	// DefaultRetryFailedAfter is SnapshotConfig.RetryFailedAfter's default.
	DefaultRetryFailedAfter = 24 * time.Hour
	// MinRedelivery and MaxRedelivery bound RedeliverAfter and
	// RetryFailedAfter (inclusive) when set.
	MinRedelivery = time.Minute
	MaxRedelivery = 7 * 24 * time.Hour
	// DefaultDriftEvery is SnapshotConfig.DriftEvery's default; MinDriftEvery
	// its least value when set.
	DefaultDriftEvery = 24 * time.Hour
	MinDriftEvery     = time.Minute
	// DefaultBrakeMax and DefaultBrakeWindow are RemovalBrake's defaults:
	// 50 hook removals per target per 10 minutes.
	DefaultBrakeMax    = 50
	DefaultBrakeWindow = 10 * time.Minute
	// MaxBrakeWindow bounds RemovalBrake.Window (inclusive).
	MaxBrakeWindow = 24 * time.Hour
)

// WorkMailConfig says who gets a WorkMail mailbox and how it looks.
//
// Name, email (and Connect's username) templates are Go text/template
// strings executed with a TemplateData; the functions lower and upper are
// available. The defaults match the project idsync replaces: the mailbox
// Name is the local part of the login and the email is that local part at
// the mail domain.
type WorkMailConfig struct {
	// OrganizationID is the WorkMail organisation, ^m-[0-9a-f]{32}$.
	OrganizationID string `json:"organizationId"`
	// MailDomain is the domain of rendered email addresses; empty means the
	// organisation's default mail domain, which the consumer resolves at
	// runtime and passes to PlanWorkMail.
	MailDomain string `json:"mailDomain,omitempty"`
	// Groups gives a mailbox to every member; each names an Okta group id,
	// an IdC group id or (best, so that both sources' facts apply) both.
	Groups []GroupRef `json:"groups"`
	// NameTemplate renders the mailbox Name (1–64 characters, WorkMail's
	// user-name pattern). Set once at create: WorkMail cannot rename a user.
	NameTemplate string `json:"nameTemplate,omitempty"`
	// EmailTemplate renders the primary email address.
	EmailTemplate string `json:"emailTemplate,omitempty"`
	// OnLeave is what happens to the mailbox of a person who leaves.
	OnLeave WorkMailLeave `json:"onLeave"`
	// IdentityCenter tunes how the consumer treats the organisation's IAM
	// Identity Center link.
	IdentityCenter WorkMailIdentityCenter `json:"identityCenter,omitzero"`
	// Mode is WorkMailActive (empty means active) or WorkMailFrozen: no new
	// mailboxes are created (a joiner's plan is empty with ReasonFrozen),
	// while leavers are still disabled, exported and deleted and existing
	// mailboxes are still updated and re-enabled. For the last weeks before
	// WorkMail's end of support.
	Mode WorkMailMode `json:"mode,omitempty"`
}

// WorkMailMode says whether the WorkMail consumer creates mailboxes.
type WorkMailMode string

// WorkMail modes.
const (
	// WorkMailActive: joiners get mailboxes (the default).
	WorkMailActive WorkMailMode = "active"
	// WorkMailFrozen: no new mailboxes; everything else as in active.
	WorkMailFrozen WorkMailMode = "frozen"
)

// Frozen reports whether Mode is WorkMailFrozen.
func (w WorkMailConfig) Frozen() bool { return w.Mode == WorkMailFrozen }

// MaxExportDeleteAfterDays bounds WorkMailLeave.DeleteAfterDays when
// ExportTo is set: WorkMail removes a deregistered mailbox 30 days after
// it was disabled (DeregisterFromWorkMail; admin guide,
// manage-mailboxes.html), so the export, which starts when the delete is
// due, must start well before: two days leave time for a long job and for
// a retry after WorkMail's once-per-24-hours limit per mailbox.
const MaxExportDeleteAfterDays = 28

// WorkMailIdentityCenter tunes how the WorkMail consumer treats an
// organisation linked to IAM Identity Center, which refuses to link a
// mailbox to an IdC user who is not assigned (directly or through a group)
// to WorkMail's IdC application.
type WorkMailIdentityCenter struct {
	// InstanceARN is the IAM Identity Center instance the organisation is
	// linked to (arn:aws:sso:::instance/ssoins-…). Optional.
	InstanceARN string `json:"instanceArn,omitempty"`
	// ApplicationARN is WorkMail's application in that instance
	// (arn:aws:sso::<account>:application/ssoins-…/apl-…). Optional. When
	// either is set the WorkMail consumer checks at cold start that the
	// organisation's identity provider configuration names them
	// (DescribeIdentityProviderConfiguration) and refuses to run
	// otherwise; with ApplicationARN the CDK stack assigns every WorkMail
	// group that has an idcId to the application.
	ApplicationARN string `json:"applicationArn,omitempty"`
	// AssignmentGrace is how long after the person's latest fact such a
	// refusal is retried: Okta's push to IdC and the application
	// assignment lag the hook. After it the create fails permanently.
	// JSON: a Go duration string such as "1h"; 0 < grace ≤
	// MaxAssignmentGrace, empty or zero meaning DefaultAssignmentGrace.
	// Retries ride on redeliveries, so a grace longer than the queue's
	// retry budget (maxReceiveCount × visibility timeout) ends in SQS's own
	// dead-lettering, without idsync's reason.
	AssignmentGrace Duration `json:"assignmentGrace,omitempty"`
}

// WorkMailLeave is WorkMail's leave policy.
type WorkMailLeave struct {
	// Action is LeaveDisable (default) or LeaveDelete.
	Action LeaveAction `json:"action,omitempty"`
	// DeleteAfterDays is, with LeaveDelete, how long a mailbox stays
	// disabled before it is deleted; 0 deletes right after disabling. With
	// ExportTo at most MaxExportDeleteAfterDays.
	DeleteAfterDays int `json:"deleteAfterDays,omitempty"`
	// ExportTo, with LeaveDelete, exports the mailbox before it is deleted:
	// when the delete is due, a mailbox export job is started and followed,
	// and the mailbox is deleted only once a job started after the disable
	// has COMPLETED. A failed export keeps the mailbox.
	ExportTo *MailboxExportTo `json:"exportTo,omitempty"`
}

// MailboxExportTo is where WorkMail exports mailboxes
// (StartMailboxExportJob's destination): a .zip per job under Prefix in
// Bucket, encrypted with the KMS key, written by WorkMail through the role
// (which trusts export.workmail.amazonaws.com). The organisation, the key
// and the bucket must be in the same Region. Every field is required and
// checked against the API model's shapes.
type MailboxExportTo struct {
	// Bucket is the S3 bucket name (S3BucketName: 1–63 of [A-Za-z0-9.-]).
	Bucket string `json:"bucket"`
	// Prefix is the key prefix (S3ObjectKey: 1–1023 of
	// [A-Za-z0-9!_.*'()/-]).
	Prefix string `json:"prefix"`
	// KMSKeyARN is the symmetric KMS key that encrypts the export
	// (KmsKeyArn: arn:aws:kms:…, 20–2048 characters).
	KMSKeyARN string `json:"kmsKeyArn"`
	// RoleARN is the IAM role WorkMail assumes to write to the bucket
	// (RoleArn: arn:aws:iam:…, 20–2048 characters).
	RoleARN string `json:"roleArn"`
}

// ExportTo returns the leave policy's export destination, or nil when
// leavers' mailboxes are not exported (no ExportTo, or not LeaveDelete).
func (w WorkMailConfig) ExportTo() *MailboxExportTo {
	if w.leaveAction() != LeaveDelete {
		return nil
	}
	return w.OnLeave.ExportTo
}

// ConnectConfig says who gets an Amazon Connect agent and with which
// profiles.
type ConnectConfig struct {
	// InstanceID is the Connect instance id.
	InstanceID string `json:"instanceId"`
	// Groups maps groups to profiles. A person in several of them gets the
	// profiles of the one with the lowest Priority, and only those.
	Groups []ConnectGroup `json:"groups"`
	// PhoneType is SOFT_PHONE (default) or DESK_PHONE, set at create.
	PhoneType string `json:"phoneType,omitempty"`
	// UsernameTemplate renders the Connect Username: characters of
	// [a-zA-Z0-9_.@-] ('@' only in an email-formed name), at most 64 on an
	// instance that uses SAML and 20 otherwise (ConnectIdentity). Set once
	// at create: Connect cannot rename a user. Default: the login.
	UsernameTemplate string `json:"usernameTemplate,omitempty"`
	// OnLeave is what happens to the agent of a person who leaves.
	OnLeave ConnectLeave `json:"onLeave"`
}

// ConnectGroup is one group's Connect entitlements. The group's ids are
// inlined in its JSON object (oktaId, idcId, name).
type ConnectGroup struct {
	GroupRef
	// SecurityProfileIDs: 1–10 security profile ids.
	SecurityProfileIDs []string `json:"securityProfileIds"`
	// RoutingProfileID is the routing profile id.
	RoutingProfileID string `json:"routingProfileId"`
	// HierarchyGroupID is optional.
	HierarchyGroupID string `json:"hierarchyGroupId,omitempty"`
	// Priority: lower wins when a person is in several groups. Priorities
	// must be distinct.
	Priority int `json:"priority"`
}

// ConnectLeave is Connect's leave policy.
type ConnectLeave struct {
	// Action is LeaveDelete (default) or LeaveStrip.
	Action LeaveAction `json:"action,omitempty"`
	// SecurityProfileIDs (1–10) and RoutingProfileID are, with LeaveStrip,
	// what a leaver's agent is reduced to; they must be empty otherwise.
	SecurityProfileIDs []string `json:"securityProfileIds,omitempty"`
	RoutingProfileID   string   `json:"routingProfileId,omitempty"`
}

// SnapshotConfig configures the IdC snapshot producer.
type SnapshotConfig struct {
	// IdentityStoreID is the IAM Identity Center identity store
	// (d-xxxxxxxxxx or a UUID).
	IdentityStoreID string `json:"identityStoreId"`
	// RemovalCap limits the removals one snapshot run may emit.
	RemovalCap RemovalCap `json:"removalCap"`
	// SettleWindow is how far Identity Center may lag Okta (the SCIM push
	// delay): a fact idsync learned (from a hook) less than SettleWindow
	// before a snapshot was taken is never contradicted by that snapshot,
	// since IdC may not show it yet; a later run re-examines it. It becomes
	// Snapshot.Lag. JSON: a Go duration string such as "10m" or "90s",
	// 0 ≤ window < MaxSettleWindow. ParseConfig defaults an omitted field
	// to DefaultSettleWindow; in a Config built in Go zero means no window.
	SettleWindow Duration `json:"settleWindow"`
	// RedeliverAfter is how long a difference the snapshotter emitted
	// (diff facts, or a reconcile event) is taken to be in flight: while
	// the person's and target state's versions stay as they were at
	// emission, later runs do not emit the same difference again until
	// RedeliverAfter has passed since it was last emitted; then it is sent
	// again (with the same event ids), in case it was lost. Zero means
	// DefaultRedeliverAfter; otherwise MinRedelivery–MaxRedelivery.
	RedeliverAfter Duration `json:"redeliverAfter,omitzero"`
	// RetryFailedAfter replaces RedeliverAfter for a reconcile event its
	// consumer recorded as failed permanently (dead-lettered): the same
	// difference is tried again only after this long, so a failure whose
	// cause is fixed (a quota raised) still converges, once a day by
	// default, instead of being dead-lettered every run. Zero means
	// DefaultRetryFailedAfter; otherwise MinRedelivery–MaxRedelivery.
	RetryFailedAfter Duration `json:"retryFailedAfter,omitzero"`
	// SCIMIssuer is the exact issuer IAM Identity Center records on the
	// ExternalIds of the users Okta's SCIM push provisions
	// ("https://scim.aws.com/<n>"): the Okta user id of an IdC user is the
	// id under that issuer. Empty (the default) accepts any issuer
	// starting with DefaultSCIMIssuerPrefix, which is unambiguous as long
	// as Okta is the only SCIM client of the identity store; set it when
	// another one pushes too. Either way only an id shaped like an Okta
	// user id (00u and 17 letters or digits) counts.
	SCIMIssuer string `json:"scimIssuer,omitempty"`
	// LoginLink says whether an IdC user without such an external id is
	// linked to a person by login, as a guarded fallback: LoginLinkGuarded
	// (the default) links it to the one person whose login equals its
	// userName, who has an Okta id and no IdC user id yet; several such
	// people are an identity conflict, reported and left unlinked.
	// LoginLinkOff never links by login.
	LoginLink LoginLink `json:"loginLink,omitempty"`
	// Drift says what a drift check does with a managed account found
	// changed in its target behind idsync's back (see DriftMode): repair it
	// (DriftRepair, the default when empty), only report it
	// (DriftReportOnly), or never read the targets (DriftOff).
	Drift DriftMode `json:"drift,omitempty"`
	// DriftEvery is how often a snapshot run also reads every target's
	// accounts to compare the managed ones with their recorded state: the
	// first complete run at least DriftEvery after the last drift check
	// does it. Zero means DefaultDriftEvery; otherwise
	// MinDriftEvery–MaxRedelivery.
	DriftEvery Duration `json:"driftEvery,omitzero"`
}

// DriftMode is SnapshotConfig.Drift's setting.
type DriftMode string

// Drift modes.
const (
	// DriftRepair reports every drifted managed account (a ledger row) and
	// queues a repair to its target's consumer, which plans from the
	// account as found.
	DriftRepair DriftMode = "repair"
	// DriftReportOnly writes the ledger rows, logs and metrics and queues
	// nothing.
	DriftReportOnly DriftMode = "report-only"
	// DriftOff never reads the targets' accounts.
	DriftOff DriftMode = "off"
)

// DriftOrDefault returns Drift, DriftRepair when empty.
func (c SnapshotConfig) DriftOrDefault() DriftMode {
	if c.Drift == "" {
		return DriftRepair
	}
	return c.Drift
}

// DriftEveryOrDefault returns DriftEvery, or its default when zero.
func (c SnapshotConfig) DriftEveryOrDefault() time.Duration {
	if c.DriftEvery <= 0 {
		return DefaultDriftEvery
	}
	return time.Duration(c.DriftEvery)
}

// RedeliverAfterOrDefault returns RedeliverAfter, or its default when zero.
func (c SnapshotConfig) RedeliverAfterOrDefault() time.Duration {
	if c.RedeliverAfter <= 0 {
		return DefaultRedeliverAfter
	}
	return time.Duration(c.RedeliverAfter)
}

// RetryFailedAfterOrDefault returns RetryFailedAfter, or its default when
// zero.
func (c SnapshotConfig) RetryFailedAfterOrDefault() time.Duration {
	if c.RetryFailedAfter <= 0 {
		return DefaultRetryFailedAfter
	}
	return time.Duration(c.RetryFailedAfter)
}

// HookConfig configures the Okta event-hook endpoint.
type HookConfig struct {
	// RemovalBrake limits how fast removals arriving through hooks reach
	// each target.
	RemovalBrake RemovalBrake `json:"removalBrake"`
}

// RemovalBrake holds back a bulk mistake in Okta: per target, at most Max
// removals arriving through hooks (member-removed of a group mapped for
// that target, suspended, deactivated, deleted) are queued per Window
// (fixed windows aligned to the Unix epoch). Removals beyond it are held
// for that target (recorded, not queued) and left to the snapshot, whose
// removal cap then applies. A zero field means its default
// (DefaultBrakeMax, DefaultBrakeWindow), never "unlimited".
type RemovalBrake struct {
	Max    int      `json:"max"`
	Window Duration `json:"window"`
}

// WithDefaults returns b with zero fields set to their defaults (negative
// ones are left for Validate to report).
func (b RemovalBrake) WithDefaults() RemovalBrake {
	if b.Max == 0 {
		b.Max = DefaultBrakeMax
	}
	if b.Window == 0 {
		b.Window = Duration(DefaultBrakeWindow)
	}
	return b
}

// LoginLink is SnapshotConfig.LoginLink's setting.
type LoginLink string

// Login link settings.
const (
	LoginLinkGuarded LoginLink = "guarded"
	LoginLinkOff     LoginLink = "off"
)

// DefaultSCIMIssuerPrefix starts the issuer IAM Identity Center records on
// SCIM-provisioned users' ExternalIds (https://scim.aws.com/<n>; public
// code and fixtures written against the real service show exactly this
// shape, with no trace of the identity provider in it).
const DefaultSCIMIssuerPrefix = "https://scim.aws.com/"

// Duration is a time.Duration written in JSON as a Go duration string
// ("10m", "1h30m", "45s").
type Duration time.Duration

// MarshalJSON writes d as a duration string such as "10m0s". It never fails.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads a duration string (time.ParseDuration). A JSON
// number, or a string that is not a duration, is an error.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration %s must be a string such as \"10m\"", b)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration %q must be a Go duration such as \"10m\": %w", s, err)
	}
	*d = Duration(v)
	return nil
}

// RemovalCap guards against a partial or failed source read being taken as
// "everyone left": a snapshot run that would emit more removals than Max,
// or more than MaxPercent percent (0–100] of the people it previously knew
// as members while also more than MinForPercent removals, emits none of
// them (the whole run is refused). MinForPercent keeps the percentage from
// refusing every run of a small population: with 10 % of 8 members, one
// leaver would otherwise trip it. Max applies whatever MinForPercent says.
// Defaults: DefaultMaxRemovals, DefaultMaxRemovalPercent,
// DefaultMinRemovalsForPercent.
type RemovalCap struct {
	Max        int     `json:"max"`
	MaxPercent float64 `json:"maxPercent"`
	// MinForPercent: the percentage limit applies only when the removals
	// exceed it (at least 1 in a configuration).
	MinForPercent int `json:"minForPercent"`
}

// defaultRemovalCap is the cap used when none is configured.
func defaultRemovalCap() RemovalCap {
	return RemovalCap{Max: DefaultMaxRemovals, MaxPercent: DefaultMaxRemovalPercent, MinForPercent: DefaultMinRemovalsForPercent}
}

// ErrInvalidConfig is what every configuration problem matches with
// errors.Is; each problem is a *ConfigError naming the field.
var ErrInvalidConfig = errors.New("invalid config")

// ConfigError is one configuration problem at a JSON field path such as
// "connect.groups[1].securityProfileIds".
type ConfigError struct {
	Path    string
	Problem string
}

// Error returns "<path>: <problem>".
func (e *ConfigError) Error() string { return e.Path + ": " + e.Problem }

// Is makes every ConfigError match ErrInvalidConfig.
func (e *ConfigError) Is(target error) bool { return target == ErrInvalidConfig }

// ParseConfig decodes the JSON configuration document, applies defaults
// (WithDefaults; a removalCap or settleWindow field left out keeps its
// default) and validates it. Unknown fields are errors, so a misspelt key
// cannot be silently ignored. On a validation failure it returns the decoded config
// together with Validate's error; on a decode failure, the zero Config and
// an error wrapping ErrInvalidConfig. It has no side effects.
func ParseConfig(b []byte) (Config, error) {
	cfg := Config{Snapshot: SnapshotConfig{RemovalCap: defaultRemovalCap(), SettleWindow: Duration(DefaultSettleWindow)}}
	cfg.Hook.RemovalBrake = cfg.Hook.RemovalBrake.WithDefaults()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return Config{}, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		return Config{}, fmt.Errorf("%w: trailing data after the JSON document", ErrInvalidConfig)
	}
	cfg = cfg.WithDefaults()
	return cfg, cfg.Validate()
}

// WithDefaults returns a copy of c (sections copied, not shared) with every
// empty defaulted field set: templates, phone type, leave actions, the
// WorkMail IdC assignment grace. A zero RemovalCap becomes the default
// cap; zero RedeliverAfter, RetryFailedAfter and removal-brake fields
// their defaults. SettleWindow is left as it is (zero is a valid window).
// Planners and producers treat empty fields as their defaults too, so
// calling it is only needed to see the effective values.
func (c Config) WithDefaults() Config {
	if c.WorkMail != nil {
		w := *c.WorkMail
		w.NameTemplate = w.nameTemplate()
		w.EmailTemplate = w.emailTemplate()
		w.OnLeave.Action = w.leaveAction()
		if w.IdentityCenter.AssignmentGrace == 0 {
			w.IdentityCenter.AssignmentGrace = Duration(DefaultAssignmentGrace)
		}
		c.WorkMail = &w
	}
	if c.Connect != nil {
		k := *c.Connect
		k.PhoneType = k.phoneType()
		k.UsernameTemplate = k.usernameTemplate()
		k.OnLeave.Action = k.leaveAction()
		c.Connect = &k
	}
	if c.Snapshot.RemovalCap == (RemovalCap{}) {
		c.Snapshot.RemovalCap = defaultRemovalCap()
	}
	c.Snapshot.RedeliverAfter = Duration(c.Snapshot.RedeliverAfterOrDefault())
	c.Snapshot.RetryFailedAfter = Duration(c.Snapshot.RetryFailedAfterOrDefault())
	c.Hook.RemovalBrake = c.Hook.RemovalBrake.WithDefaults()
	return c
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func (w WorkMailConfig) nameTemplate() string { return orDefault(w.NameTemplate, DefaultNameTemplate) }
func (w WorkMailConfig) emailTemplate() string {
	return orDefault(w.EmailTemplate, DefaultEmailTemplate)
}
func (w WorkMailConfig) leaveAction() LeaveAction {
	return LeaveAction(orDefault(string(w.OnLeave.Action), string(DefaultWorkMailLeave)))
}

// AssignmentGrace is IdentityCenter.AssignmentGrace, or
// DefaultAssignmentGrace when it is not set (zero or less).
func (w WorkMailConfig) AssignmentGrace() time.Duration {
	if g := time.Duration(w.IdentityCenter.AssignmentGrace); g > 0 {
		return g
	}
	return DefaultAssignmentGrace
}
func (k ConnectConfig) phoneType() string { return orDefault(k.PhoneType, DefaultPhoneType) }
func (k ConnectConfig) usernameTemplate() string {
	return orDefault(k.UsernameTemplate, DefaultUsernameTemplate)
}
func (k ConnectConfig) leaveAction() LeaveAction {
	return LeaveAction(orDefault(string(k.OnLeave.Action), string(DefaultConnectLeave)))
}

// Patterns from the AWS API models.
const (
	patternOrganizationID  = `^m-[0-9a-f]{32}$`
	patternIdentityStoreID = `^d-[0-9a-f]{10}$|^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`
	patternMailDomain      = `^[a-zA-Z0-9-]+(\.[a-zA-Z0-9-]+)*\.[a-zA-Z-]{2,}$`
	// SSO Admin's InstanceArn and ApplicationArn.
	patternSSOInstanceARN    = `^arn:(aws|aws-us-gov|aws-cn|aws-iso|aws-iso-b):sso:::instance/(sso)?ins-[a-zA-Z0-9-.]{16}$`
	patternSSOApplicationARN = `^arn:(aws|aws-us-gov|aws-cn|aws-iso|aws-iso-b):sso::\d{12}:application/(sso)?ins-[a-zA-Z0-9-.]{16}/apl-[a-zA-Z0-9]{16}$`
)

// Validate reports every problem in c at once, as errors.Join of
// *ConfigError values (each matching ErrInvalidConfig), or nil. Empty
// defaulted fields are valid. It checks: at least one target configured;
// the identity store id, removal cap and settle window; WorkMail's
// organisation id, mail domain, groups, templates (parsed and executed on
// sample data), leave policy (and its export destination), mode and IdC
// assignment grace; Connect's instance id, groups (ids, 1–10 distinct
// security profiles, routing profile, distinct priorities), phone type,
// template and leave policy; and that a group listed in several places
// names the same pair of ids everywhere.
func (c Config) Validate() error {
	var errs []error
	bad := func(path, format string, args ...any) {
		errs = append(errs, &ConfigError{Path: path, Problem: fmt.Sprintf(format, args...)})
	}

	if c.WorkMail == nil && c.Connect == nil {
		bad("config", "neither workmail nor connect is configured")
	}
	if !matches(patternIdentityStoreID, c.Snapshot.IdentityStoreID) {
		bad("snapshot.identityStoreId", "%q is not an identity store id (d-xxxxxxxxxx or a UUID)", c.Snapshot.IdentityStoreID)
	}
	if rc := c.Snapshot.RemovalCap; rc.Max < 1 {
		bad("snapshot.removalCap.max", "%d must be at least 1", rc.Max)
	}
	if rc := c.Snapshot.RemovalCap; !(rc.MaxPercent > 0 && rc.MaxPercent <= 100) {
		bad("snapshot.removalCap.maxPercent", "%g must be in (0, 100]", rc.MaxPercent)
	}
	if rc := c.Snapshot.RemovalCap; rc.MinForPercent < 1 {
		bad("snapshot.removalCap.minForPercent", "%d must be at least 1", rc.MinForPercent)
	}
	if w := time.Duration(c.Snapshot.SettleWindow); w < 0 || w >= MaxSettleWindow {
		bad("snapshot.settleWindow", "%s must be at least 0 and less than %s", w, MaxSettleWindow)
	}
	if i := c.Snapshot.SCIMIssuer; i != "" && (!strings.HasPrefix(i, "https://") || len(i) > 2048) {
		bad("snapshot.scimIssuer", "must be an https URL of at most 2048 characters (IdC records https://scim.aws.com/<n>)")
	}
	switch c.Snapshot.LoginLink {
	case "", LoginLinkGuarded, LoginLinkOff:
	default:
		bad("snapshot.loginLink", "%q must be %q or %q", c.Snapshot.LoginLink, LoginLinkGuarded, LoginLinkOff)
	}
	switch c.Snapshot.Drift {
	case "", DriftRepair, DriftReportOnly, DriftOff:
	default:
		bad("snapshot.drift", "%q must be %q, %q or %q", c.Snapshot.Drift, DriftRepair, DriftReportOnly, DriftOff)
	}
	if w := time.Duration(c.Snapshot.DriftEvery); w != 0 && (w < MinDriftEvery || w > MaxRedelivery) {
		bad("snapshot.driftEvery", "%s must be between %s and %s", w, MinDriftEvery, MaxRedelivery)
	}
	for _, d := range []struct {
		path string
		v    Duration
	}{{"snapshot.redeliverAfter", c.Snapshot.RedeliverAfter}, {"snapshot.retryFailedAfter", c.Snapshot.RetryFailedAfter}} {
		if w := time.Duration(d.v); w != 0 && (w < MinRedelivery || w > MaxRedelivery) {
			bad(d.path, "%s must be between %s and %s", w, MinRedelivery, MaxRedelivery)
		}
	}
	if b := c.Hook.RemovalBrake; b.Max < 0 {
		bad("hook.removalBrake.max", "%d must be at least 1 (0 means the default, %d)", b.Max, DefaultBrakeMax)
	}
	if w := time.Duration(c.Hook.RemovalBrake.Window); w < 0 || w > MaxBrakeWindow {
		bad("hook.removalBrake.window", "%s must be more than 0 and at most %s", w, MaxBrakeWindow)
	}

	if w := c.WorkMail; w != nil {
		if !matches(patternOrganizationID, w.OrganizationID) {
			bad("workmail.organizationId", "%q does not match ^m-[0-9a-f]{32}$", w.OrganizationID)
		}
		if w.MailDomain != "" && !matches(patternMailDomain, w.MailDomain) {
			bad("workmail.mailDomain", "%q is not a domain name", w.MailDomain)
		}
		if len(w.Groups) == 0 {
			bad("workmail.groups", "at least one group is required")
		}
		for i, g := range w.Groups {
			checkGroupRef(bad, fmt.Sprintf("workmail.groups[%d]", i), g)
		}
		checkDuplicateGroups(bad, "workmail.groups", w.Groups)
		checkTemplate(bad, "workmail.nameTemplate", w.nameTemplate())
		checkTemplate(bad, "workmail.emailTemplate", w.emailTemplate())
		switch w.leaveAction() {
		case LeaveDisable:
			if w.OnLeave.DeleteAfterDays != 0 {
				bad("workmail.onLeave.deleteAfterDays", "only applies with action %q", LeaveDelete)
			}
			if w.OnLeave.ExportTo != nil {
				bad("workmail.onLeave.exportTo", "only applies with action %q", LeaveDelete)
			}
		case LeaveDelete:
			if w.OnLeave.DeleteAfterDays < 0 {
				bad("workmail.onLeave.deleteAfterDays", "%d must not be negative", w.OnLeave.DeleteAfterDays)
			}
			if x := w.OnLeave.ExportTo; x != nil {
				if w.OnLeave.DeleteAfterDays > MaxExportDeleteAfterDays {
					bad("workmail.onLeave.deleteAfterDays", "%d is more than %d: with exportTo the mailbox is exported when the delete is due, and WorkMail removes a disabled mailbox 30 days after the disable",
						w.OnLeave.DeleteAfterDays, MaxExportDeleteAfterDays)
				}
				checkExportTo(bad, "workmail.onLeave.exportTo", *x)
			}
		default:
			bad("workmail.onLeave.action", "%q must be %q or %q", w.OnLeave.Action, LeaveDisable, LeaveDelete)
		}
		switch w.Mode {
		case "", WorkMailActive, WorkMailFrozen:
		default:
			bad("workmail.mode", "%q must be %q or %q", w.Mode, WorkMailActive, WorkMailFrozen)
		}
		if g := time.Duration(w.IdentityCenter.AssignmentGrace); g < 0 || g > MaxAssignmentGrace {
			bad("workmail.identityCenter.assignmentGrace", "%s must not be negative nor more than %s", g, MaxAssignmentGrace)
		}
		ic := w.IdentityCenter
		if ic.InstanceARN != "" && !matches(patternSSOInstanceARN, ic.InstanceARN) {
			bad("workmail.identityCenter.instanceArn", "%q is not an IAM Identity Center instance ARN (arn:aws:sso:::instance/ssoins-…)", ic.InstanceARN)
		}
		if ic.ApplicationARN != "" && !matches(patternSSOApplicationARN, ic.ApplicationARN) {
			bad("workmail.identityCenter.applicationArn", "%q is not an IAM Identity Center application ARN (arn:aws:sso::<account>:application/ssoins-…/apl-…)", ic.ApplicationARN)
		} else if ins := ssoInstanceID(ic.InstanceARN); ins != "" && ic.ApplicationARN != "" && !strings.Contains(ic.ApplicationARN, ":application/"+ins+"/") {
			bad("workmail.identityCenter.applicationArn", "%q is not an application of instance %q", ic.ApplicationARN, ic.InstanceARN)
		}
	}

	if k := c.Connect; k != nil {
		if k.InstanceID == "" || len(k.InstanceID) > 100 {
			bad("connect.instanceId", "must be 1–100 characters")
		}
		if len(k.Groups) == 0 {
			bad("connect.groups", "at least one group is required")
		}
		refs := make([]GroupRef, len(k.Groups))
		priority := map[int]int{}
		for i, g := range k.Groups {
			path := fmt.Sprintf("connect.groups[%d]", i)
			refs[i] = g.GroupRef
			checkGroupRef(bad, path, g.GroupRef)
			checkProfiles(bad, path+".securityProfileIds", g.SecurityProfileIDs)
			if g.RoutingProfileID == "" {
				bad(path+".routingProfileId", "is required")
			}
			if j, dup := priority[g.Priority]; dup {
				bad(path+".priority", "%d is also the priority of connect.groups[%d]; priorities must differ", g.Priority, j)
			} else {
				priority[g.Priority] = i
			}
		}
		checkDuplicateGroups(bad, "connect.groups", refs)
		switch k.phoneType() {
		case PhoneTypeSoft, PhoneTypeDesk:
		default:
			bad("connect.phoneType", "%q must be %s or %s", k.PhoneType, PhoneTypeSoft, PhoneTypeDesk)
		}
		checkTemplate(bad, "connect.usernameTemplate", k.usernameTemplate())
		switch k.leaveAction() {
		case LeaveDelete:
			if len(k.OnLeave.SecurityProfileIDs) > 0 || k.OnLeave.RoutingProfileID != "" {
				bad("connect.onLeave", "securityProfileIds and routingProfileId only apply with action %q", LeaveStrip)
			}
		case LeaveStrip:
			checkProfiles(bad, "connect.onLeave.securityProfileIds", k.OnLeave.SecurityProfileIDs)
			if k.OnLeave.RoutingProfileID == "" {
				bad("connect.onLeave.routingProfileId", "is required with action %q", LeaveStrip)
			}
		default:
			bad("connect.onLeave.action", "%q must be %q or %q", k.OnLeave.Action, LeaveDelete, LeaveStrip)
		}
	}

	// A group listed in several places must be the same pair of ids.
	all := c.configuredGroups()
	for i, a := range all {
		for _, b := range all[:i] {
			if sameGroup(a.ref, b.ref) && !compatible(a.ref, b.ref) {
				bad(a.path, "names the same group as %s with different ids (okta %q/%q, idc %q/%q)",
					b.path, a.ref.OktaID, b.ref.OktaID, a.ref.IdCID, b.ref.IdCID)
			}
		}
	}
	return errors.Join(errs...)
}

type badFunc func(path, format string, args ...any)

func checkGroupRef(bad badFunc, path string, g GroupRef) {
	if g.OktaID == "" && g.IdCID == "" {
		bad(path, "needs oktaId or idcId")
	}
}

func checkDuplicateGroups(bad badFunc, path string, groups []GroupRef) {
	for i, a := range groups {
		for j, b := range groups[:i] {
			if sameGroup(a, b) {
				bad(fmt.Sprintf("%s[%d]", path, i), "same group as %s[%d]", path, j)
				break
			}
		}
	}
}

func checkProfiles(bad badFunc, path string, ids []string) {
	if n := len(ids); n < 1 || n > 10 {
		bad(path, "has %d security profile ids, want 1–10", n)
	}
	seen := map[string]bool{}
	for i, id := range ids {
		switch {
		case id == "":
			bad(fmt.Sprintf("%s[%d]", path, i), "is empty")
		case seen[id]:
			bad(fmt.Sprintf("%s[%d]", path, i), "%q is listed twice", id)
		}
		seen[id] = true
	}
}

// checkTemplate parses text and executes it on sample data, so that a
// template referring to an unknown field fails at startup, not at plan time.
func checkTemplate(bad badFunc, path, text string) {
	sample := TemplateData{
		Login: "jane.doe@example.com", LoginLocal: "jane.doe", LoginDomain: "example.com",
		FirstName: "Jane", LastName: "Doe", DisplayName: "Jane Doe",
		Email: "jane.doe@example.com", EmailLocal: "jane.doe", Domain: "example.com",
	}
	out, err := render(path, text, sample)
	if err != nil {
		bad(path, "%v", err)
		return
	}
	if out == "" {
		bad(path, "renders an empty string")
	}
}

// sameGroup reports whether a and b share an Okta id or an IdC id.
func sameGroup(a, b GroupRef) bool {
	return (a.OktaID != "" && a.OktaID == b.OktaID) || (a.IdCID != "" && a.IdCID == b.IdCID)
}

// compatible reports whether a and b do not contradict each other: every id
// set on both is equal.
func compatible(a, b GroupRef) bool {
	return (a.OktaID == "" || b.OktaID == "" || a.OktaID == b.OktaID) &&
		(a.IdCID == "" || b.IdCID == "" || a.IdCID == b.IdCID)
}

type pathRef struct {
	path string
	ref  GroupRef
}

func (c Config) configuredGroups() []pathRef {
	var out []pathRef
	if c.WorkMail != nil {
		for i, g := range c.WorkMail.Groups {
			out = append(out, pathRef{fmt.Sprintf("workmail.groups[%d]", i), g})
		}
	}
	if c.Connect != nil {
		for i, g := range c.Connect.Groups {
			out = append(out, pathRef{fmt.Sprintf("connect.groups[%d]", i), g.GroupRef})
		}
	}
	return out
}

// Targets returns the targets the configuration provisions, WorkMail
// first: those whose section is present.
func (c Config) Targets() []Target {
	var out []Target
	if c.WorkMail != nil {
		out = append(out, TargetWorkMail)
	}
	if c.Connect != nil {
		out = append(out, TargetConnect)
	}
	return out
}

// GroupTargets returns the targets whose mapping lists g (matching by Okta
// id or IdC id), WorkMail first; none for an unmapped group.
func (c Config) GroupTargets(g GroupRef) []Target {
	var out []Target
	if c.WorkMail != nil {
		for _, m := range c.WorkMail.Groups {
			if sameGroup(g, m) {
				out = append(out, TargetWorkMail)
				break
			}
		}
	}
	if c.Connect != nil {
		for _, m := range c.Connect.Groups {
			if sameGroup(g, m.GroupRef) {
				out = append(out, TargetConnect)
				break
			}
		}
	}
	return out
}

// GroupMapped reports whether g is in any WorkMail or Connect mapping,
// matching by Okta id or IdC id (a GroupRef with neither is never mapped).
// It suits NormaliseOktaHook's mapped argument as a method value.
func (c Config) GroupMapped(g GroupRef) bool {
	_, ok := c.ResolveGroup(g)
	return ok
}

// ResolveGroup returns the configured group that g names (matching by Okta
// id or IdC id), with every id the configuration knows for it merged in and
// the configured name, so that an event naming a group by one id can carry
// both. ok is false when g is not mapped; g is then returned unchanged.
func (c Config) ResolveGroup(g GroupRef) (resolved GroupRef, ok bool) {
	resolved = g
	for _, pr := range c.configuredGroups() {
		if !sameGroup(resolved, pr.ref) {
			continue
		}
		if resolved.OktaID == "" {
			resolved.OktaID = pr.ref.OktaID
		}
		if resolved.IdCID == "" {
			resolved.IdCID = pr.ref.IdCID
		}
		if !ok && pr.ref.Name != "" {
			resolved.Name = pr.ref.Name
		}
		ok = true
	}
	return resolved, ok
}

// MappedGroups returns every distinct configured group (WorkMail's first,
// then Connect's, in configuration order) with the ids merged across the
// places it is listed: the groups whose membership the snapshot reads.
func (c Config) MappedGroups() []GroupRef {
	var out []GroupRef
	for _, pr := range c.configuredGroups() {
		dup := false
		for _, g := range out {
			if sameGroup(g, pr.ref) {
				dup = true
				break
			}
		}
		if !dup {
			r, _ := c.ResolveGroup(pr.ref)
			out = append(out, r)
		}
	}
	return out
}

// TemplateData is what name, email and username templates are executed
// with, computed from a person's last-known facts.
type TemplateData struct {
	Login       string // the login (Okta login / IdC UserName), e.g. jane.doe@example.com
	LoginLocal  string // the login before its last "@" (all of it without one): jane.doe
	LoginDomain string // the login after its last "@", or ""
	FirstName   string
	LastName    string
	// DisplayName is the profile display name, else "FirstName LastName",
	// else LoginLocal.
	DisplayName string
	Email       string // the profile email
	EmailLocal  string // the profile email before its last "@"
	Domain      string // WorkMail: the mail domain; Connect: ""
}

// NewTemplateData computes the template data of p; domain is the WorkMail
// mail domain ("" for Connect).
func NewTemplateData(p Person, domain string) TemplateData {
	d := TemplateData{
		Login:     p.Login.Value,
		FirstName: p.FirstName.Value,
		LastName:  p.LastName.Value,
		Email:     p.Email.Value,
		Domain:    domain,
	}
	d.LoginLocal, d.LoginDomain = splitAt(d.Login)
	d.EmailLocal, _ = splitAt(d.Email)
	d.DisplayName = p.DisplayName.Value
	if d.DisplayName == "" {
		d.DisplayName = strings.TrimSpace(d.FirstName + " " + d.LastName)
	}
	if d.DisplayName == "" {
		d.DisplayName = d.LoginLocal
	}
	return d
}

func splitAt(s string) (local, domain string) {
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		return s[:i], s[i+1:]
	}
	return s, ""
}

// render executes one template. Missing map keys and unknown fields fail.
func render(name, text string, d TemplateData) (string, error) {
	t, err := template.New(name).
		Funcs(template.FuncMap{"lower": strings.ToLower, "upper": strings.ToUpper}).
		Option("missingkey=error").
		Parse(text)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	if err := t.Execute(&b, d); err != nil {
		return "", err
	}
	return b.String(), nil
}

// ssoInstanceID is the "ssoins-…" part of a valid instance ARN, else "".
func ssoInstanceID(arn string) string {
	if !matches(patternSSOInstanceARN, arn) {
		return ""
	}
	return arn[strings.LastIndexByte(arn, '/')+1:]
}
