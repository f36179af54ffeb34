// Package apply has two implementations of one interface; each command
// builds one.
package apply

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"example.com/fixture/emf"
	"example.com/fixture/store"
)

// Target applies an event.
type Target interface {
	Apply(ctx context.Context) error
}

// SQS is the part of the SQS client a Queue uses.
type SQS interface {
	SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
}

// Queue forwards events.
type Queue struct{ Client SQS }

// Apply sends a batch (nil input: found by the call's signature).
func (q Queue) Apply(ctx context.Context) error {
	_, err := q.Client.SendMessageBatch(ctx, nil)
	return err
}

// Ledger appends to the ledger.
type Ledger struct{ Store *store.Store }

// Apply appends.
func (l *Ledger) Apply(ctx context.Context) error { return l.Store.Append(ctx) }

// Runner runs a target and counts.
type Runner struct {
	T Target
	M *emf.Metrics
}

// Run applies and counts.
func (r Runner) Run(ctx context.Context) {
	if r.T.Apply(ctx) == nil {
		r.M.Add("Applied", 1)
	}
}

// NewRunner names the component.
func NewRunner(t Target, component string) Runner { return Runner{T: t, M: emf.New(nil, component)} }

// Send makes an SQS call no command reaches.
func Send(ctx context.Context, c *sqs.Client) {
	_, _ = c.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String("q")})
}
