package emf_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/idsync/idsync/internal/emf"
)

func TestFlushWritesOneEMFRecordAndResets(t *testing.T) {
	var buf bytes.Buffer
	at := time.UnixMilli(1_790_000_000_123)
	m := emf.New(&buf, "oktahook", func() time.Time { return at })
	m.Add("EventsReceived", 2)
	m.Add("EventsReceived", 3)
	m.Set("DurationMs", "Milliseconds", 41)
	m.Observe("ApiLatencyMs", "Milliseconds", 12)
	m.Observe("ApiLatencyMs", "Milliseconds", 30)
	if err := m.Flush(); err != nil {
		t.Fatal(err)
	}
	var rec struct {
		AWS struct {
			Timestamp         int64
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
				Metrics    []struct{ Name, Unit string }
			}
		} `json:"_aws"`
		Component      string
		EventsReceived float64
		DurationMs     float64
		ApiLatencyMs   []float64
	}
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("not JSON: %v: %s", err, buf.String())
	}
	if rec.AWS.Timestamp != at.UnixMilli() || rec.Component != "oktahook" || rec.EventsReceived != 5 || rec.DurationMs != 41 ||
		len(rec.ApiLatencyMs) != 2 || rec.ApiLatencyMs[1] != 30 {
		t.Fatalf("record = %+v", rec)
	}
	d := rec.AWS.CloudWatchMetrics[0]
	if d.Namespace != emf.Namespace || len(d.Metrics) != 3 || d.Metrics[0].Name != "ApiLatencyMs" || d.Metrics[1].Name != "DurationMs" ||
		d.Metrics[1].Unit != "Milliseconds" || d.Metrics[2].Unit != "Count" {
		t.Fatalf("directive = %+v", d)
	}
	buf.Reset()
	if err := m.Flush(); err != nil || buf.Len() != 0 {
		t.Fatalf("second flush wrote %q (err %v), want nothing", buf.String(), err)
	}
}
