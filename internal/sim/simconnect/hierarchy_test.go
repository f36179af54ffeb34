package simconnect_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/connect"
	"github.com/aws/aws-sdk-go-v2/service/connect/types"
)

func TestUpdateUserHierarchy(t *testing.T) {
	e := newEnv(t, quotasOff())
	ctx := context.Background()
	id := e.mustCreate(t, "hier@example.com")
	describe := func() string {
		out, err := e.client.DescribeUser(ctx, &connect.DescribeUserInput{InstanceId: aws.String(e.instance), UserId: aws.String(id)})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.User.HierarchyGroupId)
	}
	if _, err := e.client.UpdateUserHierarchy(ctx, &connect.UpdateUserHierarchyInput{
		InstanceId: aws.String(e.instance), UserId: aws.String(id), HierarchyGroupId: aws.String(e.group),
	}); err != nil {
		t.Fatalf("set hierarchy group: %v", err)
	}
	if got := describe(); got != e.group {
		t.Fatalf("hierarchy group = %q, want %q", got, e.group)
	}
	if _, err := e.client.UpdateUserHierarchy(ctx, &connect.UpdateUserHierarchyInput{
		InstanceId: aws.String(e.instance), UserId: aws.String(id),
	}); err != nil {
		t.Fatalf("clear hierarchy group: %v", err)
	}
	if got := describe(); got != "" {
		t.Fatalf("hierarchy group = %q after clearing, want none", got)
	}
	_, err := e.client.UpdateUserHierarchy(ctx, &connect.UpdateUserHierarchyInput{
		InstanceId: aws.String(e.instance), UserId: aws.String(id), HierarchyGroupId: aws.String("00000000-0000-4000-8000-000000000000"),
	})
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) || httpStatus(err) != 404 {
		t.Fatalf("unknown group: %v, want ResourceNotFoundException 404", err)
	}
}
