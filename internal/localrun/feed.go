package localrun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/store"
)

// Log files a Feed writes under FeedOptions.Dir.
const (
	// IdsyncLogFile holds idsync's own JSON log records (hook, snapshot,
	// consumers, pollers).
	IdsyncLogFile = "idsync.jsonl"
	// OktaLogFile holds the Okta stand-in's records (component
	// okta-standin): its hook deliveries and SCIM mirror.
	OktaLogFile = "okta.jsonl"
)

// FeedLookup is what a Feed reads to make its lines readable: logins,
// group names and the ops a change made. *store.Store satisfies it.
type FeedLookup interface {
	Person(ctx context.Context, key string) (store.Record, error)
	FindByOktaID(ctx context.Context, id string) (store.Record, error)
	FindByIdCUserID(ctx context.Context, id string) (store.Record, error)
	ReceivedRow(ctx context.Context, eventID string) (domain.LedgerEntry, error)
	EventRows(ctx context.Context, key, eventID string) ([]domain.LedgerEntry, error)
}

// FeedOptions configure a Feed.
type FeedOptions struct {
	// Terminal receives the human-readable feed (required).
	Terminal io.Writer
	// Dir receives the JSON log files (IdsyncLogFile, OktaLogFile),
	// appended to; "" keeps no JSON logs.
	Dir string
	// Level is the least level logged, in the files and the feed (default
	// info).
	Level slog.Leveler
}

// Feed is a slog.Handler for `make run`: every record goes as JSON to a
// file under Dir (the Okta stand-in's to its own), and the records that
// say what happened become one readable line each on the terminal: one
// per fact received (time, login, kind, group), one per target's outcome
// of a fact (time, login, kind, target, outcome and the ops it ran or
// would run, or why nothing), one per snapshot run that found something,
// and warnings. Lines are rendered in order by one goroutine, which looks
// up logins, group names and ops (Attach) so that logging never waits on
// DynamoDB. Close drains it.
type Feed struct {
	term   io.Writer
	level  slog.Leveler
	files  []*os.File
	idsync slog.Handler
	okta   slog.Handler

	mu     sync.Mutex
	closed bool
	lines  chan feedRecord
	done   chan struct{}

	lookMu sync.RWMutex
	look   FeedLookup
	groups map[string]string // group key → name, from the configuration
	logins map[string]string // person key → login
}

// feedRecord is one record as the renderer needs it.
type feedRecord struct {
	at    time.Time
	level slog.Level
	msg   string
	attrs map[string]slog.Value
}

// NewFeed returns a Feed writing to o.Terminal and, when o.Dir is set, to
// its JSON files (created with their directory when missing).
//
// Errors: no terminal; the log directory or files cannot be created.
func NewFeed(o FeedOptions) (*Feed, error) {
	if o.Terminal == nil {
		return nil, errors.New("localrun: a feed needs a terminal writer")
	}
	if o.Level == nil {
		o.Level = slog.LevelInfo
	}
	f := &Feed{term: o.Terminal, level: o.Level, lines: make(chan feedRecord, 1024), done: make(chan struct{}),
		groups: map[string]string{}, logins: map[string]string{}}
	f.idsync, f.okta = slog.DiscardHandler, slog.DiscardHandler
	if o.Dir != "" {
		if err := os.MkdirAll(o.Dir, 0o700); err != nil {
			return nil, fmt.Errorf("localrun: log directory: %w", err)
		}
		open := func(name string) (slog.Handler, error) {
			fh, err := os.OpenFile(filepath.Join(o.Dir, name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
			if err != nil {
				return nil, fmt.Errorf("localrun: log file: %w", err)
			}
			f.files = append(f.files, fh)
			return slog.NewJSONHandler(fh, &slog.HandlerOptions{Level: o.Level}), nil
		}
		var err error
		if f.idsync, err = open(IdsyncLogFile); err != nil {
			return nil, err
		}
		if f.okta, err = open(OktaLogFile); err != nil {
			f.closeFiles()
			return nil, err
		}
	}
	go f.render()
	return f, nil
}

// Handler returns the slog.Handler to log through.
func (f *Feed) Handler() slog.Handler { return &feedHandler{f: f, idsync: f.idsync, okta: f.okta} }

// Attach gives the feed what it looks logins, ops and group names up in:
// the running stack's store and configuration. Before it, lines show
// person keys.
func (f *Feed) Attach(look FeedLookup, cfg domain.Config) {
	f.lookMu.Lock()
	defer f.lookMu.Unlock()
	f.look = look
	for _, g := range cfg.MappedGroups() {
		for _, k := range []string{domain.GroupRef{OktaID: g.OktaID}.Key(), domain.GroupRef{IdCID: g.IdCID}.Key()} {
			if k != "" && g.Name != "" {
				f.groups[k] = g.Name
			}
		}
	}
}

// Close renders what is queued, stops the renderer and closes the files.
// Records logged afterwards are dropped. It is idempotent.
//
// Errors: closing a file.
func (f *Feed) Close() error {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil
	}
	f.closed = true
	close(f.lines)
	f.mu.Unlock()
	<-f.done
	return f.closeFiles()
}

func (f *Feed) closeFiles() error {
	var errs []error
	for _, fh := range f.files {
		errs = append(errs, fh.Close())
	}
	f.files = nil
	return errors.Join(errs...)
}

// enqueue hands a record to the renderer.
func (f *Feed) enqueue(r feedRecord) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.closed {
		f.lines <- r
	}
}

