// Command connect is the Amazon Connect consumer Lambda: an SQS FIFO event
// source (ReportBatchItemFailures) driving the Connect applier.
//
// Environment (besides internal/lambdaenv's): DLQ_URL (the queue's
// dead-letter queue), DRY_RUN (default: the configuration's dryRun),
// CONNECT_RATE (requests/s, default 2: Connect's user-API quota).
package main

import (
	"context"
	"log"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"golang.org/x/time/rate"

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
	target, err := connect.New(awsclient.Connect(c.AWS, c.Env.Endpoint("CONNECT")), *c.Config.Connect,
		connect.Options{Rate: rate.Limit(c.Rate), DryRun: c.DryRun, Logger: c.Logger})
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(c.Runner(target, "consumer-connect").Handle)
}
