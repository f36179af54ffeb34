// Package consumers applies queued identity events to the provisioning
// targets. Its batch Runner takes an SQS batch (as Lambda's event source
// mapping delivers it), and for each record in order decodes it, checks the
// ledger for an earlier application, folds the event into the person's
// last-known state, asks the optional Enricher for facts the person still
// lacks for the target (names from Okta's Users API, an IdC user id) and
// folds them, asks the Target for a plan, records a create intent when
// the plan creates an account (Intent: one state write naming the account
// before any call), runs the plan's ops with Execute, and commits the ledger
// rows and the new target state in one transaction. A dry run stops after
// the plan: it records one "would" row per planned op, writes no state and
// calls no target write at all.
//
// A Target plans and makes one op true at a time (Plan, Apply); the op
// loop, its timing and its outcome rows are Execute's alone, the same for
// every target. The WorkMail and Connect Targets live in the workmail and
// connect subpackages; targettest is the behaviour every Target must show.
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
	// the organisation's default mail domain, once, cached) and never
	// writes.
	//
	// Errors: classified with domain.Permanent (bad configuration, a name that
	// cannot fit, a missing organisation) or left retryable.
	Plan(ctx context.Context, p domain.Person, last domain.TargetState, now time.Time) (domain.Plan, error)

	// Apply makes one op of p's plan true, given state, the state reached
	// by the plan's earlier ops (the last-known state for the first), and
	// returns what it did. It is safe to repeat after a crash: a create that
	// finds the account already exists adopts it when it is provably
	// idsync's (by immutable id or ownership tag) and fails permanently when
	// it is not; other ops treat an account already in the wanted state as
	// done.
	//
	// Errors: classified with domain.Permanent / domain.Retryable
	// (throttling, 5xx and timeouts are retryable; unknown errors default
	// to retryable). With an error, the Step's State is ignored unless
	// KeepState is set; its RemoteID, Adopted and Note still say what the
	// op found.
	Apply(ctx context.Context, p domain.Person, state domain.TargetState, op domain.Op) (Step, error)
}

// Step is what one Apply did.
type Step struct {
	// State is the account's state once the op succeeded: state with the
	// op's effect (after a create or an adoption, the account's id and its
	// Name, which an adopted account keeps).
	State domain.TargetState
	// RemoteID is the account the op acted on ("" when the op's own
	// RemoteID says it).
	RemoteID string
	// Adopted: a create found idsync's own account and took it over.
	Adopted bool
	// Note says what the op found, e.g. "already gone" or which rule an
	// adoption matched; for the ledger row.
	Note string
	// KeepState: the op failed, and State is what it learned and must be
	// kept all the same (an export job that ended FAILED, remembered so
	// that it is not started again on every run). Execute then returns
	// State as the state reached; without KeepState a failed op's State is
	// ignored.
	KeepState bool
}

// OpResult is what happened to one op.
type OpResult struct {
	Op       domain.Op
	Outcome  domain.Outcome // OutcomeApplied, OutcomeWould (dry run) or OutcomeFailed
	RemoteID string         // the account's id in the target
	Adopted  bool           // a create found idsync's own account and took it over
	Reason   string         // what the op found, and the failure's text
	Latency  time.Duration  // time spent in the target's API for this op
}

// Execute runs plan's ops in order through t.Apply, each from the state the
// ones before it reached, and stops at the first failure. It returns the
// state reached and one result per op attempted (timed with clock, nil
// meaning time.Now).
//
// On success the state is plan.Next (its Target defaulting to t's name)
// with, unless the account was deleted, the remote id the ops reached
// filled in when the plan could not know it (after a create) and the Name
// of an adopted account, which keeps its own; after a create it carries no
// create intent (see Intent), whatever the plan said; after an op that
// starts or follows a job (domain.OpKind.FollowsJob) it carries the
// Export fields of the state reached, which only the target learns; after
// an adopt (domain.OpAdopt) it is the state the target reached: the
// account it found, managed, or, finding none, the state without the
// intent. On failure it is the state the ops before the failed one reached (or the
// failed op's own State when its Step says KeepState), for the caller to
// keep so that a retry continues from there. An empty plan returns
// plan.Next and no results.
//
// Errors: the failed op's, unchanged (classified by the target).
// Idempotent as far as t.Apply is: Execute adds no calls of its own.
func Execute(ctx context.Context, t Target, p domain.Person, last domain.TargetState, plan domain.Plan, clock func() time.Time) (domain.TargetState, []OpResult, error) {
	if len(plan.Ops) == 0 {
		return plan.Next, nil, nil
	}
	if clock == nil {
		clock = time.Now
	}
	state := last
	adoptedName := ""
	created, followed, settled := false, false, false
	var results []OpResult
	for _, op := range plan.Ops {
		start := clock()
		step, err := t.Apply(ctx, p, state, op)
		res := OpResult{Op: op, Outcome: domain.OutcomeApplied, RemoteID: step.RemoteID, Adopted: step.Adopted,
			Reason: step.Note, Latency: clock().Sub(start)}
		if res.RemoteID == "" {
			res.RemoteID = op.RemoteID
		}
		if err != nil {
			res.Outcome = domain.OutcomeFailed
			res.Reason = joinReason(res.Reason, err.Error())
			if step.KeepState {
				state = step.State
			}
			return state, append(results, res), err
		}
		results = append(results, res)
		state = step.State
		if step.Adopted {
			adoptedName = step.State.Name
		}
		created = created || op.Kind == domain.OpCreate
		followed = followed || op.Kind.FollowsJob()
		settled = settled || op.Kind == domain.OpAdopt
	}
	if settled {
		final := state
		final.Target = t.Name()
		final.PendingName, final.PendingAt = "", time.Time{}
		return final, results, nil
	}
	final := plan.Next
	if final.Target == "" {
		final.Target = t.Name()
	}
	if created {
		final.PendingName, final.PendingAt = "", time.Time{}
	}
	if followed {
		final = final.WithExportOf(state)
	}
	if final.Status != domain.RemoteDeleted {
		if final.RemoteID == "" {
			final.RemoteID = state.RemoteID
		}
		if adoptedName != "" {
			final.Name = adoptedName
		}
	}
	return final, results, nil
}

func joinReason(note, err string) string {
	if note == "" {
		return err
	}
	return note + "; " + err
}
