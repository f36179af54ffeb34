package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	"github.com/oklog/ulid/v2"

	"github.com/idsync/idsync/domain"
)

// DB is the part of the DynamoDB client the store uses; *dynamodb.Client
// satisfies it.
type DB interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
	BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
}

// Errors. Every error the store returns wraps one of these, a lease error
// (ErrLeaseHeld, ErrLeaseLost), an identity error of domain.CheckSubject
// (domain.ErrIdentityConflict, Permanent; domain.ErrSupersededLink, Stale)
// or an SDK error (with %w), and carries a domain error kind
// (domain.KindOf): ErrDuplicate and ErrNotManaged are Stale; ErrInvalid,
// ErrBadCursor and DynamoDB validation failures are Permanent; everything
// else (ErrConflict, ErrUnprocessed, the lease errors, throttling, network)
// is Retryable.
var (
	// ErrNotFound: no person with that key or id.
	ErrNotFound = errors.New("not found")
	// ErrConflict: an optimistic version check failed (someone else wrote
	// the item since it was read) or a concurrent transaction won. Re-read
	// and retry.
	ErrConflict = errors.New("version conflict")
	// ErrDuplicate: the append-only row (received event, applied commit,
	// ledger entry id) already exists; the write was a duplicate and changed
	// nothing.
	ErrDuplicate = errors.New("duplicate")
	// ErrInvalid: the caller passed something the store cannot write
	// (missing key, invalid event, too many entries, malformed id).
	ErrInvalid = errors.New("invalid input")
	// ErrBadCursor: an audit cursor that this store did not issue for this
	// query.
	ErrBadCursor = errors.New("bad cursor")
	// ErrUnprocessed: a batch write left items unprocessed after every retry.
	ErrUnprocessed = errors.New("unprocessed items")
	// ErrNotManaged: Fold (or Preview) was asked to create a person from an
	// event that does not make them a member of a mapped group
	// (Options.GroupMapped): idsync stores only people it manages. Marked
	// Stale: acknowledge and drop the event; nothing was written.
	ErrNotManaged = errors.New("not managed: the event makes the person a member of no mapped group")
)

// Defaults and limits.
const (
	// DefaultFoldAttempts is how many times Fold tries to write a person
	// before giving up with ErrConflict.
	DefaultFoldAttempts = 10
	// MaxWorkers bounds the parallel requests of bulk reads and writes.
	MaxWorkers = 8
	// MinLedgerTTL is the shortest ledger TTL allowed: idempotency records
	// must outlive the queue and DLQ retention (14 days).
	MinLedgerTTL = 14 * 24 * time.Hour
	// MaxCommitEntries is the most ledger entries one Commit may carry (a
	// transaction holds at most 100 items: the target state, the applied
	// record and the entries).
	MaxCommitEntries = 98
	// MaxAppendEntries is the most entries one Append may carry.
	MaxAppendEntries = 100
)

// Options configure a Store.
type Options struct {
	// DB is the DynamoDB client (required); *dynamodb.Client satisfies it.
	DB DB
	// StateTable and LedgerTable are the table names (required).
	StateTable, LedgerTable string
	// Clock gives the time written to rows (default time.Now).
	Clock func() time.Time
	// NewID returns a new ULID string for each ledger row (default
	// ulid.Make). A row's day bucket is its id's time.
	NewID func() string
	// FoldAttempts bounds Fold's write attempts under contention (default
	// DefaultFoldAttempts).
	FoldAttempts int
	// LedgerTTL, when non-zero, gives every ledger row an expiresAt of its
	// time plus LedgerTTL (and must be at least MinLedgerTTL). Zero, the
	// default, keeps ledger rows forever.
	LedgerTTL time.Duration
	// Workers is the number of parallel requests of bulk reads and writes
	// (default and maximum MaxWorkers).
	Workers int
	// BatchBackoff is the first wait before resending items a batch write
	// left unprocessed (default 50ms); it doubles per attempt up to 64
	// times itself.
	BatchBackoff time.Duration
	// GroupMapped says which groups idsync maps (domain.Config.GroupMapped).
	// With it, Fold and Preview refuse to create a person from an event
	// that does not make them a member of a mapped group (ErrNotManaged),
	// so that only managed people are stored. Nil turns the check off
	// (every event may create a person); the composition root sets it.
	GroupMapped func(domain.GroupRef) bool
}

