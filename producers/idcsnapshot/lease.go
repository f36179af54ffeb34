package idcsnapshot

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Lease errors.
var (
	// ErrLeaseHeld: another run holds the lease and it has not expired; the
	// error is a *LeaseHeldError naming the holder.
	ErrLeaseHeld = errors.New("snapshot lease held by another run")
	// ErrLeaseLost: releasing found the lease no longer ours (it expired and
	// another run took it).
	ErrLeaseLost = errors.New("snapshot lease lost")
)

// LeaseHeldError says who holds the lease and until when. It matches
// ErrLeaseHeld with errors.Is.
type LeaseHeldError struct {
	Owner     string    // run id of the holder ("" if DynamoDB did not say)
	ExpiresAt time.Time // when the holder's lease runs out (zero if unknown)
}

// Error names the lease holder and its expiry when known.
func (e *LeaseHeldError) Error() string {
	if e.Owner == "" {
		return ErrLeaseHeld.Error()
	}
	return fmt.Sprintf("%v: run %s until %s", ErrLeaseHeld, e.Owner, e.ExpiresAt.UTC().Format(time.RFC3339))
}

// Unwrap makes the error match ErrLeaseHeld.
func (e *LeaseHeldError) Unwrap() error { return ErrLeaseHeld }

// LeaseDB is the part of the DynamoDB client a Lease uses; *dynamodb.Client
// satisfies it.
type LeaseDB interface {
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

// Lease item layout in the state table. Its partition holds nothing else;
// the state table's indexes do not see it (it carries none of their key
// attributes) and AllPeople's scan skips it (its SK is not IDENTITY).
const (
	DefaultLeaseName     = "idcsnapshot"
	DefaultLeaseDuration = 16 * time.Minute // longer than Lambda's 15-minute maximum
	leasePrefix          = "LEASE#"
	leaseSK              = "LEASE"
	attrOwner            = "owner"
	attrLeaseExpires     = "expiresAt" // epoch milliseconds
	attrAcquiredAt       = "acquiredAt"
	attrTotalUsers       = "totalUsers"
)

// LeaseOptions configure a Lease.
type LeaseOptions struct {
	// Name makes the item key LEASE#<Name> (default DefaultLeaseName).
	Name string
	// Duration is how long an acquired lease lasts unless released (default
	// DefaultLeaseDuration). It must outlast the longest run: a run that
	// outlives its lease may overlap the next.
	Duration time.Duration
	// Clock defaults to time.Now.
	Clock func() time.Time
}

// Lease keeps snapshot runs from overlapping: one item in the state table
// (PK=LEASE#<name>, SK=LEASE) with the holder's run id and an expiry, taken
// with a conditional write. The item also remembers how many users the last
// full ListUsers walk saw, which guides the next run's choice of profile
// reads. It is safe for concurrent use.
type Lease struct {
	db    LeaseDB
	table string
	name  string
	dur   time.Duration
	now   func() time.Time
}

// NewLease returns the lease kept in table (the state table).
func NewLease(db LeaseDB, table string, o LeaseOptions) *Lease {
	l := &Lease{db: db, table: table, name: o.Name, dur: o.Duration, now: o.Clock}
	if l.name == "" {
		l.name = DefaultLeaseName
	}
	if l.dur <= 0 {
		l.dur = DefaultLeaseDuration
	}
	if l.now == nil {
		l.now = time.Now
	}
	return l
}

// Hold is an acquired lease.
type Hold struct {
	Owner     string
	ExpiresAt time.Time
	// TotalUsers is what the last full ListUsers walk counted (0 when no
	// run has walked one yet).
	TotalUsers int
}

func (l *Lease) key() map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"PK": &types.AttributeValueMemberS{Value: leasePrefix + l.name},
		"SK": &types.AttributeValueMemberS{Value: leaseSK},
	}
}

