package idsyncstack

import (
	"errors"
	"reflect"
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/jsii-runtime-go"

	"github.com/idsync/idsync/consumers"
	"github.com/idsync/idsync/consumers/connect"
	"github.com/idsync/idsync/consumers/workmail"
	"github.com/idsync/idsync/infra/internal/iamop"
	"github.com/idsync/idsync/internal/idcresolve"
	"github.com/idsync/idsync/internal/oktaapi"
	"github.com/idsync/idsync/producers/idcsnapshot"
	"github.com/idsync/idsync/producers/oktahook"
	"github.com/idsync/idsync/producers/publish"
)

// Least privilege, per function (each has its own role), from what its
// code calls:
//
//	oktahook     ledger PutItem and Query (a join received but not yet
//	             folded); sqs:SendMessage on the target queues;
//	             secretsmanager:GetSecretValue on the hook secret
//	idcsnapshot  state Query, Scan, BatchWriteItem and the lease's
//	             UpdateItem; ledger PutItem; sqs:SendMessage on the target
//	             queues; IdentityStore reads of the one identity store
//	consumers    state Query (table and indexes) and PutItem; ledger PutItem
//	             and GetItem (the applied-record check); sqs:SendMessage on
//	             their own dead-letter queue; their own target's user APIs
//	             on the one organisation / instance, and no other target's
//	             (the WorkMail consumer may also pass the mailbox export
//	             role, that role only, when exportTo is configured);
//	             and, for the Lambda service's poller, receive/delete/
//	             attributes on their own queue
//
// The actions of every SDK client a function holds come from the narrow
// interface its package declares for that client (clientActions, by
// reflection through iamop), so a method added to an interface is granted
// at the next deploy and nothing else is. The DynamoDB item actions are
// listed (dynamoItems) because one interface, store.DB, serves every store
// method (the snapshot lease included); the grants test derives each
// function's item actions per table from its code (infra/internal/codeuse)
// and fails on any difference.
//
// The two consumer functions run one binary (cmd/consumer); what each
// calls is what internal/app's target registry entry for its
// IDSYNC_TARGET builds (the grants test analyses the binary once per
// entry), so each is granted its own target's API only.
//
// No statement needs Resource "*": WorkMail authorises every user API
// against the organisation ARN, Connect against the instance and its
// sub-resources, and IdentityStore against the store ARN plus its
// region- and account-less user/group/membership ARNs.

// clientActions are the IAM actions of the functions' narrow SDK client
// interfaces.
type clientActions struct {
	workMail      []string // consumers/workmail.API
	connect       []string // consumers/connect.API
	workMailPlan  []string // consumers/workmail.PlanAPI (the snapshot's reconciliation plans)
	connectPlan   []string // consumers/connect.PlanAPI (the snapshot's reconciliation plans)
	workMailInv   []string // consumers/workmail.InventoryAPI (the snapshot's drift check)
	connectInv    []string // consumers/connect.InventoryAPI (the snapshot's drift check)
	identityStore []string // producers/idcsnapshot.IdentityStore
	publish       []string // producers/publish.SQS (SendMessageBatch is sqs:SendMessage)
	deadLetter    []string // consumers.DLQ
	hookSecret    []string // producers/oktahook.SecretsManagerAPI
	idcLookup     []string // internal/idcresolve.IdentityStore (the WorkMail consumer's IdC user lookups)
	oktaSecret    []string // internal/oktaapi.SecretsManagerAPI (the Connect consumer's and the snapshot's Okta API credentials)
}

// newClientActions reflects over the interfaces.
//
// Errors: an interface method that is not an SDK operation.
func newClientActions() (clientActions, error) {
	var errs []error
	of := func(t reflect.Type) []string {
		actions, err := iamop.FromInterface(t)
		errs = append(errs, err)
		return actions
	}
	c := clientActions{
		workMail:      of(reflect.TypeFor[workmail.API]()),
		connect:       of(reflect.TypeFor[connect.API]()),
		workMailPlan:  of(reflect.TypeFor[workmail.PlanAPI]()),
		connectPlan:   of(reflect.TypeFor[connect.PlanAPI]()),
		workMailInv:   of(reflect.TypeFor[workmail.InventoryAPI]()),
		connectInv:    of(reflect.TypeFor[connect.InventoryAPI]()),
		identityStore: of(reflect.TypeFor[idcsnapshot.IdentityStore]()),
		publish:       of(reflect.TypeFor[publish.SQS]()),
		deadLetter:    of(reflect.TypeFor[consumers.DLQ]()),
		hookSecret:    of(reflect.TypeFor[oktahook.SecretsManagerAPI]()),
		idcLookup:     of(reflect.TypeFor[idcresolve.IdentityStore]()),
		oktaSecret:    of(reflect.TypeFor[oktaapi.SecretsManagerAPI]()),
	}
	return c, errors.Join(errs...)
}

