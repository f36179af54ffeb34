package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/oklog/ulid/v2"

	"github.com/idsync/idsync/domain"
)

// Cancellation reason codes of a TransactionCanceledException.
const (
	reasonConditionFailed = "ConditionalCheckFailed"
	reasonTxConflict      = "TransactionConflict"
	reasonValidation      = "ValidationError"
)

// appendOnly is the condition of every ledger write: the row must not exist.
func appendOnly() (expression.Expression, error) {
	expr, err := expression.NewBuilder().
		WithCondition(expression.AttributeNotExists(expression.Name(attrPK))).Build()
	if err != nil {
		return expression.Expression{}, fmt.Errorf("store: build condition: %w", err)
	}
	return expr, nil
}

// row completes an entry (id, time) and builds its timeline row: SK
// <id>#<outcome>, day bucket of the id's time.
func (s *Store) row(e domain.LedgerEntry) (domain.LedgerEntry, *types.Put, error) {
	if e.Outcome == "" {
		return e, nil, invalid("ledger entry without outcome")
	}
	if e.ID == "" {
		e.ID = s.newID()
	}
	at, err := idTime(e.ID)
	if err != nil {
		return e, nil, err
	}
	if e.At.IsZero() {
		e.At = s.now()
	}
	e.At = e.At.UTC()
	put, err := s.ledgerPut(newLedgerItem(ledgerPK(e.PersonKey), rowSK(e.ID, e.Outcome), dayBucket(at), e))
	return e, put, err
}

// ledgerPut builds the append-only put of a ledger item, adding its
// expiry when a ledger TTL is configured.
func (s *Store) ledgerPut(it ledgerItem) (*types.Put, error) {
	if s.ledgerTTL > 0 {
		it.ExpiresAt = s.now().Add(s.ledgerTTL).Unix()
	}
	item, err := marshal(it)
	if err != nil {
		return nil, err
	}
	expr, err := appendOnly()
	if err != nil {
		return nil, err
	}
	return &types.Put{
		TableName:                aws.String(s.ledger),
		Item:                     item,
		ConditionExpression:      expr.Condition(),
		ExpressionAttributeNames: expr.Names(),
	}, nil
}

// putOne runs a single conditional put; a failed condition is ErrDuplicate.
func (s *Store) putOne(ctx context.Context, put *types.Put, what string) error {
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 put.TableName,
		Item:                      put.Item,
		ConditionExpression:       put.ConditionExpression,
		ExpressionAttributeNames:  put.ExpressionAttributeNames,
		ExpressionAttributeValues: put.ExpressionAttributeValues,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return domain.Stale(fmt.Errorf("store: %s: %w", what, ErrDuplicate))
	}
	return sdkErr(err, "%s", what)
}

// Append appends ledger entries (planned, skipped, failed, snapshot-run
// summaries, …) and returns them completed: an entry without ID gets a new
// ULID and one without At gets the clock's time. Its row goes to the
// person's partition, or to SYSTEM when PersonKey is empty, and to the day
// bucket of its id's time. Several entries are written in one transaction:
// all or none.
//
// Append-only: an entry whose row exists is not written again. Appending
// entries with the ids of existing rows is therefore idempotent and reports
// ErrDuplicate (Stale), writing none of the entries.
//
// Errors: ErrDuplicate; ErrInvalid (no outcome, an ID that is not a ULID,
// more than MaxAppendEntries); SDK errors.
func (s *Store) Append(ctx context.Context, entries ...domain.LedgerEntry) ([]domain.LedgerEntry, error) {
	if len(entries) == 0 {
		return nil, nil
	}
	if len(entries) > MaxAppendEntries {
		return nil, invalid("%d entries in one append (at most %d)", len(entries), MaxAppendEntries)
	}
	out := make([]domain.LedgerEntry, len(entries))
	items := make([]types.TransactWriteItem, len(entries))
	for i, e := range entries {
		done, put, err := s.row(e)
		if err != nil {
			return nil, err
		}
		out[i], items[i] = done, types.TransactWriteItem{Put: put}
	}
	if len(items) == 1 {
		if err := s.putOne(ctx, items[0].Put, "append ledger row "+out[0].ID); err != nil {
			return nil, err
		}
		return out, nil
	}
	_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	if err != nil {
		var tce *types.TransactionCanceledException
		if errors.As(err, &tce) {
			for i, r := range tce.CancellationReasons {
				if aws.ToString(r.Code) == reasonConditionFailed {
					return nil, domain.Stale(fmt.Errorf("store: append ledger row %s: %w", out[i].ID, ErrDuplicate))
				}
			}
		}
		return nil, txErr(err, "append %d ledger rows", len(items))
	}
	return out, nil
}

