package opscli

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Format is how a command prints its rows.
type Format string

// Formats: an aligned table for people, JSON (one object per line) and CSV
// (with a header row) for scripts.
const (
	FormatTable Format = "table"
	FormatJSON  Format = "json"
	FormatCSV   Format = "csv"
)

// ParseFormat checks a --output value.
//
// Errors: ErrUsage for anything but table, json or csv.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(s)); f {
	case FormatTable, FormatJSON, FormatCSV:
		return f, nil
	}
	return "", fmt.Errorf("%w: --output %q is not table, json or csv", ErrUsage, s)
}

// Printer writes rows in one Format: a header once, then rows as they
// come (so a long listing starts printing at once). JSON rows are objects
// keyed by the header names in lower camel case unless Records are given.
type Printer struct {
	format  Format
	w       io.Writer
	headers []string
	tw      *tabwriter.Writer
	cw      *csv.Writer
	enc     *json.Encoder
	started bool
}

// NewPrinter returns a Printer of rows with the given column headers.
func NewPrinter(w io.Writer, f Format, headers ...string) *Printer {
	p := &Printer{format: f, w: w, headers: headers}
	switch f {
	case FormatCSV:
		p.cw = csv.NewWriter(w)
	case FormatJSON:
		p.enc = json.NewEncoder(w)
	default:
		p.tw = tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	}
	return p
}

func (p *Printer) header() error {
	if p.started {
		return nil
	}
	p.started = true
	switch p.format {
	case FormatCSV:
		return p.cw.Write(p.headers)
	case FormatJSON:
		return nil
	}
	_, err := fmt.Fprintln(p.tw, strings.Join(p.headers, "\t"))
	return err
}

// Row prints one row of cells (one per header); record, when not nil, is
// what JSON prints instead of a map of the cells.
//
// Errors: the writer's.
func (p *Printer) Row(record any, cells ...string) error {
	if err := p.header(); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	var err error
	switch p.format {
	case FormatCSV:
		err = p.cw.Write(cells)
	case FormatJSON:
		if record == nil {
			m := make(map[string]string, len(cells))
			for i, c := range cells {
				if i < len(p.headers) {
					m[jsonKey(p.headers[i])] = c
				}
			}
			record = m
		}
		err = p.enc.Encode(record)
	default:
		for i, c := range cells {
			if c == "" {
				cells[i] = "-"
			}
		}
		_, err = fmt.Fprintln(p.tw, strings.Join(cells, "\t"))
	}
	if err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

// Flush writes what is buffered (the table's aligned rows, CSV's buffer).
// A table with no rows still prints its header.
//
// Errors: the writer's.
func (p *Printer) Flush() error {
	if p.format == FormatTable || p.format == FormatCSV {
		if err := p.header(); err != nil {
			return fmt.Errorf("write: %w", err)
		}
	}
	var err error
	switch p.format {
	case FormatCSV:
		p.cw.Flush()
		err = p.cw.Error()
	case FormatTable:
		err = p.tw.Flush()
	}
	if err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

// jsonKey turns a header such as "REMOTE ID" into "remoteId".
func jsonKey(h string) string {
	words := strings.Fields(strings.ToLower(h))
	for i := 1; i < len(words); i++ {
		words[i] = strings.ToUpper(words[i][:1]) + words[i][1:]
	}
	return strings.Join(words, "")
}
