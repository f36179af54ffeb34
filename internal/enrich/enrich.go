// Package enrich supplies, before a consumer plans, the facts a person
// still lacks for that target and that the event hook does not carry:
//
//   - Connect needs a first and a last name. When a person who qualifies
//     for an agent lacks them (or has only provisional ones), has an Okta
//     user id, and Okta API access is configured, the profile is read from
//     Okta's Users API (oktaapi) and returned as a profile fact. Without
//     Okta API access, or when Okta does not know the user, a provisional
//     fact splits the person's display name (or the local part of the
//     login) into first and last name.
//   - A WorkMail mailbox is linked to its IAM Identity Center user
//     (IdentityProviderUserId). When a person who qualifies for a mailbox
//     has no IdC user id yet, it is looked up (idcresolve) and returned as
//     a fact that links it; nobody found yet returns nothing (the SCIM
//     push lags; the next event or the snapshot links it later, and the
//     WorkMail target sets it then with UpdateUser).
//
// # The seam
//
// The consumer runner calls Enrich after folding an event and before
// planning, folds the returned facts into the person (store Fold, or
// Apply in a dry run) and plans from the result:
//
//	facts, err := enricher.Enrich(ctx, folded.Person, target.Name(), now)
//	// err: classified (domain.KindOf); retryable → return the message
//	for _, f := range facts { folded, err = store.Fold(ctx, f) }
//	plan, err := target.Plan(ctx, folded.Person, last, now)
//
// Facts are ordinary domain.Events that validate, with deterministic ids
// (domain.NewEventID over a source event id that names what they were
// derived from), so enriching the same person again gives the same
// events, which fold to nothing new. Enrich returns only facts that change
// the person.
//
// # Why provisional names never win over real ones
//
// Fold (domain/fold.go) is last-writer-wins per field by OccurredAt, ties
// broken by the greater event id. A provisional fact occurs at
// ProvisionalAt(basis): within 1970, before ProvisionalCeiling
// (1971-01-01), while every real fact (an Okta hook's published time, a
// snapshot's TakenAt, an Okta user's lastUpdated) occurs decades later. So
// a provisional name is folded only into a field that was never set (its
// stamp is the zero time, year 1), loses to every real fact whichever
// arrives first, and the next snapshot replaces it: the snapshot diff
// never spares a provisional stamp as "learned within the settle window",
// since that window is measured back from the run's time. Between two
// provisional facts, the one derived from the newer display name or login
// wins (ProvisionalAt is monotonic). IsProvisional tells a provisional
// field by its stamp, and Enrich tries the Okta API again for such a
// field.
package enrich

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/idcresolve"
	"github.com/idsync/idsync/internal/oktaapi"
)

// Sources of the facts.
const (
	// SourceOktaAPI is the source of profile facts read from Okta's Users
	// API.
	SourceOktaAPI = domain.SourceOktaAPI
	// SourceIdCLookup is the source of IdC links read from IdentityStore.
	SourceIdCLookup = domain.SourceIdCLookup
	// SourceProvisional is the source of provisional names: they come from
	// what the hooks told (display name, login).
	SourceProvisional = domain.SourceOktaHook
)

// Prefixes of the facts' source event ids.
const (
	// PrefixOktaAPI: "okta-api:<okta user id>@<lastUpdated RFC 3339>".
	PrefixOktaAPI = "okta-api:"
	// PrefixProvisional: "provisional:<person key>:<event id of the
	// display-name or login fact the names come from>".
	PrefixProvisional = "provisional:"
	// PrefixIdCLink: "idc-link:<externalId|userName>:<IdC user id>".
	PrefixIdCLink = "idc-link:"
)

// ErrInvalid is wrapped by New for invalid Options (Permanent).
var ErrInvalid = errors.New("enrich: invalid options")

// OktaUsers reads Okta users; *oktaapi.Client satisfies it.
type OktaUsers interface {
	GetUser(ctx context.Context, id string) (oktaapi.User, error)
}

