// Package connect is idsync's Amazon Connect applier: the consumers.Target
// that plans a person's agent with domain.PlanConnect and makes each
// planned op true, one Apply at a time (consumers.Execute runs a plan's
// ops), through the Connect user APIs (CreateUser, UpdateUserIdentityInfo,
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
// crash between CreateUser and the state commit). The runner records a
// create intent before the first attempt, and PlanConnect renders the
// retry's username from it, so the retry asks for the username the first
// attempt used even when the person's login was renamed meanwhile. Before
// every CreateUser the applier searches for an agent carrying the ownership
// tag with one of the person's ids (SearchUsers with a tag filter: one
// extra read per create, and a DescribeUser when one is found) and adopts
// it instead of creating: it brings the agent to the op's identity info and
// profiles and keeps its username (Connect cannot rename a user). Connect's
// search index lags behind writes, so when a create still answers
// DuplicateResourceException the applier looks for the user of that exact
// username (another search) and adopts it only when it carries the tag for
// this person; any other user of that name is left untouched and the op
// fails permanently with ErrNotOwned. When neither search shows the user
// yet (a retry within the lag), the create fails with ErrDuplicateNotFound,
// retryable: a later retry finds it. The pinned username is what makes
// that safe: under a new username CreateUser would succeed while the tag
// search still lags, making a second agent. An agent tagged for another
// person is never adopted.
//
// Identity rules. Plan reads the instance's identity management type once
// (DescribeInstance) and
// plans with its username limit: 64 characters with SAML, 20 otherwise, so
// a username too long for the instance is a permanent
// domain.ErrInvalidAttribute before any call. First and last names go out
// in Unicode Normalization Form C, the only form Connect accepts (see
// nfc); the domain planner, standard library only, cannot normalise.
//
// Rates. Connect's user APIs allow about 2 requests per second with a
// burst of 5 per operation, account and region, so the client comes from
// awsclient.Connect with a meter of DefaultQuota: every attempt waits for a
// token of its operation's bucket. The client's retryer retries throttling
// and 5xx answers, except LimitExceededException, which is a quota (users
// per instance) and fails at once.
//
// Errors: SDK errors are classified once, by the client's
// awsclient.Classify middleware (throttling, 5xx, timeouts and unknown
// failures are domain.Retryable; validation errors, client faults and quota
// LimitExceeded are domain.Permanent); unmanaged clashes and missing
// accounts are domain.Permanent. Connect is eventually consistent: right
// after CreateUser, DescribeUser (and the calls that name the user) may
// answer ResourceNotFoundException, so for an agent it created less than
// Options.VisibilityWindow ago the Applier answers ErrNotVisibleYet
// (retryable) instead of ErrAccountMissing or "already gone". An error's
// text (which becomes an OpResult's Reason, and so a ledger row or a
// dead-letter attribute) names the Connect operation, the service's error
// code and HTTP status, and ids, in idsync's own words: never the service's
// message, which can echo usernames and email addresses. The SDK's error
// stays in the chain for errors.As.
package connect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"golang.org/x/text/unicode/norm"

	"github.com/idsync/idsync/consumers"
	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/awsclient"
)

// DefaultTagKey is the key of the ownership tag; its value is the person
// key at create (see the package comment for which values count as the
// person's).
const DefaultTagKey = "idsync:person"

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
	// ErrNotVisibleYet: a call did not find an agent this Applier created
	// less than Options.VisibilityWindow ago. Connect is eventually
	// consistent: "DescribeUser right after CreateUser may answer
	// ResourceNotFoundException", so within the window that answer does not
	// mean the agent is gone. Retryable.
	ErrNotVisibleYet = errors.New("agent created moments ago not visible yet")
	// ErrNoInstance: the configured instance does not exist (DescribeInstance answered
	// ResourceNotFoundException), so its identity management type, and with
	// it the username limit, is unknown. Permanent.
	ErrNoInstance = errors.New("connect instance not found")
)