// Store reads and writes idsync's state and ledger tables. It is safe for
// concurrent use.
type Store struct {
	db           DB
	state        string
	ledger       string
	now          func() time.Time
	newID        func() string
	foldAttempts int
	ledgerTTL    time.Duration
	workers      int
	batchBackoff time.Duration
	groupMapped  func(domain.GroupRef) bool
}

// New returns a Store over o.DB and o's tables.
//
// Errors: ErrInvalid (Permanent) when the client or a table name is
// missing, or LedgerTTL is below MinLedgerTTL.
func New(o Options) (*Store, error) {
	if o.DB == nil || o.StateTable == "" || o.LedgerTable == "" {
		return nil, domain.Permanent(fmt.Errorf("store: %w: client and both table names are required", ErrInvalid))
	}
	if o.LedgerTTL != 0 && o.LedgerTTL < MinLedgerTTL {
		return nil, domain.Permanent(fmt.Errorf("store: %w: ledger TTL %v is below %v", ErrInvalid, o.LedgerTTL, MinLedgerTTL))
	}
	s := &Store{
		db: o.DB, state: o.StateTable, ledger: o.LedgerTable,
		now: o.Clock, newID: o.NewID,
		foldAttempts: o.FoldAttempts, ledgerTTL: o.LedgerTTL, workers: o.Workers,
		batchBackoff: o.BatchBackoff, groupMapped: o.GroupMapped,
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.newID == nil {
		s.newID = func() string { return ulid.Make().String() }
	}
	if s.foldAttempts <= 0 {
		s.foldAttempts = DefaultFoldAttempts
	}
	if s.batchBackoff <= 0 {
		s.batchBackoff = 50 * time.Millisecond
	}
	if s.workers <= 0 || s.workers > MaxWorkers {
		s.workers = MaxWorkers
	}
	return s, nil
}

// invalid returns a Permanent error wrapping ErrInvalid.
func invalid(format string, args ...any) error {
	return domain.Permanent(fmt.Errorf("store: %w: %s", ErrInvalid, fmt.Sprintf(format, args...)))
}

// sdkErr wraps an SDK error with what the store was doing. DynamoDB
// validation failures (an item too large, a malformed request) are marked
// Permanent; everything else keeps the default Retryable kind.
func sdkErr(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	wrapped := fmt.Errorf("store: %s: %w", fmt.Sprintf(format, args...), err)
	var api smithy.APIError
	if errors.As(err, &api) && api.ErrorCode() == "ValidationException" {
		return domain.Permanent(wrapped)
	}
	return wrapped
}

// marshal encodes an item struct; zero times tagged omitempty are left out.
func marshal(v any) (map[string]types.AttributeValue, error) {
	m, err := attributevalue.MarshalMapWithOptions(v, func(o *attributevalue.EncoderOptions) {
		o.OmitEmptyTime = true
	})
	if err != nil {
		return nil, domain.Permanent(fmt.Errorf("store: encode item: %w", err))
	}
	return m, nil
}

// unmarshal decodes an item into an item struct.
func unmarshal(item map[string]types.AttributeValue, v any) error {
	if err := attributevalue.UnmarshalMap(item, v); err != nil {
		return domain.Permanent(fmt.Errorf("store: decode item: %w", err))
	}
	return nil
}

// backoff sleeps before retry attempt n (1-based): jittered, growing from
// base up to limit. It returns ctx's error if ctx ends first.
func backoff(ctx context.Context, n int, base, limit time.Duration) error {
	d := base << min(n-1, 16)
	if d > limit || d <= 0 {
		d = limit
	}
	d = d/2 + rand.N(d/2+1)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// idTime returns the time of a ULID string.
func idTime(id string) (time.Time, error) {
	u, err := ulid.ParseStrict(id)
	if err != nil {
		return time.Time{}, invalid("id %q is not a ULID: %v", id, err)
	}
	return ulid.Time(u.Time()).UTC(), nil
}
