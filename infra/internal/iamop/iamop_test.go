package iamop_test

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/infra/internal/iamop"
)

type queueClient interface {
	SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
	GetQueueUrl(ctx context.Context, in *sqs.GetQueueUrlInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueUrlOutput, error)
}

type transactions interface {
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

type notAnOperation interface {
	Close() error
}

func TestFromInterface(t *testing.T) {
	got, err := iamop.FromInterface(reflect.TypeFor[queueClient]())
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"sqs:GetQueueUrl", "sqs:SendMessage"}, got); d != "" {
		t.Errorf("actions (-want +got):\n%s", d)
	}
	for _, c := range []struct {
		t    reflect.Type
		want string
	}{
		{reflect.TypeFor[transactions](), "authorised through its items"},
		{reflect.TypeFor[notAnOperation](), "not an SDK operation"},
		{reflect.TypeFor[string](), "not an interface"},
	} {
		if _, err := iamop.FromInterface(c.t); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want one mentioning %q", c.t, err, c.want)
		}
	}
}

func TestActions(t *testing.T) {
	for _, c := range []struct {
		pkg, op string
		want    []string
		ok      bool
	}{
		{iamop.SDKServicePrefix + "workmail", "CreateUser", []string{"workmail:CreateUser"}, true},
		{iamop.SDKServicePrefix + "sqs", "DeleteMessageBatch", []string{"sqs:DeleteMessage"}, true},
		{iamop.SDKServicePrefix + "ssoadmin", "ListInstances", []string{"sso:ListInstances"}, true},
		{iamop.SDKServicePrefix + "dynamodb", "TransactWriteItems", nil, true},
		{iamop.DynamoDBTypesPath, "Put", nil, false},
		{"github.com/idsync/idsync/store", "Append", nil, false},
	} {
		got, ok := iamop.Actions(c.pkg, c.op)
		if ok != c.ok || !cmp.Equal(c.want, got) {
			t.Errorf("Actions(%s, %s) = %v, %v; want %v, %v", c.pkg, c.op, got, ok, c.want, c.ok)
		}
	}
	if iamop.ItemAction("ConditionCheck") != "dynamodb:ConditionCheckItem" || iamop.ItemAction("PutRequest") != "" {
		t.Error("ItemAction")
	}
	if d := cmp.Diff([]string{"connect:TagResource"}, iamop.Implied("connect:CreateUser")); d != "" {
		t.Errorf("Implied (-want +got):\n%s", d)
	}
}