// Options configures an Applier.
type Options struct {
	// API is the Connect client (required), built with awsclient.Connect.
	API API
	// Config is the instance and its mapping (required: InstanceID), a
	// validated configuration, e.g. from domain.ParseConfig.
	Config domain.ConnectConfig
	// TagKey is the ownership tag's key (default DefaultTagKey). Changing it
	// on a running system orphans every agent created under the old key for
	// the purpose of adoption.
	TagKey string
	// Logger receives one line per op (ids, op, outcome, error kind and
	// code; never names or emails). Default: discard.
	Logger *slog.Logger
	// Clock times ops for the log, dates a strip and the agents created
	// (default time.Now).
	Clock func() time.Time
	// VisibilityWindow is how long after its own CreateUser the Applier
	// takes a ResourceNotFoundException about that agent for Connect's
	// eventual consistency (ErrNotVisibleYet, retryable) rather than for an
	// agent removed outside idsync (ErrAccountMissing, or "already gone" for
	// a delete). Default DefaultVisibilityWindow.
	VisibilityWindow time.Duration
}

// DefaultVisibilityWindow is Options.VisibilityWindow's default: Connect's
// eventual-consistency page says a change "typically" propagates in "less
// than a few seconds" but "in some cases it can take several minutes".
const DefaultVisibilityWindow = 5 * time.Minute

// Applier is the Amazon Connect consumers.Target. It is safe for concurrent
// use.
type Applier struct {
	*Planner
	api    API
	cfg    domain.ConnectConfig
	tagKey string
	now    func() time.Time
	log    *slog.Logger

	window time.Duration

	mu   sync.Mutex
	made map[string]time.Time // agents this Applier created, when; pruned after the window
}

var _ consumers.Target = (*Applier)(nil)

// New returns an Applier for o.Config that calls Connect through o.API.
//
// Errors: domain.ErrInvalidConfig (wrapped) when o.API is nil or o.Config
// has no instance id.
func New(o Options) (*Applier, error) {
	if o.API == nil {
		return nil, fmt.Errorf("%w: connect applier needs a client", domain.ErrInvalidConfig)
	}
	if o.Config.InstanceID == "" {
		return nil, fmt.Errorf("%w: connect.instanceId is empty", domain.ErrInvalidConfig)
	}
	pl, err := NewPlanner(PlannerOptions{API: o.API, Config: o.Config})
	if err != nil {
		return nil, err
	}
	a := &Applier{Planner: pl, api: o.API, cfg: o.Config, tagKey: o.TagKey, now: o.Clock, log: o.Logger, window: o.VisibilityWindow,
		made: map[string]time.Time{}}
	if a.window <= 0 {
		a.window = DefaultVisibilityWindow
	}
	if a.tagKey == "" {
		a.tagKey = DefaultTagKey
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	return a, nil
}

// Name returns domain.TargetConnect.
func (a *Applier) Name() domain.Target { return domain.TargetConnect }

// created records that this Applier created agent id now, and forgets
// agents created longer than the window ago.
func (a *Applier) created(id string) {
	now := a.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	for k, at := range a.made {
		if now.Sub(at) >= a.window {
			delete(a.made, k)
		}
	}
	a.made[id] = now
}

// deleteSent records that a DeleteUser for agent id was accepted or may
// have been carried out (answered with success, a 5xx, or not at all): from
// then on a not-found answer about id means that delete landed, not that
// the new agent is not visible yet, so this Applier forgets it created id.
func (a *Applier) deleteSent(id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.made, id)
}

// justCreated reports whether this Applier created agent id less than the
// window ago. Only this Applier's own creates count: another process's, or
// one before a restart, are not known, and a not-found answer about them
// is taken as the agent missing.
func (a *Applier) justCreated(id string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	at, ok := a.made[id]
	return ok && a.now().Sub(at) < a.window
}

