// Command oktahook is the Okta event-hook Lambda function, served behind a
// Lambda Function URL (invoke mode RESPONSE_STREAM) through lambdaurl. It
// is built by internal/app from the environment internal/settings
// describes (component settings.Hook).
package main

import (
	"log"

	"github.com/aws/aws-lambda-go/lambdaurl"

	"github.com/idsync/idsync/internal/app"
	"github.com/idsync/idsync/internal/settings"
	"github.com/idsync/idsync/producers/oktahook"
)

func main() {
	log.Fatal(app.Main(settings.Hook, (*app.App).Hook, func(h *oktahook.Handler) { lambdaurl.Start(h) }))
}