// IdCResolver finds IdC user ids; *idcresolve.Resolver satisfies it.
type IdCResolver interface {
	Resolve(ctx context.Context, oktaID, login string) (idcresolve.Match, error)
}

// Options configures an Enricher.
type Options struct {
	// Config says who qualifies for which target; at least one target
	// must be configured. Required.
	Config domain.Config
	// Okta is Okta API access (OKTA_API_SECRET_ID or
	// OKTA_API_SECRET_PARAMETER set, internal/settings). Leave it nil when there is none (not a nil *Client):
	// names are then provisional.
	Okta OktaUsers
	// IdC resolves IdC user ids for WorkMail links. Nil: no lookups.
	IdC IdCResolver
	// Logger receives one line per person enriched or lookup failed:
	// person key, target, what was learned; never a name. Default:
	// discard.
	Logger *slog.Logger
}

// Enricher supplies missing facts before planning. It is safe for
// concurrent use.
type Enricher struct {
	workmail *domain.WorkMailConfig
	connect  *domain.ConnectConfig
	okta     OktaUsers
	idc      IdCResolver
	log      *slog.Logger
}

// New returns an Enricher.
//
// Errors (Permanent, wrapping ErrInvalid, every problem at once): no
// target configured; a Connect group without an IdC group id while there
// is no Okta API access (see CheckConfig).
func New(o Options) (*Enricher, error) {
	if o.Config.WorkMail == nil && o.Config.Connect == nil {
		return nil, domain.Permanent(fmt.Errorf("%w: Config names neither workmail nor connect", ErrInvalid))
	}
	if err := CheckConfig(o.Config, o.Okta != nil); err != nil {
		return nil, err
	}
	e := &Enricher{workmail: o.Config.WorkMail, connect: o.Config.Connect, okta: o.Okta, idc: o.IdC, log: o.Logger}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	return e, nil
}

