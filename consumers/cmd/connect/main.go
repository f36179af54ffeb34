// Command connect is the Amazon Connect consumer Lambda: an SQS FIFO event
// source (ReportBatchItemFailures) driving the Connect applier.
//
// Environment (besides internal/lambdaenv's): DLQ_URL (the queue's
// dead-letter queue), DRY_RUN (default: the configuration's dryRun),
// CONNECT_RATE (requests/s per operation, default 2: Connect's user-API
// quota).
package main

import (
	"context"
	"log"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/idsync/idsync/consumers/connect"
	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/awsclient"
	"github.com/idsync/idsync/internal/lambdaenv"
)

func main() {
	c, err := lambdaenv.LoadConsumer(context.Background(), os.Getenv, "CONNECT_RATE", float64(connect.DefaultRate),
		func(cfg domain.Config) string {
			if cfg.Connect == nil {
				return "the configuration has no connect section"
			}
			return ""
		})
	if err != nil {
		log.Fatal(err)
	}
	quota := connect.DefaultQuota()
	quota.Rate = c.Rate
	meter := awsclient.NewMeter(awsclient.MeterOptions{Quota: quota})
	target, err := connect.New(connect.Options{
		API:    awsclient.Connect(c.AWS, c.Env.Endpoint("CONNECT"), meter.Install),
		Config: *c.Config.Connect, Logger: c.Logger,
	})
	if err != nil {
		log.Fatal(err)
	}
	runner, err := c.Runner(target, "consumer-connect")
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(runner.Handle)
}
