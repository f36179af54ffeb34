package simconnect_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/connect"
	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/internal/awsclient"
)

// TestTagResource: TagResource adds tags to an agent by its ARN (keeping
// the others, replacing the value of a key it has), refuses a key the
// model forbids and an empty map, and does not find an ARN it does not
// hold.
func TestTagResource(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, quotasOff())
	id := e.mustCreate(t, "jdoe@example.com")
	d, err := e.client.DescribeUser(ctx, &connect.DescribeUserInput{InstanceId: aws.String(e.instance), UserId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	arn := d.User.Arn
	for _, tags := range []map[string]string{{"team": "support"}, {"idsync:person": "00u1", "team": "sales"}} {
		if _, err := e.client.TagResource(ctx, &connect.TagResourceInput{ResourceArn: arn, Tags: tags}); err != nil {
			t.Fatalf("TagResource %v: %v", tags, err)
		}
	}
	d, err = e.client.DescribeUser(ctx, &connect.DescribeUserInput{InstanceId: aws.String(e.instance), UserId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"idsync:person": "00u1", "team": "sales"}, d.User.Tags); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
	for name, c := range map[string]struct {
		arn    *string
		tags   map[string]string
		status int
		code   string
	}{
		"aws: prefix":  {arn, map[string]string{"aws:owner": "x"}, http.StatusBadRequest, "InvalidParameterException"},
		"no tags":      {arn, map[string]string{}, http.StatusBadRequest, "InvalidParameterException"},
		"unknown user": {aws.String(aws.ToString(arn) + "0"), map[string]string{"a": "b"}, http.StatusNotFound, "ResourceNotFoundException"},
	} {
		_, err := e.client.TagResource(ctx, &connect.TagResourceInput{ResourceArn: c.arn, Tags: c.tags})
		if httpStatus(err) != c.status || awsclient.ErrorCode(err) != c.code {
			t.Errorf("%s: %v, want %d %s", name, err, c.status, c.code)
		}
	}
}
