package store

import (
	"context"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Batch writes.
const (
	// batchSize is BatchWriteItem's limit of requests per call.
	batchSize = 25
	// batchAttempts bounds the calls made for one batch while DynamoDB
	// leaves items unprocessed.
	batchAttempts = 10
)

// parallel runs fn(ctx, i) for i in [0, n) on up to s.workers goroutines.
// The first error cancels the rest and is returned.
func (s *Store) parallel(ctx context.Context, n int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		once     sync.Once
		firstErr error
	)
	next := make(chan int)
	for range min(s.workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(ctx, i); err != nil {
					once.Do(func() { firstErr = err; cancel() })
				}
			}
		}()
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	if err := ctx.Err(); err != nil && n > 0 {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

// batchWrite writes reqs to table in BatchWriteItem calls of up to 25, in
// parallel, resending unprocessed items with backoff.
func (s *Store) batchWrite(ctx context.Context, table string, reqs []types.WriteRequest) error {
	n := (len(reqs) + batchSize - 1) / batchSize
	return s.parallel(ctx, n, func(ctx context.Context, i int) error {
		pending := reqs[i*batchSize : min((i+1)*batchSize, len(reqs))]
		for attempt := 1; ; attempt++ {
			out, err := s.db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{
				RequestItems: map[string][]types.WriteRequest{table: pending},
			})
			if err != nil {
				return sdkErr(err, "batch write %d items to %s", len(pending), table)
			}
			pending = out.UnprocessedItems[table]
			if len(pending) == 0 {
				return nil
			}
			if attempt >= batchAttempts {
				return fmt.Errorf("store: batch write to %s: %d items still unprocessed after %d attempts: %w",
					table, len(pending), attempt, ErrUnprocessed)
			}
			if err := backoff(ctx, attempt, s.batchBackoff, 64*s.batchBackoff); err != nil {
				return fmt.Errorf("store: batch write to %s: %w", table, err)
			}
		}
	})
}
