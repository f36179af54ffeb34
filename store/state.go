package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/idsync/idsync/domain"
)

// Record is one person as stored: the partition key, the folded person and
// the last-known state of each target idsync has written for them.
//
// Key is the person key the person was first stored under and never
// changes; Person.Key is the domain key, which becomes the Okta id once it
// is known. They differ only for a person first seen by IdC user id alone
// and later linked to an Okta id. Pass Key to Target, PutTarget, Commit,
// Applied and the ledger.
type Record struct {
	Key     string
	Person  domain.Person
	Targets map[domain.Target]domain.TargetState
	// Marks are the snapshotter's emission marks kept in the partition
	// (see Mark), by target; "" is the person's diff mark.
	Marks map[domain.Target]Mark
}

// HasIdentity reports whether the partition holds the person's identity.
// AllRecords also returns partitions that hold only marks (a joiner the
// snapshotter announced whose events were not folded yet) or only target
// states.
func (r Record) HasIdentity() bool { return r.Person.Key != "" }

// Target returns the person's last-known state in t: the stored state, or
// the zero state (Version 0, not managed) when idsync never wrote one.
func (r Record) Target(t domain.Target) domain.TargetState {
	if ts, ok := r.Targets[t]; ok {
		return ts
	}
	return domain.TargetState{Target: t}
}

// FoldResult is what Fold did.
type FoldResult struct {
	Record
	// Changed: the event changed the person and the new version is stored.
	Changed bool
	// Created: the event was the first fact about the person.
	Created bool
	// Attempts is how many times Fold read and folded the person: 1, plus
	// one for every write that lost a race to a concurrent writer.
	Attempts int
}

// Person reads the person stored under key (the partition key) with a
// strongly consistent read, together with their target states.
//
// Errors: ErrNotFound when no person is stored under key; ErrInvalid for an
// empty key; SDK errors.
func (s *Store) Person(ctx context.Context, key string) (Record, error) {
	if key == "" {
		return Record{}, invalid("empty person key")
	}
	rec, found, err := s.readPartition(ctx, key)
	if err != nil {
		return Record{}, err
	}
	if !found {
		return Record{}, fmt.Errorf("store: person %s: %w", key, ErrNotFound)
	}
	return rec, nil
}

// Preview folds e into the person it is about as Fold would, without
// writing anything: what a dry run plans from. Changed and Created say what
// Fold would do; the versions are those read.
//
// Errors: those Fold would return (the event's validation error, an
// identity error, ErrNotManaged); SDK errors. Idempotent: it reads only.
func (s *Store) Preview(ctx context.Context, e domain.Event) (FoldResult, error) {
	if err := e.Validate(); err != nil {
		return FoldResult{}, fmt.Errorf("store: preview event %s: %w", e.ID, err)
	}
	rec, found, err := s.resolve(ctx, e.Subject)
	if err != nil {
		return FoldResult{}, fmt.Errorf("store: preview event %s: %w", e.ID, err)
	}
	next, changed, err := s.foldChecked(ctx, rec, found, e)
	if err != nil {
		return FoldResult{}, fmt.Errorf("store: preview event %s: %w", e.ID, err)
	}
	rec.Person = next
	return FoldResult{Record: rec, Changed: changed, Created: !found, Attempts: 1}, nil
}

// foldChecked folds e into the resolved record: the identity check of
// domain.CheckSubject for a stored person, domain.Fold, for an implicit
// relink (the IdC user id changes without Event.ReplacesIdCUserID) the
// check that no other person is linked to the new IdC user id, and, for a
// person not stored yet, the managed-people check.
func (s *Store) foldChecked(ctx context.Context, rec Record, found bool, e domain.Event) (domain.Person, bool, error) {
	if found {
		if err := domain.CheckSubject(rec.Person, e); err != nil {
			return rec.Person, false, fmt.Errorf("into %s: %w", rec.Key, err)
		}
	}
	next, changed := domain.Fold(rec.Person, e)
	if found && rec.Person.IdCUserID != "" && next.IdCUserID != rec.Person.IdCUserID && e.ReplacesIdCUserID == "" {
		other, err := s.FindByIdCUserID(ctx, next.IdCUserID)
		switch {
		case err == nil && other.Key != rec.Key:
			return rec.Person, false, fmt.Errorf("into %s: %w", rec.Key, domain.Permanent(fmt.Errorf(
				"%w: event %s names IdC user %s for person %s (linked to IdC user %s), but person %s is linked to it",
				domain.ErrIdentityConflict, e.ID, next.IdCUserID, rec.Person.Key, rec.Person.IdCUserID, other.Person.Key)))
		case err != nil && !errors.Is(err, ErrNotFound):
			return rec.Person, false, fmt.Errorf("into %s: %w", rec.Key, err)
		}
	}
	if !found && s.groupMapped != nil && !s.managed(next) {
		return rec.Person, false, domain.Stale(ErrNotManaged)
	}
	return next, changed, nil
}

