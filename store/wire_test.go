package store_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/testenv"
	"github.com/idsync/idsync/store"
)

// avType is an attribute value's DynamoDB type.
func avType(v types.AttributeValue) string {
	switch v.(type) {
	case *types.AttributeValueMemberS:
		return "S"
	case *types.AttributeValueMemberN:
		return "N"
	case *types.AttributeValueMemberBOOL:
		return "BOOL"
	case *types.AttributeValueMemberL:
		return "L"
	case *types.AttributeValueMemberM:
		return "M"
	case *types.AttributeValueMemberSS:
		return "SS"
	case *types.AttributeValueMemberNULL:
		return "NULL"
	default:
		return "?"
	}
}

// attrPaths renders an item as sorted "path:type" strings, descending into
// maps; a list renders as "path:L[element types]". The keys of the maps
// named in dataKeys are data (group keys, detail names), not attribute
// names, and are rendered as "*".
func attrPaths(item map[string]types.AttributeValue, dataKeys ...string) []string {
	seen := map[string]bool{}
	var walk func(prefix string, m map[string]types.AttributeValue, data bool)
	walk = func(prefix string, m map[string]types.AttributeValue, data bool) {
		for name, v := range m {
			if data {
				name = "*"
			}
			path := prefix + name
			entry := path + ":" + avType(v)
			switch v := v.(type) {
			case *types.AttributeValueMemberL:
				kinds := map[string]bool{}
				for _, e := range v.Value {
					kinds[avType(e)] = true
				}
				entry += "[" + strings.Join(slices.Sorted(maps.Keys(kinds)), ",") + "]"
			case *types.AttributeValueMemberM:
				walk(path+".", v.Value, slices.Contains(dataKeys, path))
			}
			seen[entry] = true
		}
	}
	walk("", item, false)
	return slices.Sorted(maps.Keys(seen))
}

