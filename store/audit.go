package store

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/oklog/ulid/v2"

	"github.com/idsync/idsync/domain"
)

// Audit page sizes.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
	// MaxAuditDays is the most day buckets one everyone query may span.
	MaxAuditDays = 731
)

// AuditQuery selects ledger rows. Rows are ordered by id (a ULID, so by
// time at millisecond resolution; a received row's id is its event's id,
// whose time is when the fact occurred). Idempotency records are never
// returned.
type AuditQuery struct {
	// PersonKey selects one person's rows (their partition key). System
	// selects the rows about no one person (snapshot runs). With neither,
	// everyone's rows with ids in [From, To) are read through the day index,
	// one day bucket after another; From is then required.
	PersonKey string
	System    bool
	// From (inclusive) and To (exclusive) bound the rows' id times. Zero
	// From means the beginning; zero To means no upper bound for a person
	// or system query and the clock's time for an everyone query.
	From, To time.Time
	// Filters: a row must match one value of every non-empty list.
	Sources  []domain.Source
	Kinds    []domain.Kind
	Targets  []domain.Target
	Outcomes []domain.Outcome
	// Descending returns the newest rows first.
	Descending bool
	// PageSize is the most rows one page returns (default DefaultPageSize,
	// at most MaxPageSize).
	PageSize int
	// Cursor continues from the page that returned it; "" starts afresh.
	// A cursor only continues the query that issued it.
	Cursor string
}

// AuditPage is one page of rows and the cursor of the next page ("" when
// there is none). A page may hold fewer than PageSize rows and still have a
// cursor.
type AuditPage struct {
	Entries []domain.LedgerEntry
	Cursor  string
}

// cursor is the opaque continuation of an audit query.
type cursor struct {
	V    int               `json:"v"`
	Q    string            `json:"q"`           // query fingerprint
	High uint64            `json:"h"`           // resolved upper bound (ms, exclusive)
	Day  string            `json:"d,omitempty"` // bucket to resume in (everyone queries)
	Key  map[string]string `json:"k"`           // exclusive start key
}

// Audit returns one page of the ledger rows q selects, oldest first unless
// q.Descending. Follow AuditPage.Cursor for the next page.
//
// Errors: ErrBadCursor (Permanent) for a cursor that is malformed or was
// issued for another query; ErrInvalid (Permanent) for PersonKey with
// System, an everyone query without From or spanning more than
// MaxAuditDays, To before From, a page size above MaxPageSize; SDK errors.
func (s *Store) Audit(ctx context.Context, q AuditQuery) (AuditPage, error) {
	if q.PersonKey != "" && q.System {
		return AuditPage{}, invalid("audit query with both a person key and System")
	}
	everyone := q.PersonKey == "" && !q.System
	if everyone && q.From.IsZero() {
		return AuditPage{}, invalid("an audit of everyone needs From")
	}
	size := q.PageSize
	switch {
	case size == 0:
		size = DefaultPageSize
	case size < 0 || size > MaxPageSize:
		return AuditPage{}, invalid("page size %d not in 1..%d", size, MaxPageSize)
	}
	fp, err := fingerprint(q)
	if err != nil {
		return AuditPage{}, err
	}

	low := msOf(q.From)
	high := ulid.MaxTime() + 1
	switch {
	case !q.To.IsZero():
		high = msOf(q.To)
	case everyone:
		high = msOf(s.now()) + 1
	}
	var cur cursor
	if q.Cursor != "" {
		if cur, err = decodeCursor(q.Cursor, fp); err != nil {
			return AuditPage{}, err
		}
		high = cur.High
	}
	if high <= low {
		if !q.To.IsZero() && q.To.Before(q.From) {
			return AuditPage{}, invalid("audit To %v is before From %v", q.To, q.From)
		}
		return AuditPage{}, nil
	}

	filter, hasFilter := auditFilter(q)
	var days []string
	if everyone {
		for d := time.UnixMilli(int64(low)).UTC().Truncate(24 * time.Hour); d.Before(time.UnixMilli(int64(high)).UTC()); d = d.Add(24 * time.Hour) {
			days = append(days, dayBucket(d))
		}
		if len(days) > MaxAuditDays {
			return AuditPage{}, invalid("audit range spans %d days (at most %d)", len(days), MaxAuditDays)
		}
		if q.Descending {
			slices.Reverse(days)
		}
		if cur.Day != "" {
			i := slices.Index(days, cur.Day)
			if i < 0 {
				return AuditPage{}, domain.Permanent(fmt.Errorf("store: %w: day %s outside the query", ErrBadCursor, cur.Day))
			}
			days = days[i:]
		}
	} else {
		days = []string{""}
	}

	lowID, highID := ulidBound(low, false), ulidBound(high-1, true)
	page := AuditPage{}
	for di, day := range days {
		var kc expression.KeyConditionBuilder
		in := &dynamodb.QueryInput{
			TableName:        aws.String(s.ledger),
			ScanIndexForward: aws.Bool(!q.Descending),
		}
		if everyone {
			in.IndexName = aws.String(indexByDay)
			kc = expression.Key(attrDay).Equal(expression.Value(day)).
				And(expression.Key(attrID).Between(expression.Value(lowID), expression.Value(highID)))
		} else {
			pk := ledgerPK(q.PersonKey)
			// Timeline sort keys are <ulid>#<outcome>; "~" sorts after every
			// suffix. Applied records (APPLIED#…) sort after every ULID.
			kc = expression.Key(attrPK).Equal(expression.Value(pk)).
				And(expression.Key(attrSK).Between(expression.Value(lowID), expression.Value(highID+"~")))
		}
		b := expression.NewBuilder().WithKeyCondition(kc)
		if hasFilter {
			b = b.WithFilter(filter)
		}
		expr, err := b.Build()
		if err != nil {
			return AuditPage{}, fmt.Errorf("store: build audit query: %w", err)
		}
		in.KeyConditionExpression = expr.KeyCondition()
		in.FilterExpression = expr.Filter()
		in.ExpressionAttributeNames = expr.Names()
		in.ExpressionAttributeValues = expr.Values()
		if di == 0 && cur.Key != nil {
			if in.ExclusiveStartKey, err = attributevalue.MarshalMap(cur.Key); err != nil {
				return AuditPage{}, domain.Permanent(fmt.Errorf("store: %w: %v", ErrBadCursor, err))
			}
		}

		p := dynamodb.NewQueryPaginator(s.db, in, func(o *dynamodb.QueryPaginatorOptions) { o.Limit = int32(size) })
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				return AuditPage{}, sdkErr(err, "audit query")
			}
			for i, item := range out.Items {
				var it ledgerItem
				if err := unmarshal(item, &it); err != nil {
					return AuditPage{}, err
				}
				page.Entries = append(page.Entries, it.entry())
				if len(page.Entries) < size {
					continue
				}
				last := i == len(out.Items)-1 && !p.HasMorePages() && di == len(days)-1
				if !last {
					key := map[string]string{attrPK: it.PK, attrSK: it.SK}
					if everyone {
						key[attrDay], key[attrID] = it.Day, it.ID
					}
					page.Cursor, err = encodeCursor(cursor{V: 1, Q: fp, High: high, Day: day, Key: key})
					if err != nil {
						return AuditPage{}, err
					}
				}
				return page, nil
			}
		}
	}
	return page, nil
}