// managed reports whether p is a member of a mapped group.
func (s *Store) managed(p domain.Person) bool {
	for k, m := range p.Groups {
		if !m.Member {
			continue
		}
		var g domain.GroupRef
		if id, ok := strings.CutPrefix(k, "okta:"); ok {
			g.OktaID = id
		} else if id, ok := strings.CutPrefix(k, "idc:"); ok {
			g.IdCID = id
		}
		if s.groupMapped(g) {
			return true
		}
	}
	return false
}

// Fold folds e into the person it is about and stores the result.
//
// The person is found by e.Subject.Key() (the partition read also returns
// the target states, so Record.Targets needs no further read), else by the
// subject's Okta id through the Okta-id index (a person first stored under
// their IdC user id and linked since), else by the subject's IdC user id
// (its partition, then the IdC-id index). The Okta id is authoritative: a
// person found by it is the event's person even when the IdC user id
// differs. The subject is then checked against the person's ids
// (domain.CheckSubject). A relink moves the person to the new IdC user id,
// and the identity item's idcUserId (the IdC-id index key) with it: an
// explicit one (Event.ReplacesIdCUserID), or an implicit one (the subject
// has the person's Okta id and another IdC user id and is newer than the
// person's link, Person.Linked), which is refused as an identity conflict
// when another person is linked to the new IdC user id. The person keeps
// their partition key, and the Okta-id index still finds them. A person
// found nowhere is created under e.Subject.Key(), provided the event makes
// them a member of a mapped group (Options.GroupMapped).
//
// The write is conditional on the version read (or on the item not
// existing); when a concurrent writer got there first Fold re-reads,
// re-folds and retries, up to Options.FoldAttempts times, so both writers'
// facts survive. An event that changes nothing (a duplicate, an older fact,
// a reconcile event) writes nothing and reports Changed false. Idempotent:
// folding the same event again changes nothing.
//
// Errors: the event's validation error (Permanent, wrapping
// domain.ErrInvalidEvent or domain.ErrUnknownKind); a Permanent error
// wrapping domain.ErrIdentityConflict when the subject contradicts the
// person's ids (another Okta user; another IdC user id without the
// person's Okta id; an implicit relink to an IdC user id another person is
// linked to), with the ids in the message; a Stale error wrapping
// domain.ErrSupersededLink for an event naming the IdC user id the person
// was re-linked away from, or naming another IdC user id with the
// person's Okta id that is not newer than the person's link; a Stale
// error wrapping ErrNotManaged
// when the event would create a person who is in no mapped group (nothing
// is written); ErrConflict when every attempt lost a race; SDK errors.
func (s *Store) Fold(ctx context.Context, e domain.Event) (FoldResult, error) {
	if err := e.Validate(); err != nil {
		return FoldResult{}, fmt.Errorf("store: fold event %s: %w", e.ID, err)
	}
	for attempt := 1; ; attempt++ {
		rec, found, err := s.resolve(ctx, e.Subject)
		if err != nil {
			return FoldResult{}, fmt.Errorf("store: fold event %s: %w", e.ID, err)
		}
		next, changed, err := s.foldChecked(ctx, rec, found, e)
		if err != nil {
			return FoldResult{}, fmt.Errorf("store: fold event %s: %w", e.ID, err)
		}
		if !changed {
			return FoldResult{Record: rec, Attempts: attempt}, nil
		}
		next.Version = rec.Person.Version + 1
		err = s.putIdentity(ctx, rec.Key, next, rec.Person.Version, !found)
		if err == nil {
			rec.Person = next
			return FoldResult{Record: rec, Changed: true, Created: !found, Attempts: attempt}, nil
		}
		if !errors.Is(err, ErrConflict) {
			return FoldResult{}, fmt.Errorf("store: fold event %s: %w", e.ID, err)
		}
		if attempt >= s.foldAttempts {
			return FoldResult{}, fmt.Errorf("store: fold event %s into %s: gave up after %d attempts: %w",
				e.ID, rec.Key, attempt, err)
		}
		if err := backoff(ctx, attempt, 2*time.Millisecond, 100*time.Millisecond); err != nil {
			return FoldResult{}, fmt.Errorf("store: fold event %s: %w", e.ID, err)
		}
	}
}

