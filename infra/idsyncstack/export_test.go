package idsyncstack_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/infra/idsyncstack"
)

const (
	exportKey  = "arn:aws:kms:eu-west-1:111122223333:key/0a1b2c3d-0000-4000-8000-00000000e4a5"
	exportOrg  = "m-8f3c2a1b0d9e4f5a6b7c8d9e0f1a2b3c"
	exportFile = "testdata/workmail_export.json"
)

func exportProps(t *testing.T) idsyncstack.Props {
	p := baseProps(t)
	p.ConfigFile = exportFile
	p.ExportTransitionDays, p.ExportExpireDays = 30, 3650
	return p
}

// TestMailExport: with workmail.onLeave.exportTo the stack deploys the
// export bucket and the role WorkMail assumes to write to it, as the
// WorkMail admin guide's mail-export page describes, with least
// privilege; the WorkMail consumer may pass exactly that role; nothing
// else changes its guarantees.
func TestMailExport(t *testing.T) {
	s := synth(t, exportProps(t))
	me := s.stack.MailExport
	if me == nil {
		t.Fatal("no MailExport with exportTo configured")
	}
	bucketID, roleID := s.id(me.Bucket), s.id(me.Role)

	t.Run("bucket", func(t *testing.T) {
		bucket := s.resource(t, bucketID)
		bp := props(bucket)
		want := obj{
			"BucketName":              "example-idsync-mail-export",
			"VersioningConfiguration": obj{"Status": "Enabled"},
			"PublicAccessBlockConfiguration": obj{"BlockPublicAcls": true, "BlockPublicPolicy": true,
				"IgnorePublicAcls": true, "RestrictPublicBuckets": true},
			"OwnershipControls": obj{"Rules": []any{obj{"ObjectOwnership": "BucketOwnerEnforced"}}},
			"BucketEncryption": obj{"ServerSideEncryptionConfiguration": []any{obj{
				"BucketKeyEnabled":              false,
				"ServerSideEncryptionByDefault": obj{"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": exportKey},
			}}},
			"LifecycleConfiguration": obj{"Rules": []any{
				obj{"Id": "abort-incomplete-uploads", "Status": "Enabled", "AbortIncompleteMultipartUpload": obj{"DaysAfterInitiation": 7.0}},
				obj{"Id": "noncurrent-versions", "Status": "Enabled", "NoncurrentVersionExpiration": obj{"NoncurrentDays": 30.0}},
				obj{"Id": "exports", "Status": "Enabled", "ExpirationInDays": 3650.0,
					"Transitions": []any{obj{"StorageClass": "GLACIER", "TransitionInDays": 30.0}}},
			}},
		}
		for k, w := range want {
			if d := cmp.Diff(w, bp[k]); d != "" {
				t.Errorf("%s (-want +got):\n%s", k, d)
			}
		}
		if bucket["DeletionPolicy"] != "Retain" || bucket["UpdateReplacePolicy"] != "Retain" {
			t.Errorf("deletion %v, replace %v; want Retain", bucket["DeletionPolicy"], bucket["UpdateReplacePolicy"])
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
	})

	t.Run("role WorkMail assumes", func(t *testing.T) {
		rp := props(s.resource(t, roleID))
		if rp["RoleName"] != "idsync-workmail-export" || rp["Path"] != "/idsync/" {
			t.Errorf("role name %v, path %v: want the configured roleArn's", rp["RoleName"], rp["Path"])
		}
		trust := list(rp["AssumeRolePolicyDocument"].(obj)["Statement"])
		if len(trust) != 1 {
			t.Fatalf("trust statements %v", trust)
		}
		st := trust[0].(obj)
		cond := st["Condition"].(obj)
		if st["Effect"] != "Allow" || st["Action"] != "sts:AssumeRole" ||
			fmt.Sprint(st["Principal"]) != fmt.Sprint(obj{"Service": "export.workmail.amazonaws.com"}) ||
			render(cond["StringEquals"].(obj)["aws:SourceAccount"], nil) != "${AWS::AccountId}" ||
			render(cond["ArnLike"].(obj)["aws:SourceArn"], nil) != "arn:${AWS::Partition}:workmail:${AWS::Region}:${AWS::AccountId}:organization/"+exportOrg ||
			len(cond) != 2 {
			t.Errorf("trust statement %v", st)
		}
		objects := fmt.Sprintf(`{"Fn::Join":["",[{"Fn::GetAtt":[%q,"Arn"]},"/workmail/*"]]}`, bucketID)
		want := []string{
			"s3:AbortMultipartUpload ExportBucket.Arn/workmail/*",
			"s3:GetBucketPolicyStatus ExportBucket.Arn",
			"s3:PutObject ExportBucket.Arn/workmail/*",
		}
		for _, a := range []string{"kms:Decrypt", "kms:GenerateDataKey"} {
			want = append(want, a+" "+exportKey+` if {"StringEquals":{"kms:ViaService":{"Fn::Join":["",["s3.",{"Ref":"AWS::Region"},".amazonaws.com"]]}},`+
				`"StringLike":{"kms:EncryptionContext:aws:s3:arn":`+objects+`}}`)
		}
		sort.Strings(want)
		if d := cmp.Diff(want, s.grants(t, roleID, map[string]string{bucketID: "ExportBucket"})); d != "" {
			t.Errorf("export role grants (-want +got):\n%s", d)
		}
	})

	t.Run("the WorkMail consumer passes that role and no other", func(t *testing.T) {
		consumerRole := refID(props(s.resource(t, s.id(s.stack.Targets[idsyncstack.FnWorkMail].Consumer)))["Role"])
		var pass []string
		for _, g := range s.grants(t, consumerRole, map[string]string{roleID: "ExportRole"}) {
			if strings.HasPrefix(g, "iam:") {
				pass = append(pass, g)
			}
		}
		if d := cmp.Diff([]string{"iam:PassRole ExportRole.Arn"}, pass); d != "" {
			t.Errorf("consumer's iam grants (-want +got):\n%s", d)
		}
		for _, fn := range []string{s.id(s.stack.Hook), s.id(s.stack.Snapshot)} {
			for _, g := range s.grants(t, refID(props(s.resource(t, fn))["Role"]), nil) {
				if strings.HasPrefix(g, "iam:") {
					t.Errorf("%s: %s", fn, g)
				}
			}
		}
	})

	t.Run("outputs", func(t *testing.T) {
		outs := s.json["Outputs"].(obj)
		if refID(outs["MailExportBucketName"].(obj)["Value"]) != bucketID || refID(outs["MailExportRoleArn"].(obj)["Value"]) != roleID {
			t.Errorf("outputs %v %v", outs["MailExportBucketName"], outs["MailExportRoleArn"])
		}
	})

	t.Run("the rest holds", func(t *testing.T) {
		grantsMatchCode(t, s)
		noWildcards(t, s)
		lockedArchive(t, s)
		settingsAccept(t, s)
		if roles, fns := len(s.resources("AWS::IAM::Role")), len(s.resources("AWS::Lambda::Function")); roles != fns+3 {
			t.Errorf("%d roles for %d functions, want one per function, two for the archive and the export role", roles, fns)
		}
	})
}

// TestMailExportOnlyWithExportTo: without exportTo there is no export
// bucket, role or PassRole.
func TestMailExportOnlyWithExportTo(t *testing.T) {
	p := baseProps(t)
	p.ConfigFile = "testdata/workmail_only.json"
	s := synth(t, p)
	if s.stack.MailExport != nil {
		t.Error("MailExport without exportTo")
	}
	if n := len(s.resources("AWS::S3::Bucket")); n != 1 {
		t.Errorf("%d buckets, want the archive's only", n)
	}
	raw, _ := json.Marshal(s.json["Resources"])
	for _, banned := range []string{"iam:PassRole", "export.workmail.amazonaws.com"} {
		if strings.Contains(string(raw), banned) {
			t.Errorf("the template mentions %s", banned)
		}
	}
}

// TestMailExportSSES3AndEnvironment: SSE-S3 on request; with the stack's
// account and Region known, the role's account and the key's Region must
// be the stack's.
func TestMailExportSSES3AndEnvironment(t *testing.T) {
	p := exportProps(t)
	p.ExportBucketEncryption = "s3"
	p.ExportTransitionDays, p.ExportExpireDays = 0, 0
	p.Env = &awscdk.Environment{Account: jsii.String("111122223333"), Region: jsii.String("eu-west-1")}
	s := synth(t, p)
	bp := props(s.resource(t, s.id(s.stack.MailExport.Bucket)))
	if d := cmp.Diff([]any{obj{"ServerSideEncryptionByDefault": obj{"SSEAlgorithm": "AES256"}}},
		bp["BucketEncryption"].(obj)["ServerSideEncryptionConfiguration"]); d != "" {
		t.Errorf("encryption (-want +got):\n%s", d)
	}
	if rules := list(bp["LifecycleConfiguration"].(obj)["Rules"]); len(rules) != 2 {
		t.Errorf("lifecycle rules %v: want no expiry or transition by default", rules)
	}

	for name, env := range map[string]*awscdk.Environment{
		"another account": {Account: jsii.String("999988887777"), Region: jsii.String("eu-west-1")},
		"another Region":  {Account: jsii.String("111122223333"), Region: jsii.String("us-east-1")},
	} {
		p := exportProps(t)
		p.Env = env
		app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir())})
		if _, err := idsyncstack.New(app, "Idsync", p); !errors.Is(err, idsyncstack.ErrInvalidProps) {
			t.Errorf("%s: %v, want ErrInvalidProps", name, err)
		}
	}
}

