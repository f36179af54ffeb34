package idsyncstack

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/idsync/idsync/store"
)

// newTable builds a table from its store spec: on-demand, point-in-time
// recovery, deletion protection, retained when the stack is deleted or the
// table replaced, TTL on the spec's attribute if it has one, and a stream
// of the given view type unless it is "".
func newTable(scope constructs.Construct, id, name string, spec store.TableSpec, stream awsdynamodb.StreamViewType) (awsdynamodb.Table, error) {
	pk, err := attribute(spec.PartitionKey)
	if err != nil {
		return nil, err
	}
	sk, err := attribute(spec.SortKey)
	if err != nil {
		return nil, err
	}
	props := &awsdynamodb.TableProps{
		TableName:    jsii.String(name),
		PartitionKey: pk,
		SortKey:      sk,
		BillingMode:  awsdynamodb.BillingMode_PAY_PER_REQUEST,
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		DeletionProtection: jsii.Bool(true),
		RemovalPolicy:      awscdk.RemovalPolicy_RETAIN,
		Stream:             stream,
	}
	if spec.TTLAttribute != "" {
		props.TimeToLiveAttribute = jsii.String(spec.TTLAttribute)
	}
	t := awsdynamodb.NewTable(scope, jsii.String(id), props)
	for _, g := range spec.GSIs {
		gsi := &awsdynamodb.GlobalSecondaryIndexProps{IndexName: jsii.String(g.Name)}
		if gsi.PartitionKey, err = attribute(g.PartitionKey); err != nil {
			return nil, fmt.Errorf("index %s: %w", g.Name, err)
		}
		if g.SortKey != nil {
			if gsi.SortKey, err = attribute(*g.SortKey); err != nil {
				return nil, fmt.Errorf("index %s: %w", g.Name, err)
			}
		}
		switch g.Projection {
		case store.ProjectAll:
			gsi.ProjectionType = awsdynamodb.ProjectionType_ALL
		case store.ProjectKeysOnly:
			gsi.ProjectionType = awsdynamodb.ProjectionType_KEYS_ONLY
		case store.ProjectInclude:
			gsi.ProjectionType = awsdynamodb.ProjectionType_INCLUDE
			gsi.NonKeyAttributes = jsii.Strings(g.NonKeyAttributes...)
		default:
			return nil, fmt.Errorf("index %s: unknown projection %q", g.Name, g.Projection)
		}
		t.AddGlobalSecondaryIndex(gsi)
	}
	return t, nil
}

func attribute(k store.KeyAttr) (*awsdynamodb.Attribute, error) {
	var typ awsdynamodb.AttributeType
	switch k.Type {
	case store.AttrString:
		typ = awsdynamodb.AttributeType_STRING
	case store.AttrNumber:
		typ = awsdynamodb.AttributeType_NUMBER
	case store.AttrBinary:
		typ = awsdynamodb.AttributeType_BINARY
	default:
		return nil, fmt.Errorf("key attribute %s: unknown type %q", k.Name, k.Type)
	}
	return &awsdynamodb.Attribute{Name: jsii.String(k.Name), Type: typ}, nil
}