// resolve finds the stored person a subject names; found is false (and
// Key the subject's key) when there is none. The person found may
// contradict the subject (Fold checks that): by Okta id first, since it is
// authoritative, then by IdC user id.
func (s *Store) resolve(ctx context.Context, sub domain.Subject) (Record, bool, error) {
	key := sub.Key()
	rec, found, err := s.readPartition(ctx, key)
	if err != nil || found {
		return rec, found, err
	}
	tried := map[string]bool{key: true}
	byIndex := func(index, attr, id string, get func(domain.Person) string) (Record, bool, error) {
		keys, err := s.indexKeys(ctx, index, attr, id)
		if err != nil {
			return Record{}, false, err
		}
		for _, k := range keys {
			if tried[k] {
				continue
			}
			tried[k] = true
			other, ok, err := s.readPartition(ctx, k)
			if err != nil {
				return Record{}, false, err
			}
			if ok && get(other.Person) == id {
				return other, true, nil
			}
		}
		return Record{}, false, nil
	}
	if sub.OktaID != "" {
		other, ok, err := byIndex(indexByOktaID, attrOktaID, sub.OktaID, func(p domain.Person) string { return p.OktaID })
		if err != nil || ok {
			return other, ok, err
		}
	}
	if sub.IdCUserID != "" {
		if !tried[sub.IdCUserID] {
			tried[sub.IdCUserID] = true
			other, ok, err := s.readPartition(ctx, sub.IdCUserID)
			if err != nil {
				return Record{}, false, err
			}
			if ok && other.Person.IdCUserID == sub.IdCUserID {
				return other, true, nil
			}
		}
		other, ok, err := byIndex(indexByIdCUserID, attrIdCUserID, sub.IdCUserID, func(p domain.Person) string { return p.IdCUserID })
		if err != nil || ok {
			return other, ok, err
		}
	}
	return Record{Key: key}, false, nil
}

// readPartition reads a person's partition (identity and targets) with one
// strongly consistent query.
func (s *Store) readPartition(ctx context.Context, key string) (Record, bool, error) {
	expr, err := expression.NewBuilder().
		WithKeyCondition(expression.Key(attrPK).Equal(expression.Value(personPK(key)))).Build()
	if err != nil {
		return Record{}, false, fmt.Errorf("store: build query: %w", err)
	}
	rec := Record{Key: key}
	found := false
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName:                 aws.String(s.state),
		ConsistentRead:            aws.Bool(true),
		KeyConditionExpression:    expr.KeyCondition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return Record{}, false, sdkErr(err, "read person %s", key)
		}
		for _, item := range page.Items {
			isIdentity, err := rec.add(item)
			if err != nil {
				return Record{}, false, err
			}
			found = found || isIdentity
		}
	}
	return rec, found, nil
}

// add decodes one item of the record's partition into it: the identity
// (reported), a target state or a mark; other items are ignored.
func (rec *Record) add(item map[string]types.AttributeValue) (identity bool, err error) {
	var head struct {
		SK string `dynamodbav:"SK"`
	}
	if err := unmarshal(item, &head); err != nil {
		return false, err
	}
	switch {
	case head.SK == skIdentity:
		var it identityItem
		if err := unmarshal(item, &it); err != nil {
			return false, err
		}
		rec.Person = it.person()
		return true, nil
	case strings.HasPrefix(head.SK, targetPrefix):
		var it targetItem
		if err := unmarshal(item, &it); err != nil {
			return false, err
		}
		if rec.Targets == nil {
			rec.Targets = map[domain.Target]domain.TargetState{}
		}
		ts := it.targetState()
		rec.Targets[ts.Target] = ts
	case head.SK == skMark || strings.HasPrefix(head.SK, skMark+"#"):
		var it markItem
		if err := unmarshal(item, &it); err != nil {
			return false, err
		}
		if rec.Marks == nil {
			rec.Marks = map[domain.Target]Mark{}
		}
		m := it.mark(rec.Key)
		rec.Marks[m.Target] = m
	}
	return false, nil
}

