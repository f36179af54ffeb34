// Command consumer is the consumer Lambda function of one provisioning
// target, chosen by IDSYNC_TARGET (workmail, connect): an SQS FIFO event
// source with ReportBatchItemFailures driving that target's runner. It is
// built by internal/app from the environment internal/settings describes
// (component settings.Consumer). One binary serves every target, so a new
// target needs no new main.
package main

import (
	"log"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/idsync/idsync/consumers"
	"github.com/idsync/idsync/internal/app"
	"github.com/idsync/idsync/internal/settings"
)

func main() {
	log.Fatal(app.Main(settings.Consumer, (*app.App).ConsumerRunner, func(r *consumers.Runner) { lambda.Start(r.Handle) }))
}
