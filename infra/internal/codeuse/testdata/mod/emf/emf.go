// Package emf stands in for the metrics writer.
package emf

import "io"

// Metrics writes metrics.
type Metrics struct{ w io.Writer }

// New returns Metrics for component.
func New(w io.Writer, component string) *Metrics { return &Metrics{w} }

// Add adds to a metric.
func (m *Metrics) Add(name string, v float64) {}
