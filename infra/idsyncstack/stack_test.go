package idsyncstack_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/infra/idsyncstack"
	"github.com/idsync/idsync/internal/settings"
	"github.com/idsync/idsync/store"
)

// TestStack synthesises the stack over a configuration with both targets
// and checks it against the README's deployment contract and the store's
// table specs.
func TestStack(t *testing.T) {
	s := synth(t, baseProps(t))

	t.Run("tables equal the store specs", func(t *testing.T) {
		for _, spec := range []store.TableSpec{store.StateTableSpec(), store.LedgerTableSpec()} {
			name := idsyncstack.DefaultPrefix + spec.NameSuffix
			var table obj
			for _, r := range s.resources("AWS::DynamoDB::Table") {
				if props(r)["TableName"] == name {
					table = r
				}
			}
			if table == nil {
				t.Fatalf("no table named %s", name)
			}
			p := props(table)
			want := cfnTableFromSDK(spec, name)
			got := obj{
				"KeySchema":              p["KeySchema"],
				"AttributeDefinitions":   sortedBy(p["AttributeDefinitions"], "AttributeName"),
				"GlobalSecondaryIndexes": sortedBy(p["GlobalSecondaryIndexes"], "IndexName"),
				"BillingMode":            p["BillingMode"],
			}
			if spec.TTLAttribute != "" {
				got["TimeToLiveSpecification"] = p["TimeToLiveSpecification"]
			} else if _, ok := p["TimeToLiveSpecification"]; ok {
				t.Errorf("%s: TTL set but the spec has none", name)
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("%s differs from store.%sTableSpec().CreateTableInput (-spec +deployed):\n%s", name, spec.NameSuffix, d)
			}
			if pitr, _ := p["PointInTimeRecoverySpecification"].(obj); pitr["PointInTimeRecoveryEnabled"] != true {
				t.Errorf("%s: point-in-time recovery %v", name, p["PointInTimeRecoverySpecification"])
			}
			if p["DeletionProtectionEnabled"] != true {
				t.Errorf("%s: deletion protection %v", name, p["DeletionProtectionEnabled"])
			}
			if table["DeletionPolicy"] != "Retain" || table["UpdateReplacePolicy"] != "Retain" {
				t.Errorf("%s: deletion %v, replace %v; want Retain", name, table["DeletionPolicy"], table["UpdateReplacePolicy"])
			}
		}
		must(t, "two tables", func() { s.tmpl.ResourceCountIs(str("AWS::DynamoDB::Table"), num(2)) })
	})

	t.Run("FIFO queues, DLQs and visibility", func(t *testing.T) {
		queues := s.resources("AWS::SQS::Queue")
		if len(queues) != 4 {
			t.Errorf("%d queues, want a queue and a DLQ per target (4)", len(queues))
		}
		// Consumer timeout per queue, through the event source mappings.
		timeoutOf := map[string]float64{}
		for _, m := range s.resources("AWS::Lambda::EventSourceMapping") {
			fn := s.resource(t, refID(props(m)["FunctionName"]))
			timeoutOf[refID(props(m)["EventSourceArn"])] = props(fn)["Timeout"].(float64)
		}
		for name, tgt := range s.stack.Targets {
			qid, dlqID := s.id(tgt.Queue), s.id(tgt.DLQ)
			q, dlq := props(queues[qid]), props(queues[dlqID])
			for what, p := range map[string]obj{"queue": q, "DLQ": dlq} {
				if p["FifoQueue"] != true || p["ContentBasedDeduplication"] != false || p["SqsManagedSseEnabled"] != true {
					t.Errorf("%s %s: FIFO %v, content-based dedup %v, SSE %v; want FIFO, off, SSE",
						name, what, p["FifoQueue"], p["ContentBasedDeduplication"], p["SqsManagedSseEnabled"])
				}
				if p["MessageRetentionPeriod"] != float64(14*24*3600) {
					t.Errorf("%s %s: retention %v s, want 14 days", name, what, p["MessageRetentionPeriod"])
				}
				if !strings.HasSuffix(p["QueueName"].(string), ".fifo") {
					t.Errorf("%s %s: name %v", name, what, p["QueueName"])
				}
			}
			rp, _ := q["RedrivePolicy"].(obj)
			if rp["maxReceiveCount"] != float64(5) || refID(rp["deadLetterTargetArn"]) != dlqID {
				t.Errorf("%s queue: redrive %v, want maxReceiveCount 5 to %s", name, rp, dlqID)
			}
			if _, ok := dlq["RedrivePolicy"]; ok {
				t.Errorf("%s DLQ has a redrive policy of its own", name)
			}
			timeout, ok := timeoutOf[qid]
			if !ok {
				t.Fatalf("%s queue: no consumer", name)
			}
			if vis := q["VisibilityTimeout"].(float64); vis < 6*timeout {
				t.Errorf("%s queue: visibility %v s < 6 x consumer timeout %v s", name, vis, timeout)
			}
		}
	})

	t.Run("consumers report batch item failures", func(t *testing.T) {
		maps := s.resources("AWS::Lambda::EventSourceMapping")
		if len(maps) != len(s.stack.Targets) {
			t.Fatalf("%d event source mappings, want one per target (%d)", len(maps), len(s.stack.Targets))
		}
		for name, tgt := range s.stack.Targets {
			must(t, name+" mapping", func() {
				s.tmpl.HasResourceProperties(str("AWS::Lambda::EventSourceMapping"), obj{
					"EventSourceArn":        obj{"Fn::GetAtt": []any{s.id(tgt.Queue), "Arn"}},
					"FunctionName":          obj{"Ref": s.id(tgt.Consumer)},
					"BatchSize":             10,
					"FunctionResponseTypes": []any{"ReportBatchItemFailures"},
					"ScalingConfig":         obj{"MaximumConcurrency": idsyncstack.DefaultMaxConcurrency},
				})
			})
		}
	})

	t.Run("hook Function URL streams and is public", func(t *testing.T) {
		hook := s.id(s.stack.Hook)
		must(t, "function URL", func() {
			s.tmpl.ResourceCountIs(str("AWS::Lambda::Url"), num(1))
			s.tmpl.HasResourceProperties(str("AWS::Lambda::Url"), obj{
				"AuthType":          "NONE",
				"InvokeMode":        "RESPONSE_STREAM",
				"TargetFunctionArn": obj{"Fn::GetAtt": []any{hook, "Arn"}},
			})
		})
		must(t, "URL invoke permissions", func() {
			s.tmpl.HasResourceProperties(str("AWS::Lambda::Permission"), obj{
				"Action": "lambda:InvokeFunctionUrl", "FunctionUrlAuthType": "NONE", "Principal": "*",
				"FunctionName": obj{"Fn::GetAtt": []any{hook, "Arn"}},
			})
			s.tmpl.HasResourceProperties(str("AWS::Lambda::Permission"), obj{
				"Action": "lambda:InvokeFunction", "InvokedViaFunctionUrl": true, "Principal": "*",
				"FunctionName": obj{"Fn::GetAtt": []any{hook, "Arn"}},
			})
		})
	})

	t.Run("snapshot runs alone on a schedule", func(t *testing.T) {
		snap := s.id(s.stack.Snapshot)
		p := props(s.resource(t, snap))
		if p["ReservedConcurrentExecutions"] != float64(1) {
			t.Errorf("snapshot reserved concurrency %v, want 1", p["ReservedConcurrentExecutions"])
		}
		if p["Timeout"] != float64(900) {
			t.Errorf("snapshot timeout %v, want 900 s", p["Timeout"])
		}
		must(t, "schedule", func() {
			s.tmpl.HasResourceProperties(str("AWS::Events::Rule"), obj{
				"ScheduleExpression": "rate(15 minutes)",
				"State":              "ENABLED",
				"Targets": assertions.Match_ArrayWith(&[]any{
					assertions.Match_ObjectLike(&obj{"Arn": obj{"Fn::GetAtt": []any{snap, "Arn"}}}),
				}),
			})
		})
		must(t, "no async retries", func() {
			s.tmpl.HasResourceProperties(str("AWS::Lambda::EventInvokeConfig"), obj{
				"FunctionName": obj{"Ref": snap}, "MaximumRetryAttempts": 0,
			})
		})
	})

	t.Run("functions: runtime, code, environment, logs", func(t *testing.T) {
		wm, con := s.stack.Targets[idsyncstack.FnWorkMail], s.stack.Targets[idsyncstack.FnConnect]
		// The hook and the snapshot publish to every target's queue.
		queueURLs := obj{
			settings.QueueURLVar(domain.TargetWorkMail): obj{"Ref": s.id(wm.Queue)},
			settings.QueueURLVar(domain.TargetConnect):  obj{"Ref": s.id(con.Queue)},
		}
		common := obj{
			settings.EnvStateTable:  obj{"Ref": s.id(s.stack.StateTable)},
			settings.EnvLedgerTable: obj{"Ref": s.id(s.stack.LedgerTable)},
			settings.EnvLogLevel:    "info",
		}
		for _, c := range []struct {
			name, id   string
			configVar  string
			env        []obj
			wantTimout float64
		}{
			{"oktahook", s.id(s.stack.Hook), settings.EnvConfig, []obj{queueURLs, {
				settings.EnvHookSecretID:   obj{"Ref": s.id(s.stack.HookSecret)},
				settings.EnvHookAuthHeader: "Authorization", settings.EnvHookSecretTTL: "5m0s",
			}}, 10},
			{"idcsnapshot", s.id(s.stack.Snapshot), settings.EnvConfig, []obj{queueURLs, {
				settings.EnvIdCRate: "20",
			}}, 900},
			// Each consumer: its target, its own DLQ and its instance's share
			// of the target's rate (WorkMail 5/s shared by all operations,
			// Connect 2/s per operation; 2 instances).
			{"workmail", s.id(wm.Consumer), settings.EnvConfig, []obj{{
				settings.EnvTarget:                        "workmail",
				settings.DLQURLVar(domain.TargetWorkMail): obj{"Ref": s.id(wm.DLQ)},
				settings.RateVar(domain.TargetWorkMail):   "2.5",
			}}, 120},
			{"connect", s.id(con.Consumer), settings.EnvConfig, []obj{{
				settings.EnvTarget:                       "connect",
				settings.DLQURLVar(domain.TargetConnect): obj{"Ref": s.id(con.DLQ)},
				settings.RateVar(domain.TargetConnect):   "1",
			}}, 120},
		} {
			t.Run(c.name, func(t *testing.T) {
				p := props(s.resource(t, c.id))
				if p["Runtime"] != "provided.al2023" || p["Handler"] != "bootstrap" || cmp.Diff([]any{"arm64"}, p["Architectures"]) != "" {
					t.Errorf("runtime %v, handler %v, architectures %v", p["Runtime"], p["Handler"], p["Architectures"])
				}
				if p["Timeout"] != c.wantTimout {
					t.Errorf("timeout %v, want %v", p["Timeout"], c.wantTimout)
				}
				vars := p["Environment"].(obj)["Variables"].(obj)
				doc, _ := vars[c.configVar].(string)
				if _, err := domain.ParseConfig([]byte(doc)); err != nil {
					t.Errorf("%s is not a valid configuration document: %v", c.configVar, err)
				}
				want := obj{c.configVar: doc}
				for k, v := range common {
					want[k] = v
				}
				for _, env := range c.env {
					for k, v := range env {
						want[k] = v
					}
				}
				if d := cmp.Diff(want, vars); d != "" {
					t.Errorf("environment (-want +got):\n%s", d)
				}
				logs := s.resource(t, refID(p["LoggingConfig"].(obj)["LogGroup"]))
				if logs["Type"] != "AWS::Logs::LogGroup" || props(logs)["RetentionInDays"] != float64(90) {
					t.Errorf("log group %v, want one with 90 days' retention", logs)
				}
			})
		}
		// The bootstrap comes from CodeDir/<asset> (an asset), not inline
		// code; both consumers run the one consumer bootstrap.
		for id, fn := range s.resources("AWS::Lambda::Function") {
			if code := props(fn)["Code"].(obj); code["S3Key"] == nil {
				t.Errorf("%s: code %v is not an asset", id, code)
			}
		}
		code := func(fn string) any { return props(s.resource(t, fn))["Code"].(obj)["S3Key"] }
		if code(s.id(wm.Consumer)) != code(s.id(con.Consumer)) {
			t.Errorf("consumer code %v and %v: want the one consumer asset", code(s.id(wm.Consumer)), code(s.id(con.Consumer)))
		}
		if a, b, c := code(s.id(s.stack.Hook)), code(s.id(s.stack.Snapshot)), code(s.id(wm.Consumer)); a == b || b == c || a == c {
			t.Errorf("hook, snapshot and consumer code %v, %v, %v: want three assets", a, b, c)
		}
	})

	t.Run("each function's environment is what internal/settings requires", func(t *testing.T) {
		settingsAccept(t, s)
	})

	t.Run("outputs for operators", func(t *testing.T) {
		outputs, _ := s.json["Outputs"].(obj)
		for _, o := range []string{"HookUrl", "HookSecretArn", "StateTableName", "LedgerTableName", "SnapshotFunctionName",
			"AlarmTopicArn", "LedgerArchiveBucket", "WorkMailQueueArn", "WorkMailDlqArn", "ConnectQueueArn", "ConnectDlqArn"} {
			if _, ok := outputs[o]; !ok {
				t.Errorf("no output %s", o)
			}
		}
	})

	t.Run("no wildcard grants", func(t *testing.T) {
		noWildcards(t, s)
	})

	t.Run("least privilege per function", func(t *testing.T) {
		leastPrivilege(t, s)
	})

	t.Run("grants are what the code calls", func(t *testing.T) {
		grantsMatchCode(t, s)
		grantsCheckFailsOnExtraGrants(t, s)
		consumerUsesFollowTheRegistry(t, s)
	})

	t.Run("every alarm notifies the topic", func(t *testing.T) {
		alarmsNotify(t, s, obj{"Ref": s.id(s.stack.AlarmTopic)})
		must(t, "email subscriptions", func() {
			for _, e := range []string{"oncall@example.org", "idm-team@example.org"} {
				s.tmpl.HasResourceProperties(str("AWS::SNS::Subscription"), obj{
					"Protocol": "email", "Endpoint": e, "TopicArn": obj{"Ref": s.id(s.stack.AlarmTopic)},
				})
			}
		})
	})

	t.Run("alarms", func(t *testing.T) {
		expectedAlarms(t, s)
	})

	t.Run("alarms and dashboard use metrics the code emits", func(t *testing.T) {
		emittedMetrics(t, s)
	})

	t.Run("hook has reserved concurrency", func(t *testing.T) {
		p := props(s.resource(t, s.id(s.stack.Hook)))
		if p["ReservedConcurrentExecutions"] != float64(idsyncstack.DefaultHookConcurrency) {
			t.Errorf("hook reserved concurrency %v, want %d", p["ReservedConcurrentExecutions"], idsyncstack.DefaultHookConcurrency)
		}
	})

	t.Run("hook secret is generated and never in the template", func(t *testing.T) {
		hookSecretGenerated(t, s)
	})

	t.Run("ledger stream feeds a locked archive", func(t *testing.T) {
		lockedArchive(t, s)
	})
}

