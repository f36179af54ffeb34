package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/idsync/idsync/domain"
)

// Mark is the snapshotter's note, kept in the person's partition, of a
// difference it emitted and has not seen resolved: SK=EMITTED for the
// person's diff facts, SK=EMITTED#<target> for a target's reconcile event.
// The next run skips emitting the same difference while the versions it was
// computed from are unchanged and the mark is younger than the redelivery
// horizon, which keeps redundant work proportional to changes, not to runs,
// while consumers lag. Only the snapshotter writes marks (WriteMarks), and
// consumers record a permanent failure on one (MarkFailed).
type Mark struct {
	// Key is the person's partition key (Record.Key).
	Key string
	// Target is the reconcile mark's target; "" for the diff mark.
	Target domain.Target
	// Digest identifies the difference (the caller's, opaque here).
	Digest string
	// EventID is the id of the event emitted for it (a reconcile mark's
	// event; for a diff mark, the person's first event).
	EventID string
	// PersonVersion and TargetVersion are the versions of the person and
	// of the target state the difference was computed from.
	PersonVersion, TargetVersion int64
	// Since is when the difference was first emitted: the occurred-at of
	// its events, which a re-sent copy keeps so that its ids collide.
	Since time.Time
	// At is when it was last emitted.
	At time.Time
	// FailedEventID, FailedAt and FailedReason are what a consumer
	// recorded with MarkFailed: the event it dead-lettered, when and why.
	FailedEventID string
	FailedAt      time.Time
	FailedReason  string
}

// Failed reports whether a consumer recorded the mark's own event as
// failed permanently.
func (m Mark) Failed() bool { return m.FailedEventID != "" && m.FailedEventID == m.EventID }

// AllRecords reads every person's partition, identity, target states and
// marks, with one parallel scan of the state table (Options.Workers
// segments): what a snapshot run diffs against and reconciles. Records are
// sorted by Key. A partition holding no identity (only marks or target
// states) is returned too, with a zero Person (Record.HasIdentity false).
// Reads are eventually consistent, and a scan is not a snapshot: items of
// one partition may be read at slightly different moments. Cost: one read
// of every item in the table, as AllPeople.
//
// Errors: SDK errors.
func (s *Store) AllRecords(ctx context.Context) ([]Record, error) {
	expr, err := expression.NewBuilder().
		WithFilter(expression.Name(attrPK).BeginsWith(personPrefix)).Build()
	if err != nil {
		return nil, fmt.Errorf("store: build scan: %w", err)
	}
	var (
		mu  sync.Mutex
		all = map[string]*Record{}
	)
	segments := s.workers
	err = s.parallel(ctx, segments, func(ctx context.Context, seg int) error {
		p := dynamodb.NewScanPaginator(s.db, &dynamodb.ScanInput{
			TableName:                 aws.String(s.state),
			Segment:                   aws.Int32(int32(seg)),
			TotalSegments:             aws.Int32(int32(segments)),
			FilterExpression:          expr.Filter(),
			ExpressionAttributeNames:  expr.Names(),
			ExpressionAttributeValues: expr.Values(),
		})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return sdkErr(err, "scan records (segment %d)", seg)
			}
			for _, item := range page.Items {
				var head struct {
					PK string `dynamodbav:"PK"`
				}
				if err := unmarshal(item, &head); err != nil {
					return err
				}
				key, ok := strings.CutPrefix(head.PK, personPrefix)
				if !ok {
					continue
				}
				mu.Lock()
				rec := all[key]
				if rec == nil {
					rec = &Record{Key: key}
					all[key] = rec
				}
				_, err := rec.add(item)
				mu.Unlock()
				if err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]Record, 0, len(all))
	for _, r := range all {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b Record) int { return cmp.Compare(a.Key, b.Key) })
	return out, nil
}

// WriteMarks stores the marks of put (each replacing the person's mark for
// its target, failure fields included) and deletes those of remove (only
// Key and Target are read), with BatchWriteItem (25 per request,
// Options.Workers requests in flight), retrying unprocessed items with
// backoff. Writes are unconditional: only the snapshotter writes marks, one
// run at a time (a consumer's MarkFailed on a mark being replaced is lost,
// which costs at most one more attempt). Idempotent. Not atomic: after an
// error some writes may have happened.
//
// Errors: ErrInvalid (a mark without key, or one mark listed twice);
// ErrUnprocessed; SDK errors.
func (s *Store) WriteMarks(ctx context.Context, put, remove []Mark) error {
	type ref struct {
		key string
		t   domain.Target
	}
	seen := make(map[ref]bool, len(put)+len(remove))
	reqs := make([]types.WriteRequest, 0, len(put)+len(remove))
	check := func(m Mark) error {
		r := ref{m.Key, m.Target}
		if m.Key == "" || seen[r] {
			return invalid("mark %s/%s without key or listed twice", m.Key, m.Target)
		}
		seen[r] = true
		return nil
	}
	for _, m := range put {
		if err := check(m); err != nil {
			return err
		}
		item, err := marshal(newMarkItem(m))
		if err != nil {
			return err
		}
		reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
	}
	for _, m := range remove {
		if err := check(m); err != nil {
			return err
		}
		key, err := marshal(struct {
			PK string `dynamodbav:"PK"`
			SK string `dynamodbav:"SK"`
		}{personPK(m.Key), markSK(m.Target)})
		if err != nil {
			return err
		}
		reqs = append(reqs, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: key}})
	}
	return s.batchWrite(ctx, s.state, reqs)
}