// Acquire takes the lease for owner (a run id) when nobody holds it, the
// holder's lease has expired, or owner holds it already: one UpdateItem
// conditional on attribute_not_exists(PK) OR expiresAt < now OR owner =
// owner. Idempotent for one owner, so an SDK retry of a write whose answer
// was lost does not lock the run out of its own lease (it extends it).
//
// Errors: a *LeaseHeldError (matching ErrLeaseHeld) when another unexpired
// holder has it; SDK errors.
func (l *Lease) Acquire(ctx context.Context, owner string) (Hold, error) {
	now := l.now()
	exp := now.Add(l.dur)
	cond := expression.AttributeNotExists(expression.Name("PK")).
		Or(expression.Name(attrLeaseExpires).LessThan(expression.Value(now.UnixMilli())),
			expression.Name(attrOwner).Equal(expression.Value(owner)))
	upd := expression.Set(expression.Name(attrOwner), expression.Value(owner)).
		Set(expression.Name(attrLeaseExpires), expression.Value(exp.UnixMilli())).
		Set(expression.Name(attrAcquiredAt), expression.Value(now.UTC().Format(time.RFC3339Nano)))
	expr, err := expression.NewBuilder().WithCondition(cond).WithUpdate(upd).Build()
	if err != nil {
		return Hold{}, fmt.Errorf("idcsnapshot: build lease condition: %w", err)
	}
	out, err := l.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           aws.String(l.table),
		Key:                                 l.key(),
		UpdateExpression:                    expr.Update(),
		ConditionExpression:                 expr.Condition(),
		ExpressionAttributeNames:            expr.Names(),
		ExpressionAttributeValues:           expr.Values(),
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		held := &LeaseHeldError{}
		if s, ok := ccf.Item[attrOwner].(*types.AttributeValueMemberS); ok {
			held.Owner = s.Value
		}
		if ms, ok := numberAttr(ccf.Item, attrLeaseExpires); ok {
			held.ExpiresAt = time.UnixMilli(ms).UTC()
		}
		return Hold{}, held
	}
	if err != nil {
		return Hold{}, fmt.Errorf("idcsnapshot: acquire lease %s: %w", l.name, err)
	}
	h := Hold{Owner: owner, ExpiresAt: time.UnixMilli(exp.UnixMilli()).UTC()}
	if n, ok := numberAttr(out.Attributes, attrTotalUsers); ok {
		h.TotalUsers = int(n)
	}
	return h, nil
}

// Release gives the lease back so that the next run need not wait for it
// to expire, and stores totalUsers (when above zero) for the next run's
// choice of profile reads. Releasing a lease that is no longer owner's
// changes nothing.
//
// Errors: ErrLeaseLost when the lease is not held by owner (it expired and
// another run took it, or it was released already; so a repeated Release
// reports ErrLeaseLost); SDK errors.
func (l *Lease) Release(ctx context.Context, owner string, totalUsers int) error {
	upd := expression.Remove(expression.Name(attrOwner)).
		Set(expression.Name(attrLeaseExpires), expression.Value(0))
	if totalUsers > 0 {
		upd = upd.Set(expression.Name(attrTotalUsers), expression.Value(totalUsers))
	}
	cond := expression.Name(attrOwner).Equal(expression.Value(owner))
	expr, err := expression.NewBuilder().WithCondition(cond).WithUpdate(upd).Build()
	if err != nil {
		return fmt.Errorf("idcsnapshot: build lease release: %w", err)
	}
	_, err = l.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(l.table),
		Key:                       l.key(),
		UpdateExpression:          expr.Update(),
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return fmt.Errorf("idcsnapshot: release lease %s for run %s: %w", l.name, owner, ErrLeaseLost)
	}
	if err != nil {
		return fmt.Errorf("idcsnapshot: release lease %s: %w", l.name, err)
	}
	return nil
}

func numberAttr(item map[string]types.AttributeValue, name string) (int64, bool) {
	n, ok := item[name].(*types.AttributeValueMemberN)
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseInt(n.Value, 10, 64)
	return v, err == nil
}
