package testenv_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/idsync/idsync/internal/testenv"
)

type item struct {
	PK    string `dynamodbav:"PK"`
	SK    string `dynamodbav:"SK"`
	Login string `dynamodbav:"login,omitempty"`
	N     int    `dynamodbav:"n"`
}

func smokeTable(t *testing.T, env *testenv.Env, db *dynamodb.Client) string {
	t.Helper()
	s := func(v string) *string { return aws.String(v) }
	return env.CreateTable(t, db, &dynamodb.CreateTableInput{
		TableName:   s("smoke"),
		BillingMode: ddbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []ddbtypes.AttributeDefinition{
			{AttributeName: s("PK"), AttributeType: ddbtypes.ScalarAttributeTypeS},
			{AttributeName: s("SK"), AttributeType: ddbtypes.ScalarAttributeTypeS},
			{AttributeName: s("login"), AttributeType: ddbtypes.ScalarAttributeTypeS},
		},
		KeySchema: []ddbtypes.KeySchemaElement{
			{AttributeName: s("PK"), KeyType: ddbtypes.KeyTypeHash},
			{AttributeName: s("SK"), KeyType: ddbtypes.KeyTypeRange},
		},
		GlobalSecondaryIndexes: []ddbtypes.GlobalSecondaryIndex{{
			IndexName:  s("byLogin"),
			KeySchema:  []ddbtypes.KeySchemaElement{{AttributeName: s("login"), KeyType: ddbtypes.KeyTypeHash}},
			Projection: &ddbtypes.Projection{ProjectionType: ddbtypes.ProjectionTypeAll},
		}},
	})
}

func put(t *testing.T, db *dynamodb.Client, table string, it item, cond *expression.ConditionBuilder) error {
	t.Helper()
	av, err := attributevalue.MarshalMap(it)
	if err != nil {
		t.Fatal(err)
	}
	in := &dynamodb.PutItemInput{TableName: aws.String(table), Item: av}
	if cond != nil {
		expr, err := expression.NewBuilder().WithCondition(*cond).Build()
		if err != nil {
			t.Fatal(err)
		}
		in.ConditionExpression = expr.Condition()
		in.ExpressionAttributeNames = expr.Names()
		in.ExpressionAttributeValues = expr.Values()
	}
	_, err = db.PutItem(testenv.Context(t), in)
	return err
}

func TestDynamoDBConditionalPutAndGSIQuery(t *testing.T) {
	env := testenv.Get(t)
	db := env.DynamoDB(t)
	table := smokeTable(t, env, db)
	notExists := expression.AttributeNotExists(expression.Name("PK"))

	if err := put(t, db, table, item{PK: "P#1", SK: "ID", Login: "ada", N: 1}, &notExists); err != nil {
		t.Fatalf("first conditional put: %v", err)
	}
	err := put(t, db, table, item{PK: "P#1", SK: "ID", Login: "ada", N: 2}, &notExists)
	var ccf *ddbtypes.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		t.Fatalf("second conditional put: got %v, want ConditionalCheckFailedException", err)
	}
	if err := put(t, db, table, item{PK: "P#2", SK: "ID", Login: "bob", N: 3}, nil); err != nil {
		t.Fatal(err)
	}

	keyCond := expression.Key("login").Equal(expression.Value("ada"))
	expr, err := expression.NewBuilder().WithKeyCondition(keyCond).Build()
	if err != nil {
		t.Fatal(err)
	}
	out, err := db.Query(testenv.Context(t), &dynamodb.QueryInput{
		TableName: aws.String(table), IndexName: aws.String("byLogin"),
		KeyConditionExpression:    expr.KeyCondition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	})
	if err != nil {
		t.Fatalf("query GSI: %v", err)
	}
	var got []item
	if err := attributevalue.UnmarshalListOfMaps(out.Items, &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].PK != "P#1" || got[0].N != 1 {
		t.Fatalf("GSI query = %+v, want the first write of P#1 only", got)
	}
}