// feedHandler is one logger's view of a Feed: its attributes and groups.
type feedHandler struct {
	f            *Feed
	idsync, okta slog.Handler
	attrs        []slog.Attr
	group        string
}

func (h *feedHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.f.level.Level() }

func (h *feedHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.idsync, c.okta = h.idsync.WithAttrs(as), h.okta.WithAttrs(as)
	for _, a := range as {
		if h.group != "" {
			a.Key = h.group + "." + a.Key
		}
		c.attrs = append(slices.Clip(c.attrs), a)
	}
	return &c
}

func (h *feedHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.idsync, c.okta = h.idsync.WithGroup(name), h.okta.WithGroup(name)
	if c.group != "" {
		name = c.group + "." + name
	}
	c.group = name
	return &c
}

func (h *feedHandler) Handle(ctx context.Context, r slog.Record) error {
	attrs := make(map[string]slog.Value, len(h.attrs)+r.NumAttrs())
	for _, a := range h.attrs {
		attrs[a.Key] = a.Value.Resolve()
	}
	r.Attrs(func(a slog.Attr) bool {
		if h.group != "" {
			a.Key = h.group + "." + a.Key
		}
		attrs[a.Key] = a.Value.Resolve()
		return true
	})
	var err error
	if attrs["component"].String() == "okta-standin" {
		err = h.okta.Handle(ctx, r)
	} else {
		err = h.idsync.Handle(ctx, r)
		h.f.enqueue(feedRecord{at: r.Time, level: r.Level, msg: r.Message, attrs: attrs})
	}
	return err
}

// render writes the feed's lines in order until the queue is closed.
func (f *Feed) render() {
	defer close(f.done)
	for r := range f.lines {
		if line := f.line(r); line != "" {
			fmt.Fprintln(f.term, line)
		}
	}
}

// lookupTimeout bounds each lookup the renderer makes.
const lookupTimeout = 2 * time.Second

// line renders one record ("" for records the feed leaves to the files).
func (f *Feed) line(r feedRecord) string {
	str := func(k string) string {
		if v, ok := r.attrs[k]; ok {
			return v.String()
		}
		return ""
	}
	at := r.at.Local().Format(time.TimeOnly)
	ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
	defer cancel()
	switch {
	case r.msg == "event queued": // the hook recorded and queued a fact
		login, what := f.fact(ctx, str("eventId"), str("person"), domain.Kind(str("kind")))
		return fmt.Sprintf("%s  %-26s %s (Okta hook)", at, login, what)
	case strings.HasPrefix(r.msg, "event ") && str("outcome") != "" && str("target") != "":
		return f.change(ctx, at, r, str)
	case r.msg == "snapshot run":
		return f.snapshot(at, r, str)
	case r.msg == "hook verified":
		return fmt.Sprintf("%s  Okta event hook verified", at)
	case str("op") != "" && str("outcome") != "":
		// A target's own line about one op: the consumer's line about the
		// event says the same, with the login.
		return ""
	case r.level >= slog.LevelWarn:
		detail := ""
		for _, k := range []string{"err", "error", "reason", "problem"} {
			if detail = str(k); detail != "" {
				break
			}
		}
		return strings.TrimSpace(fmt.Sprintf("%s  %s: %s %s", at, strings.ToLower(r.level.String()), r.msg, truncate(detail, 160)))
	}
	return ""
}

