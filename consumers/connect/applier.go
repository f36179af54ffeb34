// Package connect is idsync's Amazon Connect applier: the consumers.Target
// that plans a person's agent with domain.PlanConnect and makes the plan
// true through the Connect user APIs (CreateUser, UpdateUserIdentityInfo,
// UpdateUserSecurityProfiles, UpdateUserRoutingProfile, UpdateUserHierarchy,
// DeleteUser; DescribeUser and SearchUsers to adopt and to diagnose).
//
// Ownership. Every user idsync creates carries an ownership tag (by default
// "idsync:person" = the person key). The tag is set at create and never
// changed, so it is the proof that an account is idsync's. An agent is this
// person's when the tag's value is any of the person's immutable ids (Okta
// user id, IdC user id) or its key: the key, written at create, is the IdC
// user id of a person first seen by IdC and becomes the Okta id once the
// person is linked to Okta, so an agent tagged before the link stays the
// person's after it.
//
// Adoption. A create may repeat one whose success was never committed (a
// crash between CreateUser and the state commit), perhaps after the
// person's login, and so the planned username, changed. So before every
// CreateUser the applier searches for an agent carrying the ownership tag
// with one of the person's ids (SearchUsers with a tag filter: one extra
// read per create, and a DescribeUser when one is found) and adopts it
// instead of creating: it brings the agent to the op's identity info and
// profiles and keeps its username (Connect cannot rename a user). Connect's
// search index lags behind writes, so when a create still answers
// DuplicateResourceException the applier finds the user of that exact
// username and adopts it only when it carries the tag for this person; any
// other user of that name is left untouched and the op fails permanently
// with ErrNotOwned. An agent tagged for another person is never adopted.
//
// Rates. Connect's user APIs allow about 2 requests per second with a
// burst of 5 per account and region, so every call first waits for a token
// of a client-side bucket of that size (configurable); the SDK's retryer
// retries throttling and 5xx answers, except LimitExceededException, which
// is a quota (users per instance) and fails at once.
//
// Errors are classified once, here: throttling, 5xx, timeouts and unknown
// failures are domain.Retryable; validation errors, client faults, quota
// LimitExceeded, unmanaged clashes and missing accounts are
// domain.Permanent. An error's text (which becomes an OpResult's Reason,
// and so a ledger row or a dead-letter attribute) names the Connect
// operation, the service's error code and HTTP status, and ids, in
// idsync's own words: never the service's message, which can echo
// usernames and email addresses. The SDK's error stays in the chain for
// errors.As.
package connect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"golang.org/x/time/rate"

	"github.com/idsync/idsync/consumers"
	"github.com/idsync/idsync/domain"
)

// Defaults of Options.
const (
	// DefaultTagKey is the key of the ownership tag; its value is the
	// person key at create (see the package comment for which values
	// count as the person's).
	DefaultTagKey = "idsync:person"
	// DefaultRate and DefaultBurst are Connect's default quota for the user
	// APIs: 2 requests per second, burst 5.
	DefaultRate  rate.Limit = 2
	DefaultBurst int        = 5
)

// Errors the applier makes itself (besides the classified SDK errors, which
// errors.As finds in the chain: *types.LimitExceededException and the like).
var (
	// ErrNotOwned: a create found the username taken by a user without
	// idsync's ownership tag for this person (untagged, or tagged with a
	// value that is none of the person's ids). That user is never touched.
	// Permanent.
	ErrNotOwned = errors.New("username taken by a Connect user idsync does not own")
	// ErrAccountMissing: the agent idsync manages no longer exists in the
	// instance (it was deleted outside idsync), so it cannot be updated or
	// stripped. Permanent: an operator decides whether to reset the
	// person's Connect state (a later plan then creates a new agent).
	ErrAccountMissing = errors.New("account missing")
	// ErrDuplicateNotFound: a create was refused as a duplicate but no user
	// of that username was found (search lags behind writes, or the user
	// was deleted meanwhile). Retryable.
	ErrDuplicateNotFound = errors.New("username taken but no user of that name found")
	// ErrInvalidOp: an op this applier cannot run (another target's kind,
	// or an update without a remote id). Permanent.
	ErrInvalidOp = errors.New("op not runnable by the Connect applier")
	// ErrNoPersonKey: the person has no key to write into the ownership
	// tag. Permanent.
	ErrNoPersonKey = errors.New("person has no key for the ownership tag")
)

