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
)

// Lease errors.
var (
	// ErrLeaseHeld: another owner holds the lease and it has not expired.
	// AcquireLease returns it as a *LeaseHeldError naming the holder.
	ErrLeaseHeld = errors.New("lease held")
	// ErrLeaseLost: the lease is not held by the owner releasing it (it
	// expired and another owner took it, or it was released already).
	ErrLeaseLost = errors.New("lease lost")
)

// LeaseHeldError says who holds a lease and until when. It matches
// ErrLeaseHeld with errors.Is.
type LeaseHeldError struct {
	Name      string    // the lease
	Owner     string    // the holder ("" if DynamoDB did not say)
	ExpiresAt time.Time // when the holder's lease runs out (zero if unknown)
}

// Error names the lease, and its holder and expiry when known.
func (e *LeaseHeldError) Error() string {
	if e.Owner == "" {
		return fmt.Sprintf("store: lease %s: %v", e.Name, ErrLeaseHeld)
	}
	return fmt.Sprintf("store: lease %s: %v by %s until %s", e.Name, ErrLeaseHeld, e.Owner, e.ExpiresAt.UTC().Format(time.RFC3339))
}

// Unwrap makes the error match ErrLeaseHeld.
func (e *LeaseHeldError) Unwrap() error { return ErrLeaseHeld }

// LeaseHold is an acquired lease.
type LeaseHold struct {
	Owner     string
	ExpiresAt time.Time
	// TotalUsers is what the last ReleaseLease with a count above zero
	// stored (the snapshotter: how many users its last full ListUsers walk
	// saw); 0 when none did.
	TotalUsers int
	// DriftCheckedAt is what the last MarkDriftChecked stored: when the
	// snapshotter last compared the targets' accounts with their recorded
	// state; zero when it never did.
	DriftCheckedAt time.Time
}

// leaseItem is a lease's item in the state table: PK=LEASE#<name>,
// SK=LEASE. Its partition holds nothing else; the state table's indexes do
// not see it (it carries none of their key attributes) and AllPeople's scan
// skips it (its SK is not IDENTITY). ExpiresAt is in epoch milliseconds
// (the state table has no TTL, so DynamoDB never reads it).
type leaseItem struct {
	PK         string `dynamodbav:"PK"`
	SK         string `dynamodbav:"SK"`
	Owner      string `dynamodbav:"owner,omitempty"`
	ExpiresAt  int64  `dynamodbav:"expiresAt"`
	AcquiredAt string `dynamodbav:"acquiredAt,omitempty"`
	TotalUsers int    `dynamodbav:"totalUsers,omitempty"`
	// DriftCheckedAt is in epoch milliseconds.
	DriftCheckedAt int64 `dynamodbav:"driftCheckedAt,omitempty"`
}

// Lease attribute names.
const (
	attrLeaseOwner      = "owner"
	attrLeaseExpiresAt  = "expiresAt"
	attrLeaseAcquiredAt = "acquiredAt"
	attrLeaseTotalUsers = "totalUsers"
	attrLeaseDriftAt    = "driftCheckedAt"
)

func leaseKey(name string) (map[string]types.AttributeValue, error) {
	return marshal(struct {
		PK string `dynamodbav:"PK"`
		SK string `dynamodbav:"SK"`
	}{leasePK(name), skLease})
}

