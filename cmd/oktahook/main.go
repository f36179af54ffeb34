// Command oktahook is the Okta event-hook Lambda function, served behind a
// Lambda Function URL (invoke mode RESPONSE_STREAM) through lambdaurl. It
// is built by internal/app from the environment internal/settings
// describes (component settings.Hook).
package main

import (
	"context"
	"log"
	"os"

	"github.com/aws/aws-lambda-go/lambdaurl"

	"github.com/idsync/idsync/internal/app"
	"github.com/idsync/idsync/internal/settings"
)

func main() {
	a, err := app.FromEnv(context.Background(), os.Getenv, settings.Hook)
	if err != nil {
		log.Fatal(err)
	}
	h, err := a.Hook()
	if err != nil {
		log.Fatal(err)
	}
	lambdaurl.Start(h)
}
