package store

import (
	"fmt"
	"hash/fnv"
	"time"

	"github.com/idsync/idsync/domain"
)

// Key layout. Person keys are the domain person keys (Okta user id or IdC
// user id), which never contain '#'.
const (
	personPrefix   = "PERSON#"
	skIdentity     = "IDENTITY"
	targetPrefix   = "TARGET#"
	systemPK       = "SYSTEM"
	appliedPrefix  = "APPLIED#"
	dayPrefix      = "DAY#"
	snapshotPrefix = "SNAPSHOT#"
	// SnapshotShards is the number of partitions the snapshot bookkeeping
	// is spread over (PK=SNAPSHOT#00…15, chosen by an FNV-1a hash of the
	// person key). Changing it strands existing records.
	SnapshotShards = 16
)

func personPK(key string) string { return personPrefix + key }

func targetSK(t domain.Target) string { return targetPrefix + string(t) }

// ledgerPK is the ledger partition of a person key; rows about no one
// person go to SYSTEM.
func ledgerPK(key string) string {
	if key == "" {
		return systemPK
	}
	return personPK(key)
}

func appliedSK(t domain.Target, eventID string) string {
	return appliedPrefix + string(t) + "#" + eventID
}

// rowSK is a timeline row's sort key: its ULID, then its outcome (for
// readability only; the ULID alone is unique).
func rowSK(id string, o domain.Outcome) string { return id + "#" + string(o) }

// dayBucket is the byDay partition of a time (UTC date).
func dayBucket(t time.Time) string { return dayPrefix + t.UTC().Format(time.DateOnly) }

func snapshotPK(key string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	return fmt.Sprintf("%s%02d", snapshotPrefix, h.Sum32()%SnapshotShards)
}

// identityItem is a person's IDENTITY item. The embedded Person's oktaId
// and idcUserId, and loginLower, are the keys of the lookup indexes.
type identityItem struct {
	PK string `dynamodbav:"PK"`
	SK string `dynamodbav:"SK"`
	domain.Person
	LoginLower string `dynamodbav:"loginLower,omitempty"`
}

// targetItem is a person's TARGET#<target> item.
type targetItem struct {
	PK string `dynamodbav:"PK"`
	SK string `dynamodbav:"SK"`
	domain.TargetState
}

// ledgerItem is one ledger row. Day is empty on applied records, which
// keeps them out of the byDay index.
type ledgerItem struct {
	PK  string `dynamodbav:"PK"`
	SK  string `dynamodbav:"SK"`
	Day string `dynamodbav:"day,omitempty"`
	domain.LedgerEntry
	ExpiresAt int64 `dynamodbav:"expiresAt,omitempty"`
}

// snapshotItem is one snapshot bookkeeping record.
type snapshotItem struct {
	PK string `dynamodbav:"PK"`
	SK string `dynamodbav:"SK"`
	SnapshotRecord
}