// cfnTableFromSDK renders the store's CreateTableInput (what local tables
// are created from) in CloudFormation's shape, sorted like sortedBy.
func cfnTableFromSDK(spec store.TableSpec, name string) obj {
	in := spec.CreateTableInput(name)
	keys := func(ks []storeKey) []any {
		var out []any
		for _, k := range ks {
			out = append(out, obj{"AttributeName": k.name, "KeyType": k.typ})
		}
		return out
	}
	var defs, gsis []any
	for _, d := range in.AttributeDefinitions {
		defs = append(defs, obj{"AttributeName": aws.ToString(d.AttributeName), "AttributeType": string(d.AttributeType)})
	}
	for _, g := range in.GlobalSecondaryIndexes {
		var ks []storeKey
		for _, k := range g.KeySchema {
			ks = append(ks, storeKey{aws.ToString(k.AttributeName), string(k.KeyType)})
		}
		proj := obj{"ProjectionType": string(g.Projection.ProjectionType)}
		if len(g.Projection.NonKeyAttributes) > 0 {
			var nk []any
			for _, a := range g.Projection.NonKeyAttributes {
				nk = append(nk, a)
			}
			proj["NonKeyAttributes"] = nk
		}
		gsis = append(gsis, obj{"IndexName": aws.ToString(g.IndexName), "KeySchema": keys(ks), "Projection": proj})
	}
	var ks []storeKey
	for _, k := range in.KeySchema {
		ks = append(ks, storeKey{aws.ToString(k.AttributeName), string(k.KeyType)})
	}
	out := obj{
		"KeySchema":              keys(ks),
		"AttributeDefinitions":   sortedBy(defs, "AttributeName"),
		"GlobalSecondaryIndexes": sortedBy(gsis, "IndexName"),
		"BillingMode":            string(in.BillingMode),
	}
	if ttl := spec.TimeToLiveInput(name); ttl != nil {
		out["TimeToLiveSpecification"] = obj{
			"AttributeName": aws.ToString(ttl.TimeToLiveSpecification.AttributeName),
			"Enabled":       aws.ToBool(ttl.TimeToLiveSpecification.Enabled),
		}
	}
	return out
}

