package idcsnapshot

import (
	"context"
	"fmt"

	"github.com/idsync/idsync/domain"
)

// Preview is a dry run of Run: it reads every configured group and its
// members' profiles, diffs them against the last-known people and
// reconciles every managed person with every target exactly as Run does,
// with the same removal cap, settle window and in-flight marks, and
// returns the summary and the events a run would queue. It takes no lease and
// writes nothing: no received rows, no queued events, no bookkeeping, no
// summary row. The summary's Outcome is domain.OutcomeWould.
//
// It makes no drift check (Run's reads of the targets' accounts).
//
// Without the lease it does not know the store's user count from earlier
// runs, so it may read profiles the costlier way for large groups; the
// events are the same.
//
// Errors: a *domain.RemovalCapError (domain.ErrRemovalCapExceeded) when
// the diff would remove too many people (Run would queue nothing); the
// context's error when it ends while reading; store errors reading the
// last-known people. An incomplete read is not an error: Complete is false
// and no removals are returned, as in Run.
func (s *Snapshotter) Preview(ctx context.Context) (Summary, []domain.Event, error) {
	start := s.now()
	sum := Summary{RunID: s.newID(), TakenAt: start.UTC(), ProfileRead: ReadNone, Groups: len(s.groups), Outcome: domain.OutcomeWould}
	rs := newReadState(s.groups)
	s.read(ctx, &sum, rs, 0)
	if err := ctx.Err(); err != nil {
		return sum, nil, fmt.Errorf("idcsnapshot: preview: reading: %w", err)
	}
	em, _, err := s.decide(ctx, &sum, rs.result(s.groups), sum.TakenAt, nil)
	sum.Duration = s.now().Sub(start)
	if err != nil {
		return sum, nil, fmt.Errorf("idcsnapshot: preview: %w", err)
	}
	sum.Events = len(em.events)
	return sum, em.events, nil
}
