// Package iamop maps operations of the AWS SDK for Go v2 to the IAM actions
// that authorise them. The stack uses it to turn the narrow client
// interfaces the functions declare into grants, and the grants test to turn
// the operations a function's code makes into the actions it may hold.
//
// An operation's action is the service's IAM prefix, a colon and the
// operation's name, with the exceptions below, each documented by the
// service:
//
//   - SQS authorises SendMessageBatch, DeleteMessageBatch and
//     ChangeMessageVisibilityBatch as SendMessage, DeleteMessage and
//     ChangeMessageVisibility.
//   - DynamoDB authorises TransactWriteItems and TransactGetItems through
//     the actions of the items they carry (PutItem, UpdateItem, DeleteItem,
//     ConditionCheckItem; GetItem): Actions reports none for them, and
//     ItemAction names the action of each item type.
//   - The IAM prefix differs from the SDK package name for a few services
//     (ssoadmin is "sso", dynamodbstreams is "dynamodb").
package iamop

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// SDKServicePrefix is the import path prefix of the SDK's service packages.
const SDKServicePrefix = "github.com/aws/aws-sdk-go-v2/service/"

// prefixes are the IAM prefixes that differ from the package name.
var prefixes = map[string]string{
	"ssoadmin":        "sso",
	"dynamodbstreams": "dynamodb",
}

// batchAliases are operations authorised as another action.
var batchAliases = map[string]string{
	"sqs:SendMessageBatch":             "sqs:SendMessage",
	"sqs:DeleteMessageBatch":           "sqs:DeleteMessage",
	"sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
}

// itemCarriers are operations authorised only through their items.
var itemCarriers = map[string]bool{
	"dynamodb:TransactWriteItems": true,
	"dynamodb:TransactGetItems":   true,
}

// Service returns the IAM prefix of the SDK service package at pkgPath
// ("github.com/aws/aws-sdk-go-v2/service/sqs" → "sqs"); ok is false for any
// other package (including the services' types subpackages).
func Service(pkgPath string) (prefix string, ok bool) {
	name, found := strings.CutPrefix(pkgPath, SDKServicePrefix)
	if !found || name == "" || strings.Contains(name, "/") {
		return "", false
	}
	if p, ok := prefixes[name]; ok {
		return p, true
	}
	return name, true
}

// Actions returns the IAM actions authorising operation op of the SDK
// service package at pkgPath: one action, or none for a DynamoDB
// transaction (see ItemAction). ok is false when pkgPath is not a service
// package.
func Actions(pkgPath, op string) (actions []string, ok bool) {
	prefix, ok := Service(pkgPath)
	if !ok {
		return nil, false
	}
	a := prefix + ":" + op
	if itemCarriers[a] {
		return nil, true
	}
	if alias, ok := batchAliases[a]; ok {
		a = alias
	}
	return []string{a}, true
}

// ItemAction returns the action authorising a DynamoDB transaction item of
// the named type of package github.com/aws/aws-sdk-go-v2/service/dynamodb/types
// (Put, Update, Delete, ConditionCheck, Get), or "".
func ItemAction(typeName string) string {
	return map[string]string{
		"Put": "dynamodb:PutItem", "Update": "dynamodb:UpdateItem", "Delete": "dynamodb:DeleteItem",
		"ConditionCheck": "dynamodb:ConditionCheckItem", "Get": "dynamodb:GetItem",
	}[typeName]
}

// DynamoDBTypesPath is the import path of DynamoDB's types package.
const DynamoDBTypesPath = SDKServicePrefix + "dynamodb/types"

// FromInterface returns the sorted IAM actions of the methods of iface, an
// interface type whose every method is an SDK operation:
//
//	Op(ctx context.Context, in *svc.OpInput, optFns ...func(*svc.Options)) (*svc.OpOutput, error)
//
// Errors: iface is not an interface, or a method is not an SDK operation
// (its second parameter is not a pointer to the service package's
// <Method>Input).
func FromInterface(iface reflect.Type) ([]string, error) {
	if iface.Kind() != reflect.Interface {
		return nil, fmt.Errorf("iamop: %v is not an interface", iface)
	}
	set := map[string]bool{}
	for i := range iface.NumMethod() {
		m := iface.Method(i)
		if m.Type.NumIn() < 2 {
			return nil, fmt.Errorf("iamop: %v.%s is not an SDK operation", iface, m.Name)
		}
		in := m.Type.In(1)
		if in.Kind() != reflect.Pointer || in.Elem().Name() != m.Name+"Input" {
			return nil, fmt.Errorf("iamop: %v.%s takes %v, not a *%sInput", iface, m.Name, in, m.Name)
		}
		actions, ok := Actions(in.Elem().PkgPath(), m.Name)
		if !ok {
			return nil, fmt.Errorf("iamop: %v.%s: %s is not an SDK service package", iface, m.Name, in.Elem().PkgPath())
		}
		if len(actions) == 0 {
			return nil, fmt.Errorf("iamop: %v.%s is authorised through its items; grant them explicitly", iface, m.Name)
		}
		for _, a := range actions {
			set[a] = true
		}
	}
	out := make([]string, 0, len(set))
	for a := range set {
		out = append(out, a)
	}
	sort.Strings(out)
	return out, nil
}

// implied are actions a service authorises besides an operation's own
// when idsync calls it: Connect checks connect:TagResource for a CreateUser
// that carries tags (the Connect consumer tags every agent it creates with
// its ownership tag), Secrets Manager decrypts a secret under a
// customer-managed KMS key with the caller's kms:Decrypt, and
// StartMailboxExportJob hands WorkMail the role it writes the export with,
// which the caller must be allowed to pass (iam:PassRole).
var implied = map[string][]string{
	"connect:CreateUser":             {"connect:TagResource"},
	"secretsmanager:GetSecretValue":  {"kms:Decrypt"},
	"workmail:StartMailboxExportJob": {"iam:PassRole"},
}

// Implied returns the actions a service authorises besides action itself
// when idsync calls it (see implied), or nil.
func Implied(action string) []string { return implied[action] }