type storeKey struct{ name, typ string }

// sortedBy returns a list of objects sorted by the string field key.
func sortedBy(v any, key string) []any {
	l := append([]any(nil), list(v)...)
	sort.Slice(l, func(i, j int) bool { return l[i].(obj)[key].(string) < l[j].(obj)[key].(string) })
	return l
}

// noWildcards fails on any IAM statement allowing every action, every
// action of a service, or every resource, and on any managed policy (AWS's
// Lambda basic execution policy grants logs on "*"). WorkMail and
// IdentityStore both authorise the calls idsync makes against specific
// ARNs (organisation; identity store plus user, group and membership ARNs),
// so neither needs Resource "*". The one allowance: the archive pipe's
// dynamodb:ListStreams, which has no resource-level permission.
func noWildcards(t *testing.T, s synthed) {
	t.Helper()
	pipeRole := s.id(s.stack.Archive.PipeRole)
	for id, p := range s.resources("AWS::IAM::Policy") {
		pipe := len(list(props(p)["Roles"])) == 1 && refID(list(props(p)["Roles"])[0]) == pipeRole
		for _, st := range list(props(p)["PolicyDocument"].(obj)["Statement"]) {
			st := st.(obj)
			for _, a := range list(st["Action"]) {
				if a == "*" || strings.HasSuffix(a.(string), ":*") {
					t.Errorf("%s: action %v", id, a)
				}
			}
			if _, ok := st["NotAction"]; ok {
				t.Errorf("%s: NotAction", id)
			}
			if _, ok := st["NotResource"]; ok {
				t.Errorf("%s: NotResource", id)
			}
			for _, r := range list(st["Resource"]) {
				if r == "*" && !(pipe && fmt.Sprint(st["Action"]) == "dynamodb:ListStreams") {
					t.Errorf("%s: %v on Resource \"*\"", id, st["Action"])
				}
			}
		}
	}
	for id, r := range s.resources("AWS::IAM::Role") {
		if m := props(r)["ManagedPolicyArns"]; m != nil {
			t.Errorf("role %s has managed policies %v", id, m)
		}
		if pol := props(r)["Policies"]; pol != nil {
			t.Errorf("role %s has inline policies %v outside its default policy", id, pol)
		}
	}
	// One role per function, the archive's pipe and delivery stream, and
	// the role WorkMail exports mailboxes with when exportTo is configured.
	others := 2
	if s.stack.MailExport != nil {
		others++
	}
	if roles, fns := len(s.resources("AWS::IAM::Role")), len(s.resources("AWS::Lambda::Function")); roles != fns+others {
		t.Errorf("%d roles for %d functions, want one per function, two for the archive (and the export role)", roles, fns)
	}
	for id, r := range s.json["Resources"].(obj) {
		if typ := r.(obj)["Type"].(string); strings.HasPrefix(typ, "Custom::") || typ == "AWS::CloudFormation::CustomResource" {
			t.Errorf("%s: custom resource %s (its provider would need its own grants)", id, typ)
		}
	}
}

