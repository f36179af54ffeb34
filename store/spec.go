package store

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// AttrType is a DynamoDB key attribute type: "S", "N" or "B".
type AttrType string

// Key attribute types.
const (
	AttrString AttrType = "S"
	AttrNumber AttrType = "N"
	AttrBinary AttrType = "B"
)

// KeyAttr is one key attribute: its name and type.
type KeyAttr struct {
	Name string
	Type AttrType
}

// ProjectionType says which attributes an index copies.
type ProjectionType string

// Projection types, as DynamoDB names them.
const (
	ProjectAll      ProjectionType = "ALL"
	ProjectKeysOnly ProjectionType = "KEYS_ONLY"
	ProjectInclude  ProjectionType = "INCLUDE"
)

// IndexSpec is one global secondary index.
type IndexSpec struct {
	Name         string
	PartitionKey KeyAttr
	// SortKey is nil for an index without a sort key.
	SortKey *KeyAttr
	// Projection is what the index copies; NonKeyAttributes only for
	// ProjectInclude.
	Projection       ProjectionType
	NonKeyAttributes []string
}

// TableSpec is a table's whole schema as plain data, free of SDK types, so
// that the CDK app and CreateTableInput build the same table from it.
// Tables are on-demand (pay per request).
type TableSpec struct {
	// NameSuffix is appended to a deployment's prefix to name the table
	// (e.g. "idsync-" + "state").
	NameSuffix   string
	PartitionKey KeyAttr
	SortKey      KeyAttr
	GSIs         []IndexSpec
	// TTLAttribute names the epoch-seconds attribute DynamoDB's time to live
	// reads; "" when the table has none. Enabling it only matters for rows
	// that carry the attribute.
	TTLAttribute string
}

// Attribute and index names shared by the specs and the item codecs.
const (
	attrPK = "PK"
	attrSK = "SK"

	// state table
	indexByLogin     = "byLogin"
	indexByOktaID    = "byOktaId"
	indexByIdCUserID = "byIdcUserId"
	attrLoginLower   = "loginLower"
	attrOktaID       = "oktaId"
	attrIdCUserID    = "idcUserId"

	// ledger table
	indexByDay    = "byDay"
	attrDay       = "day"
	attrID        = "id"
	attrExpiresAt = "expiresAt"
)

// StateTableSpec is the state table: one partition per person
// (PK=PERSON#<key>; SK=IDENTITY, SK=TARGET#<target>, SK=EMITTED[#<target>])
// plus the snapshot bookkeeping partitions (PK=SNAPSHOT#<shard>, SK=<person
// key>), the leases (LEASE#<name>) and the removal brakes (BRAKE#<target>). Three
// sparse KEYS_ONLY indexes find a person's partition by lower-cased login,
// Okta user id and IdC user id; only identity items carry their key
// attributes. The state table has no TTL.
func StateTableSpec() TableSpec {
	s := func(name string) KeyAttr { return KeyAttr{Name: name, Type: AttrString} }
	return TableSpec{
		NameSuffix:   "state",
		PartitionKey: s(attrPK),
		SortKey:      s(attrSK),
		GSIs: []IndexSpec{
			{Name: indexByLogin, PartitionKey: s(attrLoginLower), Projection: ProjectKeysOnly},
			{Name: indexByOktaID, PartitionKey: s(attrOktaID), Projection: ProjectKeysOnly},
			{Name: indexByIdCUserID, PartitionKey: s(attrIdCUserID), Projection: ProjectKeysOnly},
		},
	}
}

// LedgerTableSpec is the append-only ledger: PK=PERSON#<key> (SYSTEM for
// rows about no one person), SK=<ulid>#<outcome> for timeline rows and
// APPLIED#<target>#<event id> for idempotency records. The byDay index
// (day=DAY#YYYY-MM-DD, id=<ulid>, all attributes) serves time-range audits;
// idempotency records carry no day and stay out of it. TTL reads expiresAt,
// which rows carry only when Options.LedgerTTL is set.
func LedgerTableSpec() TableSpec {
	s := func(name string) KeyAttr { return KeyAttr{Name: name, Type: AttrString} }
	id := s(attrID)
	return TableSpec{
		NameSuffix:   "ledger",
		PartitionKey: s(attrPK),
		SortKey:      s(attrSK),
		GSIs: []IndexSpec{
			{Name: indexByDay, PartitionKey: s(attrDay), SortKey: &id, Projection: ProjectAll},
		},
		TTLAttribute: attrExpiresAt,
	}
}

// CreateTableInput returns the CreateTable request for a table named name
// built from s (on-demand billing). It does not enable TTL; see
// TimeToLiveInput.
func (s TableSpec) CreateTableInput(name string) *dynamodb.CreateTableInput {
	defs := map[string]AttrType{}
	var order []string
	define := func(k KeyAttr) {
		if _, ok := defs[k.Name]; !ok {
			order = append(order, k.Name)
		}
		defs[k.Name] = k.Type
	}
	keySchema := func(pk KeyAttr, sk *KeyAttr) []types.KeySchemaElement {
		define(pk)
		out := []types.KeySchemaElement{{AttributeName: aws.String(pk.Name), KeyType: types.KeyTypeHash}}
		if sk != nil {
			define(*sk)
			out = append(out, types.KeySchemaElement{AttributeName: aws.String(sk.Name), KeyType: types.KeyTypeRange})
		}
		return out
	}
	sk := s.SortKey
	in := &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: types.BillingModePayPerRequest,
		KeySchema:   keySchema(s.PartitionKey, &sk),
	}
	for _, g := range s.GSIs {
		p := &types.Projection{ProjectionType: types.ProjectionType(g.Projection)}
		if g.Projection == ProjectInclude {
			p.NonKeyAttributes = append([]string(nil), g.NonKeyAttributes...)
		}
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, types.GlobalSecondaryIndex{
			IndexName:  aws.String(g.Name),
			KeySchema:  keySchema(g.PartitionKey, g.SortKey),
			Projection: p,
		})
	}
	for _, n := range order {
		in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{
			AttributeName: aws.String(n), AttributeType: types.ScalarAttributeType(defs[n]),
		})
	}
	return in
}

// TimeToLiveInput returns the UpdateTimeToLive request that enables TTL on
// the table named name, or nil when s has no TTL attribute.
func (s TableSpec) TimeToLiveInput(name string) *dynamodb.UpdateTimeToLiveInput {
	if s.TTLAttribute == "" {
		return nil
	}
	return &dynamodb.UpdateTimeToLiveInput{
		TableName: aws.String(name),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{
			AttributeName: aws.String(s.TTLAttribute), Enabled: aws.Bool(true),
		},
	}
}
