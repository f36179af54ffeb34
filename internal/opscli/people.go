package opscli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/idsync/idsync/store"
)

// People is the part of store.Store that finds people.
type People interface {
	Person(ctx context.Context, key string) (store.Record, error)
	FindByLogin(ctx context.Context, login string) ([]store.Record, error)
	FindByOktaID(ctx context.Context, id string) (store.Record, error)
	FindByIdCUserID(ctx context.Context, id string) (store.Record, error)
}

// maxPersonKeys bounds how many keys PersonKeys follows for one person.
const maxPersonKeys = 16

// PersonKeys resolves who (a login, an Okta user id, an IdC user id or a
// person key) to every key the person's ledger rows may be recorded
// under, sorted: the partition key of their state, their Okta user id,
// their IdC user id, and the same of every other stored record that shares
// one of those ids (a person stored twice before their two ids were
// linked). A fact's received row is recorded under its subject's key (the
// Okta id when the source knew it) while the consumers' rows go to the
// partition the person was first stored under (their IdC id when the
// snapshot saw them first), so one person's rows can sit under two keys.
//
// Errors: store.ErrNotFound (wrapped) when nobody matches; ErrUsage when a
// login matches several people; store errors.
func PersonKeys(ctx context.Context, st People, who string) ([]string, error) {
	if who == "" {
		return nil, fmt.Errorf("%w: an empty person", ErrUsage)
	}
	var recs []store.Record
	for _, find := range []func(context.Context, string) (store.Record, error){st.Person, st.FindByOktaID, st.FindByIdCUserID} {
		rec, err := find(ctx, who)
		if err == nil {
			recs = append(recs, rec)
			continue
		}
		if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	if len(recs) == 0 {
		byLogin, err := st.FindByLogin(ctx, who)
		if err != nil {
			return nil, err
		}
		switch len(byLogin) {
		case 0:
			return nil, fmt.Errorf("no person with login or id %q: %w", who, store.ErrNotFound)
		case 1:
		default:
			var keys []string
			for _, r := range byLogin {
				keys = append(keys, r.Key)
			}
			return nil, fmt.Errorf("%w: login %q matches %d people (%v); give an Okta or IdC user id", ErrUsage, who, len(byLogin), keys)
		}
		recs = byLogin
	}

	keys := map[string]bool{}
	var queue []string
	add := func(rec store.Record) {
		for _, k := range []string{rec.Key, rec.Person.OktaID, rec.Person.IdCUserID} {
			if k != "" && !keys[k] && len(keys) < maxPersonKeys {
				keys[k] = true
				queue = append(queue, k)
			}
		}
	}
	for _, r := range recs {
		add(r)
	}
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		for _, find := range []func(context.Context, string) (store.Record, error){st.Person, st.FindByOktaID, st.FindByIdCUserID} {
			rec, err := find(ctx, id)
			if err != nil {
				if errors.Is(err, store.ErrNotFound) {
					continue
				}
				return nil, err
			}
			add(rec)
		}
	}
	out := make([]string, 0, len(keys))
	for k := range keys {
		out = append(out, k)
	}
	slices.Sort(out)
	return out, nil
}

// Logins finds and remembers the logins of person keys, for tables that
// show the login beside the key. The ledger holds ids only; the login is
// read from the person's state. It is safe for concurrent use; a nil
// *Logins knows no login.
type Logins struct {
	st People
	mu sync.Mutex
	m  map[string]string
}

// NewLogins returns a Logins reading st (nil: none).
func NewLogins(st People) *Logins {
	if st == nil {
		return nil
	}
	return &Logins{st: st, m: map[string]string{}}
}

// Of returns the login of the person stored under, or known by, key, or
// "" when there is none. Lookup failures are not errors: the login is a
// convenience.
func (l *Logins) Of(ctx context.Context, key string) string {
	if l == nil || key == "" {
		return ""
	}
	l.mu.Lock()
	login, ok := l.m[key]
	l.mu.Unlock()
	if ok {
		return login
	}
	for _, find := range []func(context.Context, string) (store.Record, error){l.st.Person, l.st.FindByOktaID, l.st.FindByIdCUserID} {
		if rec, err := find(ctx, key); err == nil && rec.Person.Login.Value != "" {
			login = rec.Person.Login.Value
			break
		} else if err != nil && !errors.Is(err, store.ErrNotFound) {
			return "" // not remembered: a later call may succeed
		}
	}
	l.mu.Lock()
	l.m[key] = login
	l.mu.Unlock()
	return login
}

// Remember records a login known from elsewhere (an event's subject).
func (l *Logins) Remember(key, login string) {
	if l == nil || key == "" || login == "" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m[key] == "" {
		l.m[key] = login
	}
}