// Apply makes op true for p's agent, given state, the state the plan's
// earlier ops reached, and returns the state it reaches (after a create,
// the agent's id and username) and what it found. It writes one log line.
//
// First and last names are sent (and recorded) in Unicode Normalization
// Form C.
//
// Ops: create (CreateUser with username, identity info, phone config
// PhoneType / AutoAccept false / AfterContactWorkTimeLimit 0, security and
// routing profiles, hierarchy group, ownership tag), update-identity
// (DescribeUser, then UpdateUserIdentityInfo keeping the secondary email
// and mobile idsync does not manage), update-security-profiles,
// update-routing-profile, update-hierarchy-group (UpdateUserHierarchy; an
// empty id clears it), strip (security profiles, then routing profile),
// delete, and adopt (settleIntent: the agent a lost create may have made,
// adopted as found, or the intent cleared).
//
// Idempotency: every op may be repeated. A repeated create adopts the user
// it made, even under another username or person key (see the package
// comment), and brings it to the op's profiles and identity; the state's
// Name is then the adopted agent's username. A delete of a user already
// gone succeeds with the note "already gone" (unless this Applier created
// it within the visibility window, see ErrNotVisibleYet); updates set
// absolute values.
//
// Errors, classified domain.Permanent or domain.Retryable: ErrNotOwned,
// ErrAccountMissing (an update or strip of an agent deleted outside
// idsync), ErrNotVisibleYet (retryable: not found moments after this
// Applier created it), ErrDuplicateNotFound (retryable), ErrInvalidOp,
// ErrNoPersonKey,
// and the SDK's errors (*awsclient.CallError), which errors.As finds in the
// chain. Error texts hold operations, codes, HTTP statuses and ids only.
func (a *Applier) Apply(ctx context.Context, p domain.Person, state domain.TargetState, op domain.Op) (consumers.Step, error) {
	start := a.now()
	op.FirstName, op.LastName = norm.NFC.String(op.FirstName), norm.NFC.String(op.LastName)
	if op.Kind == domain.OpAdopt {
		step, err := a.settleIntent(ctx, p, state, op)
		a.logOp(ctx, p, op, step, err, a.now().Sub(start))
		return step, err
	}
	step, username, err := a.run(ctx, p, op)
	if err == nil {
		remoteID := step.RemoteID
		if remoteID == "" {
			remoteID = op.RemoteID
		}
		step.State = a.advance(state, op, remoteID, username)
	}
	a.logOp(ctx, p, op, step, err, a.now().Sub(start))
	return step, err
}

// advance is state after op succeeded on agent remoteID; username is the
// username of an agent a create adopted ("" for the op's own).
func (a *Applier) advance(state domain.TargetState, op domain.Op, remoteID, username string) domain.TargetState {
	switch op.Kind {
	case domain.OpCreate:
		name := op.Name
		if username != "" {
			name = username
		}
		return domain.TargetState{
			Target: domain.TargetConnect, Managed: true, RemoteID: remoteID, Status: domain.RemoteEnabled,
			Name: name, Email: op.Email, FirstName: op.FirstName, LastName: op.LastName,
			SecurityProfileIDs: slices.Clone(op.SecurityProfileIDs),
			RoutingProfileID:   op.RoutingProfileID,
			HierarchyGroupID:   op.HierarchyGroupID,
			Version:            state.Version,
		}
	case domain.OpDelete:
		return domain.TargetState{Target: domain.TargetConnect, Managed: true, Status: domain.RemoteDeleted, Version: state.Version}
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
		if state.Status != domain.RemoteDisabled || state.DisabledAt.IsZero() {
			state.DisabledAt = a.now().UTC()
		}
		state.Status = domain.RemoteDisabled
	}
	return state
}

// logOp writes the op's one log line: ids, kinds and codes only.
func (a *Applier) logOp(ctx context.Context, p domain.Person, op domain.Op, step consumers.Step, err error, latency time.Duration) {
	remoteID, outcome := step.RemoteID, domain.OutcomeApplied
	if remoteID == "" {
		remoteID = op.RemoteID
	}
	if err != nil {
		outcome = domain.OutcomeFailed
	}
	attrs := []slog.Attr{
		slog.String("target", string(domain.TargetConnect)),
		slog.String("person", p.Key),
		slog.String("op", string(op.Kind)),
		slog.String("remoteId", remoteID),
		slog.String("outcome", string(outcome)),
		slog.Int64("latencyMs", latency.Milliseconds()),
	}
	if step.Adopted {
		attrs = append(attrs, slog.Bool("adopted", true))
	}
	level := slog.LevelInfo
	if err != nil {
		level = slog.LevelWarn
		attrs = append(attrs, slog.String("errorKind", domain.KindOf(err).String()))
		if code := awsclient.ErrorCode(err); code != "" {
			attrs = append(attrs, slog.String("errorCode", code))
		}
		for _, s := range []error{ErrNotOwned, ErrAccountMissing, ErrNotVisibleYet, ErrDuplicateNotFound, ErrInvalidOp, ErrNoPersonKey} {
			if errors.Is(err, s) {
				attrs = append(attrs, slog.String("problem", s.Error()))
				break
			}
		}
	}
	a.log.LogAttrs(ctx, level, "connect op", attrs...)
}