// rawItem reads one item as stored.
func rawItem(t *testing.T, f *fixture, table, pk, sk string) map[string]types.AttributeValue {
	t.Helper()
	out, err := f.db.GetItem(testenv.Context(t), &dynamodb.GetItemInput{
		TableName: aws.String(table), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{
			"PK": &types.AttributeValueMemberS{Value: pk},
			"SK": &types.AttributeValueMemberS{Value: sk},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.Item == nil {
		t.Fatalf("no item %s/%s in %s", pk, sk, table)
	}
	return out.Item
}

// rawPartition reads every item of a ledger partition as stored.
func rawPartition(t *testing.T, f *fixture, table, pk string) []map[string]types.AttributeValue {
	t.Helper()
	out, err := f.db.Query(testenv.Context(t), &dynamodb.QueryInput{
		TableName: aws.String(table), ConsistentRead: aws.Bool(true),
		KeyConditionExpression:    aws.String("PK = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: pk}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.Items
}

func stringAttr(item map[string]types.AttributeValue, name string) string {
	if s, ok := item[name].(*types.AttributeValueMemberS); ok {
		return s.Value
	}
	return ""
}

// TestItemAttributeNames pins the attribute names and types of every item
// the store writes. The lookup indexes, the TTL, the infrastructure and the
// items already stored depend on them: a change here is a data migration.
func TestItemAttributeNames(t *testing.T) {
	f := newFixture(t, func(o *store.Options) { o.LedgerTTL = store.MinLedgerTTL })
	ctx := testenv.Context(t)
	// identity is an identity item's attributes: its keys, version, every
	// stamped field (with by when set) and extra.
	identity := func(set func(field string) bool, extra ...string) []string {
		out := []string{"PK:S", "SK:S", "key:S", "version:N"}
		for _, n := range []string{"login", "firstName", "lastName", "displayName", "email", "department", "title", "status"} {
			out = append(out, n+":M", n+".at:S", n+".v:S")
			if set(n) {
				out = append(out, n+".by:S")
			}
		}
		out = append(out, extra...)
		slices.Sort(out)
		return out
	}

	t.Run("identity with every field", func(t *testing.T) {
		sub := domain.Subject{OktaID: "00uWIRE", IdCUserID: "idc-wire", Login: "Wire@Example.com"}
		for i, e := range []domain.Event{
			ev(domain.KindProfileChanged, sub, "w1", t0, profile(domain.Profile{
				FirstName: ptr("Wi"), LastName: ptr("Re"), DisplayName: ptr("Wi Re"), Email: ptr("wire@example.com"),
				Department: ptr("Ops"), Title: ptr("Engineer"),
			})),
			ev(domain.KindMemberAdded, sub, "w2", t0.Add(time.Second), group("00gMAIL")),
			ev(domain.KindSuspended, sub, "w3", t0.Add(2*time.Second)),
		} {
			if _, err := f.st.Fold(ctx, e); err != nil {
				t.Fatalf("fold %d: %v", i, err)
			}
		}
		item := rawItem(t, f, f.state, "PERSON#00uWIRE", "IDENTITY")
		all := func(string) bool { return true }
		want := identity(all, "oktaId:S", "idcUserId:S", "loginLower:S",
			"linked:M", "linked.at:S", "linked.by:S", "linked.v:S",
			"groups:M", "groups.*:M", "groups.*.member:BOOL", "groups.*.at:S", "groups.*.by:S")
		if d := cmp.Diff(want, attrPaths(item, "groups")); d != "" {
			t.Errorf("identity item attributes (-want +got):\n%s", d)
		}
		if got := stringAttr(item, "loginLower"); got != "wire@example.com" {
			t.Errorf("loginLower = %q", got)
		}
		first := item["firstName"].(*types.AttributeValueMemberM).Value
		if got := stringAttr(first, "at"); got != "2024-05-15T08:00:00Z" {
			t.Errorf("firstName.at = %q, want an RFC 3339 string", got)
		}
	})

	t.Run("identity known by IdC id alone", func(t *testing.T) {
		// Sparse indexes: no oktaId, no loginLower, no groups attribute.
		if _, err := f.st.Fold(ctx, ev(domain.KindProfileChanged, domain.Subject{IdCUserID: "idc-only"}, "w4", t0,
			profile(domain.Profile{Email: ptr("only@example.com")}))); err != nil {
			t.Fatal(err)
		}
		item := rawItem(t, f, f.state, "PERSON#idc-only", "IDENTITY")
		onlyEmail := func(f string) bool { return f == "email" }
		if d := cmp.Diff(identity(onlyEmail, "idcUserId:S", "linked:M", "linked.at:S", "linked.by:S", "linked.v:S"), attrPaths(item)); d != "" {
			t.Errorf("identity item attributes (-want +got):\n%s", d)
		}
		title := item["title"].(*types.AttributeValueMemberM).Value
		if got := stringAttr(title, "at"); got != "0001-01-01T00:00:00Z" {
			t.Errorf("an unset field's at = %q, want the zero time written out", got)
		}
	})

	t.Run("target state with every field", func(t *testing.T) {
		full := domain.TargetState{
			Target: domain.TargetConnect, Managed: true, RemoteID: "cn-1", Status: domain.RemoteDisabled,
			Name: "wire", Email: "wire@example.com", DisplayName: "Wi Re", FirstName: "Wi", LastName: "Re",
			SecurityProfileIDs: []string{"sp-b", "sp-a"}, RoutingProfileID: "rp-1", HierarchyGroupID: "hg-1",
			IdentityProviderUserID: "idc-wire",
			DisabledAt:             t0.Add(time.Hour), PendingName: "wire", PendingAt: t0.Add(2 * time.Hour),
			ExportJobID: "job-1", ExportState: domain.ExportFailed, ExportStartedAt: t0.Add(3 * time.Hour), ExportProgress: 50,
			ExportPath: "bucket/prefix/job-1.zip", ExportReason: "Mailbox export failed",
		}
		if _, err := f.st.PutTarget(ctx, "00uWIRE", full, 0); err != nil {
			t.Fatal(err)
		}
		item := rawItem(t, f, f.state, "PERSON#00uWIRE", "TARGET#connect")
		want := []string{
			"PK:S", "SK:S", "target:S", "managed:BOOL", "remoteId:S", "status:S",
			"name:S", "email:S", "displayName:S", "firstName:S", "lastName:S",
			"securityProfileIds:L[S]", "routingProfileId:S", "hierarchyGroupId:S", "identityProviderUserId:S", "disabledAt:S",
			"pendingName:S", "pendingAt:S", "version:N",
			"exportJobId:S", "exportState:S", "exportStartedAt:S", "exportProgress:N", "exportPath:S", "exportReason:S",
		}
		slices.Sort(want)
		if d := cmp.Diff(want, attrPaths(item)); d != "" {
			t.Errorf("target item attributes (-want +got):\n%s", d)
		}
		if got := stringAttr(item, "disabledAt"); got != "2024-05-15T09:00:00Z" {
			t.Errorf("disabledAt = %q, want an RFC 3339 string", got)
		}
		if got := stringAttr(item, "pendingAt"); got != "2024-05-15T10:00:00Z" {
			t.Errorf("pendingAt = %q, want an RFC 3339 string", got)
		}
		if got := stringAttr(item, "exportStartedAt"); got != "2024-05-15T11:00:00Z" {
			t.Errorf("exportStartedAt = %q, want an RFC 3339 string", got)
		}
		if got := stringAttr(item, "exportState"); got != "FAILED" {
			t.Errorf("exportState = %q, want the job state as WorkMail names it", got)
		}
		if got := stringAttr(item, "identityProviderUserId"); got != "idc-wire" {
			t.Errorf("identityProviderUserId = %q, want the IdC user id", got)
		}
		sp := item["securityProfileIds"].(*types.AttributeValueMemberL).Value
		if len(sp) != 2 || sp[0].(*types.AttributeValueMemberS).Value != "sp-b" {
			t.Errorf("securityProfileIds = %v, want the list in order", sp)
		}
	})

	t.Run("target state never written to", func(t *testing.T) {
		if _, err := f.st.PutTarget(ctx, "00uWIRE", domain.TargetState{Target: domain.TargetWorkMail}, 0); err != nil {
			t.Fatal(err)
		}
		item := rawItem(t, f, f.state, "PERSON#00uWIRE", "TARGET#workmail")
		if d := cmp.Diff([]string{"PK:S", "SK:S", "managed:BOOL", "target:S", "version:N"}, attrPaths(item)); d != "" {
			t.Errorf("target item attributes (-want +got):\n%s", d)
		}
	})

	t.Run("ledger rows", func(t *testing.T) {
		e := ev(domain.KindMemberAdded, domain.Subject{OktaID: "00uLEDGER"}, "l1", t0, group("00gMAIL"))
		if _, err := f.st.RecordReceived(ctx, e); err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.st.Commit(ctx, store.Commit{
			PersonKey: "00uLEDGER", EventID: e.ID, Target: domain.TargetWorkMail,
			Next: domain.TargetState{Managed: true, RemoteID: "wm-1", Status: domain.RemoteEnabled},
			Entries: []domain.LedgerEntry{{
				Source: e.Source, Kind: e.Kind, Op: domain.OpCreate, RemoteID: "wm-1", Reason: "joined",
				Detail: map[string]string{"ms": "12"},
			}},
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.st.Append(ctx, domain.LedgerEntry{Outcome: domain.OutcomeSnapshot}); err != nil {
			t.Fatal(err)
		}
		got := map[string][]string{}
		for _, pk := range []string{"PERSON#00uLEDGER", "SYSTEM"} {
			for _, item := range rawPartition(t, f, f.ledger, pk) {
				sk := stringAttr(item, "SK")
				kind, _, _ := strings.Cut(sk, "#")
				switch {
				case strings.HasPrefix(sk, "APPLIED#"):
					kind = "applied"
				case strings.HasSuffix(sk, "#received"):
					kind = "received"
				case strings.HasSuffix(sk, "#applied"):
					kind = "op"
				case pk == "SYSTEM":
					kind = "system"
				}
				got[kind] = attrPaths(item, "detail")
			}
		}
		sorted := func(s ...string) []string { slices.Sort(s); return s }
		want := map[string][]string{
			"received": sorted("PK:S", "SK:S", "day:S", "id:S", "at:S", "personKey:S", "eventId:S", "source:S", "kind:S",
				"outcome:S", "detail:M", "detail.*:S", "expiresAt:N"),
			"op": sorted("PK:S", "SK:S", "day:S", "id:S", "at:S", "personKey:S", "eventId:S", "source:S", "kind:S",
				"target:S", "op:S", "outcome:S", "remoteId:S", "reason:S", "detail:M", "detail.*:S", "expiresAt:N"),
			"applied": sorted("PK:S", "SK:S", "id:S", "at:S", "personKey:S", "eventId:S", "target:S",
				"outcome:S", "remoteId:S", "detail:M", "detail.*:S", "expiresAt:N"),
			"system": sorted("PK:S", "SK:S", "day:S", "id:S", "at:S", "outcome:S", "expiresAt:N"),
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("ledger item attributes (-want +got):\n%s", d)
		}
	})

	t.Run("snapshot record", func(t *testing.T) {
		if err := f.st.WriteSnapshotRecords(ctx, []store.SnapshotRecord{{
			Key: "00uSNAP", OktaID: "00uSNAP", IdCUserID: "idc-snap", Groups: []string{"okta:00gMAIL"},
			Digest: "d", RunID: "run", ObservedAt: t0,
		}}, nil); err != nil {
			t.Fatal(err)
		}
		recs := rawPartitionsWithSK(t, f, "00uSNAP")
		want := []string{"PK:S", "SK:S", "key:S", "okta:S", "idc:S", "groups:L[S]", "digest:S", "runId:S", "observedAt:S"}
		slices.Sort(want)
		if d := cmp.Diff(want, attrPaths(recs)); d != "" {
			t.Errorf("snapshot record attributes (-want +got):\n%s", d)
		}
	})
}

// rawPartitionsWithSK finds the snapshot record of a person key among the
// snapshot shards.
func rawPartitionsWithSK(t *testing.T, f *fixture, key string) map[string]types.AttributeValue {
	t.Helper()
	for i := range store.SnapshotShards {
		pk := fmt.Sprintf("SNAPSHOT#%02d", i)
		for _, item := range rawPartition(t, f, f.state, pk) {
			if stringAttr(item, "SK") == key {
				return item
			}
		}
	}
	t.Fatalf("no snapshot record %s", key)
	return nil
}
