// Package opscli holds the operator commands of the idsync CLI
// (scripts/idsync): reading the audit ledger, and the environment the
// commands share (endpoints.env written by `idsync local`, or the process
// environment when run against AWS).
package opscli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/store"
)

// ErrUsage is wrapped by errors in the command's arguments.
var ErrUsage = errors.New("usage")

// Auditor is the part of store.Store the audit command uses.
type Auditor interface {
	Audit(ctx context.Context, q store.AuditQuery) (store.AuditPage, error)
	FindByLogin(ctx context.Context, login string) ([]store.Record, error)
	FindByOktaID(ctx context.Context, id string) (store.Record, error)
	FindByIdCUserID(ctx context.Context, id string) (store.Record, error)
}

// AuditArgs selects ledger rows.
type AuditArgs struct {
	Person   string // a login, an Okta user id or an IdC user id
	System   bool   // snapshot-run rows and rows about no one person
	From, To time.Time
	Sources  []domain.Source
	Kinds    []domain.Kind
	Targets  []domain.Target
	Outcomes []domain.Outcome
	Limit    int  // most rows to print (0: all)
	JSON     bool // one JSON object per line instead of a table
}

// ResolvePerson finds a person's partition key from a login, an Okta user
// id or an IdC user id.
//
// Errors: store.ErrNotFound when nobody matches; ErrUsage when a login
// matches several people; store errors.
func ResolvePerson(ctx context.Context, st Auditor, who string) (string, error) {
	if rec, err := st.FindByOktaID(ctx, who); err == nil {
		return rec.Key, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	if rec, err := st.FindByIdCUserID(ctx, who); err == nil {
		return rec.Key, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	recs, err := st.FindByLogin(ctx, who)
	if err != nil {
		return "", err
	}
	switch len(recs) {
	case 0:
		return "", fmt.Errorf("no person with login or id %q: %w", who, store.ErrNotFound)
	case 1:
		return recs[0].Key, nil
	}
	return "", fmt.Errorf("%w: login %q matches %d people; give an Okta or IdC user id", ErrUsage, who, len(recs))
}

// Audit prints the ledger rows a selects to w, oldest first, following
// cursors until the end or the limit.
//
// Errors: ErrUsage for contradictory arguments; ResolvePerson's; store
// errors; the writer's.
func Audit(ctx context.Context, st Auditor, w io.Writer, a AuditArgs) error {
	q := store.AuditQuery{System: a.System, From: a.From, To: a.To, Sources: a.Sources, Kinds: a.Kinds,
		Targets: a.Targets, Outcomes: a.Outcomes, PageSize: store.MaxPageSize}
	if a.Person != "" {
		if a.System {
			return fmt.Errorf("%w: --person and --system exclude each other", ErrUsage)
		}
		key, err := ResolvePerson(ctx, st, a.Person)
		if err != nil {
			return err
		}
		q.PersonKey = key
	} else if !a.System && a.From.IsZero() {
		return fmt.Errorf("%w: give --person, --system or --from", ErrUsage)
	}
	tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	if !a.JSON {
		fmt.Fprintln(tw, "TIME\tPERSON\tSOURCE\tKIND\tTARGET\tOP\tOUTCOME\tREMOTE ID\tREASON")
	}
	enc := json.NewEncoder(w)
	printed := 0
	for {
		page, err := st.Audit(ctx, q)
		if err != nil {
			return err
		}
		for _, e := range page.Entries {
			if a.Limit > 0 && printed == a.Limit {
				return tw.Flush()
			}
			printed++
			if a.JSON {
				if err := enc.Encode(e); err != nil {
					return fmt.Errorf("write: %w", err)
				}
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.At.UTC().Format(time.RFC3339), dash(e.PersonKey),
				dash(string(e.Source)), dash(string(e.Kind)), dash(string(e.Target)), dash(string(e.Op)),
				e.Outcome, dash(e.RemoteID), dash(e.Reason))
		}
		if page.Cursor == "" {
			break
		}
		q.Cursor = page.Cursor
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// LoadEnvFile reads KEY=value lines (as `idsync local` writes to
// .local/endpoints.env) into a lookup that prefers the process environment.
// A missing file is not an error: the lookup is then the environment alone.
//
// Errors: an unreadable file or a line without "=".
func LoadEnvFile(path string) (func(string) string, error) {
	vals := map[string]string{}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return os.Getenv, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("%s:%d: not KEY=value", path, n)
		}
		vals[k] = v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return func(k string) string {
		if v := os.Getenv(k); v != "" {
			return v
		}
		return vals[k]
	}, nil
}
