// Command workmail is the WorkMail consumer Lambda: an SQS FIFO event
// source (ReportBatchItemFailures) driving the WorkMail applier.
//
// Environment (besides internal/lambdaenv's): DLQ_URL (the queue's
// dead-letter queue), DRY_RUN (default: the configuration's dryRun),
// WORKMAIL_RATE (requests/s, default 5).
package main

import (
	"context"
	"log"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/idsync/idsync/consumers/workmail"
	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/awsclient"
	"github.com/idsync/idsync/internal/lambdaenv"
)

func main() {
	c, err := lambdaenv.LoadConsumer(context.Background(), os.Getenv, "WORKMAIL_RATE", float64(workmail.DefaultRate),
		func(cfg domain.Config) string {
			if cfg.WorkMail == nil {
				return "the configuration has no workmail section"
			}
			return ""
		})
	if err != nil {
		log.Fatal(err)
	}
	quota := workmail.DefaultQuota()
	quota.Rate = c.Rate
	meter := awsclient.NewMeter(awsclient.MeterOptions{Quota: quota})
	target, err := workmail.New(workmail.Options{
		API:    awsclient.WorkMail(c.AWS, c.Env.Endpoint("WORKMAIL"), meter.Install),
		Config: *c.Config.WorkMail, Logger: c.Logger,
	})
	if err != nil {
		log.Fatal(err)
	}
	runner, err := c.Runner(target, "consumer-workmail")
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(runner.Handle)
}
