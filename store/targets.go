package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/idsync/idsync/domain"
)

// TargetRecords reads every person who has a state in target t (a
// TARGET#<t> item), with their identity, in one parallel scan of the
// state table (Options.Workers segments) that keeps only identity items
// and t's target items. Each Record holds the person (empty when the
// identity item is missing) and Targets[t] only; the result is sorted by
// key. Reads are eventually consistent: an operator's view of every
// mailbox (idsync workmail export), not a consumer's.
//
// Errors: ErrInvalid for an empty target; SDK errors.
func (s *Store) TargetRecords(ctx context.Context, t domain.Target) ([]Record, error) {
	if t == "" {
		return nil, invalid("empty target")
	}
	sk := expression.Name(attrSK)
	expr, err := expression.NewBuilder().
		WithFilter(sk.Equal(expression.Value(skIdentity)).Or(sk.Equal(expression.Value(targetSK(t))))).Build()
	if err != nil {
		return nil, fmt.Errorf("store: build scan: %w", err)
	}
	var (
		mu     sync.Mutex
		people = map[string]domain.Person{}
		states = map[string]domain.TargetState{}
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
				return sdkErr(err, "scan %s states (segment %d)", t, seg)
			}
			for _, item := range page.Items {
				var head struct {
					PK string `dynamodbav:"PK"`
					SK string `dynamodbav:"SK"`
				}
				if err := unmarshal(item, &head); err != nil {
					return err
				}
				key, ok := strings.CutPrefix(head.PK, personPrefix)
				if !ok {
					continue
				}
				if head.SK == skIdentity {
					var it identityItem
					if err := unmarshal(item, &it); err != nil {
						return err
					}
					mu.Lock()
					people[key] = it.person()
					mu.Unlock()
					continue
				}
				var it targetItem
				if err := unmarshal(item, &it); err != nil {
					return err
				}
				mu.Lock()
				states[key] = it.targetState()
				mu.Unlock()
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]Record, 0, len(states))
	for key, ts := range states {
		out = append(out, Record{Key: key, Person: people[key], Targets: map[domain.Target]domain.TargetState{t: ts}})
	}
	slices.SortFunc(out, func(a, b Record) int { return cmp.Compare(a.Key, b.Key) })
	return out, nil
}
