package idsyncstack

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsssm"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssso"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/settings"
	"github.com/idsync/idsync/store"
)

// Function settings that are not properties.
const (
	hookTimeout     = 10 * time.Second // Okta waits 3 s; the hook budgets 2.5 s of work
	hookMemory      = 256
	snapshotTimeout = 15 * time.Minute // Lambda's maximum; the snapshot lease outlives it
	snapshotMemory  = 1024
	consumerMemory  = 256
)

// Stack is the deployed stack with the resources callers may refer to.
type Stack struct {
	awscdk.Stack
	StateTable, LedgerTable awsdynamodb.Table
	// Targets holds each deployed target's queues and consumer, keyed by
	// FnWorkMail / FnConnect.
	Targets  map[string]Target
	Hook     awslambda.Function
	HookURL  awslambda.FunctionUrl
	Snapshot awslambda.Function
	// HookSecret is the secret the hook reads: created with a generated
	// value, or the existing one named by Props.HookSecretName.
	HookSecret awssecretsmanager.ISecret
	// AlarmTopic is the topic every alarm notifies; Alarms are all alarms.
	AlarmTopic awssns.ITopic
	Alarms     []awscloudwatch.Alarm
	Dashboard  awscloudwatch.Dashboard
	// Archive is the ledger's tamper-evident copy.
	Archive Archive
	// MailExport is the mailbox export bucket and role; nil unless the
	// configuration document has workmail.onLeave.exportTo.
	MailExport *MailExport
	// WorkMailAssignments assign the WorkMail groups to WorkMail's IAM
	// Identity Center application (see Props.SkipWorkMailAssignments).
	WorkMailAssignments []awssso.CfnApplicationAssignment
}

// Target is one target's pipeline end: its FIFO queue, that queue's FIFO
// dead-letter queue and the consumer function reading the queue.
type Target struct {
	Queue, DLQ awssqs.Queue
	Consumer   awslambda.Function
}

