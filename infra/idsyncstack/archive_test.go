package idsyncstack_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/infra/idsyncstack"
)

// lockedArchive: the ledger has a NEW_IMAGE stream; a pipe carries it to a
// Firehose delivery stream writing to a versioned, encrypted, private S3
// bucket with COMPLIANCE-mode Object Lock; no role can delete or unlock
// archived objects, and only Firehose's can write them.
func lockedArchive(t *testing.T, s synthed) {
	t.Helper()
	ledger := props(s.resource(t, s.id(s.stack.LedgerTable)))
	if d := cmp.Diff(obj{"StreamViewType": "NEW_IMAGE"}, ledger["StreamSpecification"]); d != "" {
		t.Errorf("ledger stream (-want +got):\n%s", d)
	}
	if _, ok := props(s.resource(t, s.id(s.stack.StateTable)))["StreamSpecification"]; ok {
		t.Errorf("the state table has a stream; only the ledger is archived")
	}

	a := s.stack.Archive
	bucketID := s.id(a.Bucket)
	bucket := s.resource(t, bucketID)
	bp := props(bucket)
	want := obj{
		"ObjectLockEnabled": true,
		"ObjectLockConfiguration": obj{"ObjectLockEnabled": "Enabled",
			"Rule": obj{"DefaultRetention": obj{"Mode": "COMPLIANCE", "Days": float64(idsyncstack.DefaultArchiveRetentionDays)}}},
		"VersioningConfiguration": obj{"Status": "Enabled"},
		"BucketEncryption": obj{"ServerSideEncryptionConfiguration": []any{
			obj{"ServerSideEncryptionByDefault": obj{"SSEAlgorithm": "AES256"}}}},
		"PublicAccessBlockConfiguration": obj{"BlockPublicAcls": true, "BlockPublicPolicy": true,
			"IgnorePublicAcls": true, "RestrictPublicBuckets": true},
	}
	for k, w := range want {
		if d := cmp.Diff(w, bp[k]); d != "" {
			t.Errorf("archive bucket %s (-want +got):\n%s", k, d)
		}
	}
	if bucket["DeletionPolicy"] != "Retain" || bucket["UpdateReplacePolicy"] != "Retain" {
		t.Errorf("archive bucket: deletion %v, replace %v; want Retain", bucket["DeletionPolicy"], bucket["UpdateReplacePolicy"])
	}
	must(t, "TLS only", func() {
		s.tmpl.HasResourceProperties(str("AWS::S3::BucketPolicy"), obj{
			"Bucket": obj{"Ref": bucketID},
			"PolicyDocument": obj{"Statement": []any{obj{
				"Effect": "Deny", "Action": "s3:*", "Principal": obj{"AWS": "*"},
				"Condition": obj{"Bool": obj{"aws:SecureTransport": "false"}},
			}}},
		})
	})

	deliveryID := s.id(a.DeliveryStream)
	dp := props(s.resource(t, deliveryID))
	dest, _ := dp["ExtendedS3DestinationConfiguration"].(obj)
	if dp["DeliveryStreamType"] != "DirectPut" || refID(dest["BucketARN"]) != bucketID || refID(dest["RoleARN"]) != s.id(a.DeliveryRole) {
		t.Errorf("delivery stream %v: want DirectPut to the archive bucket with its own role", dp)
	}
	pp := props(s.resource(t, s.id(a.Pipe)))
	if d := cmp.Diff([]any{s.id(s.stack.LedgerTable), "StreamArn"}, pp["Source"].(obj)["Fn::GetAtt"]); d != "" {
		t.Errorf("pipe source (-want +got):\n%s", d)
	}
	if refID(pp["Target"]) != deliveryID || refID(pp["RoleArn"]) != s.id(a.PipeRole) {
		t.Errorf("pipe %v: want the delivery stream as target, with its own role", pp)
	}
	src := pp["SourceParameters"].(obj)["DynamoDBStreamParameters"].(obj)
	if src["StartingPosition"] != "TRIM_HORIZON" || src["MaximumRetryAttempts"] != -1.0 || src["MaximumRecordAgeInSeconds"] != -1.0 {
		t.Errorf("pipe source parameters %v: want every record from the oldest, retried until it expires", src)
	}

	// Who may touch the bucket: Firehose's role may write new objects;
	// nothing may delete, unlock, or change the lock of anything (of any
	// bucket: the mailbox export role writes its own bucket only).
	forbidden := []string{"s3:Delete", "s3:PutObjectRetention", "s3:PutObjectLegalHold", "s3:BypassGovernanceRetention",
		"s3:PutBucketObjectLockConfiguration", "s3:PutBucketVersioning", "s3:PutBucketPolicy", "s3:PutLifecycleConfiguration"}
	// A statement is about the archive unless its resources name another
	// bucket of the stack and not the archive.
	var otherBuckets []string
	for bid := range s.resources("AWS::S3::Bucket") {
		if bid != bucketID {
			otherBuckets = append(otherBuckets, bid)
		}
	}
	onArchive := func(st obj) bool {
		b, _ := json.Marshal(st["Resource"])
		if strings.Contains(string(b), `"`+bucketID+`"`) {
			return true
		}
		for _, o := range otherBuckets {
			if strings.Contains(string(b), `"`+o+`"`) {
				return false
			}
		}
		return true
	}
	for id, p := range s.resources("AWS::IAM::Policy") {
		roles := list(props(p)["Roles"])
		for _, st := range list(props(p)["PolicyDocument"].(obj)["Statement"]) {
			st := st.(obj)
			for _, act := range list(st["Action"]) {
				action := act.(string)
				if !strings.HasPrefix(action, "s3:") {
					continue
				}
				for _, f := range forbidden {
					if strings.HasPrefix(action, f) {
						t.Errorf("%s grants %s", id, action)
					}
				}
				if onArchive(st) && (len(roles) != 1 || refID(roles[0]) != s.id(a.DeliveryRole)) {
					t.Errorf("%s: %s granted to %v, not only to the delivery stream's role", id, action, roles)
				}
			}
			// No role may change or remove a ledger row it did not write.
			for _, act := range list(st["Action"]) {
				for _, r := range list(st["Resource"]) {
					if refID(r) == s.id(s.stack.LedgerTable) && (act == "dynamodb:UpdateItem" || act == "dynamodb:DeleteItem" || act == "dynamodb:BatchWriteItem") {
						t.Errorf("%s grants %v on the ledger", id, act)
					}
				}
			}
		}
	}
}