// receivedEntry is the ledger row recording that e was received. Its id is
// the event id, so two recordings of one fact are one row.
func (s *Store) receivedEntry(e domain.Event) domain.LedgerEntry {
	at := e.ReceivedAt
	if at.IsZero() {
		at = s.now()
	}
	detail := map[string]string{}
	if e.SourceEventID != "" {
		detail["sourceEventId"] = e.SourceEventID
	}
	if e.Group != nil && e.Group.Key() != "" {
		detail["group"] = e.Group.Key()
	}
	if e.Target != "" {
		detail["target"] = string(e.Target)
	}
	if e.ReplacesIdCUserID != "" {
		detail["relink"] = "IdC user " + e.ReplacesIdCUserID + " replaced by " + e.Subject.IdCUserID
	}
	if b, err := domain.EncodeEvent(kept(e)); err == nil {
		detail[DetailEvent] = string(b)
	}
	return domain.LedgerEntry{
		ID: e.ID, At: at.UTC(), PersonKey: e.Subject.Key(), EventID: e.ID,
		Source: e.Source, Kind: e.Kind, Outcome: domain.OutcomeReceived, Detail: detail,
	}
}

// RecordReceived appends the received row of e: PK the subject's key, id
// and sort key the event id (so the row sorts and is bucketed by the time
// the fact occurred), with source, kind, the source event id (Okta uuid),
// group, target (an event for one target), relink (the replaced and the
// new IdC user id of a relink, the ledger-visible reason of the re-link)
// and the event as the ledger keeps it (Detail[DetailEvent]; see
// ReceivedEvent) in Detail. Because event ids are deterministic, recording the
// same fact twice (an Okta redelivery of one uuid) writes one row and
// reports ErrDuplicate (Stale) the second time.
//
// Errors: ErrDuplicate; the event's validation error (Permanent); SDK
// errors.
func (s *Store) RecordReceived(ctx context.Context, e domain.Event) (domain.LedgerEntry, error) {
	if err := e.Validate(); err != nil {
		return domain.LedgerEntry{}, fmt.Errorf("store: record received %s: %w", e.ID, err)
	}
	entry, put, err := s.row(s.receivedEntry(e))
	if err != nil {
		return domain.LedgerEntry{}, err
	}
	if err := s.putOne(ctx, put, "record received "+e.ID); err != nil {
		return domain.LedgerEntry{}, err
	}
	return entry, nil
}

// RecordReceivedAll records every event as RecordReceived does, with up to
// Options.Workers writes in flight, and returns one error per event (nil,
// one matching ErrDuplicate, or another error), in order.
func (s *Store) RecordReceivedAll(ctx context.Context, events []domain.Event) []error {
	errs := make([]error, len(events))
	sem := make(chan struct{}, s.workers)
	var wg sync.WaitGroup
	for i := range events {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			_, errs[i] = s.RecordReceived(ctx, events[i])
		}()
	}
	wg.Wait()
	return errs
}

// Commit is one event's effect on one target, committed atomically.
type Commit struct {
	// PersonKey is the person's partition key (Record.Key).
	PersonKey string
	// EventID is the applied event's id.
	EventID string
	// Target is the target the plan was applied to.
	Target domain.Target
	// Expected is the version of the target state the plan was made from
	// (0 when there was none).
	Expected int64
	// Next is the target state once the plan's ops succeeded; its Target
	// and Version are set by Commit.
	Next domain.TargetState
	// Entries are the ledger rows of the ops (outcome applied, or failed
	// for an op that failed before a partial commit). Empty fields default
	// to PersonKey, EventID, Target and outcome applied. With no entries
	// one applied row records the commit.
	Entries []domain.LedgerEntry
}