// putIdentity writes a person's identity item, conditional on the stored
// version being expected (or, when isNew, on there being no item).
func (s *Store) putIdentity(ctx context.Context, key string, p domain.Person, expected int64, isNew bool) error {
	item, err := marshal(newIdentityItem(key, p))
	if err != nil {
		return err
	}
	cond := versionCondition(expected, isNew)
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return fmt.Errorf("store: build condition: %w", err)
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 aws.String(s.state),
		Item:                      item,
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return fmt.Errorf("store: write person %s at version %d: %w", key, expected+1, ErrConflict)
	}
	return sdkErr(err, "write person %s", key)
}

// versionCondition: the item does not exist (isNew), or its version is
// expected.
func versionCondition(expected int64, isNew bool) expression.ConditionBuilder {
	if isNew {
		return expression.AttributeNotExists(expression.Name(attrPK))
	}
	return expression.Name("version").Equal(expression.Value(expected))
}

// indexKeys returns the partition (person) keys a lookup index holds for
// value, sorted and without repeats. Index reads are eventually consistent.
func (s *Store) indexKeys(ctx context.Context, index, attr, value string) ([]string, error) {
	expr, err := expression.NewBuilder().
		WithKeyCondition(expression.Key(attr).Equal(expression.Value(value))).Build()
	if err != nil {
		return nil, fmt.Errorf("store: build query: %w", err)
	}
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName:                 aws.String(s.state),
		IndexName:                 aws.String(index),
		KeyConditionExpression:    expr.KeyCondition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	})
	var keys []string
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, sdkErr(err, "query index %s", index)
		}
		var heads []struct {
			PK string `dynamodbav:"PK"`
		}
		if err := attributevalue.UnmarshalListOfMaps(page.Items, &heads); err != nil {
			return nil, domain.Permanent(fmt.Errorf("store: decode index %s: %w", index, err))
		}
		for _, h := range heads {
			if k, ok := strings.CutPrefix(h.PK, personPrefix); ok {
				keys = append(keys, k)
			}
		}
	}
	slices.Sort(keys)
	return slices.Compact(keys), nil
}

// FindByLogin returns the people whose login is login (compared without
// regard to case), sorted by key. A login is a fallback for linking only:
// it may have belonged to someone else before. The index is eventually
// consistent, so a login changed a moment ago may not be found yet; every
// person returned is re-read consistently and really has the login.
//
// Errors: ErrInvalid for an empty login; SDK errors. No match is an empty
// result, not an error.
func (s *Store) FindByLogin(ctx context.Context, login string) ([]Record, error) {
	if login == "" {
		return nil, invalid("empty login")
	}
	keys, err := s.indexKeys(ctx, indexByLogin, attrLoginLower, strings.ToLower(login))
	if err != nil {
		return nil, err
	}
	var out []Record
	for _, k := range keys {
		rec, found, err := s.readPartition(ctx, k)
		if err != nil {
			return nil, err
		}
		if found && strings.EqualFold(rec.Person.Login.Value, login) {
			out = append(out, rec)
		}
	}
	return out, nil
}

// FindByOktaID returns the person with Okta user id id: the one stored
// under that key, else the first (by key) the Okta-id index names.
//
// Errors: ErrNotFound; ErrInvalid for an empty id; SDK errors.
func (s *Store) FindByOktaID(ctx context.Context, id string) (Record, error) {
	return s.findByID(ctx, id, "Okta id", indexByOktaID, attrOktaID, func(p domain.Person) string { return p.OktaID })
}

