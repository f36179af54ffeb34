// Command idcsnapshot is the Lambda function that runs idsync's IAM
// Identity Center snapshot on each EventBridge schedule event. It is built
// by internal/app from the environment internal/settings describes
// (component settings.Snapshot).
package main

import (
	"log"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/idsync/idsync/internal/app"
	"github.com/idsync/idsync/internal/settings"
	"github.com/idsync/idsync/producers/idcsnapshot"
)

func main() {
	log.Fatal(app.Main(settings.Snapshot, (*app.App).Snapshotter, func(s *idcsnapshot.Snapshotter) { lambda.Start(s.Handle) }))
}
