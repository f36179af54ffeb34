package idsyncstack

import (
	"fmt"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/interfaces/interfacesawscloudwatch"
	"github.com/aws/jsii-runtime-go"

	"github.com/idsync/idsync/internal/emf"
)

// alarmPeriod is the period of every alarm that does not say otherwise.
const alarmPeriod = 5 * time.Minute

// alarmTopic returns the topic every alarm notifies: the existing one of
// AlarmTopicARN, or a new one; AlarmEmails are subscribed to it.
func (b *builder) alarmTopic() awssns.ITopic {
	var topic awssns.ITopic
	if b.s.AlarmTopicARN != "" {
		topic = awssns.Topic_FromTopicArn(b.stack, jsii.String("AlarmTopic"), jsii.String(b.s.AlarmTopicARN))
	} else {
		// Not KMS-encrypted: CloudWatch cannot publish to a topic under the
		// AWS-managed SNS key, and alarm messages carry alarm names and
		// figures only.
		topic = awssns.NewTopic(b.stack, jsii.String("AlarmTopic"), &awssns.TopicProps{
			DisplayName: jsii.String("idsync alarms"),
		})
	}
	for i, email := range b.s.AlarmEmails {
		awssns.NewSubscription(b.stack, jsii.String(fmt.Sprintf("AlarmEmail%d", i)), &awssns.SubscriptionProps{
			Topic:    topic,
			Protocol: awssns.SubscriptionProtocol_EMAIL,
			Endpoint: jsii.String(email),
		})
	}
	return topic
}

// emfMetric is one of the functions' EMF metrics (internal/emf names).
func emfMetric(component, name, statistic string, period time.Duration) awscloudwatch.Metric {
	return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace:     jsii.String(emf.Namespace),
		MetricName:    jsii.String(name),
		DimensionsMap: &map[string]*string{emf.DimensionComponent: jsii.String(component)},
		Statistic:     jsii.String(statistic),
		Period:        awscdk.Duration_Seconds(jsii.Number(period.Seconds())),
	})
}

// opts are metric options of a statistic over a period.
func opts(statistic string, period time.Duration) *awscloudwatch.MetricOptions {
	return &awscloudwatch.MetricOptions{
		Statistic: jsii.String(statistic),
		Period:    awscdk.Duration_Seconds(jsii.Number(period.Seconds())),
	}
}

// alarmSpec is one alarm. Missing data never breaches: the metrics are
// sparse (a function that is not invoked reports nothing).
type alarmSpec struct {
	id, name, description string
	metric                awscloudwatch.IMetric
	threshold             float64
	above                 bool // > threshold; otherwise >= threshold
	evaluations, breaches int  // default 1 of 1
}