func TestDynamoDBTransactionIsAtomic(t *testing.T) {
	env := testenv.Get(t)
	db := env.DynamoDB(t)
	table := smokeTable(t, env, db)
	ctx := testenv.Context(t)
	if err := put(t, db, table, item{PK: "P#1", SK: "TARGET", N: 1}, nil); err != nil {
		t.Fatal(err)
	}
	txPut := func(it item, cond expression.ConditionBuilder) ddbtypes.TransactWriteItem {
		av, err := attributevalue.MarshalMap(it)
		if err != nil {
			t.Fatal(err)
		}
		expr, err := expression.NewBuilder().WithCondition(cond).Build()
		if err != nil {
			t.Fatal(err)
		}
		return ddbtypes.TransactWriteItem{Put: &ddbtypes.Put{
			TableName: aws.String(table), Item: av,
			ConditionExpression:       expr.Condition(),
			ExpressionAttributeNames:  expr.Names(),
			ExpressionAttributeValues: expr.Values(),
		}}
	}
	// The ledger row would be new, but the target's expected version is wrong:
	// the whole transaction must be cancelled.
	_, err := db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []ddbtypes.TransactWriteItem{
		txPut(item{PK: "P#1", SK: "APPLIED#e1"}, expression.AttributeNotExists(expression.Name("PK"))),
		txPut(item{PK: "P#1", SK: "TARGET", N: 2}, expression.Name("n").Equal(expression.Value(7))),
	}})
	var canceled *ddbtypes.TransactionCanceledException
	if !errors.As(err, &canceled) {
		t.Fatalf("got %v, want TransactionCanceledException", err)
	}
	reasons := []string{}
	for _, r := range canceled.CancellationReasons {
		reasons = append(reasons, aws.ToString(r.Code))
	}
	if fmt.Sprint(reasons) != "[None ConditionalCheckFailed]" {
		t.Fatalf("cancellation reasons = %v", reasons)
	}
	got, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: map[string]ddbtypes.AttributeValue{
		"PK": &ddbtypes.AttributeValueMemberS{Value: "P#1"}, "SK": &ddbtypes.AttributeValueMemberS{Value: "APPLIED#e1"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if got.Item != nil {
		t.Fatalf("partial write survived a cancelled transaction: %v", got.Item)
	}
}

func receive(t *testing.T, client *sqs.Client, url string, max int32, visibility int32) []sqstypes.Message {
	t.Helper()
	out, err := client.ReceiveMessage(testenv.Context(t), &sqs.ReceiveMessageInput{
		QueueUrl: aws.String(url), MaxNumberOfMessages: max, VisibilityTimeout: visibility, WaitTimeSeconds: 1,
		MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
	})
	if err != nil {
		t.Fatalf("receive: %v", err)
	}
	return out.Messages
}

func bodies(ms []sqstypes.Message) []string {
	var out []string
	for _, m := range ms {
		out = append(out, aws.ToString(m.Body))
	}
	return out
}

func TestSQSFIFOOrderDedupVisibilityAndDelete(t *testing.T) {
	env := testenv.Get(t)
	client := env.SQS(t)
	ctx := testenv.Context(t)
	q := env.CreateFIFOQueue(t, client, "smoke", 3, 30*time.Second)

	var entries []sqstypes.SendMessageBatchRequestEntry
	add := func(id, body, group, dedup string) {
		entries = append(entries, sqstypes.SendMessageBatchRequestEntry{
			Id: aws.String(id), MessageBody: aws.String(body),
			MessageGroupId: aws.String(group), MessageDeduplicationId: aws.String(dedup),
		})
	}
	for i := range 4 {
		add(fmt.Sprint("a", i), fmt.Sprint("a", i), "person-a", fmt.Sprint("ev-a", i))
		add(fmt.Sprint("b", i), fmt.Sprint("b", i), "person-b", fmt.Sprint("ev-b", i))
	}
	// A duplicate of ev-a1 within the dedup window is accepted and dropped.
	add("dup", "a1-again", "person-a", "ev-a1")
	out, err := client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(q.URL), Entries: entries})
	if err != nil || len(out.Failed) != 0 || len(out.Successful) != 9 {
		t.Fatalf("send batch: %v %+v", err, out)
	}

	// While a message of a group is in flight, nothing after it in that group
	// is delivered; the other group goes on.
	first := receive(t, client, q.URL, 10, 30)
	if len(first) == 0 {
		t.Fatal("nothing received")
	}
	seen := map[string][]string{}
	var inflightA sqstypes.Message
	for _, m := range first {
		seen[m.Attributes["MessageGroupId"]] = append(seen[m.Attributes["MessageGroupId"]], aws.ToString(m.Body))
		if aws.ToString(m.Body) == "a0" {
			inflightA = m
		}
	}
	if inflightA.ReceiptHandle == nil {
		t.Fatalf("first receive %v lacks a0", bodies(first))
	}
	// Give a0 back (visibility 0): it must come again, with receive count 2,
	// before a1.
	if _, err := client.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl: aws.String(q.URL), ReceiptHandle: inflightA.ReceiptHandle, VisibilityTimeout: 0,
	}); err != nil {
		t.Fatalf("change visibility: %v", err)
	}
	var pending []sqstypes.Message
	for _, m := range first {
		if aws.ToString(m.Body) != "a0" {
			pending = append(pending, m)
		}
	}
	redelivered := false
	for range 20 {
		if len(pending) > 0 {
			var del []sqstypes.DeleteMessageBatchRequestEntry
			for i, m := range pending {
				del = append(del, sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(i)), ReceiptHandle: m.ReceiptHandle})
			}
			dout, err := client.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(q.URL), Entries: del})
			if err != nil || len(dout.Successful) != len(del) {
				t.Fatalf("delete batch: %v %+v", err, dout)
			}
		}
		pending = receive(t, client, q.URL, 10, 30)
		if len(pending) == 0 {
			break
		}
		for _, m := range pending {
			g := m.Attributes["MessageGroupId"]
			if aws.ToString(m.Body) == "a0" {
				redelivered = true
				if n := m.Attributes["ApproximateReceiveCount"]; n != "2" {
					t.Errorf("a0 redelivered with receive count %q, want 2", n)
				}
				continue
			}
			seen[g] = append(seen[g], aws.ToString(m.Body))
		}
	}
	if !redelivered {
		t.Error("a0 was not redelivered after its visibility was reset")
	}
	if got := fmt.Sprint(seen["person-a"], seen["person-b"]); got != "[a0 a1 a2 a3] [b0 b1 b2 b3]" {
		t.Fatalf("per-group order = %s, want [a0 a1 a2 a3] [b0 b1 b2 b3] (and no duplicate)", got)
	}
}

