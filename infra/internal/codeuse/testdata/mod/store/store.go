// Package store reaches DynamoDB through one interface for every method.
package store

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// DB is the client.
type DB interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
	BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

// Options name the tables.
type Options struct{ State, Ledger string }

// Store is the store.
type Store struct {
	db            DB
	state, ledger string
}

// New returns a store.
func New(db DB, o Options) *Store { return &Store{db: db, state: o.State, ledger: o.Ledger} }

// Append puts a ledger row (a Put copied into a PutItemInput).
func (s *Store) Append(ctx context.Context) error {
	put := &types.Put{TableName: aws.String(s.ledger)}
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: put.TableName, Item: put.Item})
	return err
}

// Find queries an index through a paginator.
func (s *Store) Find(ctx context.Context) error {
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{TableName: &s.state, IndexName: aws.String("byLogin")})
	_, err := p.NextPage(ctx)
	return err
}

// Commit writes both tables in one transaction.
func (s *Store) Commit(ctx context.Context) error {
	_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Update: &types.Update{TableName: aws.String(s.state)}},
		{ConditionCheck: &types.ConditionCheck{TableName: aws.String(s.ledger)}},
	}})
	return err
}

// Rewrite batch-writes the state table from a closure.
func (s *Store) Rewrite(ctx context.Context) error { return s.batch(ctx, s.state) }

func (s *Store) batch(ctx context.Context, table string) error {
	var err error
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, err = s.db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{
			RequestItems: map[string][]types.WriteRequest{table: nil},
		})
	}()
	<-done
	return err
}

// All scans the state table; no command calls it.
func (s *Store) All(ctx context.Context) error {
	_, err := s.db.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(s.state)})
	return err
}

// Named writes to a table named by a literal: not traceable.
func (s *Store) Named(ctx context.Context) error {
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("scratch")})
	return err
}