func msOf(t time.Time) uint64 {
	if t.IsZero() || t.UnixMilli() < 0 {
		return 0
	}
	return min(uint64(t.UnixMilli()), ulid.MaxTime())
}

// auditFilter builds the filter expression of q's filter lists.
func auditFilter(q AuditQuery) (expression.ConditionBuilder, bool) {
	var conds []expression.ConditionBuilder
	add := func(attr string, values []string) {
		if len(values) == 0 {
			return
		}
		ops := make([]expression.OperandBuilder, len(values))
		for i, v := range values {
			ops[i] = expression.Value(v)
		}
		if len(ops) == 1 {
			conds = append(conds, expression.Name(attr).Equal(expression.Value(values[0])))
			return
		}
		conds = append(conds, expression.Name(attr).In(ops[0], ops[1:]...))
	}
	add("source", strs(q.Sources))
	add("kind", strs(q.Kinds))
	add("target", strs(q.Targets))
	add("outcome", strs(q.Outcomes))
	switch len(conds) {
	case 0:
		return expression.ConditionBuilder{}, false
	case 1:
		return conds[0], true
	default:
		return expression.And(conds[0], conds[1], conds[2:]...), true
	}
}

func strs[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

// fingerprint identifies a query (everything but its page size and
// cursor), so that a cursor cannot continue another query.
func fingerprint(q AuditQuery) (string, error) {
	q.Cursor, q.PageSize = "", 0
	b, err := json.Marshal(q)
	if err != nil {
		return "", fmt.Errorf("store: fingerprint audit query: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8]), nil
}

func encodeCursor(c cursor) (string, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("store: encode cursor: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func decodeCursor(s, fp string) (cursor, error) {
	bad := func(why string) (cursor, error) {
		return cursor{}, domain.Permanent(fmt.Errorf("store: %w: %s", ErrBadCursor, why))
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return bad("not base64url")
	}
	var c cursor
	if err := json.Unmarshal(b, &c); err != nil {
		return bad("not a cursor")
	}
	switch {
	case c.V != 1:
		return bad(fmt.Sprintf("version %d", c.V))
	case c.Q != fp:
		return bad("issued for another query")
	case c.Key[attrPK] == "" || c.Key[attrSK] == "":
		return bad("no start key")
	}
	return c, nil
}
