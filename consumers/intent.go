package consumers

import (
	"time"

	"github.com/idsync/idsync/domain"
)

// Intent returns the state a consumer records before it runs plan from
// last: last with a create intent (domain.TargetState.PendingName = the
// Name of the plan's first create op, PendingAt = now, Target = t). ok is
// false when there is nothing to record: the plan creates nothing, or last
// already pins that name (its PendingAt, the first attempt's time, stays).
//
// Recording the intent first is what makes a create safe to repeat after a
// crash between the call and the commit: the retry plans from the stored
// intent, so the planners render the create under the pinned name even if
// the person's login changed meanwhile, and the target meets the account
// the first attempt made (by name, whatever its search index shows)
// instead of making a second one under the new name. The state committed
// after the create, plan.Next, carries no intent.
func Intent(t domain.Target, last domain.TargetState, plan domain.Plan, now time.Time) (domain.TargetState, bool) {
	for _, op := range plan.Ops {
		if op.Kind != domain.OpCreate {
			continue
		}
		if op.Name == "" || op.Name == last.PendingName {
			return last, false
		}
		intent := last
		if intent.Target == "" {
			intent.Target = t
		}
		intent.PendingName, intent.PendingAt = op.Name, now.UTC()
		return intent, true
	}
	return last, false
}