// fact describes a received fact: the subject's login and "<kind> <group>".
func (f *Feed) fact(ctx context.Context, eventID, key string, kind domain.Kind) (string, string) {
	what := string(kind)
	login := ""
	if look := f.lookup(); look != nil && eventID != "" {
		if row, err := look.ReceivedRow(ctx, eventID); err == nil {
			if e, err := store.ReceivedEvent(row); err == nil {
				login = e.Subject.Login
				if e.Group != nil {
					what += " " + f.groupName(*e.Group)
				}
			}
		}
	}
	if login == "" {
		login = f.login(ctx, key)
	}
	return login, what
}

// change describes one target's outcome of one fact.
func (f *Feed) change(ctx context.Context, at string, r feedRecord, str func(string) string) string {
	key, target, outcome := str("person"), str("target"), domain.Outcome(str("outcome"))
	what := fmt.Sprintf("%s  %-26s %-15s → %-8s %-7s", at, f.login(ctx, key), str("kind"), target, outcome)
	reason := str("reason")
	switch outcome {
	case domain.OutcomeApplied, domain.OutcomeWould, domain.OutcomeFailed:
		if ops := f.ops(ctx, key, str("eventId"), domain.Target(target), outcome); ops != "" {
			what += " " + ops
		}
	}
	if outcome == domain.OutcomeWould {
		what += " (dry run)"
	}
	if reason != "" {
		what += " " + truncate(reason, 160)
	}
	if src := str("source"); src == string(domain.SourceReplay) {
		what += " [replay]"
	}
	return strings.TrimRight(what, " ")
}

// snapshot describes a snapshot run that found something or failed.
func (f *Feed) snapshot(at string, r feedRecord, str func(string) string) string {
	events, complete := str("events"), str("complete")
	if (events == "0" || events == "") && complete != "false" && r.level < slog.LevelWarn {
		return ""
	}
	line := fmt.Sprintf("%s  IdC snapshot: %s members, %s joiners, %s leavers, %s changes → %s events queued",
		at, str("members"), str("joiners"), str("leavers"), str("changes"), events)
	if complete == "false" {
		line += "; incomplete, removals suppressed"
	}
	if e := str("error"); e != "" {
		line += "; " + truncate(e, 160)
	}
	return line
}

func (f *Feed) lookup() FeedLookup {
	f.lookMu.RLock()
	defer f.lookMu.RUnlock()
	return f.look
}

func (f *Feed) groupName(g domain.GroupRef) string {
	if g.Name != "" {
		return g.Name
	}
	f.lookMu.RLock()
	defer f.lookMu.RUnlock()
	if n := f.groups[g.Key()]; n != "" {
		return n
	}
	return g.Key()
}

// login returns the login of the person stored under or known by key, or
// key itself when there is none (yet).
func (f *Feed) login(ctx context.Context, key string) string {
	if key == "" {
		return "-"
	}
	f.lookMu.RLock()
	l, ok := f.logins[key]
	look := f.look
	f.lookMu.RUnlock()
	if ok || look == nil {
		return orKey(l, key)
	}
	for _, find := range []func(context.Context, string) (store.Record, error){look.Person, look.FindByOktaID, look.FindByIdCUserID} {
		if rec, err := find(ctx, key); err == nil && rec.Person.Login.Value != "" {
			l = rec.Person.Login.Value
			break
		}
	}
	if l != "" {
		f.lookMu.Lock()
		f.logins[key] = l
		f.lookMu.Unlock()
	}
	return orKey(l, key)
}

func orKey(login, key string) string {
	if login == "" {
		return key
	}
	return login
}

// ops lists the ops target ran (or would run, or failed at) for an event.
func (f *Feed) ops(ctx context.Context, key, eventID string, t domain.Target, outcome domain.Outcome) string {
	look := f.lookup()
	if look == nil || key == "" || eventID == "" {
		return ""
	}
	rows, err := look.EventRows(ctx, key, eventID)
	if err != nil {
		return ""
	}
	var ops []string
	for _, r := range rows {
		if r.Target == t && r.Op != "" && (r.Outcome == outcome || r.Outcome == domain.OutcomeApplied) {
			ops = append(ops, string(r.Op))
		}
	}
	return strings.Join(ops, ", ")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