// CheckConfig refuses a Connect group that has no IdC group id when there
// is no Okta API access: its members would get only provisional names,
// which no snapshot ever corrects (the snapshot reads IdC groups only).
//
// Errors: Permanent, wrapping ErrInvalid, naming every such group by its
// position, Okta id and name.
func CheckConfig(cfg domain.Config, oktaAPI bool) error {
	if cfg.Connect == nil || oktaAPI {
		return nil
	}
	var bad []string
	for i, g := range cfg.Connect.Groups {
		if g.IdCID == "" {
			bad = append(bad, fmt.Sprintf("connect.groups[%d] (okta %s %q)", i, g.OktaID, g.Name))
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return domain.Permanent(fmt.Errorf("%w: %s: no idcId and no Okta API access: members would never get real first and last names",
		ErrInvalid, strings.Join(bad, ", ")))
}

// Enrich returns the facts p lacks for target, to be folded (in order)
// before planning; none when p lacks nothing, does not qualify for target,
// or nothing could be learned yet. now stamps the facts' ReceivedAt only:
// their ids and occurred-at times come from what they were derived from,
// so enriching again gives the same events.
//
//   - connect: when p qualifies for an agent and lacks a first or last name
//     (or has a provisional one): a profile fact read from Okta (Options.Okta,
//     p has an Okta id); when there is no Okta access, Okta does not know
//     the user, or Okta's profile lacks the names: a provisional fact
//     (SplitName of the display name, else of the login's local part).
//   - workmail: when p qualifies for a mailbox, has an Okta id and no IdC
//     user id: a profile-changed fact whose subject carries both ids
//     (Options.IdC), which Fold takes as the link. None when IdC does not
//     know the user yet, or knows the login only as another Okta user's
//     (idcresolve.ErrMismatch, logged).
//
// Errors: the Okta or IdentityStore failure, wrapped with the person key
// and keeping its mark (domain.KindOf): retryable ones (rate limits,
// 5xx, timeouts) mean "return the message and try later"; permanent ones
// (credentials refused, scope missing) mean the configuration needs
// fixing. Okta's ErrNotFound is no error: the provisional names are used.
func (e *Enricher) Enrich(ctx context.Context, p domain.Person, target domain.Target, now time.Time) ([]domain.Event, error) {
	if p.Key == "" {
		return nil, nil
	}
	var facts []domain.Event
	var how []any
	var err error
	switch target {
	case domain.TargetConnect:
		facts, how, err = e.names(ctx, p, now)
	case domain.TargetWorkMail:
		facts, how, err = e.link(ctx, p, now)
	}
	if err != nil {
		e.log.WarnContext(ctx, "enrichment failed", "person", p.Key, "target", string(target),
			"errorKind", domain.KindOf(err).String(), "err", err.Error())
		return nil, err
	}
	for _, f := range facts {
		if err := f.Validate(); err != nil {
			return nil, fmt.Errorf("enrich: person %s: made an invalid fact: %w", p.Key, err)
		}
	}
	if len(facts) > 0 {
		ids := make([]string, len(facts))
		for i, f := range facts {
			ids[i] = f.ID
		}
		e.log.InfoContext(ctx, "person enriched", append([]any{"person", p.Key, "target", string(target), "eventIds", ids}, how...)...)
	}
	return facts, nil
}

// names supplies first and last name for Connect.
func (e *Enricher) names(ctx context.Context, p domain.Person, now time.Time) ([]domain.Event, []any, error) {
	if e.connect == nil || !e.connect.Qualifies(p) || !needsNames(p) {
		return nil, nil, nil
	}
	var facts []domain.Event
	var how []any
	cur := p
	if e.okta != nil && p.OktaID != "" {
		u, err := e.okta.GetUser(ctx, p.OktaID)
		switch {
		case errors.Is(err, oktaapi.ErrNotFound):
			how = append(how, "okta", "user not found")
		case err != nil:
			return nil, nil, fmt.Errorf("enrich: person %s: read Okta user: %w", p.Key, err)
		case u.ID != p.OktaID:
			how = append(how, "okta", "answered another user id: ignored")
		default:
			var kept bool
			cur, facts, kept = keep(cur, facts, oktaFact(p, u, now))
			if kept {
				how = append(how, "names", "okta-api")
			}
		}
	}
	if needsNames(cur) {
		if f, ok := provisionalFact(cur, now); ok {
			var kept bool
			_, facts, kept = keep(cur, facts, f)
			if kept {
				how = append(how, "names", "provisional")
			}
		}
	}
	return facts, how, nil
}

// link supplies the IdC user id for WorkMail.
func (e *Enricher) link(ctx context.Context, p domain.Person, now time.Time) ([]domain.Event, []any, error) {
	if e.workmail == nil || e.idc == nil || p.IdCUserID != "" || p.OktaID == "" || !e.workmail.Qualifies(p) {
		return nil, nil, nil
	}
	m, err := e.idc.Resolve(ctx, p.OktaID, p.Login.Value)
	switch {
	case errors.Is(err, idcresolve.ErrMismatch):
		e.log.WarnContext(ctx, "IdC user with this login belongs to another Okta user; not linked", "person", p.Key, "err", err.Error())
		return nil, nil, nil
	case err != nil:
		return nil, nil, fmt.Errorf("enrich: person %s: resolve IdC user: %w", p.Key, err)
	case m.UserID == "":
		e.log.DebugContext(ctx, "IdC user not found yet", "person", p.Key)
		return nil, nil, nil
	}
	_, facts, _ := keep(p, nil, linkFact(p, m, now))
	return facts, []any{"idcUserId", m.UserID, "linkedBy", string(m.By)}, nil
}

// keep appends f to facts when folding it changes p.
func keep(p domain.Person, facts []domain.Event, f domain.Event) (domain.Person, []domain.Event, bool) {
	next, changed := domain.Fold(p, f)
	if !changed {
		return p, facts, false
	}
	return next, append(facts, f), true
}

// Apply folds facts into p in order (domain.Fold), for a caller that plans
// without storing them (a dry run). Pure.
func Apply(p domain.Person, facts []domain.Event) domain.Person {
	for _, f := range facts {
		p, _ = domain.Fold(p, f)
	}
	return p
}

// subject names p by its key id only, so that a fact never carries a
// login (which Fold would take as a login fact) or an id p might lose.
func subject(p domain.Person) domain.Subject {
	if p.OktaID != "" {
		return domain.Subject{OktaID: p.OktaID}
	}
	return domain.Subject{IdCUserID: p.IdCUserID}
}

// oktaFact is the profile read from Okta, occurred at the user's
// lastUpdated (else created, else now): non-empty attributes only, so
// that an attribute Okta leaves null says nothing.
func oktaFact(p domain.Person, u oktaapi.User, now time.Time) domain.Event {
	at := u.LastUpdated
	if at.IsZero() {
		at = u.Created
	}
	if at.IsZero() {
		at = now
	}
	at = at.UTC()
	val := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	pr := u.Profile
	sub := subject(p)
	sid := PrefixOktaAPI + u.ID + "@" + at.Format(time.RFC3339Nano)
	return domain.Event{
		ID: domain.NewEventID(SourceOktaAPI, sid, sub.Key(), at), Source: SourceOktaAPI, SourceEventID: sid,
		Kind: domain.KindProfileChanged, Subject: sub,
		Profile: &domain.Profile{Login: val(pr.Login), FirstName: val(pr.FirstName), LastName: val(pr.LastName),
			DisplayName: val(pr.DisplayName), Email: val(pr.Email), Department: val(pr.Department), Title: val(pr.Title)},
		OccurredAt: at, ReceivedAt: now.UTC(),
	}
}

// provisionalFact splits p's display name (else login) into first and
// last name, occurred at ProvisionalAt of the fact they come from.
func provisionalFact(p domain.Person, now time.Time) (domain.Event, bool) {
	first, last, basis, ok := provisionalNames(p)
	if !ok {
		return domain.Event{}, false
	}
	by := basis.By
	if by == "" {
		by = "-"
	}
	at := ProvisionalAt(basis.At)
	sub := subject(p)
	sid := PrefixProvisional + p.Key + ":" + by
	return domain.Event{
		ID: domain.NewEventID(SourceProvisional, sid, sub.Key(), at), Source: SourceProvisional, SourceEventID: sid,
		Kind: domain.KindProfileChanged, Subject: sub,
		Profile:    &domain.Profile{FirstName: &first, LastName: &last},
		OccurredAt: at, ReceivedAt: now.UTC(),
	}, true
}

// linkFact links p to IdC user m.UserID, occurred at p's latest fact (so
// that it is the same fact however often p is enriched before it is
// folded).
func linkFact(p domain.Person, m idcresolve.Match, now time.Time) domain.Event {
	at := latest(p)
	if at.IsZero() {
		at = now.UTC()
	}
	sid := PrefixIdCLink + string(m.By) + ":" + m.UserID
	sub := domain.Subject{OktaID: p.OktaID, IdCUserID: m.UserID}
	return domain.Event{
		ID: domain.NewEventID(SourceIdCLookup, sid, sub.Key(), at), Source: SourceIdCLookup, SourceEventID: sid,
		Kind: domain.KindProfileChanged, Subject: sub, OccurredAt: at, ReceivedAt: now.UTC(),
	}
}

// latest is the newest stamp of any of p's facts.
func latest(p domain.Person) time.Time {
	var t time.Time
	for _, s := range []domain.Stamped{p.Login, p.FirstName, p.LastName, p.DisplayName, p.Email, p.Department, p.Title, p.Status} {
		if s.At.After(t) {
			t = s.At
		}
	}
	for _, m := range p.Groups {
		if m.At.After(t) {
			t = m.At
		}
	}
	return t.UTC()
}
