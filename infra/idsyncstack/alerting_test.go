package idsyncstack_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/infra/idsyncstack"
	"github.com/idsync/idsync/internal/emf"
)

// alarmsNotify: every alarm has topic, and only topic, as its alarm action.
func alarmsNotify(t *testing.T, s synthed, topic any) {
	t.Helper()
	alarms := s.resources("AWS::CloudWatch::Alarm")
	if len(alarms) == 0 || len(alarms) != len(s.stack.Alarms) {
		t.Fatalf("%d alarms in the template, %d in the stack", len(alarms), len(s.stack.Alarms))
	}
	for id, a := range alarms {
		if d := cmp.Diff([]any{topic}, props(a)["AlarmActions"]); d != "" {
			t.Errorf("alarm %s (%v): actions (-want +got):\n%s", id, props(a)["AlarmName"], d)
		}
		if props(a)["ActionsEnabled"] == false {
			t.Errorf("alarm %s: actions disabled", id)
		}
	}
}

// alarmRows renders each alarm as
// "name | namespace metric | dimensions | statistic | comparison | period | datapoints/evaluations | missing data".
func alarmRows(t *testing.T, s synthed) []string {
	t.Helper()
	names := map[string]string{}
	for _, d := range s.deployedFunctions(t) {
		names[d.id] = d.spec.Name
	}
	for name, tgt := range s.stack.Targets {
		names[s.id(tgt.Queue)], names[s.id(tgt.DLQ)] = name+"Queue", name+"DLQ"
	}
	names[s.id(s.stack.Archive.Pipe)] = "LedgerArchivePipe"
	names[s.id(s.stack.Archive.DeliveryStream)] = "LedgerArchiveDelivery"

	var rows []string
	for _, a := range s.resources("AWS::CloudWatch::Alarm") {
		p := props(a)
		var dims []string
		for _, d := range list(p["Dimensions"]) {
			d := d.(obj)
			dims = append(dims, fmt.Sprintf("%v=%s", d["Name"], render(d["Value"], names)))
		}
		sort.Strings(dims)
		stat := p["Statistic"]
		if stat == nil {
			stat = p["ExtendedStatistic"]
		}
		op := map[any]string{"GreaterThanOrEqualToThreshold": ">=", "GreaterThanThreshold": ">"}[p["ComparisonOperator"]]
		rows = append(rows, fmt.Sprintf("%v | %v %v | %s | %v | %s %v | %vs | %v/%v | %v",
			p["AlarmName"], p["Namespace"], p["MetricName"], strings.Join(dims, ","), stat, op, p["Threshold"],
			p["Period"], p["DatapointsToAlarm"], p["EvaluationPeriods"], p["TreatMissingData"]))
	}
	sort.Strings(rows)
	return rows
}

