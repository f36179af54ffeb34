package store

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/oklog/ulid/v2"

	"github.com/idsync/idsync/domain"
)

// DetailEvent is the Detail key of a received row that holds the event as
// the ledger keeps it: the versioned envelope (domain.EncodeEvent) of the
// event without its profile values.
//
// What the ledger keeps: ids (event, source event, Okta user, IdC user,
// groups), the login, source, kind, group names and both times. What it
// leaves out: the profile (names, email address, department, title). The
// ledger is append-only and keeps rows forever unless Options.LedgerTTL is
// set, so nothing in it can be corrected or erased; profile values live in
// the state table, where the next fact overwrites them, and every IdC
// snapshot reads them again. The login stays because it is how operators
// name people and how an audit finds them, and it is already the person's
// identifier in every source. A replay therefore re-emits membership and
// lifecycle facts with their original times; profile values come from the
// state table and the next snapshot.
const DetailEvent = "event"

// kept is e as the ledger keeps it (see DetailEvent).
func kept(e domain.Event) domain.Event {
	e.Profile = nil
	return e
}

// ReceivedEvent rebuilds the event a received row recorded (the ledger's
// copy, without profile values; see DetailEvent). It is pure.
//
// Errors: ErrNotFound when the row is not a received row or carries no
// event (rows recorded before events were kept); the envelope's decode
// error (Permanent, domain.ErrInvalidEvent and kin) when it does not
// decode.
func ReceivedEvent(row domain.LedgerEntry) (domain.Event, error) {
	raw, ok := row.Detail[DetailEvent]
	if row.Outcome != domain.OutcomeReceived || !ok {
		return domain.Event{}, fmt.Errorf("store: ledger row %s carries no event: %w", row.ID, ErrNotFound)
	}
	e, err := domain.DecodeEvent([]byte(raw))
	if err != nil {
		return domain.Event{}, fmt.Errorf("store: event of ledger row %s: %w", row.ID, err)
	}
	return e, nil
}

// ReceivedRow returns the received row of event eventID, wherever its
// person's partition is: a received row's id is its event id and its day
// bucket the day of that id's time, so one query of the byDay index for
// (day, id) finds it without knowing the person. The index is eventually
// consistent: a row written a moment ago may not be found yet.
//
// Errors: ErrInvalid (Permanent) when eventID is not a ULID; ErrNotFound
// when no received row has that id; SDK errors.
func (s *Store) ReceivedRow(ctx context.Context, eventID string) (domain.LedgerEntry, error) {
	at, err := idTime(eventID)
	if err != nil {
		return domain.LedgerEntry{}, err
	}
	expr, err := expression.NewBuilder().
		WithKeyCondition(expression.Key(attrDay).Equal(expression.Value(dayBucket(at))).
			And(expression.Key(attrID).Equal(expression.Value(eventID)))).
		WithFilter(expression.Name("outcome").Equal(expression.Value(string(domain.OutcomeReceived)))).
		Build()
	if err != nil {
		return domain.LedgerEntry{}, fmt.Errorf("store: build received-row query: %w", err)
	}
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName: aws.String(s.ledger), IndexName: aws.String(indexByDay),
		KeyConditionExpression: expr.KeyCondition(), FilterExpression: expr.Filter(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	})
	if err != nil {
		return domain.LedgerEntry{}, sdkErr(err, "find received row of %s", eventID)
	}
	if len(out.Items) == 0 {
		return domain.LedgerEntry{}, fmt.Errorf("store: received row of event %s: %w", eventID, ErrNotFound)
	}
	var it ledgerItem
	if err := unmarshal(out.Items[0], &it); err != nil {
		return domain.LedgerEntry{}, err
	}
	return it.entry(), nil
}

