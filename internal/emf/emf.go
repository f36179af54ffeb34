// Package emf writes CloudWatch Embedded Metric Format records: one JSON
// line per flush that CloudWatch Logs turns into metrics, so Lambda
// functions publish metrics without an API call.
package emf

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"
)

// Namespace is the CloudWatch namespace of every idsync metric.
const Namespace = "idsync"

// Metrics accumulates counts (and other values) for one component and
// writes them as one EMF record. It is safe for concurrent use.
type Metrics struct {
	mu        sync.Mutex
	w         io.Writer
	now       func() time.Time
	component string
	values    map[string]float64
	samples   map[string][]float64
	units     map[string]string
}

// New returns Metrics for component writing to w (usually os.Stdout, which
// Lambda sends to CloudWatch Logs).
func New(w io.Writer, component string, now func() time.Time) *Metrics {
	return &Metrics{w: w, now: now, component: component, values: map[string]float64{}, samples: map[string][]float64{}, units: map[string]string{}}
}

// Add adds n to a Count metric.
func (m *Metrics) Add(name string, n float64) { m.put(name, "Count", n, true) }

// Observe adds one sample of a distribution (e.g. a latency in
// "Milliseconds"); all samples since the last flush are written as the
// metric's array of values, which CloudWatch aggregates.
func (m *Metrics) Observe(name, unit string, v float64) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.samples[name] = append(m.samples[name], v)
	m.units[name] = unit
}

// Set sets a metric with a unit (e.g. "Milliseconds"), replacing any value.
func (m *Metrics) Set(name, unit string, v float64) { m.put(name, unit, v, false) }

func (m *Metrics) put(name, unit string, v float64, add bool) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if add {
		m.values[name] += v
	} else {
		m.values[name] = v
	}
	m.units[name] = unit
}

// Flush writes the accumulated metrics as one EMF line and resets them. It
// writes nothing when there is nothing to report.
//
// Errors: the writer's.
func (m *Metrics) Flush() error {
	if m == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.values) == 0 && len(m.samples) == 0 {
		return nil
	}
	names := make([]string, 0, len(m.values)+len(m.samples))
	for n := range m.values {
		names = append(names, n)
	}
	for n := range m.samples {
		names = append(names, n)
	}
	sort.Strings(names)
	type metric struct {
		Name string `json:"Name"`
		Unit string `json:"Unit"`
	}
	defs := make([]metric, len(names))
	rec := map[string]any{"Component": m.component}
	for i, n := range names {
		defs[i] = metric{Name: n, Unit: m.units[n]}
		if v, ok := m.samples[n]; ok {
			rec[n] = v
		} else {
			rec[n] = m.values[n]
		}
	}
	rec["_aws"] = map[string]any{
		"Timestamp": m.now().UnixMilli(),
		"CloudWatchMetrics": []any{map[string]any{
			"Namespace":  Namespace,
			"Dimensions": [][]string{{"Component"}},
			"Metrics":    defs,
		}},
	}
	line, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("emf: encode: %w", err)
	}
	m.values = map[string]float64{}
	m.samples = map[string][]float64{}
	m.units = map[string]string{}
	if _, err := m.w.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("emf: write: %w", err)
	}
	return nil
}