// MarkFailed records on the person's reconcile mark for target t that its
// consumer failed event eventID permanently (dead-lettered it) for reason:
// the snapshotter then retries the same difference only after
// snapshot.retryFailedAfter instead of every redelivery horizon. It is one
// UpdateItem conditional on the mark still naming eventID, so a failure of
// an older event never marks a newer difference. Consumers call it for a
// reconcile event they dead-letter; the reason should carry no personal
// data (it is stored in the state table). Idempotent.
//
// Errors: ErrNotFound when the mark is gone or names another event (the
// difference was resolved or re-planned since: nothing to record);
// ErrInvalid (Permanent) for an empty key, target or event id; SDK errors.
func (s *Store) MarkFailed(ctx context.Context, key string, t domain.Target, eventID, reason string) error {
	k, err := reconcileMarkKey(key, t, eventID, "mark failure")
	if err != nil {
		return err
	}
	if len(reason) > 1000 {
		reason = reason[:1000]
	}
	upd := expression.Set(expression.Name("failedEventId"), expression.Value(eventID)).
		Set(expression.Name("failedAt"), expression.Value(s.now().UTC().Format(time.RFC3339Nano))).
		Set(expression.Name("failedReason"), expression.Value(reason))
	cond := expression.AttributeExists(expression.Name(attrPK)).And(expression.Name("eventId").Equal(expression.Value(eventID)))
	expr, err := expression.NewBuilder().WithCondition(cond).WithUpdate(upd).Build()
	if err != nil {
		return fmt.Errorf("store: build mark failure: %w", err)
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.state), Key: k,
		UpdateExpression: expr.Update(), ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return fmt.Errorf("store: mark %s failure of %s for %s: no mark names that event: %w", t, eventID, key, ErrNotFound)
	}
	return sdkErr(err, "mark %s failure of %s for %s", t, eventID, key)
}

// ReleaseMark deletes the person's reconcile mark for target t if it still
// names event eventID: its consumer handed the event over to reconciliation
// (its retries ran out with the cause still retryable), so nothing of that
// difference is in flight any more and the next snapshot run plans it
// again, instead of holding it for snapshot.redeliverAfter. One DeleteItem
// conditional on the mark's event id, so a newer difference's mark is never
// released by an older event. Idempotent.
//
// Errors: ErrNotFound when the mark is gone or names another event;
// ErrInvalid (Permanent) for an empty key, target or event id; SDK errors.
func (s *Store) ReleaseMark(ctx context.Context, key string, t domain.Target, eventID string) error {
	k, err := reconcileMarkKey(key, t, eventID, "mark release")
	if err != nil {
		return err
	}
	expr, err := expression.NewBuilder().WithCondition(expression.Name("eventId").Equal(expression.Value(eventID))).Build()
	if err != nil {
		return fmt.Errorf("store: build mark release: %w", err)
	}
	_, err = s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(s.state), Key: k, ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	})
	if _, ok := errors.AsType[*types.ConditionalCheckFailedException](err); ok {
		return fmt.Errorf("store: release %s mark of %s for %s: no mark names that event: %w", t, eventID, key, ErrNotFound)
	}
	return sdkErr(err, "release %s mark of %s for %s", t, eventID, key)
}

// reconcileMarkKey is the item key of the person's reconcile mark for
// target t, for a consumer's call about event eventID (what names the call
// in the error). Errors: ErrInvalid for an empty key, target or event id.
func reconcileMarkKey(key string, t domain.Target, eventID, what string) (map[string]types.AttributeValue, error) {
	if key == "" || t == "" || eventID == "" {
		return nil, invalid("%s needs a person key, a target and an event id", what)
	}
	return marshal(struct {
		PK string `dynamodbav:"PK"`
		SK string `dynamodbav:"SK"`
	}{personPK(key), markSK(t)})
}
