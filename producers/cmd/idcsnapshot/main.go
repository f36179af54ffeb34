// Command idcsnapshot is the Lambda function that runs idsync's scheduled
// IAM Identity Center snapshot (package producers/idcsnapshot) on each
// EventBridge schedule event. Configuration comes from the environment; see
// idcsnapshot.LoadEnv.
package main

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/idsync/idsync/internal/awsclient"
	"github.com/idsync/idsync/internal/emf"
	"github.com/idsync/idsync/producers/idcsnapshot"
	"github.com/idsync/idsync/producers/publish"
	"github.com/idsync/idsync/store"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	fail := func(msg string, err error) {
		log.Error(msg, "error", err)
		os.Exit(1)
	}
	env, err := idcsnapshot.LoadEnv(os.Getenv, os.ReadFile)
	if err != nil {
		fail("invalid configuration", err)
	}
	awsCfg, err := awsclient.Config(context.Background(), awsclient.Options{
		Local: env.Local(), NoRetryRateLimit: true, MaxAttempts: 8,
	})
	if err != nil {
		fail("AWS configuration", err)
	}
	db := awsclient.DynamoDB(awsCfg, env.DynamoDBEndpoint)
	st, err := store.New(db, store.Options{StateTable: env.StateTable, LedgerTable: env.LedgerTable})
	if err != nil {
		fail("store", err)
	}
	snap, err := idcsnapshot.New(env.Config,
		awsclient.IdentityStore(awsCfg, env.IdentityStoreEndpoint),
		st,
		publish.New(awsclient.SQS(awsCfg, env.SQSEndpoint), env.QueueURLs),
		idcsnapshot.NewLease(db, env.StateTable, idcsnapshot.LeaseOptions{}),
		idcsnapshot.Options{Rate: env.Rate, Logger: log, Metrics: emf.New(os.Stdout, "idcsnapshot", time.Now)})
	if err != nil {
		fail("snapshotter", err)
	}
	lambda.Start(snap.Handle)
}
