package localrun

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// PollerSQS is the part of the SQS client a Poller uses.
type PollerSQS interface {
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, opts ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessageBatch(ctx context.Context, in *sqs.DeleteMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error)
	ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, opts ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
}

// SQSHandler is a Lambda SQS handler with ReportBatchItemFailures.
type SQSHandler func(ctx context.Context, batch events.SQSEvent) (events.SQSEventResponse, error)

// Poller feeds a queue to an SQS handler the way Lambda's event source
// mapping does: batches of up to BatchSize, each invocation bounded by
// FunctionTimeout, successful records deleted, records the handler reports
// as failed (or the whole batch when it returns an error) left on the queue
// to come back after RetryDelay; the queue's redrive policy moves a record
// to the DLQ after maxReceiveCount. Concurrency pollers run at once, as
// Lambda runs up to the event source mapping's maximum concurrency of
// instances for a FIFO queue: each receive gets message groups no other
// poller holds in flight, so each person's events stay in order.
type Poller struct {
	SQS             PollerSQS
	QueueURL        string
	QueueARN        string
	Region          string
	Handler         SQSHandler
	BatchSize       int32         // default 10
	Visibility      time.Duration // default 6 × FunctionTimeout, as AWS advises
	FunctionTimeout time.Duration // default 30 s
	RetryDelay      time.Duration // default 2 s
	Concurrency     int           // default 1
	Log             *slog.Logger
}

// Run polls until ctx ends. It returns nil on cancellation.
func (p *Poller) Run(ctx context.Context) error {
	if p.BatchSize == 0 {
		p.BatchSize = 10
	}
	if p.FunctionTimeout == 0 {
		p.FunctionTimeout = 30 * time.Second
	}
	if p.Visibility == 0 {
		p.Visibility = 6 * p.FunctionTimeout
	}
	if p.RetryDelay == 0 {
		p.RetryDelay = 2 * time.Second
	}
	var wg sync.WaitGroup
	for range max(p.Concurrency, 1) {
		wg.Go(func() {
			for ctx.Err() == nil {
				if err := p.poll(ctx); err != nil && ctx.Err() == nil {
					p.Log.WarnContext(ctx, "poll failed", "queue", p.QueueURL, "err", err.Error())
					sleep(ctx, time.Second)
				}
			}
		})
	}
	wg.Wait()
	return nil
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func (p *Poller) poll(ctx context.Context) error {
	out, err := p.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl: aws.String(p.QueueURL), MaxNumberOfMessages: p.BatchSize, WaitTimeSeconds: 1,
		VisibilityTimeout:           int32(p.Visibility.Seconds()),
		MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
		MessageAttributeNames:       []string{"All"},
	})
	if err != nil {
		return fmt.Errorf("receive: %w", err)
	}
	if len(out.Messages) == 0 {
		return nil
	}
	batch := events.SQSEvent{Records: make([]events.SQSMessage, len(out.Messages))}
	for i, m := range out.Messages {
		batch.Records[i] = p.record(m)
	}
	invCtx, cancel := context.WithTimeout(ctx, p.FunctionTimeout)
	resp, err := p.Handler(invCtx, batch)
	cancel()
	failed := map[string]bool{}
	if err != nil {
		p.Log.WarnContext(ctx, "invocation failed; whole batch retried", "queue", p.QueueURL, "err", err.Error())
		for _, r := range batch.Records {
			failed[r.MessageId] = true
		}
	}
	for _, f := range resp.BatchItemFailures {
		failed[f.ItemIdentifier] = true
	}
	var del []sqstypes.DeleteMessageBatchRequestEntry
	var errs []error
	for i, m := range out.Messages {
		if failed[aws.ToString(m.MessageId)] {
			_, err := p.SQS.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
				QueueUrl: aws.String(p.QueueURL), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: int32(p.RetryDelay.Seconds()),
			})
			if err != nil {
				errs = append(errs, fmt.Errorf("change visibility: %w", err))
			}
			continue
		}
		del = append(del, sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle})
	}
	if len(del) > 0 {
		dout, err := p.SQS.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(p.QueueURL), Entries: del})
		if err != nil {
			errs = append(errs, fmt.Errorf("delete: %w", err))
		} else if len(dout.Failed) > 0 {
			errs = append(errs, fmt.Errorf("delete: %d entries failed", len(dout.Failed)))
		}
	}
	return errors.Join(errs...)
}

// record converts a received message into the shape Lambda delivers.
func (p *Poller) record(m sqstypes.Message) events.SQSMessage {
	attrs := map[string]events.SQSMessageAttribute{}
	for k, v := range m.MessageAttributes {
		attrs[k] = events.SQSMessageAttribute{StringValue: v.StringValue, BinaryValue: v.BinaryValue, DataType: aws.ToString(v.DataType)}
	}
	return events.SQSMessage{
		MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle), Body: aws.ToString(m.Body),
		Md5OfBody: aws.ToString(m.MD5OfBody), Md5OfMessageAttributes: aws.ToString(m.MD5OfMessageAttributes),
		Attributes: m.Attributes, MessageAttributes: attrs,
		EventSourceARN: p.QueueARN, EventSource: "aws:sqs", AWSRegion: p.Region,
	}
}
