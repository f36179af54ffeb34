package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/idsync/idsync/domain"
)

// brakeAttempts bounds TakeRemovals' conditional writes under contention.
const brakeAttempts = 8

// brakeItem is a target's removal-brake counter: PK=BRAKE#<target>,
// SK=BRAKE, the start of the current window (Unix milliseconds) and the
// removals taken in it. One item per target, rolled over in place, so the
// table does not grow with time.
type brakeItem struct {
	PK     string `dynamodbav:"PK"`
	SK     string `dynamodbav:"SK"`
	Window int64  `dynamodbav:"window"`
	Taken  int    `dynamodbav:"taken"`
}

// TakeRemovals asks the removal brake of target t for want removals in the
// current window of limit (limit.WithDefaults; windows are aligned to the
// Unix epoch, from the store's clock) and returns how many it grants: all
// of them while the window has room, fewer (possibly 0) once limit.Max is
// reached. The count is a conditional write on one counter item per target
// (BRAKE#<target>): usually one UpdateItem (ADD taken, condition: same
// window and room left), more when the window rolls over or concurrent
// hooks race. Not idempotent: a retried call takes again (an Okta
// redelivery is braked as a new removal, which errs on the side of
// holding).
//
// Errors: ErrInvalid (Permanent) for an empty target or want < 0;
// ErrConflict when concurrent writers kept winning; SDK errors.
func (s *Store) TakeRemovals(ctx context.Context, t domain.Target, want int, limit domain.RemovalBrake) (int, error) {
	if t == "" || want < 0 {
		return 0, invalid("removal brake needs a target and a non-negative count (got %q, %d)", t, want)
	}
	if want == 0 {
		return 0, nil
	}
	limit = limit.WithDefaults()
	max := limit.Max
	window := time.Duration(limit.Window).Milliseconds()
	if max < 1 || window < 1 {
		return 0, invalid("removal brake limit %+v", limit)
	}
	key, err := marshal(struct {
		PK string `dynamodbav:"PK"`
		SK string `dynamodbav:"SK"`
	}{brakePK(t), skBrake})
	if err != nil {
		return 0, err
	}
	cur := s.now().UnixMilli() / window * window
	// add: the item's window is cur and has room for g more.
	add := func(win int64, g int) (*brakeItem, error) {
		upd := expression.Add(expression.Name("taken"), expression.Value(g))
		cond := expression.Name("window").Equal(expression.Value(win)).
			And(expression.Name("taken").LessThanEqual(expression.Value(max - g)))
		return s.brakeUpdate(ctx, key, upd, cond, t)
	}
	// roll: start window cur with g taken, if the item is absent or older.
	roll := func(g int) (*brakeItem, error) {
		upd := expression.Set(expression.Name("window"), expression.Value(cur)).Set(expression.Name("taken"), expression.Value(g))
		cond := expression.AttributeNotExists(expression.Name(attrPK)).Or(expression.Name("window").LessThan(expression.Value(cur)))
		return s.brakeUpdate(ctx, key, upd, cond, t)
	}
	g := min(want, max)
	old, err := add(cur, g)
	for attempt := 1; ; attempt++ {
		if err != nil {
			return 0, err
		}
		if old == nil {
			return g, nil
		}
		if attempt >= brakeAttempts {
			return 0, fmt.Errorf("store: removal brake of %s: gave up after %d attempts: %w", t, attempt, ErrConflict)
		}
		switch {
		case old.PK == "" || old.Window < cur: // absent, or an earlier window
			g = min(want, max)
			old, err = roll(g)
		default: // this window (or a later one a faster clock started)
			free := max - old.Taken
			if free <= 0 {
				return 0, nil
			}
			g = min(want, free)
			old, err = add(old.Window, g)
		}
	}
}

// brakeUpdate runs one conditional update of the brake counter. It returns
// nil when it succeeded, and the item as it was (zero when absent) when
// the condition failed.
func (s *Store) brakeUpdate(ctx context.Context, key map[string]types.AttributeValue, upd expression.UpdateBuilder, cond expression.ConditionBuilder, t domain.Target) (*brakeItem, error) {
	expr, err := expression.NewBuilder().WithUpdate(upd).WithCondition(cond).Build()
	if err != nil {
		return nil, fmt.Errorf("store: build removal brake update: %w", err)
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.state), Key: key,
		UpdateExpression: expr.Update(), ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		var it brakeItem
		if len(ccf.Item) > 0 {
			if err := unmarshal(ccf.Item, &it); err != nil {
				return nil, err
			}
		}
		return &it, nil
	}
	if err != nil {
		return nil, sdkErr(err, "removal brake of %s", t)
	}
	return nil, nil
}