// EventRows returns the timeline rows of the person stored under key that
// are about event eventID (received, applied, failed, skipped, would
// rows), oldest first. It is one query of the person's partition with a
// filter on the event id, so it reads every timeline row of that person
// (cost O(rows of the person)) and never scans the table. Idempotency
// records are not returned; see AppliedRecord.
//
// Errors: ErrInvalid (Permanent) for an empty key or event id; SDK
// errors. No row is an empty result, not an error.
func (s *Store) EventRows(ctx context.Context, key, eventID string) ([]domain.LedgerEntry, error) {
	if key == "" || eventID == "" {
		return nil, invalid("event rows need a person key and an event id")
	}
	lowID, highID := ulidBound(0, false), ulidBound(ulid.MaxTime(), true)
	expr, err := expression.NewBuilder().
		WithKeyCondition(expression.Key(attrPK).Equal(expression.Value(ledgerPK(key))).
			And(expression.Key(attrSK).Between(expression.Value(lowID), expression.Value(highID+"~")))).
		WithFilter(expression.Name("eventId").Equal(expression.Value(eventID))).
		Build()
	if err != nil {
		return nil, fmt.Errorf("store: build event-row query: %w", err)
	}
	in := &dynamodb.QueryInput{
		TableName: aws.String(s.ledger), ConsistentRead: aws.Bool(true),
		KeyConditionExpression: expr.KeyCondition(), FilterExpression: expr.Filter(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	}
	var rows []domain.LedgerEntry
	p := dynamodb.NewQueryPaginator(s.db, in)
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, sdkErr(err, "read rows of event %s for %s", eventID, key)
		}
		for _, item := range out.Items {
			var it ledgerItem
			if err := unmarshal(item, &it); err != nil {
				return nil, err
			}
			rows = append(rows, it.entry())
		}
	}
	return rows, nil
}

// AppliedRecord returns the idempotency record of event eventID's commit
// to target t for the person stored under key (outcome applied, the remote
// id, Detail["version"] the target state's version it committed), and
// whether there is one, with a strongly consistent read.
//
// Errors: ErrInvalid (Permanent) for an empty key, target or event id;
// SDK errors.
func (s *Store) AppliedRecord(ctx context.Context, key string, t domain.Target, eventID string) (domain.LedgerEntry, bool, error) {
	if key == "" || t == "" || eventID == "" {
		return domain.LedgerEntry{}, false, invalid("applied record needs a person key, a target and an event id")
	}
	k, err := marshal(struct {
		PK string `dynamodbav:"PK"`
		SK string `dynamodbav:"SK"`
	}{personPK(key), appliedSK(t, eventID)})
	if err != nil {
		return domain.LedgerEntry{}, false, err
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.ledger), Key: k, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return domain.LedgerEntry{}, false, sdkErr(err, "read applied record of %s for %s", eventID, t)
	}
	if out.Item == nil {
		return domain.LedgerEntry{}, false, nil
	}
	var it ledgerItem
	if err := unmarshal(out.Item, &it); err != nil {
		return domain.LedgerEntry{}, false, err
	}
	return it.entry(), true, nil
}

// JoinReceived reports whether an event that makes the person stored
// under key a member of a mapped group (a member-added or an observed
// event) was received and recorded, whether or not a consumer has folded
// it yet: the hook's test of a person who is about to be managed, so
// that a suspension a moment after a join is not dropped as being about
// an unknown user. It is one query of the person's timeline partition
// with a filter, stopping at the first match; for an Okta user idsync
// never received a join for, the partition is empty.
//
// Errors: ErrInvalid (Permanent) for an empty key; SDK errors. Read-only.
func (s *Store) JoinReceived(ctx context.Context, key string) (bool, error) {
	if key == "" {
		return false, invalid("join received needs a person key")
	}
	lowID, highID := ulidBound(0, false), ulidBound(ulid.MaxTime(), true)
	expr, err := expression.NewBuilder().
		WithKeyCondition(expression.Key(attrPK).Equal(expression.Value(ledgerPK(key))).
			And(expression.Key(attrSK).Between(expression.Value(lowID), expression.Value(highID+"~")))).
		WithFilter(expression.Name("outcome").Equal(expression.Value(string(domain.OutcomeReceived))).
			And(expression.Name("kind").In(expression.Value(string(domain.KindMemberAdded)), expression.Value(string(domain.KindObserved))))).
		WithProjection(expression.NamesList(expression.Name(attrPK))).
		Build()
	if err != nil {
		return false, fmt.Errorf("store: build join-received query: %w", err)
	}
	in := &dynamodb.QueryInput{
		TableName: aws.String(s.ledger), ConsistentRead: aws.Bool(true),
		KeyConditionExpression: expr.KeyCondition(), FilterExpression: expr.Filter(),
		ProjectionExpression:     expr.Projection(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	}
	p := dynamodb.NewQueryPaginator(s.db, in)
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return false, sdkErr(err, "read received joins of %s", key)
		}
		if len(out.Items) > 0 {
			return true, nil
		}
	}
	return false, nil
}
