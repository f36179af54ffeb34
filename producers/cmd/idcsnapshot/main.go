// Command idcsnapshot is the Lambda function that runs idsync's scheduled
// IAM Identity Center snapshot (package producers/idcsnapshot) on each
// EventBridge schedule event.
//
// Environment (besides internal/lambdaenv's): QUEUE_URLS (comma-separated
// target queues), IDC_RATE (Identity Store requests/s, default 20, the
// service's collective quota).
package main

import (
	"context"
	"log"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/idsync/idsync/internal/awsclient"
	"github.com/idsync/idsync/internal/emf"
	"github.com/idsync/idsync/internal/lambdaenv"
	"github.com/idsync/idsync/producers/idcsnapshot"
	"github.com/idsync/idsync/producers/publish"
)

func main() {
	ctx := context.Background()
	env := lambdaenv.New(os.Getenv)
	logger := env.Logger()
	cfg := env.Config()
	state, ledger := env.Tables()
	queues := env.List("QUEUE_URLS")
	perSecond := env.Float("IDC_RATE", idcsnapshot.DefaultRate)
	if cfg.Snapshot.IdentityStoreID == "" {
		env.Problemf("the configuration has no snapshot.identityStoreId")
	}
	if err := env.Err(); err != nil {
		log.Fatal(err)
	}
	awsCfg, err := env.AWS(ctx, awsclient.Options{NoRetryRateLimit: true, MaxAttempts: 8})
	if err != nil {
		log.Fatal(err)
	}
	st, err := env.Store(awsCfg, state, ledger)
	if err != nil {
		log.Fatal(err)
	}
	pub, err := publish.New(publish.Options{SQS: awsclient.SQS(awsCfg, env.Endpoint("SQS")), QueueURLs: queues})
	if err != nil {
		log.Fatal(err)
	}
	snap, err := idcsnapshot.New(idcsnapshot.Options{
		Config:        cfg,
		IdentityStore: awsclient.IdentityStore(awsCfg, env.Endpoint("IDENTITYSTORE")),
		Store:         st,
		Publisher:     pub,
		Rate:          perSecond, Logger: logger, Metrics: emf.New(os.Stdout, "idcsnapshot", time.Now),
	})
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(snap.Handle)
}