// expectedAlarms pins every alarm of the default deployment (both
// targets, 15-minute schedule).
func expectedAlarms(t *testing.T, s synthed) {
	t.Helper()
	var want []string
	row := func(name, metric, dims, stat, cmp string, period, m, n int) {
		want = append(want, fmt.Sprintf("idsync-%s | %s | %s | %s | %s | %ds | %d/%d | notBreaching", name, metric, dims, stat, cmp, period, m, n))
	}
	for _, tgt := range []string{"workmail", "connect"} {
		row(tgt+"-dlq-not-empty", "AWS/SQS ApproximateNumberOfMessagesVisible", "QueueName="+tgt+"DLQ.QueueName", "Maximum", ">= 1", 300, 1, 1)
		row(tgt+"-queue-age", "AWS/SQS ApproximateAgeOfOldestMessage", "QueueName="+tgt+"Queue.QueueName", "Maximum", "> 1800", 300, 1, 1)
		row(tgt+"-retries-exhausted", "idsync RetriesExhausted", "Component=consumer-"+tgt, "Sum", ">= 1", 300, 1, 1)
	}
	for _, fn := range []string{"oktahook", "idcsnapshot", "workmail", "connect"} {
		row(fn+"-errors", "AWS/Lambda Errors", "FunctionName="+fn, "Sum", ">= 1", 300, 1, 1)
		row(fn+"-throttles", "AWS/Lambda Throttles", "FunctionName="+fn, "Sum", ">= 1", 300, 1, 1)
	}
	row("oktahook-url-5xx", "AWS/Lambda Url5xxCount", "FunctionName=oktahook", "Sum", ">= 1", 300, 1, 1)
	row("oktahook-p99-duration", "AWS/Lambda Duration", "FunctionName=oktahook", "p99", "> 2500", 300, 2, 3)
	row("oktahook-removals-held", "idsync RemovalsHeld", "Component=oktahook", "Sum", ">= 1", 300, 1, 1)
	row("idcsnapshot-run-failed", "idsync RunFailed", "Component=idcsnapshot", "Sum", ">= 1", 300, 1, 1)
	row("idcsnapshot-removal-cap", "idsync RemovalCapTripped", "Component=idcsnapshot", "Sum", ">= 1", 300, 1, 1)
	row("idcsnapshot-incomplete", "idsync Incomplete", "Component=idcsnapshot", "Minimum", ">= 1", 1800, 1, 1)
	row("ledger-archive-failed", "AWS/EventBridge/Pipes ExecutionFailed", "PipeName=LedgerArchivePipe", "Sum", ">= 1", 300, 1, 1)
	row("ledger-archive-stale", "AWS/Firehose DeliveryToS3.DataFreshness", "DeliveryStreamName=LedgerArchiveDelivery", "Maximum", "> 3600", 300, 1, 1)
	sort.Strings(want)
	got := alarmRows(t, s)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("alarms (-want +got):\n%s", d)
	}
	t.Logf("alarms:\n  %s", strings.Join(got, "\n  "))
}

// emittedMetrics: every idsync metric an alarm or the dashboard uses is
// written by the code of the function with that component, under that
// component (infra/internal/codeuse).
func emittedMetrics(t *testing.T, s synthed) {
	t.Helper()
	uses := codeUses(t, s)
	emitted := func(where, component, metric string) {
		for _, fn := range idsyncstack.Functions() {
			if fn.Component != component {
				continue
			}
			u := functionUse(t, uses, fn)
			if !writesAs(u.Components, component) {
				t.Errorf("%s: %s's code writes its metrics as %v, not %s", where, fn.Name, keys(u.Components), component)
			}
			if _, ok := u.Metrics[metric]; ok {
				return
			}
			t.Errorf("%s: %s's code never writes %s (it writes %v)", where, fn.Name, metric, keys(u.Metrics))
			return
		}
		t.Errorf("%s: no function has component %s", where, component)
	}

	for id, a := range s.resources("AWS::CloudWatch::Alarm") {
		p := props(a)
		if p["Namespace"] != emf.Namespace {
			continue
		}
		dims := list(p["Dimensions"])
		if len(dims) != 1 || dims[0].(obj)["Name"] != emf.DimensionComponent {
			t.Errorf("alarm %s: dimensions %v, want the one %s dimension", id, dims, emf.DimensionComponent)
			continue
		}
		emitted("alarm "+id, dims[0].(obj)["Value"].(string), p["MetricName"].(string))
	}

	dashboards := s.resources("AWS::CloudWatch::Dashboard")
	if len(dashboards) != 1 {
		t.Fatalf("%d dashboards, want 1", len(dashboards))
	}
	for id, d := range dashboards {
		body := render(props(d)["DashboardBody"], nil)
		var doc struct {
			Widgets []struct {
				Properties struct {
					Title   string  `json:"title"`
					Metrics [][]any `json:"metrics"`
				} `json:"properties"`
			} `json:"widgets"`
		}
		if err := json.Unmarshal([]byte(body), &doc); err != nil {
			t.Fatalf("dashboard %s: %v\n%s", id, err, body)
		}
		n := 0
		shown := map[string]int{} // component/metric, or namespace/metric for AWS's own
		for _, w := range doc.Widgets {
			for _, m := range w.Properties.Metrics {
				if len(m) >= 2 && m[0] != emf.Namespace {
					shown[fmt.Sprint(m[0], "/", m[1])]++
				}
				if len(m) < 4 || m[0] != emf.Namespace {
					continue
				}
				n++
				shown[fmt.Sprint(m[3], "/", m[1])]++
				if m[2] != emf.DimensionComponent {
					t.Errorf("dashboard %q: metric %v: dimension %v, want %s", w.Properties.Title, m, m[2], emf.DimensionComponent)
					continue
				}
				emitted(fmt.Sprintf("dashboard %q", w.Properties.Title), m[3].(string), m[1].(string))
			}
		}
		if n == 0 {
			t.Errorf("dashboard %s shows no idsync metric", id)
		}
		dashboardShowsTheFlow(t, id, shown)
	}
}