// Commit writes, in one transaction: the target state at Expected+1
// (condition: stored version is Expected), the applied record keyed by
// (Target, EventID) (condition: it does not exist), and the entries' ledger
// rows (condition: they do not exist). Either all are written or nothing
// is. The applied record is the idempotency record Applied checks; it
// stays out of the day index, since the entries record the commit there.
//
// It returns the stored target state and the written entries.
//
// Errors: ErrDuplicate (Stale) when the event was already committed for
// the target, whatever the version; ErrConflict when the stored version is
// not Expected or a concurrent transaction interfered (re-read and
// re-plan); ErrInvalid (missing key, event id or target, more than
// MaxCommitEntries entries); SDK errors.
func (s *Store) Commit(ctx context.Context, c Commit) (domain.TargetState, []domain.LedgerEntry, error) {
	if c.PersonKey == "" || c.EventID == "" || c.Target == "" {
		return domain.TargetState{}, nil, invalid("commit needs a person key, an event id and a target")
	}
	if len(c.Entries) > MaxCommitEntries {
		return domain.TargetState{}, nil, invalid("%d entries in one commit (at most %d)", len(c.Entries), MaxCommitEntries)
	}
	c.Next.Target = c.Target
	tput, next, err := s.targetPut(c.PersonKey, c.Next, c.Expected)
	if err != nil {
		return domain.TargetState{}, nil, err
	}
	entries := c.Entries
	if len(entries) == 0 {
		entries = []domain.LedgerEntry{{RemoteID: next.RemoteID}}
	}
	items := make([]types.TransactWriteItem, 0, len(entries)+2)
	items = append(items, types.TransactWriteItem{Put: tput}, types.TransactWriteItem{})
	written := make([]domain.LedgerEntry, len(entries))
	for i, e := range entries {
		if e.PersonKey == "" {
			e.PersonKey = c.PersonKey
		}
		if e.EventID == "" {
			e.EventID = c.EventID
		}
		if e.Target == "" {
			e.Target = c.Target
		}
		if e.Outcome == "" {
			e.Outcome = domain.OutcomeApplied
		}
		done, put, err := s.row(e)
		if err != nil {
			return domain.TargetState{}, nil, err
		}
		written[i] = done
		items = append(items, types.TransactWriteItem{Put: put})
	}
	applied, err := s.ledgerPut(newLedgerItem(personPK(c.PersonKey), appliedSK(c.Target, c.EventID), "", domain.LedgerEntry{
		ID: written[0].ID, At: written[0].At, PersonKey: c.PersonKey, EventID: c.EventID,
		Target: c.Target, Outcome: domain.OutcomeApplied, RemoteID: next.RemoteID,
		Detail: map[string]string{"version": strconv.FormatInt(next.Version, 10)},
	}))
	if err != nil {
		return domain.TargetState{}, nil, err
	}
	items[1] = types.TransactWriteItem{Put: applied}

	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	if err == nil {
		return next, written, nil
	}
	what := fmt.Sprintf("commit event %s to %s of %s", c.EventID, c.Target, c.PersonKey)
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) {
		code := func(i int) string {
			if i < len(tce.CancellationReasons) {
				return aws.ToString(tce.CancellationReasons[i].Code)
			}
			return ""
		}
		switch {
		case code(1) == reasonConditionFailed:
			return domain.TargetState{}, nil, domain.Stale(fmt.Errorf("store: %s: already committed: %w", what, ErrDuplicate))
		case code(0) == reasonConditionFailed:
			return domain.TargetState{}, nil, fmt.Errorf("store: %s: expected version %d: %w", what, c.Expected, ErrConflict)
		}
		for i := 2; i < len(items); i++ {
			if code(i) == reasonConditionFailed {
				return domain.TargetState{}, nil, invalid("%s: ledger row %s exists", what, written[i-2].ID)
			}
		}
	}
	return domain.TargetState{}, nil, txErr(err, "%s", what)
}

// txErr classifies a failed transaction: a concurrent transaction on one
// of its items is ErrConflict (retry), a validation failure is Permanent,
// the rest as sdkErr.
func txErr(err error, format string, args ...any) error {
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) {
		for _, r := range tce.CancellationReasons {
			switch aws.ToString(r.Code) {
			case reasonTxConflict:
				return fmt.Errorf("store: %s: concurrent transaction: %w (%w)", fmt.Sprintf(format, args...), ErrConflict, err)
			case reasonValidation:
				return domain.Permanent(fmt.Errorf("store: %s: %w", fmt.Sprintf(format, args...), err))
			}
		}
	}
	return sdkErr(err, format, args...)
}

// Applied reports whether the event was committed to target t for the
// person (the applied record exists), with a strongly consistent read.
// Consumers check it before applying; Commit enforces it regardless.
//
// Errors: ErrInvalid for an empty key, target or event id; SDK errors.
func (s *Store) Applied(ctx context.Context, personKey string, t domain.Target, eventID string) (bool, error) {
	if personKey == "" || t == "" || eventID == "" {
		return false, invalid("applied check needs a person key, a target and an event id")
	}
	k, err := marshal(struct {
		PK string `dynamodbav:"PK"`
		SK string `dynamodbav:"SK"`
	}{personPK(personKey), appliedSK(t, eventID)})
	if err != nil {
		return false, err
	}
	proj, err := expression.NewBuilder().WithProjection(expression.NamesList(expression.Name(attrPK))).Build()
	if err != nil {
		return false, fmt.Errorf("store: build projection: %w", err)
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.ledger), Key: k, ConsistentRead: aws.Bool(true),
		ProjectionExpression: proj.Projection(), ExpressionAttributeNames: proj.Names(),
	})
	if err != nil {
		return false, sdkErr(err, "read applied record of %s for %s", eventID, t)
	}
	return out.Item != nil, nil
}

// ulidBound is the smallest (or, with high, the largest) ULID string of the
// millisecond of ms.
func ulidBound(ms uint64, high bool) string {
	var u ulid.ULID
	_ = u.SetTime(min(ms, ulid.MaxTime()))
	if high {
		for i := 6; i < len(u); i++ {
			u[i] = 0xff
		}
	}
	return u.String()
}
