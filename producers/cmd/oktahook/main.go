// Command oktahook is the Okta event-hook Lambda, served behind a Lambda
// Function URL (invoke mode RESPONSE_STREAM) through lambdaurl.
//
// Environment (besides internal/lambdaenv's): QUEUE_URLS (comma-separated
// target queues), HOOK_SECRET_ID (Secrets Manager) or HOOK_SECRET_PARAMETER
// (SSM SecureString), HOOK_AUTH_HEADER (default Authorization),
// HOOK_SECRET_TTL (default 5m).
package main

import (
	"context"
	"log"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambdaurl"

	"github.com/idsync/idsync/internal/awsclient"
	"github.com/idsync/idsync/internal/emf"
	"github.com/idsync/idsync/internal/lambdaenv"
	"github.com/idsync/idsync/producers/oktahook"
	"github.com/idsync/idsync/producers/publish"
)

func main() {
	ctx := context.Background()
	env := lambdaenv.New(os.Getenv)
	logger := env.Logger()
	cfg := env.Config()
	state, ledger := env.Tables()
	queues := env.List("QUEUE_URLS")
	secretID, param := env.Optional("HOOK_SECRET_ID", ""), env.Optional("HOOK_SECRET_PARAMETER", "")
	if secretID == "" && param == "" {
		env.Problemf("HOOK_SECRET_ID or HOOK_SECRET_PARAMETER is required")
	}
	header := env.Optional("HOOK_AUTH_HEADER", oktahook.DefaultAuthHeader)
	ttl := env.Duration("HOOK_SECRET_TTL", 5*time.Minute)
	if err := env.Err(); err != nil {
		log.Fatal(err)
	}
	awsCfg, err := env.AWS(ctx, awsclient.Options{MaxAttempts: 3, MaxBackoff: 500 * time.Millisecond})
	if err != nil {
		log.Fatal(err)
	}
	st, err := env.Store(awsCfg, state, ledger)
	if err != nil {
		log.Fatal(err)
	}
	fetch := oktahook.FromSecretsManager(awsclient.SecretsManager(awsCfg, env.Endpoint("SECRETSMANAGER")), secretID)
	if secretID == "" {
		fetch = oktahook.FromSSM(awsclient.SSM(awsCfg, env.Endpoint("SSM")), param)
	}
	pub, err := publish.New(publish.Options{SQS: awsclient.SQS(awsCfg, env.Endpoint("SQS")), QueueURLs: queues})
	if err != nil {
		log.Fatal(err)
	}
	h, err := oktahook.New(oktahook.Options{
		AuthHeader: header, GroupMapped: cfg.GroupMapped,
		Secrets: oktahook.NewSecretCache(fetch, ttl, time.Now), Ledger: st, Publisher: pub,
		Logger: logger, Metrics: emf.New(os.Stdout, "oktahook", time.Now), Clock: time.Now,
	})
	if err != nil {
		log.Fatal(err)
	}
	lambdaurl.Start(h)
}