// New adds idsync's stack to scope. It validates p first and adds nothing
// when p is invalid. It is not idempotent: a second stack with the same id
// in the same scope is a CDK error (jsii panics), and two deployments in one
// account and Region need different Prefix values (tables, queues, alarms
// and the archive's pipe and delivery stream have fixed names).
//
// Errors: every problem with p at once, joined, each matching
// ErrInvalidProps (and domain.ErrInvalidConfig for an invalid
// configuration document); an unusable table spec from the store package;
// a client interface of the functions that is not made of SDK operations.
func New(scope constructs.Construct, id string, p Props) (*Stack, error) {
	s, err := resolve(p)
	if err != nil {
		return nil, err
	}
	actions, err := newClientActions()
	if err != nil {
		return nil, err
	}
	stack := awscdk.NewStack(scope, jsii.String(id), &s.StackProps)
	awscdk.Tags_Of(stack).Add(jsii.String("app"), jsii.String("idsync"), nil)
	out := &Stack{Stack: stack, Targets: map[string]Target{}}

	stateSpec, ledgerSpec := store.StateTableSpec(), store.LedgerTableSpec()
	if out.StateTable, err = newTable(stack, "StateTable", s.Prefix+stateSpec.NameSuffix, stateSpec, ""); err != nil {
		return nil, fmt.Errorf("state table: %w", err)
	}
	// The ledger's stream feeds the archive (archive.go).
	if out.LedgerTable, err = newTable(stack, "LedgerTable", s.Prefix+ledgerSpec.NameSuffix, ledgerSpec, awsdynamodb.StreamViewType_NEW_IMAGE); err != nil {
		return nil, fmt.Errorf("ledger table: %w", err)
	}

	b := &builder{s: s, stack: stack, state: out.StateTable, ledger: out.LedgerTable, actions: actions}
	if s.fromFile {
		b.config = jsii.String(s.configDoc)
	} else {
		b.config = awsssm.StringParameter_ValueForStringParameter(stack, jsii.String(s.ConfigParameter), nil)
	}

	// The export role before the WorkMail consumer, which may pass it.
	if s.exportTo != nil && s.workmail {
		if out.MailExport, err = b.mailExport(); err != nil {
			return nil, err
		}
		b.exportRole = out.MailExport.Role
	}

	// Targets first: the producers need their queues.
	var queues []queueRef
	for _, t := range []struct {
		fn      Function
		enabled bool
		rate    float64
		grant   func(awsiam.Role)
	}{
		{function(FnWorkMail), s.workmail, s.perInstanceWM, b.allowWorkMail},
		{function(FnConnect), s.connect, s.perInstanceCon, b.allowConnect},
	} {
		if !t.enabled {
			continue
		}
		tgt := b.target(t.fn, t.rate, t.grant)
		out.Targets[t.fn.Name] = tgt
		queues = append(queues, queueRef{t.fn.Target, tgt.Queue})
	}

	out.WorkMailAssignments = b.workMailAssignments()
	out.Hook, out.HookURL, out.HookSecret = b.hook(queues)
	out.Snapshot = b.snapshot(queues)
	out.Archive = b.archive(out.LedgerTable)
	out.AlarmTopic = b.alarmTopic()
	out.Alarms = b.alarms(out)
	out.Dashboard = b.dashboard(out)

	output := func(id, value, description string) {
		awscdk.NewCfnOutput(stack, jsii.String(id), &awscdk.CfnOutputProps{
			Value: jsii.String(value), Description: jsii.String(description),
		})
	}
	output("HookUrl", *out.HookURL.Url(), "Okta event hook endpoint (configure the auth header with the hook secret's value)")
	output("HookSecretArn", *out.HookSecret.SecretArn(), "the hook secret (its value is the auth header Okta must send; read it with aws secretsmanager get-secret-value)")
	output("StateTableName", *out.StateTable.TableName(), "STATE_TABLE for the operator CLI")
	output("LedgerTableName", *out.LedgerTable.TableName(), "LEDGER_TABLE for the operator CLI")
	output("SnapshotFunctionName", *out.Snapshot.FunctionName(), "invoke once to backfill")
	output("AlarmTopicArn", *out.AlarmTopic.TopicArn(), "SNS topic every alarm notifies")
	output("LedgerArchiveBucket", *out.Archive.Bucket.BucketName(), "the ledger's archive (Object Lock, compliance mode)")
	if out.MailExport != nil {
		output("MailExportBucketName", *out.MailExport.Bucket.BucketName(), "where WorkMail writes mailbox exports (workmail.onLeave.exportTo.bucket)")
		output("MailExportRoleArn", *out.MailExport.Role.RoleArn(), "the role WorkMail assumes to write them (workmail.onLeave.exportTo.roleArn)")
	}
	titles := targetTitles()
	for _, name := range []string{FnWorkMail, FnConnect} {
		t, ok := out.Targets[name]
		if !ok {
			continue
		}
		title := titles[name]
		output(title+"QueueArn", *t.Queue.QueueArn(), name+" queue (redrive destination)")
		output(title+"DlqArn", *t.DLQ.QueueArn(), name+" dead-letter queue (redrive source)")
	}
	return out, nil
}

// targetTitles names each target in construct ids and outputs.
func targetTitles() map[string]string {
	return map[string]string{FnWorkMail: "WorkMail", FnConnect: "Connect"}
}

// queueRef is a deployed target's queue, which the producers publish to.
type queueRef struct {
	target domain.Target
	queue  awssqs.Queue
}

// publishTo adds each queue's URL to a producer's environment (the
// target's settings.QueueURLVar) and returns the queues' ARNs.
func publishTo(env map[string]*string, queues []queueRef) (arns []*string) {
	for _, q := range queues {
		env[settings.QueueURLVar(q.target)] = q.queue.QueueUrl()
		arns = append(arns, q.queue.QueueArn())
	}
	return arns
}

