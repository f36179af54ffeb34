package store

import (
	"fmt"
	"hash/fnv"
	"strings"
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
	leasePrefix    = "LEASE#"
	skLease        = "LEASE"
	skMark         = "EMITTED"
	brakePrefix    = "BRAKE#"
	skBrake        = "BRAKE"
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

func leasePK(name string) string { return leasePrefix + name }

// markSK is the sort key of a mark: EMITTED for the person's diff mark,
// EMITTED#<target> for a target's reconcile mark.
func markSK(t domain.Target) string {
	if t == "" {
		return skMark
	}
	return skMark + "#" + string(t)
}

func brakePK(t domain.Target) string { return brakePrefix + string(t) }

func snapshotPK(key string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	return fmt.Sprintf("%s%02d", snapshotPrefix, h.Sum32()%SnapshotShards)
}

// Item structs. Each carries its own dynamodbav tags and converts to and
// from its domain type field by field, so the attribute names below are the
// stored layout (see the package documentation) and the domain types stay
// free of storage concerns. Changing a name strands the items stored under
// the old one.

// stampedAttr is a domain.Stamped as stored: a map {v, at, by}.
type stampedAttr struct {
	Value string    `dynamodbav:"v"`
	At    time.Time `dynamodbav:"at"`
	By    string    `dynamodbav:"by,omitempty"`
}

func toStamped(s domain.Stamped) stampedAttr {
	return stampedAttr{Value: s.Value, At: s.At, By: s.By}
}

func (a stampedAttr) domain() domain.Stamped {
	return domain.Stamped{Value: a.Value, At: a.At, By: a.By}
}

// membershipAttr is a domain.Membership as stored: a map {member, at, by}.
type membershipAttr struct {
	Member bool      `dynamodbav:"member"`
	At     time.Time `dynamodbav:"at"`
	By     string    `dynamodbav:"by,omitempty"`
}

// identityItem is a person's IDENTITY item. oktaId, idcUserId and
// loginLower are the keys of the lookup indexes: omitted when empty, so
// the indexes are sparse.
type identityItem struct {
	PK         string `dynamodbav:"PK"`
	SK         string `dynamodbav:"SK"`
	Key        string `dynamodbav:"key"`
	OktaID     string `dynamodbav:"oktaId,omitempty"`
	IdCUserID  string `dynamodbav:"idcUserId,omitempty"`
	LoginLower string `dynamodbav:"loginLower,omitempty"`

	Login       stampedAttr `dynamodbav:"login"`
	FirstName   stampedAttr `dynamodbav:"firstName"`
	LastName    stampedAttr `dynamodbav:"lastName"`
	DisplayName stampedAttr `dynamodbav:"displayName"`
	Email       stampedAttr `dynamodbav:"email"`
	Department  stampedAttr `dynamodbav:"department"`
	Title       stampedAttr `dynamodbav:"title"`
	Status      stampedAttr `dynamodbav:"status"`

	Groups map[string]membershipAttr `dynamodbav:"groups,omitempty"`
	// Relinked is written only once the person was re-linked.
	Relinked *stampedAttr `dynamodbav:"relinked,omitempty"`
	// Linked is written only once the person has an IdC user id (and
	// idsync records the link's fact).
	Linked  *stampedAttr `dynamodbav:"linked,omitempty"`
	Version int64        `dynamodbav:"version"`
}

// newIdentityItem is the identity item of p stored under the person key key.
func newIdentityItem(key string, p domain.Person) identityItem {
	it := identityItem{
		PK: personPK(key), SK: skIdentity,
		Key: p.Key, OktaID: p.OktaID, IdCUserID: p.IdCUserID, LoginLower: strings.ToLower(p.Login.Value),
		Login: toStamped(p.Login), FirstName: toStamped(p.FirstName), LastName: toStamped(p.LastName),
		DisplayName: toStamped(p.DisplayName), Email: toStamped(p.Email), Department: toStamped(p.Department),
		Title: toStamped(p.Title), Status: toStamped(p.Status),
		Version: p.Version,
	}
	if p.Relinked != (domain.Stamped{}) {
		r := toStamped(p.Relinked)
		it.Relinked = &r
	}
	if p.Linked != (domain.Stamped{}) {
		l := toStamped(p.Linked)
		it.Linked = &l
	}
	if p.Groups != nil {
		it.Groups = make(map[string]membershipAttr, len(p.Groups))
		for k, m := range p.Groups {
			it.Groups[k] = membershipAttr{Member: m.Member, At: m.At, By: m.By}
		}
	}
	return it
}

// person is the item's domain.Person.
func (it identityItem) person() domain.Person {
	p := domain.Person{
		Key: it.Key, OktaID: it.OktaID, IdCUserID: it.IdCUserID,
		Login: it.Login.domain(), FirstName: it.FirstName.domain(), LastName: it.LastName.domain(),
		DisplayName: it.DisplayName.domain(), Email: it.Email.domain(), Department: it.Department.domain(),
		Title: it.Title.domain(), Status: it.Status.domain(),
		Version: it.Version,
	}
	if it.Relinked != nil {
		p.Relinked = it.Relinked.domain()
	}
	if it.Linked != nil {
		p.Linked = it.Linked.domain()
	}
	if it.Groups != nil {
		p.Groups = make(map[string]domain.Membership, len(it.Groups))
		for k, m := range it.Groups {
			p.Groups[k] = domain.Membership{Member: m.Member, At: m.At, By: m.By}
		}
	}
	return p
}

// targetItem is a person's TARGET#<target> item.
type targetItem struct {
	PK       string `dynamodbav:"PK"`
	SK       string `dynamodbav:"SK"`
	Target   string `dynamodbav:"target"`
	Managed  bool   `dynamodbav:"managed"`
	RemoteID string `dynamodbav:"remoteId,omitempty"`
	Status   string `dynamodbav:"status,omitempty"`

	Name        string `dynamodbav:"name,omitempty"`
	Email       string `dynamodbav:"email,omitempty"`
	DisplayName string `dynamodbav:"displayName,omitempty"`
	FirstName   string `dynamodbav:"firstName,omitempty"`
	LastName    string `dynamodbav:"lastName,omitempty"`

	SecurityProfileIDs []string `dynamodbav:"securityProfileIds,omitempty"`
	RoutingProfileID   string   `dynamodbav:"routingProfileId,omitempty"`
	HierarchyGroupID   string   `dynamodbav:"hierarchyGroupId,omitempty"`

	// IdentityProviderUserID is the IdC user a WorkMail mailbox is linked
	// to; omitted when none.
	IdentityProviderUserID string `dynamodbav:"identityProviderUserId,omitempty"`

	DisabledAt time.Time `dynamodbav:"disabledAt,omitempty"`

	// PendingName and PendingAt are the create intent; omitted when none.
	PendingName string    `dynamodbav:"pendingName,omitempty"`
	PendingAt   time.Time `dynamodbav:"pendingAt,omitempty"`

	// The latest mailbox export job (WorkMail); omitted when none.
	ExportJobID     string    `dynamodbav:"exportJobId,omitempty"`
	ExportState     string    `dynamodbav:"exportState,omitempty"`
	ExportStartedAt time.Time `dynamodbav:"exportStartedAt,omitempty"`
	ExportProgress  int       `dynamodbav:"exportProgress,omitempty"`
	ExportPath      string    `dynamodbav:"exportPath,omitempty"`
	ExportReason    string    `dynamodbav:"exportReason,omitempty"`

	Version int64 `dynamodbav:"version"`
}

// newTargetItem is the item of ts stored in the partition of key.
func newTargetItem(key string, ts domain.TargetState) targetItem {
	return targetItem{
		PK: personPK(key), SK: targetSK(ts.Target),
		Target: string(ts.Target), Managed: ts.Managed, RemoteID: ts.RemoteID, Status: string(ts.Status),
		Name: ts.Name, Email: ts.Email, DisplayName: ts.DisplayName, FirstName: ts.FirstName, LastName: ts.LastName,
		SecurityProfileIDs: ts.SecurityProfileIDs, RoutingProfileID: ts.RoutingProfileID, HierarchyGroupID: ts.HierarchyGroupID,
		IdentityProviderUserID: ts.IdentityProviderUserID,
		DisabledAt:             ts.DisabledAt, PendingName: ts.PendingName, PendingAt: ts.PendingAt,
		ExportJobID: ts.ExportJobID, ExportState: string(ts.ExportState), ExportStartedAt: ts.ExportStartedAt,
		ExportProgress: ts.ExportProgress, ExportPath: ts.ExportPath, ExportReason: ts.ExportReason,
		Version: ts.Version,
	}
}

// targetState is the item's domain.TargetState.
func (it targetItem) targetState() domain.TargetState {
	return domain.TargetState{
		Target: domain.Target(it.Target), Managed: it.Managed, RemoteID: it.RemoteID, Status: domain.RemoteStatus(it.Status),
		Name: it.Name, Email: it.Email, DisplayName: it.DisplayName, FirstName: it.FirstName, LastName: it.LastName,
		SecurityProfileIDs: it.SecurityProfileIDs, RoutingProfileID: it.RoutingProfileID, HierarchyGroupID: it.HierarchyGroupID,
		IdentityProviderUserID: it.IdentityProviderUserID,
		DisabledAt:             it.DisabledAt, PendingName: it.PendingName, PendingAt: it.PendingAt,
		ExportJobID: it.ExportJobID, ExportState: domain.ExportJobState(it.ExportState), ExportStartedAt: it.ExportStartedAt,
		ExportProgress: it.ExportProgress, ExportPath: it.ExportPath, ExportReason: it.ExportReason,
		Version: it.Version,
	}
}

// ledgerItem is one ledger row. Day is empty on applied records, which
// keeps them out of the byDay index; ExpiresAt is set only when a ledger
// TTL is configured.
type ledgerItem struct {
	PK        string            `dynamodbav:"PK"`
	SK        string            `dynamodbav:"SK"`
	Day       string            `dynamodbav:"day,omitempty"`
	ID        string            `dynamodbav:"id"`
	At        time.Time         `dynamodbav:"at"`
	PersonKey string            `dynamodbav:"personKey,omitempty"`
	EventID   string            `dynamodbav:"eventId,omitempty"`
	Source    string            `dynamodbav:"source,omitempty"`
	Kind      string            `dynamodbav:"kind,omitempty"`
	Target    string            `dynamodbav:"target,omitempty"`
	Op        string            `dynamodbav:"op,omitempty"`
	Outcome   string            `dynamodbav:"outcome"`
	RemoteID  string            `dynamodbav:"remoteId,omitempty"`
	Reason    string            `dynamodbav:"reason,omitempty"`
	Detail    map[string]string `dynamodbav:"detail,omitempty"`
	ExpiresAt int64             `dynamodbav:"expiresAt,omitempty"`
}

// newLedgerItem is the row of e under (pk, sk) in day bucket day ("" for
// none).
func newLedgerItem(pk, sk, day string, e domain.LedgerEntry) ledgerItem {
	return ledgerItem{
		PK: pk, SK: sk, Day: day,
		ID: e.ID, At: e.At, PersonKey: e.PersonKey, EventID: e.EventID,
		Source: string(e.Source), Kind: string(e.Kind), Target: string(e.Target), Op: string(e.Op),
		Outcome: string(e.Outcome), RemoteID: e.RemoteID, Reason: e.Reason, Detail: e.Detail,
	}
}

// entry is the row's domain.LedgerEntry.
func (it ledgerItem) entry() domain.LedgerEntry {
	return domain.LedgerEntry{
		ID: it.ID, At: it.At, PersonKey: it.PersonKey, EventID: it.EventID,
		Source: domain.Source(it.Source), Kind: domain.Kind(it.Kind), Target: domain.Target(it.Target),
		Op: domain.OpKind(it.Op), Outcome: domain.Outcome(it.Outcome),
		RemoteID: it.RemoteID, Reason: it.Reason, Detail: it.Detail,
	}
}

// snapshotItem is one snapshot bookkeeping record.
type snapshotItem struct {
	PK string `dynamodbav:"PK"`
	SK string `dynamodbav:"SK"`
	SnapshotRecord
}

// markItem is a person's EMITTED / EMITTED#<target> item (see Mark).
type markItem struct {
	PK            string    `dynamodbav:"PK"`
	SK            string    `dynamodbav:"SK"`
	Target        string    `dynamodbav:"target,omitempty"`
	Digest        string    `dynamodbav:"digest"`
	EventID       string    `dynamodbav:"eventId,omitempty"`
	PersonVersion int64     `dynamodbav:"personVersion"`
	TargetVersion int64     `dynamodbav:"targetVersion"`
	Since         time.Time `dynamodbav:"since"`
	At            time.Time `dynamodbav:"at"`
	FailedEventID string    `dynamodbav:"failedEventId,omitempty"`
	FailedAt      time.Time `dynamodbav:"failedAt,omitempty"`
	FailedReason  string    `dynamodbav:"failedReason,omitempty"`
}

func newMarkItem(m Mark) markItem {
	return markItem{
		PK: personPK(m.Key), SK: markSK(m.Target), Target: string(m.Target),
		Digest: m.Digest, EventID: m.EventID, PersonVersion: m.PersonVersion, TargetVersion: m.TargetVersion,
		Since: m.Since.UTC(), At: m.At.UTC(),
		FailedEventID: m.FailedEventID, FailedAt: m.FailedAt, FailedReason: m.FailedReason,
	}
}

// mark is the item's Mark in the partition of key.
func (it markItem) mark(key string) Mark {
	return Mark{
		Key: key, Target: domain.Target(it.Target),
		Digest: it.Digest, EventID: it.EventID, PersonVersion: it.PersonVersion, TargetVersion: it.TargetVersion,
		Since: it.Since, At: it.At,
		FailedEventID: it.FailedEventID, FailedAt: it.FailedAt, FailedReason: it.FailedReason,
	}
}
