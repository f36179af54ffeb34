package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Run progress: what a long job (the IdC snapshot) could not finish in one
// invocation, kept in the state table so that the next invocation
// continues it. A job's partition is PK=RUN#<name>: SK=STATE holds its
// cursor (opaque bytes), SK=CHUNK#<id> its partial results, each at most
// MaxRunChunk bytes. AllRecords' scan skips the partition (its PK is not a
// person's) and the indexes do not see it.
const (
	runPrefix     = "RUN#"
	skRunState    = "STATE"
	runChunkPrefx = "CHUNK#"
	// MaxRunChunk bounds one chunk's data, well inside DynamoDB's 400 KB
	// item limit.
	MaxRunChunk = 350 << 10
)

func runPK(name string) string { return runPrefix + name }

// RunChunk is one piece of a job's partial results.
type RunChunk struct {
	// ID names the chunk within the job (no '#'); writing a chunk with
	// the same id replaces it.
	ID   string
	Data []byte
}

type runItem struct {
	PK   string `dynamodbav:"PK"`
	SK   string `dynamodbav:"SK"`
	Data []byte `dynamodbav:"data"`
}

// RunProgress reads the cursor job name saved last (SaveRunProgress),
// strongly consistently; found is false when there is none.
//
// Errors: ErrInvalid (Permanent) for an empty name; SDK errors.
func (s *Store) RunProgress(ctx context.Context, name string) (state []byte, found bool, err error) {
	if name == "" {
		return nil, false, invalid("run progress needs a name")
	}
	key, err := marshal(struct {
		PK string `dynamodbav:"PK"`
		SK string `dynamodbav:"SK"`
	}{runPK(name), skRunState})
	if err != nil {
		return nil, false, err
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.state), Key: key, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, false, sdkErr(err, "read run progress %s", name)
	}
	if out.Item == nil {
		return nil, false, nil
	}
	var it runItem
	if err := unmarshal(out.Item, &it); err != nil {
		return nil, false, err
	}
	return it.Data, true, nil
}

// SaveRunProgress replaces job name's partial results with chunks and then
// stores its cursor state, so that a cursor is never newer than the
// results it refers to. Chunks not named again are deleted first.
// Not atomic: a failure part-way leaves the previous cursor in place, or
// none (the job then starts over).
//
// Errors: ErrInvalid (Permanent) for an empty name, a chunk without id or
// with '#' in it, a chunk over MaxRunChunk, or a chunk id listed twice;
// ErrUnprocessed; SDK errors.
func (s *Store) SaveRunProgress(ctx context.Context, name string, state []byte, chunks []RunChunk) error {
	if name == "" {
		return invalid("run progress needs a name")
	}
	seen := map[string]bool{}
	var reqs []types.WriteRequest
	for _, c := range chunks {
		if c.ID == "" || strings.Contains(c.ID, "#") || seen[c.ID] || len(c.Data) > MaxRunChunk {
			return invalid("run chunk %q: empty, with '#', listed twice or over %d bytes (%d)", c.ID, MaxRunChunk, len(c.Data))
		}
		seen[c.ID] = true
		item, err := marshal(runItem{PK: runPK(name), SK: runChunkPrefx + c.ID, Data: c.Data})
		if err != nil {
			return err
		}
		reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
	}
	old, err := s.runKeys(ctx, name)
	if err != nil {
		return err
	}
	var stale []types.WriteRequest
	for _, sk := range old {
		if id, ok := strings.CutPrefix(sk, runChunkPrefx); ok && !seen[id] {
			key, err := marshal(struct {
				PK string `dynamodbav:"PK"`
				SK string `dynamodbav:"SK"`
			}{runPK(name), sk})
			if err != nil {
				return err
			}
			stale = append(stale, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: key}})
		}
	}
	if err := s.batchWrite(ctx, s.state, stale); err != nil {
		return err
	}
	if err := s.batchWrite(ctx, s.state, reqs); err != nil {
		return err
	}
	item, err := marshal(runItem{PK: runPK(name), SK: skRunState, Data: state})
	if err != nil {
		return err
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.state), Item: item})
	return sdkErr(err, "save run progress %s", name)
}

// RunChunks calls fn with each of job name's chunks, in id order, read
// strongly consistently, one page at a time.
//
// Errors: ErrInvalid (Permanent) for an empty name; fn's; SDK errors.
func (s *Store) RunChunks(ctx context.Context, name string, fn func(RunChunk) error) error {
	if name == "" {
		return invalid("run progress needs a name")
	}
	expr, err := expression.NewBuilder().WithKeyCondition(
		expression.Key(attrPK).Equal(expression.Value(runPK(name))).
			And(expression.Key(attrSK).BeginsWith(runChunkPrefx))).Build()
	if err != nil {
		return fmt.Errorf("store: build query: %w", err)
	}
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName: aws.String(s.state), ConsistentRead: aws.Bool(true),
		KeyConditionExpression: expr.KeyCondition(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return sdkErr(err, "read run chunks %s", name)
		}
		for _, item := range page.Items {
			var it runItem
			if err := unmarshal(item, &it); err != nil {
				return err
			}
			if err := fn(RunChunk{ID: strings.TrimPrefix(it.SK, runChunkPrefx), Data: it.Data}); err != nil {
				return err
			}
		}
	}
	return nil
}

// ClearRun deletes job name's cursor and chunks: the job is finished (or
// abandoned). Idempotent.
//
// Errors: ErrInvalid (Permanent) for an empty name; ErrUnprocessed; SDK
// errors.
func (s *Store) ClearRun(ctx context.Context, name string) error {
	if name == "" {
		return invalid("run progress needs a name")
	}
	keys, err := s.runKeys(ctx, name)
	if err != nil {
		return err
	}
	reqs := make([]types.WriteRequest, 0, len(keys))
	for _, sk := range keys {
		key, err := marshal(struct {
			PK string `dynamodbav:"PK"`
			SK string `dynamodbav:"SK"`
		}{runPK(name), sk})
		if err != nil {
			return err
		}
		reqs = append(reqs, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: key}})
	}
	return s.batchWrite(ctx, s.state, reqs)
}

// runKeys returns the sort keys of job name's items.
func (s *Store) runKeys(ctx context.Context, name string) ([]string, error) {
	expr, err := expression.NewBuilder().
		WithKeyCondition(expression.Key(attrPK).Equal(expression.Value(runPK(name)))).
		WithProjection(expression.NamesList(expression.Name(attrSK))).Build()
	if err != nil {
		return nil, fmt.Errorf("store: build query: %w", err)
	}
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName: aws.String(s.state), ConsistentRead: aws.Bool(true),
		KeyConditionExpression: expr.KeyCondition(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
		ProjectionExpression: expr.Projection(),
	})
	var out []string
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, sdkErr(err, "list run items %s", name)
		}
		for _, item := range page.Items {
			var k struct {
				SK string `dynamodbav:"SK"`
			}
			if err := unmarshal(item, &k); err != nil {
				return nil, err
			}
			out = append(out, k.SK)
		}
	}
	return out, nil
}