// dynamoItems are a function's DynamoDB item actions on the state table,
// on the state table's indexes and on the ledger.
type dynamoItems struct {
	state, stateIndexes, ledger []string
}

// The store methods each function calls, and the item actions they make:
//
//	oktahook     RecordReceivedAll and Append (ledger PutItem),
//	             FindByOktaID (state Query of the partition and of the
//	             indexes: only managed people's events are queued),
//	             JoinReceived (ledger Query of the person's partition: a
//	             person whose join is not folded yet is about to be
//	             managed), TakeRemovals (state UpdateItem: the removal brake)
//	idcsnapshot  AllRecords (state Scan), SnapshotRecords (state Query),
//	             WriteSnapshotRecords (state BatchWriteItem), AcquireLease
//	             and ReleaseLease (state UpdateItem), RunProgress and
//	             SaveRunProgress (state GetItem, PutItem: a run continued in
//	             the next invocation), RecordReceivedAll and
//	             Append (ledger PutItem), MarkDriftChecked (state
//	             UpdateItem of the lease)
//	consumers    Fold (state Query of the person's partition and of the
//	             indexes, state PutItem), PutTarget (state PutItem),
//	             MarkFailed (state UpdateItem of a reconcile mark),
//	             ReleaseMark (state DeleteItem of a reconcile mark), Commit
//	             (a transaction of state and ledger Puts), Applied (ledger
//	             GetItem), Append (ledger PutItem)
var (
	hookItems = dynamoItems{
		state:        []string{"dynamodb:Query", "dynamodb:UpdateItem"},
		stateIndexes: []string{"dynamodb:Query"},
		ledger:       []string{"dynamodb:PutItem", "dynamodb:Query"},
	}
	snapshotItems = dynamoItems{
		state:  []string{"dynamodb:Query", "dynamodb:Scan", "dynamodb:BatchWriteItem", "dynamodb:UpdateItem", "dynamodb:GetItem", "dynamodb:PutItem"},
		ledger: []string{"dynamodb:PutItem"},
	}
	consumerItems = dynamoItems{
		state:        []string{"dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"},
		stateIndexes: []string{"dynamodb:Query"},
		ledger:       []string{"dynamodb:PutItem", "dynamodb:GetItem"},
	}
)