// builder holds what the resource helpers share.
type builder struct {
	s             resolved
	stack         awscdk.Stack
	state, ledger awsdynamodb.Table
	config        *string // the configuration document or its SSM token
	actions       clientActions
	// exportRole is the role WorkMail assumes to write mailbox exports,
	// which the WorkMail consumer may pass; nil without exportTo.
	exportRole awsiam.Role
}

// function adds the Lambda function fn (code CodeDir/<fn.Asset>/bootstrap)
// with its own role and log group; the role may write to that log group
// and nothing else until the caller grants more. Every function gets the
// configuration document, the tables and the log level in env (the
// variable names are internal/settings').
func (b *builder) function(id string, fn Function, description string, timeout time.Duration, memory float64, env map[string]*string, tune func(*awslambda.FunctionProps)) (awslambda.Function, awsiam.Role) {
	role := awsiam.NewRole(b.stack, jsii.String(id+"Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("idsync " + fn.Name + ": only the grants its code uses"),
	})
	logs := awslogs.NewLogGroup(b.stack, jsii.String(id+"Logs"), &awslogs.LogGroupProps{
		Retention:     b.s.LogRetention,
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	logs.GrantWrite(role)

	env[settings.EnvConfig] = b.config
	env[settings.EnvStateTable] = b.state.TableName()
	env[settings.EnvLedgerTable] = b.ledger.TableName()
	env[settings.EnvLogLevel] = jsii.String(strings.ToLower(b.s.LogLevel))
	props := &awslambda.FunctionProps{
		Description:  jsii.String(description),
		Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
		Architecture: awslambda.Architecture_ARM_64(),
		Handler:      jsii.String("bootstrap"),
		Code:         awslambda.Code_FromAsset(jsii.String(filepath.Join(b.s.CodeDir, fn.Asset)), nil),
		Role:         role,
		LogGroup:     logs,
		Timeout:      awscdk.Duration_Seconds(jsii.Number(timeout.Seconds())),
		MemorySize:   jsii.Number(memory),
		Environment:  &env,
	}
	if tune != nil {
		tune(props)
	}
	return awslambda.NewFunction(b.stack, jsii.String(id), props), role
}

// target adds one target's queue, dead-letter queue and consumer fn,
// whose instances may each make rate requests per second (per operation
// for Connect).
func (b *builder) target(fn Function, rate float64, grant func(awsiam.Role)) Target {
	name := fn.Name
	title := targetTitles()[name]
	retention := awscdk.Duration_Seconds(jsii.Number(Retention.Seconds()))
	dlq := awssqs.NewQueue(b.stack, jsii.String(title+"DLQ"), &awssqs.QueueProps{
		QueueName:                 jsii.String(b.s.Prefix + name + "-dlq.fifo"),
		Fifo:                      jsii.Bool(true),
		ContentBasedDeduplication: jsii.Bool(false),
		Encryption:                awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:                jsii.Bool(true),
		RetentionPeriod:           retention,
	})
	queue := awssqs.NewQueue(b.stack, jsii.String(title+"Queue"), &awssqs.QueueProps{
		QueueName:                 jsii.String(b.s.Prefix + name + ".fifo"),
		Fifo:                      jsii.Bool(true),
		ContentBasedDeduplication: jsii.Bool(false),
		Encryption:                awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:                jsii.Bool(true),
		RetentionPeriod:           retention,
		VisibilityTimeout:         awscdk.Duration_Seconds(jsii.Number((b.s.ConsumerTimeout * VisibilityFactor).Seconds())),
		DeadLetterQueue:           &awssqs.DeadLetterQueue{Queue: dlq, MaxReceiveCount: jsii.Number(MaxReceiveCount)},
	})

	// The one consumer binary serves every target: IDSYNC_TARGET chooses
	// this one, and it reads only its own target's DLQ and rate variables.
	env := map[string]*string{
		settings.EnvTarget:            jsii.String(string(fn.Target)),
		settings.DLQURLVar(fn.Target): dlq.QueueUrl(),
		settings.RateVar(fn.Target):   jsii.String(formatRate(rate)),
	}
	b.oktaAPIAccess(env)
	consumer, role := b.function(title+"Consumer", fn, "idsync "+name+" consumer (SQS FIFO, partial batch responses)",
		b.s.ConsumerTimeout, consumerMemory, env, nil)
	// The mapping is declared directly (not through SqsEventSource, whose
	// grant adds ChangeMessageVisibility and GetQueueUrl, which the poller
	// does not need); the role gets the poller's actions on this queue only.
	// Its id is SqsEventSource's, so a deployed mapping is updated in place:
	// Lambda refuses a second mapping of the same queue and function, which
	// a replacement would create first.
	consumer.AddEventSourceMapping(jsii.String("SqsEventSource:"+*awscdk.Names_NodeUniqueId(queue.Node())), &awslambda.EventSourceMappingOptions{
		EventSourceArn:          queue.QueueArn(),
		BatchSize:               jsii.Number(BatchSize),
		ReportBatchItemFailures: jsii.Bool(true),
		MaxConcurrency:          jsii.Number(float64(b.s.MaxConcurrency)),
	})
	allow(role, "EventSource", eventSourceActions(), []*string{queue.QueueArn()}, nil)
	allow(role, "DeadLetter", b.actions.deadLetter, []*string{dlq.QueueArn()}, nil)
	b.allowItems(role, consumerItems)
	grant(role)
	return Target{Queue: queue, DLQ: dlq, Consumer: consumer}
}

// hook adds the Okta event hook behind a Function URL, and its secret.
func (b *builder) hook(queues []queueRef) (awslambda.Function, awslambda.FunctionUrl, awssecretsmanager.ISecret) {
	// The secret: generated by Secrets Manager at deploy (the template holds
	// only the generation rule), or an existing one referenced by name.
	var secret awssecretsmanager.ISecret
	var secretID, secretResource *string
	if b.s.HookSecretName == "" {
		secret = awssecretsmanager.NewSecret(b.stack, jsii.String("HookSecret"), &awssecretsmanager.SecretProps{
			Description: jsii.String("idsync: the value Okta sends in the event hook's auth header (generated)"),
			GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
				PasswordLength:     jsii.Number(HookSecretLength),
				ExcludePunctuation: jsii.Bool(true),
				IncludeSpace:       jsii.Bool(false),
			},
		})
		secretID, secretResource = secret.SecretArn(), secret.SecretArn()
	} else {
		secret = awssecretsmanager.Secret_FromSecretNameV2(b.stack, jsii.String("HookSecret"), jsii.String(b.s.HookSecretName))
		// A name-referenced secret's ARN ends in six random characters.
		secretID, secretResource = jsii.String(b.s.HookSecretName), jsii.String(*secret.SecretArn()+"-??????")
	}

	env := map[string]*string{
		settings.EnvHookSecretID:   secretID,
		settings.EnvHookAuthHeader: jsii.String(b.s.HookAuthHeader),
		settings.EnvHookSecretTTL:  jsii.String(b.s.HookSecretTTL.String()),
	}
	b.oktaAPIAccess(env)
	queueARNs := publishTo(env, queues)
	fn, role := b.function("OktaHook", function(FnOktaHook), "idsync Okta event hook (Function URL)", hookTimeout, hookMemory,
		env, func(p *awslambda.FunctionProps) {
			// The URL is public: requests, authenticated or not, can occupy
			// at most this many instances, never the account's pool the
			// consumers and the snapshot draw on.
			p.ReservedConcurrentExecutions = jsii.Number(float64(b.s.HookConcurrency))
		})
	// Okta authenticates with the shared secret in its auth header, which
	// the hook checks in constant time: the URL itself is public.
	url := fn.AddFunctionUrl(&awslambda.FunctionUrlOptions{
		AuthType:   awslambda.FunctionUrlAuthType_NONE,
		InvokeMode: awslambda.InvokeMode_RESPONSE_STREAM,
	})
	allow(role, "HookSecret", b.actions.hookSecret, []*string{secretResource}, nil)
	if b.s.HookSecretKeyARN != "" {
		allow(role, "HookSecretKey", []string{"kms:Decrypt"}, []*string{jsii.String(b.s.HookSecretKeyARN)},
			map[string]any{"StringEquals": map[string]any{
				"kms:ViaService": "secretsmanager." + *b.stack.Region() + ".amazonaws.com",
			}})
	}
	allow(role, "Publish", b.actions.publish, queueARNs, nil)
	b.allowItems(role, hookItems)
	return fn, url, secret
}

// snapshot adds the scheduled IdC snapshot.
func (b *builder) snapshot(queues []queueRef) awslambda.Function {
	// An invocation older than one period is superseded by the next run.
	maxAge := min(max(b.s.ScheduleRate, time.Minute), 6*time.Hour)
	env := map[string]*string{settings.EnvIdCRate: jsii.String(formatRate(b.s.IdCRate))}
	b.oktaAPIAccess(env) // the status reconciliation with Okta's non-active users
	queueARNs := publishTo(env, queues)
	fn, role := b.function("IdcSnapshot", function(FnIdCSnapshot), "idsync IAM Identity Center snapshot (scheduled)",
		snapshotTimeout, snapshotMemory, env, func(p *awslambda.FunctionProps) {
			// One run at a time (the DynamoDB lease is the second guard); a
			// failed run is not retried: the next scheduled run redoes it.
			p.ReservedConcurrentExecutions = jsii.Number(1)
			p.RetryAttempts = jsii.Number(0)
			p.MaxEventAge = awscdk.Duration_Seconds(jsii.Number(maxAge.Seconds()))
		})
	awsevents.NewRule(b.stack, jsii.String("SnapshotSchedule"), &awsevents.RuleProps{
		Description: jsii.String("idsync: run the IdC snapshot"),
		Schedule:    awsevents.Schedule_Rate(awscdk.Duration_Minutes(jsii.Number(b.s.ScheduleRate.Minutes()))),
		Targets: &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(fn, &awseventstargets.LambdaFunctionProps{
			RetryAttempts: jsii.Number(2),
			MaxEventAge:   awscdk.Duration_Seconds(jsii.Number(maxAge.Seconds())),
		})},
	})
	allow(role, "Publish", b.actions.publish, queueARNs, nil)
	b.allowItems(role, snapshotItems)
	b.allowIdentityStore(role)
	b.allowPlanning(role)
	b.allowOktaAPISecret(role)
	return fn
}