// TestMailExportBadProps: an alias instead of a key, a resource that is
// not a role, and impossible lifecycles are refused before synth.
func TestMailExportBadProps(t *testing.T) {
	doc := func(t *testing.T, old, new string) string {
		t.Helper()
		raw, err := os.ReadFile(exportFile)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "export.json")
		if err := os.WriteFile(path, []byte(strings.Replace(string(raw), old, new, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	for _, c := range []struct {
		name string
		mod  func(t *testing.T, p *idsyncstack.Props)
		says string
	}{
		{"alias", func(t *testing.T, p *idsyncstack.Props) {
			p.ConfigFile = doc(t, "key/0a1b2c3d-0000-4000-8000-00000000e4a5", "alias/mail-export")
		}, "not an alias"},
		{"not a role", func(t *testing.T, p *idsyncstack.Props) {
			p.ConfigFile = doc(t, "role/idsync/idsync-workmail-export", "user/someone")
		}, "is not an IAM role ARN"},
		{"expiry before the transition", func(_ *testing.T, p *idsyncstack.Props) { p.ExportExpireDays, p.ExportTransitionDays = 10, 30 },
			"must come after ExportTransitionDays"},
		{"encryption", func(_ *testing.T, p *idsyncstack.Props) { p.ExportBucketEncryption = "dsse" }, `ExportBucketEncryption "dsse"`},
		{"negative days", func(_ *testing.T, p *idsyncstack.Props) { p.ExportExpireDays = -1 }, "must not be negative"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := exportProps(t)
			c.mod(t, &p)
			app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir())})
			_, err := idsyncstack.New(app, "Idsync", p)
			if !errors.Is(err, idsyncstack.ErrInvalidProps) || !strings.Contains(err.Error(), c.says) {
				t.Errorf("New: %v, want ErrInvalidProps saying %q", err, c.says)
			}
		})
	}
}