// eventSourceActions are what the Lambda service's SQS poller needs on a
// consumer's queue, through the consumer's role (AWS's documented set for
// an SQS event source; the function's code calls none of them).
func eventSourceActions() []string {
	return []string{"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}
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

// allowItems grants a function's DynamoDB item actions.
func (b *builder) allowItems(role awsiam.Role, items dynamoItems) {
	if len(items.state) > 0 {
		allow(role, "State", items.state, []*string{b.state.TableArn()}, nil)
	}
	if len(items.stateIndexes) > 0 {
		allow(role, "StateIndexes", items.stateIndexes, []*string{jsii.String(*b.state.TableArn() + "/index/*")}, nil)
	}
	if len(items.ledger) > 0 {
		allow(role, "Ledger", items.ledger, []*string{b.ledger.TableArn()}, nil)
	}
}

// allowWorkMail grants the WorkMail user APIs on the one organisation,
// the IdC user lookups (GetUserId, DescribeUser) of a person known from
// Okta only, in the one identity store, and, when mailboxes are exported,
// passing the export role.
func (b *builder) allowWorkMail(role awsiam.Role) {
	b.allowWorkMailActions(role, "WorkMail", b.actions.workMail)
	b.allowPassExportRole(role)
	allow(role, "IdentityStoreLookup", b.actions.idcLookup, []*string{
		b.identityStoreARN(*b.stack.Account(), "identitystore", b.s.IdentityStoreID),
		b.identityStoreARN("", "user", "*"),
	}, nil)
}

// allowWorkMailActions grants actions on the one organisation.
func (b *builder) allowWorkMailActions(role awsiam.Role, id string, actions []string) {
	allow(role, id, actions, []*string{b.stack.FormatArn(&awscdk.ArnComponents{
		Service: jsii.String("workmail"), Resource: jsii.String("organization"),
		ResourceName: jsii.String(b.s.WorkMailOrganizationID), ArnFormat: awscdk.ArnFormat_SLASH_RESOURCE_NAME,
	})}, nil)
}

// identityStoreARN is an IdentityStore ARN (region-less; the store's with
// the account, its users', groups' and memberships' without).
func (b *builder) identityStoreARN(account, resource, name string) *string {
	return b.stack.FormatArn(&awscdk.ArnComponents{
		Service: jsii.String("identitystore"), Region: jsii.String(""), Account: jsii.String(account),
		Resource: jsii.String(resource), ResourceName: jsii.String(name), ArnFormat: awscdk.ArnFormat_SLASH_RESOURCE_NAME,
	})
}

// allowConnect grants the Connect user APIs on the one instance (the
// instance ARN and its users, security and routing profiles and hierarchy
// groups below it), and tagging of its users with the ownership tag only
// (CreateUser with Tags needs connect:TagResource).
func (b *builder) allowConnect(role awsiam.Role) {
	b.allowConnectActions(role, "Connect", b.actions.connect)
	allow(role, "ConnectOwnershipTag", []string{"connect:TagResource"}, []*string{b.connectARN(b.s.ConnectInstanceID + "/agent/*")},
		map[string]any{"ForAllValues:StringEquals": map[string]any{"aws:TagKeys": []string{ConnectOwnershipTagKey}}})
	b.allowOktaAPISecret(role)
}

// allowOktaAPISecret grants reading the Okta API credentials' secret, when
// one is configured: the Connect consumer's enrichment and the snapshot's
// status reconciliation read it.
func (b *builder) allowOktaAPISecret(role awsiam.Role) {
	if name := b.s.OktaAPISecretName; name != "" {
		// A name-referenced secret's ARN ends in six random characters.
		secret := b.stack.FormatArn(&awscdk.ArnComponents{
			Service: jsii.String("secretsmanager"), Resource: jsii.String("secret"),
			ResourceName: jsii.String(name + "-??????"), ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME,
		})
		allow(role, "OktaAPISecret", b.actions.oktaSecret, []*string{secret}, nil)
	}
}

// allowConnectActions grants actions on the one instance and below it.
func (b *builder) allowConnectActions(role awsiam.Role, id string, actions []string) {
	instance := b.s.ConnectInstanceID
	allow(role, id, actions, []*string{b.connectARN(instance), b.connectARN(instance + "/*")}, nil)
}

// connectARN is the ARN of instance/<name>.
func (b *builder) connectARN(name string) *string {
	return b.stack.FormatArn(&awscdk.ArnComponents{
		Service: jsii.String("connect"), Resource: jsii.String("instance"),
		ResourceName: jsii.String(name), ArnFormat: awscdk.ArnFormat_SLASH_RESOURCE_NAME,
	})
}

// allowPlanning grants the snapshot the read-only calls its
// reconciliation's planners and its drift check's inventories make on
// each configured target (granted whatever snapshot.drift says: the
// document may only be known at deploy time).
func (b *builder) allowPlanning(role awsiam.Role) {
	if b.s.WorkMailOrganizationID != "" {
		b.allowWorkMailActions(role, "WorkMailPlan", append(slices.Clone(b.actions.workMailPlan), b.actions.workMailInv...))
	}
	if b.s.ConnectInstanceID != "" {
		b.allowConnectActions(role, "ConnectPlan", append(slices.Clone(b.actions.connectPlan), b.actions.connectInv...))
	}
}

// allowIdentityStore grants the snapshot's reads of the one identity store:
// its ARN, the configured groups (every group when the document is only
// known at deploy time) and the user and membership ARNs, which carry ids
// IdC mints and so cannot be narrowed further.
func (b *builder) allowIdentityStore(role awsiam.Role) {
	arn := b.identityStoreARN
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
	allow(role, "IdentityStoreRead", b.actions.identityStore, resources, nil)
}