func TestSQSMessageMovesToDLQAfterMaxReceives(t *testing.T) {
	env := testenv.Get(t)
	client := env.SQS(t)
	ctx := testenv.Context(t)
	q := env.CreateFIFOQueue(t, client, "smoke", 2, 30*time.Second)
	if _, err := client.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl: aws.String(q.URL), MessageBody: aws.String("poison"),
		MessageGroupId: aws.String("p"), MessageDeduplicationId: aws.String("poison-1"),
	}); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		got := receive(t, client, q.URL, 1, 30)
		if len(got) != 1 {
			t.Fatalf("receive %d: got %d messages", i+1, len(got))
		}
		// Fail it: give it back at once.
		if _, err := client.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
			QueueUrl: aws.String(q.URL), ReceiptHandle: got[0].ReceiptHandle, VisibilityTimeout: 0,
		}); err != nil {
			t.Fatal(err)
		}
	}
	if got := receive(t, client, q.URL, 1, 30); len(got) != 0 {
		t.Fatalf("message still on the queue after maxReceiveCount: %v", bodies(got))
	}
	dlq := receive(t, client, q.DLQURL, 10, 30)
	if fmt.Sprint(bodies(dlq)) != "[poison]" {
		t.Fatalf("DLQ holds %v, want [poison]", bodies(dlq))
	}
}