// Options configures an Applier. The zero value uses the defaults.
type Options struct {
	// TagKey is the ownership tag's key (default DefaultTagKey). Changing it
	// on a running system orphans every agent created under the old key for
	// the purpose of adoption.
	TagKey string
	// Rate and Burst size the client-side token bucket every API call waits
	// on (one bucket for all operations, shared by every caller of the
	// Applier); zero means DefaultRate / DefaultBurst. rate.Inf turns it
	// off. A bucket exactly the size of the quota can run a few
	// milliseconds ahead of the server's and meet the odd throttle, which
	// the SDK's retryer absorbs; set it a little lower to avoid even that.
	Rate  rate.Limit
	Burst int
	// DryRun sends no writes: the client is wrapped with DryRun, every op's
	// Outcome is domain.OutcomeWould and Apply returns last unchanged.
	DryRun bool
	// Clock measures op latency; default time.Now.
	Clock func() time.Time
	// Logger receives one line per op (ids, op, outcome, error kind and
	// code; never names or emails). Default: discard.
	Logger *slog.Logger
}

// Applier is the Amazon Connect consumers.Target. It is safe for concurrent
// use; all its callers share one token bucket.
type Applier struct {
	api    API
	cfg    domain.ConnectConfig
	tagKey string
	dryRun bool
	now    func() time.Time
	log    *slog.Logger
}

var _ consumers.Target = (*Applier)(nil)