// oktaAPIAccess names the Okta API credentials' secret in a function's
// environment when one is configured: the Connect consumer and the
// snapshot (status reconciliation) read it; the hook and the consumers'
// configuration check needs to know it is there.
func (b *builder) oktaAPIAccess(env map[string]*string) {
	if b.s.OktaAPISecretName != "" {
		env[settings.EnvOktaAPISecretID] = jsii.String(b.s.OktaAPISecretName)
	}
}

// workMailAssignments assigns every WorkMail group that has an idcId to
// WorkMail's IAM Identity Center application (the document's
// workmail.identityCenter.applicationArn), as WorkMail requires before it
// links a mailbox to an IdC user. The assignments are kept when the stack
// is deleted: removing idsync must not stop people signing in to WorkMail.
func (b *builder) workMailAssignments() []awssso.CfnApplicationAssignment {
	if b.s.workmailApp == "" || b.s.SkipWorkMailAssignments || !b.s.workmail {
		return nil
	}
	var out []awssso.CfnApplicationAssignment
	for _, g := range b.s.workmailIdCGroups {
		a := awssso.NewCfnApplicationAssignment(b.stack, jsii.String("WorkMailAssignment"+g), &awssso.CfnApplicationAssignmentProps{
			ApplicationArn: jsii.String(b.s.workmailApp),
			PrincipalType:  jsii.String("GROUP"),
			PrincipalId:    jsii.String(g),
		})
		a.ApplyRemovalPolicy(awscdk.RemovalPolicy_RETAIN, nil)
		out = append(out, a)
	}
	return out
}
