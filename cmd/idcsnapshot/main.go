// Command idcsnapshot is the Lambda function that runs idsync's IAM
// Identity Center snapshot on each EventBridge schedule event. It is built
// by internal/app from the environment internal/settings describes
// (component settings.Snapshot).
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
	a, err := app.FromEnv(context.Background(), os.Getenv, settings.Snapshot)
	if err != nil {
		log.Fatal(err)
	}
	s, err := a.Snapshotter()
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(s.Handle)
}
