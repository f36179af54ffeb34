// Command consumer is the consumer Lambda function of one provisioning
// target, chosen by IDSYNC_TARGET (workmail, connect): an SQS FIFO event
// source with ReportBatchItemFailures driving that target's runner. It is
// built by internal/app from the environment internal/settings describes
// (component settings.Consumer). One binary serves every target, so a new
// target needs no new main.
package main

import (
	"context"
	"log"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/idsync/idsync/internal/app"
	"github.com/idsync/idsync/internal/settings"
)

func main() {
	a, err := app.FromEnv(context.Background(), os.Getenv, settings.Consumer)
	if err != nil {
		log.Fatal(err)
	}
	r, err := a.Runner(a.Settings.Target)
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(r.Handle)
}