// leastPrivilege compares each function's grants, resources included,
// with exactly what its code calls (grantsMatchCode derives the actions
// from the code; this pins the ARNs).
func leastPrivilege(t *testing.T, s synthed) {
	t.Helper()
	wm, con := s.stack.Targets[idsyncstack.FnWorkMail], s.stack.Targets[idsyncstack.FnConnect]
	names := map[string]string{
		s.id(s.stack.StateTable): "State", s.id(s.stack.LedgerTable): "Ledger",
		s.id(wm.Queue): "WorkMailQueue", s.id(wm.DLQ): "WorkMailDLQ",
		s.id(con.Queue): "ConnectQueue", s.id(con.DLQ): "ConnectDLQ",
		s.id(s.stack.HookSecret): "HookSecret",
	}
	fns := map[string]string{
		"hook": s.id(s.stack.Hook), "snapshot": s.id(s.stack.Snapshot),
		"workmail": s.id(wm.Consumer), "connect": s.id(con.Consumer),
	}
	roles := map[string]string{}
	for fn, id := range fns {
		p := props(s.resource(t, id))
		roles[fn] = refID(p["Role"])
		names[refID(p["LoggingConfig"].(obj)["LogGroup"])] = fn + "Logs"
	}

	logs := func(fn string) []string {
		return each([]string{"logs:CreateLogStream", "logs:PutLogEvents"}, fn+"Logs.Arn")
	}
	publish := each([]string{"sqs:SendMessage"}, "WorkMailQueue.Arn", "ConnectQueue.Arn")
	poll := func(queue string) []string {
		return each([]string{"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}, queue+".Arn")
	}
	consumerItems := concat(
		each([]string{"dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}, "State.Arn"),
		each([]string{"dynamodb:Query"}, "State.Arn/index/*"),
		each([]string{"dynamodb:PutItem", "dynamodb:GetItem"}, "Ledger.Arn"))
	const (
		region  = "${AWS::Region}:${AWS::AccountId}"
		inst    = "arn:${AWS::Partition}:connect:" + region + ":instance/a1b2c3d4-0000-4000-8000-00000000c0de"
		idcPart = "arn:${AWS::Partition}:identitystore:::"
	)
	tagCond := ` if {"ForAllValues:StringEquals":{"aws:TagKeys":["idsync:person"]}}`

	want := map[string][]string{
		"hook": concat(logs("hook"), publish,
			[]string{"secretsmanager:GetSecretValue HookSecret", "dynamodb:PutItem Ledger.Arn", "dynamodb:Query Ledger.Arn"},
			each([]string{"dynamodb:Query", "dynamodb:UpdateItem"}, "State.Arn"),
			each([]string{"dynamodb:Query"}, "State.Arn/index/*")),
		"snapshot": concat(logs("snapshot"), publish,
			each([]string{"dynamodb:Query", "dynamodb:Scan", "dynamodb:BatchWriteItem", "dynamodb:UpdateItem", "dynamodb:GetItem", "dynamodb:PutItem"}, "State.Arn"),
			[]string{"dynamodb:PutItem Ledger.Arn"},
			each([]string{"identitystore:DescribeUser", "identitystore:ListGroupMemberships", "identitystore:ListUsers"},
				"arn:${AWS::Partition}:identitystore::${AWS::AccountId}:identitystore/d-90670a1b2c",
				idcPart+"user/*", idcPart+"membership/*",
				idcPart+"group/90670a1b2c-0a1b2c3d-1111-4222-8333-444455556666",
				idcPart+"group/90670a1b2c-0a1b2c3d-2222-4333-8444-555566667777",
				idcPart+"group/90670a1b2c-0a1b2c3d-3333-4444-8555-666677778888"),
			each([]string{"workmail:DescribeOrganization", "workmail:DescribeIdentityProviderConfiguration", "workmail:ListUsers"},
				"arn:${AWS::Partition}:workmail:"+region+":organization/m-8f3c2a1b0d9e4f5a6b7c8d9e0f1a2b3c"),
			each([]string{"connect:DescribeInstance", "connect:SearchUsers"}, inst, inst+"/*")),
		"workmail": concat(logs("workmail"), poll("WorkMailQueue"), []string{"sqs:SendMessage WorkMailDLQ.Arn"}, consumerItems,
			each([]string{"workmail:DescribeOrganization", "workmail:DescribeIdentityProviderConfiguration",
				"workmail:DescribeUser", "workmail:ListUsers", "workmail:CreateUser", "workmail:RegisterToWorkMail",
				"workmail:UpdateUser", "workmail:UpdatePrimaryEmailAddress", "workmail:DeregisterFromWorkMail",
				"workmail:DeleteUser", "workmail:DescribeGroup", "workmail:DescribeResource", "workmail:DescribeEntity",
				"workmail:StartMailboxExportJob", "workmail:DescribeMailboxExportJob"},
				"arn:${AWS::Partition}:workmail:"+region+":organization/m-8f3c2a1b0d9e4f5a6b7c8d9e0f1a2b3c"),
			each([]string{"identitystore:GetUserId", "identitystore:DescribeUser"},
				"arn:${AWS::Partition}:identitystore::${AWS::AccountId}:identitystore/d-90670a1b2c", idcPart+"user/*")),
		"connect": concat(logs("connect"), poll("ConnectQueue"), []string{"sqs:SendMessage ConnectDLQ.Arn"}, consumerItems,
			each([]string{"connect:DescribeInstance", "connect:CreateUser", "connect:DescribeUser", "connect:SearchUsers",
				"connect:UpdateUserIdentityInfo", "connect:UpdateUserSecurityProfiles",
				"connect:UpdateUserRoutingProfile", "connect:UpdateUserHierarchy", "connect:DeleteUser"},
				inst, inst+"/*"),
			[]string{"connect:TagResource " + inst + "/agent/*" + tagCond}),
	}
	for fn, w := range want {
		sort.Strings(w)
		if d := cmp.Diff(w, s.grants(t, roles[fn], names)); d != "" {
			t.Errorf("%s grants (-want +got):\n%s", fn, d)
		}
	}
}

func concat(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func str(s string) *string { return &s }

func num(n float64) *float64 { return &n }

// TestConfigParameter: with the document in SSM the stack deploys only the
// targets named by id, resolves the document at deploy time, and grants
// every IdC group (the configured ones are not known at synth).
func TestConfigParameter(t *testing.T) {
	p := baseProps(t)
	p.ConfigFile = ""
	p.ConfigParameter = "/idsync/config"
	p.WorkMailOrganizationID = "m-8f3c2a1b0d9e4f5a6b7c8d9e0f1a2b3c"
	p.IdentityStoreID = "d-90670a1b2c"
	s := synth(t, p)

	if _, ok := s.stack.Targets[idsyncstack.FnConnect]; ok || len(s.stack.Targets) != 1 {
		t.Fatalf("targets %v, want workmail only", s.stack.Targets)
	}
	must(t, "one target's queues", func() { s.tmpl.ResourceCountIs(str("AWS::SQS::Queue"), num(2)) })
	must(t, "three functions", func() { s.tmpl.ResourceCountIs(str("AWS::Lambda::Function"), num(3)) })

	var param string
	for id, v := range s.json["Parameters"].(obj) {
		if v := v.(obj); v["Type"] == "AWS::SSM::Parameter::Value<String>" && v["Default"] == "/idsync/config" {
			param = id
		}
	}
	if param == "" {
		t.Fatalf("no SSM parameter for /idsync/config in %v", s.json["Parameters"])
	}
	for _, c := range []struct{ id, configVar string }{
		{s.id(s.stack.Hook), settings.EnvConfig},
		{s.id(s.stack.Snapshot), settings.EnvConfig},
		{s.id(s.stack.Targets[idsyncstack.FnWorkMail].Consumer), settings.EnvConfig},
	} {
		vars := props(s.resource(t, c.id))["Environment"].(obj)["Variables"].(obj)
		if refID(vars[c.configVar]) != param {
			t.Errorf("%s %s = %v, want a Ref to %s", c.id, c.configVar, vars[c.configVar], param)
		}
	}
	grants := s.grants(t, refID(props(s.resource(t, s.id(s.stack.Snapshot)))["Role"]), nil)
	found := false
	for _, g := range grants {
		found = found || g == "identitystore:ListGroupMemberships arn:${AWS::Partition}:identitystore:::group/*"
	}
	if !found {
		t.Errorf("snapshot grants %v: want ListGroupMemberships on every group", grants)
	}
	noWildcards(t, s)
	settingsAccept(t, s)
}

// TestWorkMailOnlyDocument: a document without a connect section deploys
// no Connect queue, consumer or grant, and producers publish to WorkMail's
// queue only.
func TestWorkMailOnlyDocument(t *testing.T) {
	p := baseProps(t)
	p.ConfigFile = "testdata/workmail_only.json"
	s := synth(t, p)
	if len(s.stack.Targets) != 1 || s.stack.Targets[idsyncstack.FnWorkMail].Queue == nil {
		t.Fatalf("targets %v, want workmail only", s.stack.Targets)
	}
	wantURL := obj{"Ref": s.id(s.stack.Targets[idsyncstack.FnWorkMail].Queue)}
	for _, fn := range []string{s.id(s.stack.Hook), s.id(s.stack.Snapshot)} {
		vars := props(s.resource(t, fn))["Environment"].(obj)["Variables"].(obj)
		if d := cmp.Diff(wantURL, vars[settings.QueueURLVar(domain.TargetWorkMail)]); d != "" {
			t.Errorf("%s %s (-want +got):\n%s", fn, settings.QueueURLVar(domain.TargetWorkMail), d)
		}
		for _, k := range []string{settings.QueueURLVar(domain.TargetConnect), settings.DLQURLVar(domain.TargetConnect), settings.RateVar(domain.TargetConnect)} {
			if _, ok := vars[k]; ok {
				t.Errorf("%s has %s without a Connect target", fn, k)
			}
		}
	}
	settingsAccept(t, s)
	for id, p := range s.resources("AWS::IAM::Policy") {
		for _, st := range list(props(p)["PolicyDocument"].(obj)["Statement"]) {
			for _, a := range list(st.(obj)["Action"]) {
				if strings.HasPrefix(a.(string), "connect:") {
					t.Errorf("%s grants %v without a Connect target", id, a)
				}
			}
		}
	}
}

// TestExistingSecretAndTopic: an existing hook secret is referenced by
// name (nothing created, its customer-managed key granted for decryption
// through Secrets Manager only), and an existing topic receives every
// alarm.
func TestExistingSecretAndTopic(t *testing.T) {
	p := baseProps(t)
	p.HookSecretName = "idsync/okta-hook"
	p.HookSecretKeyARN = "arn:aws:kms:eu-west-1:111122223333:key/0a1b2c3d-0000-4000-8000-000000000001"
	p.AlarmTopicARN = "arn:aws:sns:eu-west-1:111122223333:oncall"
	p.AlarmEmails = nil
	s := synth(t, p)

	must(t, "no secret or topic created", func() {
		s.tmpl.ResourceCountIs(str("AWS::SecretsManager::Secret"), num(0))
		s.tmpl.ResourceCountIs(str("AWS::SNS::Topic"), num(0))
	})
	vars := props(s.resource(t, s.id(s.stack.Hook)))["Environment"].(obj)["Variables"].(obj)
	if vars[settings.EnvHookSecretID] != "idsync/okta-hook" {
		t.Errorf("%s = %v, want the secret's name", settings.EnvHookSecretID, vars[settings.EnvHookSecretID])
	}
	got := s.grants(t, refID(props(s.resource(t, s.id(s.stack.Hook)))["Role"]), nil)
	for _, want := range []string{
		"secretsmanager:GetSecretValue arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:idsync/okta-hook-??????",
		`kms:Decrypt ` + p.HookSecretKeyARN +
			` if {"StringEquals":{"kms:ViaService":{"Fn::Join":["",["secretsmanager.",{"Ref":"AWS::Region"},".amazonaws.com"]]}}}`,
	} {
		found := false
		for _, g := range got {
			found = found || g == want
		}
		if !found {
			t.Errorf("hook grants %v\nwant %s", got, want)
		}
	}
	alarmsNotify(t, s, p.AlarmTopicARN)
	grantsMatchCode(t, s)
}

// TestConfigDocumentTravelsIntact: every function's environment carries
// the file's document, compacted, byte for byte.
func TestConfigDocumentTravelsIntact(t *testing.T) {
	s := synth(t, baseProps(t))
	raw, err := os.ReadFile("testdata/full.json")
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := json.Compact(&want, raw); err != nil {
		t.Fatal(err)
	}
	for id, fn := range s.resources("AWS::Lambda::Function") {
		vars := props(fn)["Environment"].(obj)["Variables"].(obj)
		doc := vars[settings.EnvConfig]
		if doc != want.String() {
			t.Errorf("%s: document %v\nwant %s", id, doc, want.String())
		}
	}
}