// alarms adds every alarm, each notifying the alarm topic.
func (b *builder) alarms(st *Stack) []awscloudwatch.Alarm {
	p := b.s.Prefix
	var specs []alarmSpec
	count := func(id, name, description string, m awscloudwatch.IMetric) {
		specs = append(specs, alarmSpec{id: id, name: name, description: description, metric: m, threshold: 1})
	}

	titles := targetTitles()
	for _, name := range []string{FnWorkMail, FnConnect} {
		t, ok := st.Targets[name]
		if !ok {
			continue
		}
		title := titles[name]
		count(title+"DLQAlarm", p+name+"-dlq-not-empty",
			"idsync "+name+": messages in the dead-letter queue (see the README's runbook: audit --outcome failed, then redrive)",
			t.DLQ.MetricApproximateNumberOfMessagesVisible(opts("Maximum", alarmPeriod)))
		specs = append(specs, alarmSpec{id: title + "QueueAgeAlarm", name: p + name + "-queue-age",
			description: fmt.Sprintf("idsync %s: the oldest queued event is older than %s (consumer failing or throttled, or a backlog beyond the target's rate)", name, b.s.QueueAgeAlarm),
			metric:      t.Queue.MetricApproximateAgeOfOldestMessage(opts("Maximum", alarmPeriod)),
			threshold:   b.s.QueueAgeAlarm.Seconds(), above: true})
		count(title+"RetriesExhaustedAlarm", p+name+"-retries-exhausted",
			"idsync "+name+": events still failing on their last receives (a target outage or a lasting transient error); left to the next reconciliation, see the ledger's failed rows",
			emfMetric(emf.ComponentConsumerPrefix+name, emf.ConsumerRetriesExhausted, "Sum", alarmPeriod))
	}

	fns := []struct {
		title string
		fn    awslambda.Function
		name  string
	}{{"OktaHook", st.Hook, FnOktaHook}, {"IdcSnapshot", st.Snapshot, FnIdCSnapshot}}
	for _, name := range []string{FnWorkMail, FnConnect} {
		if t, ok := st.Targets[name]; ok {
			fns = append(fns, struct {
				title string
				fn    awslambda.Function
				name  string
			}{titles[name] + "Consumer", t.Consumer, name})
		}
	}
	for _, f := range fns {
		count(f.title+"ErrorsAlarm", p+f.name+"-errors",
			"idsync "+f.name+": invocations failed (crash, timeout or error returned); see the function's log group",
			f.fn.MetricErrors(opts("Sum", alarmPeriod)))
		count(f.title+"ThrottlesAlarm", p+f.name+"-throttles",
			"idsync "+f.name+": invocations throttled (reserved concurrency or the account's limit reached)",
			f.fn.MetricThrottles(opts("Sum", alarmPeriod)))
	}

	count("HookUrl5xxAlarm", p+FnOktaHook+"-url-5xx",
		"idsync oktahook: the Function URL answered 5xx (secret unreadable, ledger or queue write failed, timeout); Okta retries, then gives up",
		st.Hook.Metric(jsii.String("Url5xxCount"), opts("Sum", alarmPeriod)))
	specs = append(specs, alarmSpec{id: "HookDurationAlarm", name: p + FnOktaHook + "-p99-duration",
		description: fmt.Sprintf("idsync oktahook: p99 duration above %s in 2 of 3 periods; Okta abandons a delivery after 3 s", HookLatencyAlarm),
		metric:      st.Hook.MetricDuration(opts("p99", alarmPeriod)),
		threshold:   float64(HookLatencyAlarm.Milliseconds()), above: true, evaluations: 3, breaches: 2})
	count("HookRemovalsHeldAlarm", p+FnOktaHook+"-removals-held",
		"idsync oktahook: the hook-path removal brake is holding removals; confirm or release them (README runbook)",
		emfMetric(emf.ComponentOktaHook, emf.HookRemovalsHeld, "Sum", alarmPeriod))

	count("SnapshotFailedAlarm", p+FnIdCSnapshot+"-run-failed",
		"idsync idcsnapshot: a run failed (its ledger row and log line give the reason; a tripped removal cap counts too)",
		emfMetric(emf.ComponentIdCSnapshot, emf.SnapshotRunFailed, "Sum", alarmPeriod))
	count("SnapshotRemovalCapAlarm", p+FnIdCSnapshot+"-removal-cap",
		"idsync idcsnapshot: a run was refused by the removal cap (it would remove more people than allowed); nothing was queued",
		emfMetric(emf.ComponentIdCSnapshot, emf.SnapshotRemovalCapTripped, "Sum", alarmPeriod))
	window := b.incompleteWindow()
	specs = append(specs, alarmSpec{id: "SnapshotIncompleteAlarm", name: p + FnIdCSnapshot + "-incomplete",
		description: fmt.Sprintf("idsync idcsnapshot: no run in the last %s read everything, so no removals are applied (Minimum of Incomplete is 1)", window),
		metric:      emfMetric(emf.ComponentIdCSnapshot, emf.SnapshotIncomplete, "Minimum", window),
		threshold:   1})

	count("ArchivePipeAlarm", p+"ledger-archive-failed",
		"idsync ledger archive: the pipe failed to put ledger stream records into Firehose (it retries until they expire from the stream after 24 hours)",
		awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace: jsii.String("AWS/EventBridge/Pipes"), MetricName: jsii.String("ExecutionFailed"),
			DimensionsMap: &map[string]*string{"PipeName": st.Archive.Pipe.Ref()},
			Statistic:     jsii.String("Sum"), Period: awscdk.Duration_Seconds(jsii.Number(alarmPeriod.Seconds())),
		}))
	specs = append(specs, alarmSpec{id: "ArchiveDeliveryAlarm", name: p + "ledger-archive-stale",
		description: "idsync ledger archive: records older than an hour are waiting in Firehose (S3 delivery failing; see the delivery stream's S3Delivery log)",
		metric: awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace: jsii.String("AWS/Firehose"), MetricName: jsii.String("DeliveryToS3.DataFreshness"),
			DimensionsMap: &map[string]*string{"DeliveryStreamName": st.Archive.DeliveryStream.Ref()},
			Statistic:     jsii.String("Maximum"), Period: awscdk.Duration_Seconds(jsii.Number(alarmPeriod.Seconds())),
		}),
		threshold: time.Hour.Seconds(), above: true})

	action := awscloudwatchactions.NewSnsAction(st.AlarmTopic)
	var out []awscloudwatch.Alarm
	for _, a := range specs {
		cmp := awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD
		if a.above {
			cmp = awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD
		}
		evaluations, breaches := max(a.evaluations, 1), max(a.breaches, 1)
		alarm := awscloudwatch.NewAlarm(b.stack, jsii.String(a.id), &awscloudwatch.AlarmProps{
			AlarmName:          jsii.String(a.name),
			AlarmDescription:   jsii.String(a.description),
			Metric:             a.metric,
			Threshold:          jsii.Number(a.threshold),
			ComparisonOperator: cmp,
			EvaluationPeriods:  jsii.Number(float64(evaluations)),
			DatapointsToAlarm:  jsii.Number(float64(breaches)),
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		alarm.AddAlarmAction(action)
		out = append(out, alarm)
	}
	return out
}

// incompleteWindow is the period of the incomplete-snapshot alarm: two
// schedule periods (at least two runs), within CloudWatch's one-day limit.
func (b *builder) incompleteWindow() time.Duration {
	return min(max(2*b.s.ScheduleRate, alarmPeriod), 24*time.Hour)
}

// dashboard adds the pipeline's dashboard: what the hook received and
// queued, what each target's consumer applied, skipped and failed, the
// queues, the snapshot's figures, the archive and every alarm's state.
func (b *builder) dashboard(st *Stack) awscloudwatch.Dashboard {
	const period = alarmPeriod
	graph := func(title string, width float64, left []awscloudwatch.IMetric, right []awscloudwatch.IMetric, annotation *awscloudwatch.HorizontalAnnotation) awscloudwatch.IWidget {
		props := &awscloudwatch.GraphWidgetProps{
			Title: jsii.String(title), Width: jsii.Number(width), Height: jsii.Number(6), Left: &left,
		}
		if len(right) > 0 {
			props.Right = &right
		}
		if annotation != nil {
			props.LeftAnnotations = &[]*awscloudwatch.HorizontalAnnotation{annotation}
		}
		return awscloudwatch.NewGraphWidget(props)
	}
	sums := func(component string, names ...string) []awscloudwatch.IMetric {
		var out []awscloudwatch.IMetric
		for _, n := range names {
			out = append(out, emfMetric(component, n, "Sum", period))
		}
		return out
	}
	text := func(md string) awscloudwatch.IWidget {
		return awscloudwatch.NewTextWidget(&awscloudwatch.TextWidgetProps{Markdown: jsii.String(md), Width: jsii.Number(24), Height: jsii.Number(1)})
	}

	rows := [][]awscloudwatch.IWidget{
		{text("### Okta hook: deliveries received and queued")},
		{
			graph("Hook events", 8, sums(emf.ComponentOktaHook, emf.HookEventsReceived, emf.HookEventsQueued,
				emf.HookEventsDuplicate, emf.HookEventsIgnored), nil, nil),
			graph("Hook refusals and failures", 8, append(sums(emf.ComponentOktaHook, emf.HookRejected, emf.HookMalformed,
				emf.HookSecretErrors, emf.HookDeliveryFailures, emf.HookRemovalsHeld),
				st.Hook.Metric(jsii.String("Url4xxCount"), opts("Sum", period)),
				st.Hook.Metric(jsii.String("Url5xxCount"), opts("Sum", period))), nil, nil),
			graph("Hook latency (ms)", 8, []awscloudwatch.IMetric{
				st.Hook.MetricDuration(opts("p99", period)),
				emfMetric(emf.ComponentOktaHook, emf.HookDeliveryMs, "p99", period),
			}, nil, &awscloudwatch.HorizontalAnnotation{Value: jsii.Number(float64(HookLatencyAlarm.Milliseconds())), Label: jsii.String("alarm")}),
		},
	}
	titles := targetTitles()
	for _, name := range []string{FnWorkMail, FnConnect} {
		t, ok := st.Targets[name]
		if !ok {
			continue
		}
		component := function(name).Component
		title := titles[name]
		rows = append(rows, []awscloudwatch.IWidget{text("### " + title + ": queued, applied, skipped, failed")}, []awscloudwatch.IWidget{
			graph(title+" events", 8, sums(component, emf.ConsumerApplied, emf.ConsumerSkipped, emf.ConsumerDeferred,
				emf.ConsumerRetried, emf.ConsumerFailedRetryable, emf.ConsumerFailedPermanent, emf.ConsumerThrottled), nil, nil),
			graph(title+" queue", 8, []awscloudwatch.IMetric{
				t.Queue.MetricNumberOfMessagesSent(opts("Sum", period)),
				t.Queue.MetricApproximateNumberOfMessagesVisible(opts("Maximum", period)),
				t.DLQ.MetricApproximateNumberOfMessagesVisible(opts("Maximum", period)),
			}, []awscloudwatch.IMetric{t.Queue.MetricApproximateAgeOfOldestMessage(opts("Maximum", period))}, nil),
			graph(title+" API", 8, sums(component, emf.ConsumerOpsApplied),
				[]awscloudwatch.IMetric{emfMetric(component, emf.ConsumerAPILatencyMs, "p99", period)}, nil),
		})
	}
	rows = append(rows, []awscloudwatch.IWidget{text("### IdC snapshot")}, []awscloudwatch.IWidget{
		graph("Snapshot differences", 8, sums(emf.ComponentIdCSnapshot, emf.SnapshotJoiners, emf.SnapshotLeavers,
			emf.SnapshotChanges, emf.SnapshotRemovals, emf.SnapshotEvents), nil, nil),
		graph("Snapshot runs", 8, sums(emf.ComponentIdCSnapshot, emf.SnapshotRunFailed, emf.SnapshotIncomplete,
			emf.SnapshotRemovalCapTripped, emf.SnapshotLeaseHeld), nil, nil),
		graph("Snapshot work", 8, sums(emf.ComponentIdCSnapshot, emf.SnapshotAPICalls, emf.SnapshotThrottled),
			[]awscloudwatch.IMetric{emfMetric(emf.ComponentIdCSnapshot, emf.SnapshotDurationMs, "Maximum", period)}, nil),
	})
	alarms := make([]interfacesawscloudwatch.IAlarmRef, len(st.Alarms))
	for i, a := range st.Alarms {
		alarms[i] = a
	}
	rows = append(rows, []awscloudwatch.IWidget{awscloudwatch.NewAlarmStatusWidget(&awscloudwatch.AlarmStatusWidgetProps{
		Title: jsii.String("Alarms"), Alarms: &alarms, Width: jsii.Number(24),
	})})

	dash := awscloudwatch.NewDashboard(b.stack, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		DashboardName: jsii.String(b.s.Prefix + "pipeline"),
	})
	for _, row := range rows {
		dash.AddWidgets(row...)
	}
	return dash
}
