package idsyncstack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/jsii-runtime-go"
)

// Least privilege, per function (each has its own role):
//
//	oktahook     ledger PutItem (append-only: no UpdateItem/DeleteItem);
//	             sqs:SendMessage on the target queues; read of the hook secret
//	idcsnapshot  state read/write (scan, query, batch write, the lease's
//	             UpdateItem); ledger PutItem; sqs:SendMessage on the target
//	             queues; IdentityStore reads of the one identity store
//	consumers    state read/write; ledger PutItem + GetItem (the applied
//	             record check); their own queue through the event source
//	             mapping, sqs:SendMessage on their own dead-letter queue; the
//	             target's user APIs on the one organisation / instance
//
// No statement needs Resource "*": WorkMail authorises every user API
// against the organisation ARN, Connect against the instance and its
// sub-resources, and IdentityStore against the store ARN plus its
// region- and account-less user/group/membership ARNs.

// stateActions are the data-plane actions on the state table (the store's
// reads, conditional puts and the snapshot's batch writes and lease
// updates); no stream, table-management or TTL actions.
func stateActions() []string {
	return []string{
		"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:Scan",
		"dynamodb:ConditionCheckItem", "dynamodb:PutItem", "dynamodb:UpdateItem",
		"dynamodb:DeleteItem", "dynamodb:BatchWriteItem",
	}
}

// workMailActions are the WorkMail calls consumers/workmail makes.
func workMailActions() []string {
	return []string{
		"workmail:DescribeOrganization", "workmail:DescribeIdentityProviderConfiguration",
		"workmail:DescribeUser", "workmail:ListUsers", "workmail:DescribeGroup", "workmail:DescribeResource",
		"workmail:DescribeEntity", "workmail:CreateUser",
		"workmail:RegisterToWorkMail", "workmail:UpdateUser", "workmail:UpdatePrimaryEmailAddress",
		"workmail:DeregisterFromWorkMail", "workmail:DeleteUser",
	}
}

// connectActions are the Connect calls consumers/connect makes.
func connectActions() []string {
	return []string{
		"connect:CreateUser", "connect:DescribeUser", "connect:SearchUsers",
		"connect:UpdateUserIdentityInfo", "connect:UpdateUserSecurityProfiles",
		"connect:UpdateUserRoutingProfile", "connect:UpdateUserHierarchy", "connect:DeleteUser",
	}
}

// connectListActions are the account-wide reads consumers/connect makes:
// ListInstances and its dependent action.
func connectListActions() []string {
	return []string{"connect:ListInstances", "ds:DescribeDirectories"}
}

// identityStoreActions are the IdentityStore calls producers/idcsnapshot
// makes (it resolves no names, so no GetGroupId/GetUserId).
func identityStoreActions() []string {
	return []string{
		"identitystore:ListGroupMemberships", "identitystore:ListUsers", "identitystore:DescribeUser",
	}
}

// allow adds one statement to role's policy.
func allow(role awsiam.Role, sid string, actions []string, resources []*string, conditions map[string]any) {
	props := &awsiam.PolicyStatementProps{
		Sid:       jsii.String(sid),
		Actions:   jsii.Strings(actions...),
		Resources: &resources,
	}
	if conditions != nil {
		props.Conditions = &conditions
	}
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(props))
}

// allowState grants the state table and its indexes.
func (b *builder) allowState(role awsiam.Role) {
	allow(role, "State", stateActions(), []*string{
		b.state.TableArn(), jsii.String(*b.state.TableArn() + "/index/*"),
	}, nil)
}

// allowWorkMail grants the WorkMail user APIs on the one organisation.
func (b *builder) allowWorkMail(role awsiam.Role) {
	allow(role, "WorkMail", workMailActions(), []*string{b.stack.FormatArn(&awscdk.ArnComponents{
		Service: jsii.String("workmail"), Resource: jsii.String("organization"),
		ResourceName: jsii.String(b.s.WorkMailOrganizationID), ArnFormat: awscdk.ArnFormat_SLASH_RESOURCE_NAME,
	})}, nil)
}

// allowConnect grants the Connect user APIs on the one instance (the
// instance ARN and its users, security and routing profiles and hierarchy
// groups below it), and tagging of its users with the ownership tag only
// (CreateUser with Tags needs connect:TagResource).
func (b *builder) allowConnect(role awsiam.Role) {
	arn := func(name string) *string {
		return b.stack.FormatArn(&awscdk.ArnComponents{
			Service: jsii.String("connect"), Resource: jsii.String("instance"),
			ResourceName: jsii.String(name), ArnFormat: awscdk.ArnFormat_SLASH_RESOURCE_NAME,
		})
	}
	id := b.s.ConnectInstanceID
	allow(role, "Connect", connectActions(), []*string{arn(id), arn(id + "/*")}, nil)
	// The instance's identity management type (which decides how long a
	// username may be) is read with ListInstances, a list action without
	// resource-level permissions (Resource "*"), whose dependent action is
	// ds:DescribeDirectories; both only read. DescribeInstance would allow
	// the instance's ARN instead, but the Connect stand-in does not serve it.
	allow(role, "ConnectInstances", connectListActions(), []*string{jsii.String("*")}, nil)
	allow(role, "ConnectOwnershipTag", []string{"connect:TagResource"}, []*string{arn(id + "/agent/*")},
		map[string]any{"ForAllValues:StringEquals": map[string]any{"aws:TagKeys": []string{ConnectOwnershipTagKey}}})
}

// allowIdentityStore grants the snapshot's reads of the one identity store:
// its ARN, the configured groups (every group when the document is only
// known at deploy time) and the user and membership ARNs, which carry ids
// IdC mints and so cannot be narrowed further.
func (b *builder) allowIdentityStore(role awsiam.Role) {
	arn := func(account, resource, name string) *string {
		return b.stack.FormatArn(&awscdk.ArnComponents{
			Service: jsii.String("identitystore"), Region: jsii.String(""), Account: jsii.String(account),
			Resource: jsii.String(resource), ResourceName: jsii.String(name), ArnFormat: awscdk.ArnFormat_SLASH_RESOURCE_NAME,
		})
	}
	resources := []*string{
		arn(*b.stack.Account(), "identitystore", b.s.IdentityStoreID),
		arn("", "user", "*"),
		arn("", "membership", "*"),
	}
	if b.s.idcGroupIDs == nil {
		resources = append(resources, arn("", "group", "*"))
	}
	for _, g := range b.s.idcGroupIDs {
		resources = append(resources, arn("", "group", g))
	}
	allow(role, "IdentityStoreRead", identityStoreActions(), resources, nil)
}
