// Package opscli holds the operator commands of the idsync CLI
// (scripts/idsync): reading the audit ledger, and the environment the
// commands share (endpoints.env written by `idsync local`, or the process
// environment when run against AWS).
package opscli

import (
	"context"
	"errors"
	"fmt"
	"io"
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
	Limit    int    // most rows to print (0: all)
	Format   Format // table (default), json (one ledger entry per line) or csv
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
	if a.Format == "" {
		a.Format = FormatTable
	}
	out := NewPrinter(w, a.Format, "TIME", "PERSON", "SOURCE", "KIND", "TARGET", "OP", "OUTCOME", "REMOTE ID", "REASON")
	printed := 0
	for {
		page, err := st.Audit(ctx, q)
		if err != nil {
			return err
		}
		for _, e := range page.Entries {
			if a.Limit > 0 && printed == a.Limit {
				return out.Flush()
			}
			printed++
			if err := out.Row(e, e.At.UTC().Format(time.RFC3339), e.PersonKey, string(e.Source), string(e.Kind),
				string(e.Target), string(e.Op), string(e.Outcome), e.RemoteID, e.Reason); err != nil {
				return err
			}
		}
		if page.Cursor == "" {
			break
		}
		q.Cursor = page.Cursor
	}
	return out.Flush()
}
