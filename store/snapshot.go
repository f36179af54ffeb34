package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/idsync/idsync/domain"
)

// SnapshotRecord is the IdC snapshotter's bookkeeping for one person: what
// the last run that saw a change observed. The snapshotter reads all of
// them at the start of a run and writes back only the records that
// SnapshotChanges reports, so a steady-state run writes nothing.
type SnapshotRecord struct {
	// Key is the person key the snapshot derived (Okta id, else IdC id).
	Key       string `dynamodbav:"key"`
	OktaID    string `dynamodbav:"okta,omitempty"`
	IdCUserID string `dynamodbav:"idc,omitempty"`
	// Groups are the membership keys (domain.GroupRef.Key) of the
	// configured groups the person was observed in, sorted.
	Groups []string `dynamodbav:"groups,omitempty"`
	// Digest is the caller's digest of the observed profile (opaque here).
	Digest string `dynamodbav:"digest,omitempty"`
	// RunID and ObservedAt name the run that last changed the record.
	RunID      string    `dynamodbav:"runId,omitempty"`
	ObservedAt time.Time `dynamodbav:"observedAt,omitempty"`
}

// sameObservation reports whether two records observed the same thing
// (run and time aside).
func sameObservation(a, b SnapshotRecord) bool {
	return a.Key == b.Key && a.OktaID == b.OktaID && a.IdCUserID == b.IdCUserID &&
		a.Digest == b.Digest && slices.Equal(a.Groups, b.Groups)
}

// SnapshotChanges compares a run's records (next) with the stored ones
// (prev) and returns what to write: the records that are new or observe
// something different (Groups sorted), and the keys of stored records the
// run no longer has. Both are sorted by key. It is pure.
func SnapshotChanges(prev, next []SnapshotRecord) (put []SnapshotRecord, remove []string) {
	old := make(map[string]SnapshotRecord, len(prev))
	for _, r := range prev {
		old[r.Key] = r
	}
	seen := make(map[string]bool, len(next))
	for _, r := range next {
		if r.Key == "" || seen[r.Key] {
			continue
		}
		seen[r.Key] = true
		r.Groups = slices.Sorted(slices.Values(r.Groups))
		if p, ok := old[r.Key]; !ok || !sameObservation(p, r) {
			put = append(put, r)
		}
	}
	for k := range old {
		if !seen[k] {
			remove = append(remove, k)
		}
	}
	slices.SortFunc(put, func(a, b SnapshotRecord) int { return cmp.Compare(a.Key, b.Key) })
	slices.Sort(remove)
	return put, remove
}

// SnapshotRecords reads every snapshot record, strongly consistently, with
// the shards read in parallel (Options.Workers), sorted by key.
//
// Errors: SDK errors.
func (s *Store) SnapshotRecords(ctx context.Context) ([]SnapshotRecord, error) {
	var (
		mu  sync.Mutex
		out []SnapshotRecord
	)
	shards := make([]string, SnapshotShards)
	for i := range shards {
		shards[i] = fmt.Sprintf("%s%02d", snapshotPrefix, i)
	}
	err := s.parallel(ctx, len(shards), func(ctx context.Context, i int) error {
		expr, err := expression.NewBuilder().
			WithKeyCondition(expression.Key(attrPK).Equal(expression.Value(shards[i]))).Build()
		if err != nil {
			return fmt.Errorf("store: build query: %w", err)
		}
		p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
			TableName:                 aws.String(s.state),
			ConsistentRead:            aws.Bool(true),
			KeyConditionExpression:    expr.KeyCondition(),
			ExpressionAttributeNames:  expr.Names(),
			ExpressionAttributeValues: expr.Values(),
		})
		var got []SnapshotRecord
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return sdkErr(err, "read snapshot records %s", shards[i])
			}
			for _, item := range page.Items {
				var it snapshotItem
				if err := unmarshal(item, &it); err != nil {
					return err
				}
				got = append(got, it.SnapshotRecord)
			}
		}
		mu.Lock()
		out = append(out, got...)
		mu.Unlock()
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b SnapshotRecord) int { return cmp.Compare(a.Key, b.Key) })
	return out, nil
}

// WriteSnapshotRecords stores put and deletes the records of remove, with
// BatchWriteItem (25 per request, Options.Workers requests in flight),
// retrying unprocessed items with backoff. Writes are unconditional: only
// the snapshotter writes these records, one run at a time. Idempotent.
// Not atomic: after an error some writes may have happened; writing the
// same changes again completes them.
//
// Errors: ErrInvalid (a record without key, a key listed twice);
// ErrUnprocessed when items stayed unprocessed after every retry; SDK
// errors.
func (s *Store) WriteSnapshotRecords(ctx context.Context, put []SnapshotRecord, remove []string) error {
	seen := make(map[string]bool, len(put)+len(remove))
	reqs := make([]types.WriteRequest, 0, len(put)+len(remove))
	for _, r := range put {
		if r.Key == "" || seen[r.Key] {
			return invalid("snapshot record key %q empty or listed twice", r.Key)
		}
		seen[r.Key] = true
		item, err := marshal(snapshotItem{PK: snapshotPK(r.Key), SK: r.Key, SnapshotRecord: r})
		if err != nil {
			return err
		}
		reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
	}
	for _, k := range remove {
		if k == "" || seen[k] {
			return invalid("snapshot record key %q empty or listed twice", k)
		}
		seen[k] = true
		key, err := marshal(struct {
			PK string `dynamodbav:"PK"`
			SK string `dynamodbav:"SK"`
		}{snapshotPK(k), k})
		if err != nil {
			return err
		}
		reqs = append(reqs, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: key}})
	}
	return s.batchWrite(ctx, s.state, reqs)
}

// AllPeople reads every person's identity with a parallel scan of the state
// table (Options.Workers segments), sorted by person key (domain.Person.Key).
// Reads are eventually consistent. The snapshotter reads AllRecords, which
// costs the same and also returns target states and marks.
//
// Errors: SDK errors.
func (s *Store) AllPeople(ctx context.Context) ([]domain.Person, error) {
	expr, err := expression.NewBuilder().
		WithFilter(expression.Name(attrSK).Equal(expression.Value(skIdentity))).Build()
	if err != nil {
		return nil, fmt.Errorf("store: build scan: %w", err)
	}
	var (
		mu  sync.Mutex
		out []domain.Person
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
		var got []domain.Person
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return sdkErr(err, "scan people (segment %d)", seg)
			}
			for _, item := range page.Items {
				var it identityItem
				if err := unmarshal(item, &it); err != nil {
					return err
				}
				got = append(got, it.person())
			}
		}
		mu.Lock()
		out = append(out, got...)
		mu.Unlock()
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b domain.Person) int { return cmp.Compare(a.Key, b.Key) })
	return out, nil
}
