// Package testenv gives integration tests real DynamoDB and SQS engines
// (DynamoDB Local and fauxqs) reached through the real aws-sdk-go-v2 clients.
//
// It reuses the engines named by DYNAMODB_ENDPOINT and SQS_ENDPOINT when
// they answer; otherwise it runs `scripts/localaws start` once per test
// binary, which installs and starts them (and is a no-op when they already
// run). Each test gets its own uniquely named tables and queues, deleted when
// it ends. When the stand-ins cannot be had, tests skip, except when CI is
// set, where they fail loudly instead.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/idsync/idsync/internal/awsclient"
	"github.com/idsync/idsync/internal/localaws"
	"github.com/idsync/idsync/internal/settings"
)

// Env is a pair of running engines.
type Env struct {
	DynamoDBEndpoint string
	SQSEndpoint      string
}

// Get returns the engines, starting them if needed. It skips the test when
// they cannot be had, or fails it when CI is set. Once it has started them
// it exports their endpoints to the process environment, so later calls in
// the same test binary take the fast path.
func Get(t testing.TB) *Env {
	t.Helper()
	env, err := discover()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("testenv: local AWS stand-ins unavailable (CI is set, so not skipping): %v", err)
		}
		t.Skipf("testenv: local AWS stand-ins unavailable: %v", err)
	}
	return env
}

func discover() (*Env, error) {
	ddb, sq := os.Getenv(settings.EnvDynamoDBEndpoint), os.Getenv(settings.EnvSQSEndpoint)
	if ddb != "" && sq != "" && reachable(ddb) && reachable(sq) {
		return &Env{DynamoDBEndpoint: ddb, SQSEndpoint: sq}, nil
	}
	eps, err := localaws.Start(context.Background(), io.Discard)
	if err != nil {
		return nil, err
	}
	env := &Env{DynamoDBEndpoint: eps.DynamoDB, SQSEndpoint: eps.SQS}
	if err := os.Setenv(settings.EnvDynamoDBEndpoint, env.DynamoDBEndpoint); err != nil {
		return nil, fmt.Errorf("export endpoint: %w", err)
	}
	if err := os.Setenv(settings.EnvSQSEndpoint, env.SQSEndpoint); err != nil {
		return nil, fmt.Errorf("export endpoint: %w", err)
	}
	return env, nil
}

func reachable(endpoint string) bool {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return false
	}
	conn, err := net.DialTimeout("tcp", u.Host, 2*time.Second)
	if err != nil {
		return false
	}
	_ = conn.Close()
	return true
}

// LongContext returns a context that ends with the test or after d, for
// tests that drive a whole pipeline through quotas (on a loaded machine,
// under the race detector, these take minutes).
func LongContext(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// Context returns a context that ends with the test (or after 2 minutes).
func Context(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// AWSConfig returns an aws.Config for the local engines with static
// credentials and the given retry attempts (0 = the default).
func (e *Env) AWSConfig(t testing.TB, attempts int) aws.Config {
	t.Helper()
	cfg, err := awsclient.Config(Context(t), awsclient.Options{Local: true, MaxAttempts: attempts})
	if err != nil {
		t.Fatalf("aws config: %v", err)
	}
	return cfg
}

// DynamoDB returns a DynamoDB client for DynamoDB Local.
func (e *Env) DynamoDB(t testing.TB) *dynamodb.Client {
	return awsclient.DynamoDB(e.AWSConfig(t, 0), e.DynamoDBEndpoint)
}

// SQS returns an SQS client for fauxqs.
func (e *Env) SQS(t testing.TB) *sqs.Client {
	return awsclient.SQS(e.AWSConfig(t, 0), e.SQSEndpoint)
}

// UniqueName returns prefix-<test>-<random>, at most max characters and
// safe for both table and queue names.
func UniqueName(t testing.TB, prefix string, max int) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	suffix := hex.EncodeToString(b)
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' {
			return r
		}
		return '-'
	}, t.Name())
	room := max - len(prefix) - len(suffix) - 2
	if room < 0 {
		room = 0
	}
	if len(name) > room {
		name = name[len(name)-room:]
	}
	return strings.Trim(prefix+"-"+name, "-") + "-" + suffix
}

// CreateTable creates in (with a unique TableName derived from its own
// name), waits until it is active, deletes it when the test ends, and
// returns the name.
func (e *Env) CreateTable(t testing.TB, db *dynamodb.Client, in *dynamodb.CreateTableInput) string {
	t.Helper()
	ctx := Context(t)
	name := UniqueName(t, aws.ToString(in.TableName), 200)
	copied := *in
	copied.TableName = aws.String(name)
	if _, err := db.CreateTable(ctx, &copied); err != nil {
		t.Fatalf("create table %s: %v", name, err)
	}
	w := dynamodb.NewTableExistsWaiter(db)
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, 30*time.Second); err != nil {
		t.Fatalf("wait for table %s: %v", name, err)
	}
	t.Cleanup(func() {
		_, _ = db.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
	})
	return name
}

// Queue is a FIFO queue and its dead-letter queue.
type Queue struct {
	URL, ARN       string
	DLQURL, DLQARN string
}

// CreateFIFOQueue creates a FIFO queue with a FIFO DLQ after
// maxReceiveCount receives and the given visibility timeout, deleted when
// the test ends.
func (e *Env) CreateFIFOQueue(t testing.TB, client *sqs.Client, prefix string, maxReceiveCount int, visibility time.Duration) Queue {
	t.Helper()
	ctx := Context(t)
	base := UniqueName(t, prefix, 70)
	create := func(name string, attrs map[string]string) (string, string) {
		attrs[string(sqstypes.QueueAttributeNameFifoQueue)] = "true"
		out, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
		if err != nil {
			t.Fatalf("create queue %s: %v", name, err)
		}
		url := aws.ToString(out.QueueUrl)
		t.Cleanup(func() {
			_, _ = client.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: aws.String(url)})
		})
		got, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
			QueueUrl: aws.String(url), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
		})
		if err != nil {
			t.Fatalf("queue attributes %s: %v", name, err)
		}
		return url, got.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]
	}
	var q Queue
	q.DLQURL, q.DLQARN = create(base+"-dlq.fifo", map[string]string{})
	policy := fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":"%d"}`, q.DLQARN, maxReceiveCount)
	q.URL, q.ARN = create(base+".fifo", map[string]string{
		string(sqstypes.QueueAttributeNameRedrivePolicy):     policy,
		string(sqstypes.QueueAttributeNameVisibilityTimeout): fmt.Sprint(int(visibility.Seconds())),
	})
	return q
}

// Eventually polls check every 100 ms until it returns "" (done), failing
// the test with check's last answer after a minute. It is for waiting on
// asynchronous convergence, never for asserting performance.
func Eventually(t testing.TB, what string, check func() string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	last := ""
	for time.Now().Before(deadline) {
		if last = check(); last == "" {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: not reached within a minute; last: %s", what, last)
}
