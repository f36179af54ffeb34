// Package opscli holds the operator commands of the idsync CLI
// (cmd/idsync): reading the audit ledger and explaining one fact
// (audit), moving dead-lettered messages back (redrive), re-running the
// snapshot and re-emitting recorded facts (replay), and finding the ids a
// configuration needs (discover). Each command is a function over small
// interfaces that the real clients and the store satisfy; wire.go builds
// them from an internal/app App, as the CLI does.
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
	People
	Audit(ctx context.Context, q store.AuditQuery) (store.AuditPage, error)
}

// Defaults of --follow.
const (
	DefaultPollEvery = 2 * time.Second
	// DefaultLookback is how far back each --follow poll reads again: a
	// row's id is its time, and a fact's received row carries the time the
	// fact occurred, which can be well before it is written (a snapshot
	// run's facts carry the run's start).
	DefaultLookback = 5 * time.Minute
)

// AuditArgs selects ledger rows.
type AuditArgs struct {
	Person   string // a login, an Okta user id or an IdC user id
	System   bool   // snapshot-run rows and rows about no one person
	From, To time.Time
	Sources  []domain.Source
	Kinds    []domain.Kind
	Targets  []domain.Target
	Outcomes []domain.Outcome
	Limit    int    // most rows to print (0: all); not with Follow
	Format   Format // table (default), json (one ledger entry per line) or csv
	// Follow keeps printing new rows until ctx ends, polling every
	// PollEvery (default DefaultPollEvery) and reading Lookback (default
	// DefaultLookback) back each time.
	Follow    bool
	PollEvery time.Duration
	Lookback  time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// auditRow is what JSON output prints per row: the ledger entry and the
// person's login.
type auditRow struct {
	domain.LedgerEntry
	Login string `json:"login,omitempty"`
}

// Audit prints the ledger rows a selects to w, oldest first, following
// cursors until the end or the limit, with the login of each row's person
// beside its key. A person's rows are read under every key they were
// recorded under (PersonKeys) and merged in time order. With Follow it
// then prints new rows as they are written until ctx ends, which is not
// an error.
//
// Errors: ErrUsage for contradictory arguments; PersonKeys'; store errors;
// the writer's.
func Audit(ctx context.Context, st Auditor, w io.Writer, a AuditArgs) error {
	q := store.AuditQuery{System: a.System, From: a.From, To: a.To, Sources: a.Sources, Kinds: a.Kinds,
		Targets: a.Targets, Outcomes: a.Outcomes, PageSize: store.MaxPageSize}
	if a.Now == nil {
		a.Now = time.Now
	}
	if a.Format == "" {
		a.Format = FormatTable
	}
	if a.Follow && a.Limit > 0 {
		return fmt.Errorf("%w: --limit and --follow exclude each other", ErrUsage)
	}
	keys := []string{""}
	switch {
	case a.Person != "" && a.System:
		return fmt.Errorf("%w: --person and --system exclude each other", ErrUsage)
	case a.Person != "":
		var err error
		if keys, err = PersonKeys(ctx, st, a.Person); err != nil {
			return err
		}
	case !a.System && a.From.IsZero():
		if !a.Follow {
			return fmt.Errorf("%w: give --person, --system, --from or --since", ErrUsage)
		}
		q.From = a.Now()
	}
	logins := NewLogins(st)
	out := NewPrinter(w, a.Format, "TIME", "PERSON", "LOGIN", "SOURCE", "KIND", "TARGET", "OP", "OUTCOME", "REMOTE ID", "REASON")
	emit := func(e domain.LedgerEntry) error {
		login := logins.Of(ctx, e.PersonKey)
		return out.Row(auditRow{LedgerEntry: e, Login: login}, e.At.UTC().Format(time.RFC3339), e.PersonKey, login, string(e.Source),
			string(e.Kind), string(e.Target), string(e.Op), string(e.Outcome), e.RemoteID, e.Reason)
	}

	seen := map[string]time.Time{}
	printed := 0
	err := mergeAudit(ctx, st, q, keys, func(e domain.LedgerEntry) (bool, error) {
		if a.Limit > 0 && printed == a.Limit {
			return false, nil
		}
		printed++
		seen[e.ID] = e.At
		return true, emit(e)
	})
	if err != nil {
		return err
	}
	if err := out.Flush(); err != nil || !a.Follow {
		return err
	}
	return follow(ctx, st, q, keys, a, seen, emit, out.Flush)
}

// follow polls for rows not printed yet until ctx ends.
func follow(ctx context.Context, st Auditor, q store.AuditQuery, keys []string, a AuditArgs,
	seen map[string]time.Time, emit func(domain.LedgerEntry) error, flush func() error) error {
	every, lookback := a.PollEvery, a.Lookback
	if every <= 0 {
		every = DefaultPollEvery
	}
	if lookback <= 0 {
		lookback = DefaultLookback
	}
	start := q.From
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		now := a.Now()
		q.From = now.Add(-lookback)
		if q.From.Before(start) {
			q.From = start
		}
		if !a.To.IsZero() && !q.From.Before(a.To) {
			return nil
		}
		err := mergeAudit(ctx, st, q, keys, func(e domain.LedgerEntry) (bool, error) {
			if _, dup := seen[e.ID]; dup {
				return true, nil
			}
			seen[e.ID] = e.At
			return true, emit(e)
		})
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return err
		}
		if err := flush(); err != nil {
			return err
		}
		for id, at := range seen {
			if at.Before(q.From.Add(-time.Minute)) {
				delete(seen, id)
			}
		}
	}
}

// mergeAudit reads the rows q selects under each key ("" for a system or
// everyone query) and hands them to emit in id order, merged across keys,
// until emit says stop.
func mergeAudit(ctx context.Context, st Auditor, q store.AuditQuery, keys []string, emit func(domain.LedgerEntry) (bool, error)) error {
	iters := make([]*auditIter, len(keys))
	for i, k := range keys {
		kq := q
		kq.PersonKey = k
		iters[i] = &auditIter{st: st, q: kq}
	}
	for {
		var best *auditIter
		for _, it := range iters {
			e, ok, err := it.peek(ctx)
			if err != nil {
				return err
			}
			if ok && (best == nil || e.ID < best.buf[0].ID) {
				best = it
			}
		}
		if best == nil {
			return nil
		}
		e := best.buf[0]
		best.buf = best.buf[1:]
		if more, err := emit(e); err != nil || !more {
			return err
		}
	}
}

// auditIter walks one audit query's pages.
type auditIter struct {
	st   Auditor
	q    store.AuditQuery
	buf  []domain.LedgerEntry
	done bool
}

func (it *auditIter) peek(ctx context.Context) (domain.LedgerEntry, bool, error) {
	for len(it.buf) == 0 && !it.done {
		page, err := it.st.Audit(ctx, it.q)
		if err != nil {
			return domain.LedgerEntry{}, false, err
		}
		it.buf = page.Entries
		it.q.Cursor = page.Cursor
		it.done = page.Cursor == ""
	}
	if len(it.buf) == 0 {
		return domain.LedgerEntry{}, false, nil
	}
	return it.buf[0], true, nil
}