// New returns an Applier for cfg (a validated configuration, e.g. from
// domain.ParseConfig) that calls Connect through api.
//
// Errors: domain.ErrInvalidConfig (wrapped) when api is nil or cfg has no
// instance id.
func New(api API, cfg domain.ConnectConfig, o Options) (*Applier, error) {
	if api == nil {
		return nil, fmt.Errorf("%w: connect applier needs a client", domain.ErrInvalidConfig)
	}
	if cfg.InstanceID == "" {
		return nil, fmt.Errorf("%w: connect.instanceId is empty", domain.ErrInvalidConfig)
	}
	if o.TagKey == "" {
		o.TagKey = DefaultTagKey
	}
	if o.Rate == 0 {
		o.Rate = DefaultRate
	}
	if o.Burst <= 0 {
		o.Burst = DefaultBurst
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	var wrapped API = gated{api: api, lim: rate.NewLimiter(o.Rate, o.Burst)}
	if o.DryRun {
		wrapped = DryRun(wrapped)
	}
	return &Applier{api: wrapped, cfg: cfg, tagKey: o.TagKey, dryRun: o.DryRun, now: o.Clock, log: o.Logger}, nil
}

// Name returns domain.TargetConnect.
func (a *Applier) Name() domain.Target { return domain.TargetConnect }

// Plan returns domain.PlanConnect's plan for p; it makes no calls.
//
// Errors: PlanConnect's (Permanent, wrapping domain.ErrInvalidAttribute).
func (a *Applier) Plan(_ context.Context, p domain.Person, last domain.TargetState, now time.Time) (domain.Plan, error) {
	plan, err := domain.PlanConnect(a.cfg, p, last, now)
	if err != nil {
		return domain.Plan{}, fmt.Errorf("plan connect agent for %s: %w", p.Key, err)
	}
	return plan, nil
}

// Apply runs plan.Ops in order and stops at the first failure. It returns
// the state reached: plan.Next (with the new user's id after a create) when
// every op succeeded, else last with the effects of the ops that did; in
// dry-run mode, last. One OpResult is returned per op attempted.
//
// Ops: create (CreateUser with username, identity info, phone config
// PhoneType / AutoAccept false / AfterContactWorkTimeLimit 0, security and
// routing profiles, hierarchy group, ownership tag), update-identity
// (DescribeUser, then UpdateUserIdentityInfo keeping the secondary email
// and mobile idsync does not manage), update-security-profiles,
// update-routing-profile, update-hierarchy-group (UpdateUserHierarchy; an
// empty id clears it), strip (security profiles, then routing profile) and
// delete.
//
// Idempotency: every op may be repeated. A repeated create adopts the user
// it made, even under another username or person key (see the package
// comment), and brings it to the op's profiles and identity; the state's
// Name is then the adopted agent's username. A delete of a user already
// gone succeeds with Reason "already gone"; updates set absolute values.
//
// Errors, classified domain.Permanent or domain.Retryable: ErrNotOwned,
// ErrAccountMissing (an update or strip of an agent deleted outside
// idsync), ErrDuplicateNotFound (retryable), ErrInvalidOp, ErrNoPersonKey,
// and the SDK's errors (see classify), which errors.As finds in the chain.
// Error texts hold operations, codes, HTTP statuses and ids only.
func (a *Applier) Apply(ctx context.Context, p domain.Person, last domain.TargetState, plan domain.Plan) (domain.TargetState, []consumers.OpResult, error) {
	state := last
	adoptedName := "" // username of an agent a create adopted
	results := make([]consumers.OpResult, 0, len(plan.Ops))
	for _, op := range plan.Ops {
		start := a.now()
		res, username, err := a.run(ctx, p, op)
		res.Op = op
		res.Latency = a.now().Sub(start)
		if res.RemoteID == "" {
			res.RemoteID = op.RemoteID
		}
		switch {
		case err != nil:
			res.Outcome = domain.OutcomeFailed
			res.Reason = err.Error()
		case a.dryRun:
			res.Outcome = domain.OutcomeWould
		default:
			res.Outcome = domain.OutcomeApplied
		}
		results = append(results, res)
		a.logOp(ctx, p, res, err)
		if err != nil {
			if a.dryRun {
				return last, results, err
			}
			return state, results, err
		}
		state = advance(state, plan.Next, op, res.RemoteID)
		if username != "" {
			state.Name, adoptedName = username, username
		}
	}
	if a.dryRun {
		return last, results, nil
	}
	next := plan.Next
	if next.RemoteID == "" && (next.Status == domain.RemoteEnabled || next.Status == domain.RemoteDisabled) {
		next.RemoteID = state.RemoteID
	}
	if adoptedName != "" {
		next.Name = adoptedName
	}
	return next, results, nil
}

// advance is state after op succeeded; next is the plan's final state.
func advance(state, next domain.TargetState, op domain.Op, remoteID string) domain.TargetState {
	switch op.Kind {
	case domain.OpCreate:
		s := next
		s.RemoteID = remoteID
		return s
	case domain.OpDelete:
		return next
	case domain.OpUpdateIdentity:
		state.FirstName, state.LastName, state.Email = op.FirstName, op.LastName, op.Email
	case domain.OpUpdateSecurityProfiles:
		state.SecurityProfileIDs = slices.Clone(op.SecurityProfileIDs)
	case domain.OpUpdateRoutingProfile:
		state.RoutingProfileID = op.RoutingProfileID
	case domain.OpUpdateHierarchyGroup:
		state.HierarchyGroupID = op.HierarchyGroupID
	case domain.OpStrip:
		state.SecurityProfileIDs = slices.Clone(op.SecurityProfileIDs)
		state.RoutingProfileID = op.RoutingProfileID
		state.Status, state.DisabledAt = next.Status, next.DisabledAt
	}
	return state
}

// logOp writes the op's one log line: ids, kinds and codes only.
func (a *Applier) logOp(ctx context.Context, p domain.Person, res consumers.OpResult, err error) {
	attrs := []slog.Attr{
		slog.String("target", string(domain.TargetConnect)),
		slog.String("person", p.Key),
		slog.String("op", string(res.Op.Kind)),
		slog.String("remoteId", res.RemoteID),
		slog.String("outcome", string(res.Outcome)),
		slog.Int64("latencyMs", res.Latency.Milliseconds()),
	}
	if res.Adopted {
		attrs = append(attrs, slog.Bool("adopted", true))
	}
	level := slog.LevelInfo
	if err != nil {
		level = slog.LevelWarn
		attrs = append(attrs, slog.String("errorKind", domain.KindOf(err).String()))
		if code := errorCode(err); code != "" {
			attrs = append(attrs, slog.String("errorCode", code))
		}
		for _, s := range []error{ErrNotOwned, ErrAccountMissing, ErrDuplicateNotFound, ErrInvalidOp, ErrNoPersonKey} {
			if errors.Is(err, s) {
				attrs = append(attrs, slog.String("problem", s.Error()))
				break
			}
		}
	}
	a.log.LogAttrs(ctx, level, "connect op", attrs...)
}