// dashboardShowsTheFlow: the dashboard shows the pipeline's flow: what
// the hook received and queued; per target what was applied, skipped and
// failed, with each queue's and DLQ's depth and the oldest message's age;
// the snapshot's figures.
func dashboardShowsTheFlow(t *testing.T, id string, shown map[string]int) {
	t.Helper()
	want := map[string]int{
		emf.ComponentOktaHook + "/" + emf.HookEventsReceived: 1, emf.ComponentOktaHook + "/" + emf.HookEventsQueued: 1,
		emf.ComponentIdCSnapshot + "/" + emf.SnapshotJoiners: 1, emf.ComponentIdCSnapshot + "/" + emf.SnapshotLeavers: 1,
		emf.ComponentIdCSnapshot + "/" + emf.SnapshotEvents: 1, emf.ComponentIdCSnapshot + "/" + emf.SnapshotRunFailed: 1,
		emf.ComponentIdCSnapshot + "/" + emf.SnapshotIncomplete: 1, emf.ComponentIdCSnapshot + "/" + emf.SnapshotRemovalCapTripped: 1,
		// Two targets: each queue and each DLQ.
		"AWS/SQS/ApproximateNumberOfMessagesVisible": 4, "AWS/SQS/ApproximateAgeOfOldestMessage": 2,
		"AWS/SQS/NumberOfMessagesSent": 2,
	}
	for _, c := range []string{emf.ComponentConsumerWorkMail, emf.ComponentConsumerConnect} {
		for _, m := range []string{emf.ConsumerApplied, emf.ConsumerSkipped, emf.ConsumerFailedRetryable, emf.ConsumerFailedPermanent} {
			want[c+"/"+m] = 1
		}
	}
	for k, n := range want {
		if shown[k] != n {
			t.Errorf("dashboard %s shows %s %d times, want %d", id, k, shown[k], n)
		}
	}
}

// writesAs: one of the components the code names is component, or a
// pattern ("consumer-*") matching it.
func writesAs(components map[string][]string, component string) bool {
	for c := range components {
		if c == component || (strings.HasSuffix(c, "*") && strings.HasPrefix(component, strings.TrimSuffix(c, "*"))) {
			return true
		}
	}
	return false
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestEMFRecordsMatchTheAlarms: a record the functions write has the
// namespace and the single dimension the alarms and dashboard use.
func TestEMFRecordsMatchTheAlarms(t *testing.T) {
	var buf bytes.Buffer
	m := emf.New(&buf, emf.ComponentIdCSnapshot, func() time.Time { return time.UnixMilli(1) })
	m.Add(emf.SnapshotRunFailed, 1)
	if err := m.Flush(); err != nil {
		t.Fatal(err)
	}
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatal(err)
	}
	directive := rec["_aws"].(map[string]any)["CloudWatchMetrics"].([]any)[0].(map[string]any)
	if directive["Namespace"] != emf.Namespace {
		t.Errorf("namespace %v, want %s", directive["Namespace"], emf.Namespace)
	}
	if d := cmp.Diff([]any{[]any{emf.DimensionComponent}}, directive["Dimensions"]); d != "" {
		t.Errorf("dimensions (-want +got):\n%s", d)
	}
	if rec[emf.DimensionComponent] != emf.ComponentIdCSnapshot || rec[emf.SnapshotRunFailed] != 1.0 {
		t.Errorf("record %v", rec)
	}
}