// FindByIdCUserID returns the person with IdC user id id: the one stored
// under that key, else the first (by key) the IdC-id index names.
//
// Errors: ErrNotFound; ErrInvalid for an empty id; SDK errors.
func (s *Store) FindByIdCUserID(ctx context.Context, id string) (Record, error) {
	return s.findByID(ctx, id, "IdC user id", indexByIdCUserID, attrIdCUserID, func(p domain.Person) string { return p.IdCUserID })
}

func (s *Store) findByID(ctx context.Context, id, what, index, attr string, get func(domain.Person) string) (Record, error) {
	if id == "" {
		return Record{}, invalid("empty %s", what)
	}
	rec, found, err := s.readPartition(ctx, id)
	if err != nil {
		return Record{}, err
	}
	if found && get(rec.Person) == id {
		return rec, nil
	}
	keys, err := s.indexKeys(ctx, index, attr, id)
	if err != nil {
		return Record{}, err
	}
	for _, k := range keys {
		if k == id {
			continue
		}
		rec, found, err := s.readPartition(ctx, k)
		if err != nil {
			return Record{}, err
		}
		if found && get(rec.Person) == id {
			return rec, nil
		}
	}
	return Record{}, fmt.Errorf("store: person with %s %s: %w", what, id, ErrNotFound)
}

// Target reads the person's last-known state in target t with a strongly
// consistent read; the zero state (Version 0) when there is none.
//
// Errors: ErrInvalid for an empty key or target; SDK errors.
func (s *Store) Target(ctx context.Context, key string, t domain.Target) (domain.TargetState, error) {
	if key == "" || t == "" {
		return domain.TargetState{}, invalid("empty person key or target")
	}
	k, err := marshal(struct {
		PK string `dynamodbav:"PK"`
		SK string `dynamodbav:"SK"`
	}{personPK(key), targetSK(t)})
	if err != nil {
		return domain.TargetState{}, err
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.state), Key: k, ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return domain.TargetState{}, sdkErr(err, "read %s state of %s", t, key)
	}
	if out.Item == nil {
		return domain.TargetState{Target: t}, nil
	}
	var it targetItem
	if err := unmarshal(out.Item, &it); err != nil {
		return domain.TargetState{}, err
	}
	return it.targetState(), nil
}

// PutTarget stores next as the person's state in next.Target, conditional
// on the stored version being expected (0: no state stored yet), and
// returns it with its new version (expected+1). Use Commit instead when
// applying an event: it also writes the idempotency record and the ledger
// rows in the same transaction. Not idempotent by itself: repeating a
// successful put with the same expected version reports ErrConflict.
//
// Errors: ErrConflict when the stored version is not expected; ErrInvalid
// for an empty key or target; SDK errors.
func (s *Store) PutTarget(ctx context.Context, key string, next domain.TargetState, expected int64) (domain.TargetState, error) {
	put, next, err := s.targetPut(key, next, expected)
	if err != nil {
		return domain.TargetState{}, err
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 put.TableName,
		Item:                      put.Item,
		ConditionExpression:       put.ConditionExpression,
		ExpressionAttributeNames:  put.ExpressionAttributeNames,
		ExpressionAttributeValues: put.ExpressionAttributeValues,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return domain.TargetState{}, fmt.Errorf("store: write %s state of %s: expected version %d: %w",
			next.Target, key, expected, ErrConflict)
	}
	if err != nil {
		return domain.TargetState{}, sdkErr(err, "write %s state of %s", next.Target, key)
	}
	return next, nil
}

// targetPut builds the conditional put of a target state at expected+1.
func (s *Store) targetPut(key string, next domain.TargetState, expected int64) (*types.Put, domain.TargetState, error) {
	if key == "" || next.Target == "" {
		return nil, domain.TargetState{}, invalid("empty person key or target")
	}
	if expected < 0 {
		return nil, domain.TargetState{}, invalid("negative expected version %d", expected)
	}
	next.Version = expected + 1
	item, err := marshal(newTargetItem(key, next))
	if err != nil {
		return nil, domain.TargetState{}, err
	}
	expr, err := expression.NewBuilder().WithCondition(versionCondition(expected, expected == 0)).Build()
	if err != nil {
		return nil, domain.TargetState{}, fmt.Errorf("store: build condition: %w", err)
	}
	return &types.Put{
		TableName:                 aws.String(s.state),
		Item:                      item,
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	}, next, nil
}