// AcquireLease takes the lease name for owner for d, from the clock's time:
// when nobody holds it, the holder's lease has expired, or owner holds it
// already. It is one UpdateItem conditional on attribute_not_exists(PK) OR
// expiresAt < now OR owner = owner, so at most one owner holds a lease at a
// time. Idempotent for one owner: acquiring again extends the lease, so an
// SDK retry of a write whose answer was lost does not lock the owner out of
// its own lease.
//
// Errors: a *LeaseHeldError (matching ErrLeaseHeld) when another owner's
// lease has not expired; ErrInvalid (Permanent) for an empty name or owner
// or a duration that is not positive; SDK errors.
func (s *Store) AcquireLease(ctx context.Context, name, owner string, d time.Duration) (LeaseHold, error) {
	if name == "" || owner == "" || d <= 0 {
		return LeaseHold{}, invalid("lease needs a name, an owner and a positive duration (got %q, %q, %v)", name, owner, d)
	}
	key, err := leaseKey(name)
	if err != nil {
		return LeaseHold{}, err
	}
	now := s.now()
	exp := now.Add(d)
	cond := expression.AttributeNotExists(expression.Name(attrPK)).
		Or(expression.Name(attrLeaseExpiresAt).LessThan(expression.Value(now.UnixMilli())),
			expression.Name(attrLeaseOwner).Equal(expression.Value(owner)))
	upd := expression.Set(expression.Name(attrLeaseOwner), expression.Value(owner)).
		Set(expression.Name(attrLeaseExpiresAt), expression.Value(exp.UnixMilli())).
		Set(expression.Name(attrLeaseAcquiredAt), expression.Value(now.UTC().Format(time.RFC3339Nano)))
	expr, err := expression.NewBuilder().WithCondition(cond).WithUpdate(upd).Build()
	if err != nil {
		return LeaseHold{}, fmt.Errorf("store: build lease condition: %w", err)
	}
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           aws.String(s.state),
		Key:                                 key,
		UpdateExpression:                    expr.Update(),
		ConditionExpression:                 expr.Condition(),
		ExpressionAttributeNames:            expr.Names(),
		ExpressionAttributeValues:           expr.Values(),
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		held := &LeaseHeldError{Name: name}
		var it leaseItem
		if err := unmarshal(ccf.Item, &it); err != nil {
			return LeaseHold{}, fmt.Errorf("%w (holder unreadable: %w)", held, err)
		}
		held.Owner = it.Owner
		if it.ExpiresAt != 0 {
			held.ExpiresAt = time.UnixMilli(it.ExpiresAt).UTC()
		}
		return LeaseHold{}, held
	}
	if err != nil {
		return LeaseHold{}, sdkErr(err, "acquire lease %s", name)
	}
	var it leaseItem
	if err := unmarshal(out.Attributes, &it); err != nil {
		return LeaseHold{}, err
	}
	hold := LeaseHold{Owner: owner, ExpiresAt: time.UnixMilli(exp.UnixMilli()).UTC(), TotalUsers: it.TotalUsers}
	if it.DriftCheckedAt != 0 {
		hold.DriftCheckedAt = time.UnixMilli(it.DriftCheckedAt).UTC()
	}
	return hold, nil
}

// ReleaseLease gives the lease name back so that the next owner need not
// wait for it to expire, and stores totalUsers (when above zero) for the
// next AcquireLease to return. Releasing a lease that is no longer owner's
// changes nothing.
//
// Errors: ErrLeaseLost when the lease is not held by owner (it expired and
// another owner took it, or it was released already: so a repeated
// ReleaseLease reports ErrLeaseLost); ErrInvalid (Permanent) for an empty
// name or owner; SDK errors.
func (s *Store) ReleaseLease(ctx context.Context, name, owner string, totalUsers int) error {
	if name == "" || owner == "" {
		return invalid("lease release needs a name and an owner (got %q, %q)", name, owner)
	}
	key, err := leaseKey(name)
	if err != nil {
		return err
	}
	upd := expression.Remove(expression.Name(attrLeaseOwner)).
		Set(expression.Name(attrLeaseExpiresAt), expression.Value(0))
	if totalUsers > 0 {
		upd = upd.Set(expression.Name(attrLeaseTotalUsers), expression.Value(totalUsers))
	}
	return s.updateHeldLease(ctx, name, owner, key, upd, "release lease")
}

// MarkDriftChecked records on the lease name, held by owner, that a drift
// check was made at at; the next AcquireLease returns it as
// LeaseHold.DriftCheckedAt. One UpdateItem conditional on owner holding
// the lease; idempotent.
//
// Errors: ErrLeaseLost when owner does not hold the lease; ErrInvalid
// (Permanent) for an empty name or owner or a zero time; SDK errors.
func (s *Store) MarkDriftChecked(ctx context.Context, name, owner string, at time.Time) error {
	if name == "" || owner == "" || at.IsZero() {
		return invalid("drift check mark needs a lease name, an owner and a time (got %q, %q, %v)", name, owner, at)
	}
	key, err := leaseKey(name)
	if err != nil {
		return err
	}
	upd := expression.Set(expression.Name(attrLeaseDriftAt), expression.Value(at.UnixMilli()))
	return s.updateHeldLease(ctx, name, owner, key, upd, "mark drift check on lease")
}

// updateHeldLease applies upd to the lease item key (of lease name), on
// condition that owner holds it; what names the write in errors.
//
// Errors: ErrLeaseLost when owner does not hold the lease; SDK errors.
func (s *Store) updateHeldLease(ctx context.Context, name, owner string, key map[string]types.AttributeValue, upd expression.UpdateBuilder, what string) error {
	cond := expression.Name(attrLeaseOwner).Equal(expression.Value(owner))
	expr, err := expression.NewBuilder().WithCondition(cond).WithUpdate(upd).Build()
	if err != nil {
		return fmt.Errorf("store: build %s: %w", what, err)
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.state),
		Key:                       key,
		UpdateExpression:          expr.Update(),
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return fmt.Errorf("store: %s %s for %s: %w", what, name, owner, ErrLeaseLost)
	}
	return sdkErr(err, "%s %s", what, name)
}
