// Command infra is idsync's CDK app: `cdk synth` / `cdk deploy` from this
// directory run it (cdk.json: "app": "go run ."). It synthesises one stack,
// Idsync (package idsyncstack), for the account and Region in
// CDK_DEFAULT_ACCOUNT / CDK_DEFAULT_REGION (set by the cdk CLI from the
// active credentials).
//
// Build the functions first (`make build` in the repository root writes
// dist/oktahook, dist/idcsnapshot and dist/consumer, each a bootstrap). Settings come from CDK context, in cdk.json or as
// `cdk deploy -c key=value`:
//
//	configFile              configuration document, read and validated at synth
//	configParameter         or: SSM String parameter holding it (resolved at deploy),
//	                        with workmailOrganizationId / connectInstanceId and identityStoreId
//	hookSecretName          existing Secrets Manager secret with the Okta hook's auth-header
//	                        value; unset: the stack creates one with a generated value
//	hookSecretKeyArn        the existing secret's KMS key, when not aws/secretsmanager
//	hookAuthHeader          header Okta sends the secret in (Authorization)
//	hookSecretTtl           how long the hook caches the secret (5m)
//	hookConcurrency         the hook's reserved concurrency (10)
//	scheduleRate            IdC snapshot period, whole minutes (15m)
//	idcRate                 IdentityStore requests/s (20)
//	consumerTimeout         consumer function timeout (2m); queue visibility is 6x
//	maxConcurrency          consumer instances per target (2)
//	workmailRate            WorkMail requests/s over all instances (5)
//	connectRate             Connect requests/s per user API over all instances (2)
//	alarmEmail              comma-separated addresses subscribed to the alarm topic
//	alarmTopicArn           existing SNS topic for the alarms instead of a new one
//	queueAgeAlarm           oldest queued message age that alarms (30m)
//	archiveRetentionDays    ledger archive Object Lock retention, compliance mode (365)
//	exportBucketEncryption  mailbox export bucket (with workmail.onLeave.exportTo): kms (the
//	                        configured key) or s3 (kms)
//	exportTransitionDays    exports move to S3 Glacier Flexible Retrieval after N days (0: never)
//	exportExpireDays        exports are deleted after N days (0: never)
//	exportNoncurrentDays    a replaced export's old version is kept N days (30)
//	prefix                  table, queue, alarm and archive name prefix (idsync-)
//	codeDir                 directory of <asset>/bootstrap (../dist)
//	logLevel                LOG_LEVEL of every function (info)
//	logRetentionDays        log retention (90)
//	stackName               the stack's name (Idsync)
//
// Run without the cdk CLI (make synth), it reads the "context" of cdk.json
// itself and takes further context as key=value arguments; CDK_OUTDIR
// names the output directory.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/idsync/idsync/infra/idsyncstack"
)

func main() {
	defer jsii.Close()
	appProps := &awscdk.AppProps{}
	if os.Getenv("CDK_CONTEXT_JSON") == "" && os.Getenv("CDK_CONTEXT_OVERFLOW_LOCATION") == "" {
		// Not run by the cdk CLI, which passes cdk.json's context and -c
		// values in these variables.
		ctx, err := standaloneContext("cdk.json", os.Args[1:])
		if err != nil {
			fail(err)
		}
		appProps.Context = &ctx
	}
	app := awscdk.NewApp(appProps)
	get := func(key string) any { return app.Node().TryGetContext(jsii.String(key)) }

	props, err := idsyncstack.PropsFromContext(get)
	if err != nil {
		fail(err)
	}
	props.StackProps = awscdk.StackProps{
		Description: jsii.String("idsync: Okta / IAM Identity Center to WorkMail and Connect"),
		Env:         &awscdk.Environment{Account: envOrNil("CDK_DEFAULT_ACCOUNT"), Region: envOrNil("CDK_DEFAULT_REGION")},
	}
	name := "Idsync"
	if v, ok := get("stackName").(string); ok && v != "" {
		name = v
	}
	if _, err := idsyncstack.New(app, name, props); err != nil {
		fail(err)
	}
	app.Synth(nil)
}

// standaloneContext returns the "context" object of the cdk.json at path
// (if the file exists) overlaid with key=value arguments.
func standaloneContext(path string, args []string) (map[string]any, error) {
	ctx := map[string]any{}
	raw, err := os.ReadFile(path)
	switch {
	case err == nil:
		var doc struct {
			Context map[string]any `json:"context"`
		}
		if err := json.Unmarshal(raw, &doc); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		for k, v := range doc.Context {
			ctx[k] = v
		}
	case !os.IsNotExist(err):
		return nil, err
	}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("argument %q: want key=value (CDK context)", a)
		}
		ctx[k] = v
	}
	return ctx, nil
}

// envOrNil returns the variable, or nil (environment-agnostic) when unset.
func envOrNil(name string) *string {
	if v := os.Getenv(name); v != "" {
		return jsii.String(v)
	}
	return nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "idsync infra:", err)
	jsii.Close()
	os.Exit(1)
}
