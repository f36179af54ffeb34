// Package consumers applies queued identity events to the provisioning
// targets. Its batch runner takes an SQS batch (as Lambda's event source
// mapping delivers it), and for each record in order decodes it, checks the
// ledger for an earlier application, folds the event into the person's
// last-known state, plans the target's change, applies it through a Target,
// and commits the ledger row and the new target state in one transaction.
// The WorkMail and Connect Targets live in the workmail and connect
// subpackages.
package consumers

import (
	"context"
	"time"

	"github.com/idsync/idsync/domain"
)

// Target is one provisioning target as the runner drives it. Implementations
// declare the narrow SDK-shaped client interfaces they need; the real SDK
// clients satisfy them.
type Target interface {
	// Name says which target this is.
	Name() domain.Target

	// Plan computes what to change for person p, given the target's
	// last-known state. It may make read-only pre-flight calls (e.g. resolve
	// the organisation's default mail domain, once, cached).
	//
	// Errors: classified with domain.Permanent (bad configuration, a name that
	// cannot fit, a missing organisation) or left retryable.
	Plan(ctx context.Context, p domain.Person, last domain.TargetState, now time.Time) (domain.Plan, error)

	// Apply runs plan.Ops in order. It returns the state actually reached
	// (plan.Next with the remote id filled in after a create, or, when an op
	// fails, the state reached before it) and one result per op attempted.
	// Apply is safe to repeat after a crash: a create that finds the account
	// already exists adopts it when it is provably idsync's (by immutable id
	// or ownership tag) and fails permanently when it is not.
	//
	// Errors: classified with domain.Permanent / domain.Retryable (throttling,
	// 5xx and timeouts are retryable; unknown errors default to retryable).
	Apply(ctx context.Context, p domain.Person, last domain.TargetState, plan domain.Plan) (domain.TargetState, []OpResult, error)
}

// OpResult is what happened to one op.
type OpResult struct {
	Op       domain.Op
	Outcome  domain.Outcome // OutcomeApplied, OutcomeWould (dry run) or OutcomeFailed
	RemoteID string         // the account's id in the target
	Adopted  bool           // a create found idsync's own account and took it over
	Reason   string         // failure reason, or what adoption found
	Latency  time.Duration  // time spent in the target's API for this op
}
