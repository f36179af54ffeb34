package idsyncstack

import (
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/jsii-runtime-go"

	"github.com/idsync/idsync/domain"
)

// MailExport is where WorkMail writes mailbox exports, deployed only when
// the configuration document has workmail.onLeave.exportTo: the bucket it
// names and the role it names, which WorkMail assumes to write there. The
// WorkMail consumer may pass exactly that role (iam:PassRole, which
// StartMailboxExportJob checks); operators' bulk exports pass it too.
//
// Following the WorkMail admin guide's "Exporting mailbox content"
// (https://docs.aws.amazon.com/workmail/latest/adminguide/mail-export.html,
// "IAM policy examples and role creation"):
//   - the role trusts export.workmail.amazonaws.com for sts:AssumeRole,
//     on conditions aws:SourceAccount (the stack's account) and
//     aws:SourceArn (the configured organisation), so that no other
//     account's or organisation's export can use it;
//   - it may s3:PutObject and s3:AbortMultipartUpload under the prefix
//     only, s3:GetBucketPolicyStatus on the bucket (the guide's policy
//     grants it: WorkMail requires a bucket without public access), and
//     kms:Decrypt and kms:GenerateDataKey on the key, only through S3 in
//     the stack's Region and only for objects under the prefix
//     (kms:ViaService, kms:EncryptionContext:aws:s3:arn) — so the bucket
//     does not use an S3 Bucket Key, whose encryption context would be
//     the bucket rather than the object.
//
// The bucket blocks all public access, enforces TLS and bucket-owner
// ownership, is versioned, encrypted by default with the configured key
// (or SSE-S3 with ExportBucketEncryption "s3"; WorkMail encrypts each
// export with the key either way), kept on stack deletion, and has the
// lifecycle the context gives.
type MailExport struct {
	Bucket awss3.Bucket
	Role   awsiam.Role
}

// Export bucket encryptions (Props.ExportBucketEncryption).
const (
	ExportBucketKMS = "kms"
	ExportBucketS3  = "s3"
)

// Export lifecycle defaults.
const (
	// DefaultExportNoncurrentDays: a replaced export object's old version
	// is kept this long (WorkMail writes a new key per job, so this is
	// rare).
	DefaultExportNoncurrentDays = 30
	exportAbortUploadsDays      = 7
)

// exportService is the principal WorkMail's mailbox export assumes the
// role as (mail-export.html).
const exportService = "export.workmail.amazonaws.com"

// resolveExport checks the export settings against the document's
// destination; to is nil without exportTo.
func (s *resolved) resolveExport(to *domain.MailboxExportTo) []error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidProps}, args...)...))
	}
	if s.ExportBucketEncryption == "" {
		s.ExportBucketEncryption = ExportBucketKMS
	}
	if s.ExportNoncurrentDays == 0 {
		s.ExportNoncurrentDays = DefaultExportNoncurrentDays
	}
	switch s.ExportBucketEncryption {
	case ExportBucketKMS, ExportBucketS3:
	default:
		bad("ExportBucketEncryption %q: %q or %q", s.ExportBucketEncryption, ExportBucketKMS, ExportBucketS3)
	}
	if s.ExportExpireDays < 0 || s.ExportTransitionDays < 0 || s.ExportNoncurrentDays < 1 {
		bad("export lifecycle: ExportExpireDays %d and ExportTransitionDays %d must not be negative, ExportNoncurrentDays %d at least 1",
			s.ExportExpireDays, s.ExportTransitionDays, s.ExportNoncurrentDays)
	}
	if s.ExportExpireDays > 0 && s.ExportTransitionDays > 0 && s.ExportExpireDays <= s.ExportTransitionDays {
		bad("ExportExpireDays %d must come after ExportTransitionDays %d", s.ExportExpireDays, s.ExportTransitionDays)
	}
	if to == nil {
		return errs
	}
	x := *to
	s.exportTo = &x
	if !strings.Contains(x.KMSKeyARN, ":key/") {
		bad("workmail.onLeave.exportTo.kmsKeyArn %q: the role is granted on the key, so give the key's ARN (…:key/<id>), not an alias", x.KMSKeyARN)
	}
	if _, _, err := roleNameOf(x.RoleARN); err != nil {
		bad("workmail.onLeave.exportTo.roleArn: %v", err)
	}
	return errs
}

// roleNameOf splits a role ARN's resource (role/<path…>/<name>) into the
// role's path and name.
func roleNameOf(arn string) (path, name string, err error) {
	i := strings.LastIndex(arn, ":")
	resource, ok := strings.CutPrefix(arn[i+1:], "role/")
	if !ok || resource == "" || strings.HasSuffix(resource, "/") {
		return "", "", fmt.Errorf("%q is not an IAM role ARN (arn:aws:iam::<account>:role/[<path>/]<name>)", arn)
	}
	path = "/"
	if j := strings.LastIndex(resource, "/"); j >= 0 {
		path, resource = "/"+resource[:j+1], resource[j+1:]
	}
	if len(resource) > 64 {
		return "", "", fmt.Errorf("role name %q is longer than 64 characters", resource)
	}
	return path, resource, nil
}

// arnAccount and arnRegion are an ARN's account and Region fields.
func arnAccount(arn string) string { return arnField(arn, 4) }
func arnRegion(arn string) string  { return arnField(arn, 3) }

func arnField(arn string, i int) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return ""
	}
	return parts[i]
}

// mailExport adds the export bucket and the role WorkMail assumes to
// write to it.
//
// Errors: the role's account or the key's Region disagreeing with the
// stack's (checked when the stack's environment is known at synth).
func (b *builder) mailExport() (*MailExport, error) {
	x := *b.s.exportTo
	stack := b.stack
	var errs []string
	if a := stack.Account(); !*awscdk.Token_IsUnresolved(a) && arnAccount(x.RoleARN) != *a {
		errs = append(errs, fmt.Sprintf("the export role %s is not in the stack's account %s", x.RoleARN, *a))
	}
	if r := stack.Region(); !*awscdk.Token_IsUnresolved(r) && arnRegion(x.KMSKeyARN) != *r {
		errs = append(errs, fmt.Sprintf("the export key %s is not in the stack's Region %s (the organisation, the key and the bucket must share it)", x.KMSKeyARN, *r))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrInvalidProps, strings.Join(errs, "; "))
	}

	key := awskms.Key_FromKeyArn(stack, jsii.String("MailExportKey"), jsii.String(x.KMSKeyARN))
	rules := []*awss3.LifecycleRule{{
		Id:                                  jsii.String("abort-incomplete-uploads"),
		AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(exportAbortUploadsDays)),
	}, {
		Id:                          jsii.String("noncurrent-versions"),
		NoncurrentVersionExpiration: awscdk.Duration_Days(jsii.Number(float64(b.s.ExportNoncurrentDays))),
	}}
	if b.s.ExportTransitionDays > 0 || b.s.ExportExpireDays > 0 {
		r := &awss3.LifecycleRule{Id: jsii.String("exports")}
		if d := b.s.ExportTransitionDays; d > 0 {
			r.Transitions = &[]*awss3.Transition{{
				StorageClass:    awss3.StorageClass_GLACIER(),
				TransitionAfter: awscdk.Duration_Days(jsii.Number(float64(d))),
			}}
		}
		if d := b.s.ExportExpireDays; d > 0 {
			r.Expiration = awscdk.Duration_Days(jsii.Number(float64(d)))
		}
		rules = append(rules, r)
	}
	bp := &awss3.BucketProps{
		BucketName:        jsii.String(x.Bucket),
		Versioned:         jsii.Bool(true),
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		EnforceSSL:        jsii.Bool(true),
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
		LifecycleRules:    &rules,
	}
	if b.s.ExportBucketEncryption == ExportBucketS3 {
		bp.Encryption = awss3.BucketEncryption_S3_MANAGED
	} else {
		bp.Encryption, bp.EncryptionKey, bp.BucketKeyEnabled = awss3.BucketEncryption_KMS, key, jsii.Bool(false)
	}
	bucket := awss3.NewBucket(stack, jsii.String("MailExportBucket"), bp)

	path, name, _ := roleNameOf(x.RoleARN) // checked by resolveExport
	org := stack.FormatArn(&awscdk.ArnComponents{
		Service: jsii.String("workmail"), Resource: jsii.String("organization"),
		ResourceName: jsii.String(b.s.WorkMailOrganizationID), ArnFormat: awscdk.ArnFormat_SLASH_RESOURCE_NAME,
	})
	role := awsiam.NewRole(stack, jsii.String("MailExportRole"), &awsiam.RoleProps{
		RoleName: jsii.String(name),
		Path:     jsii.String(path),
		AssumedBy: awsiam.NewServicePrincipal(jsii.String(exportService), &awsiam.ServicePrincipalOpts{
			Conditions: &map[string]any{
				"StringEquals": map[string]any{"aws:SourceAccount": stack.Account()},
				"ArnLike":      map[string]any{"aws:SourceArn": org},
			},
		}),
		Description: jsii.String("idsync: WorkMail writes mailbox exports of organisation " + b.s.WorkMailOrganizationID + " under " + x.Bucket + "/" + x.Prefix),
	})
	objects := bucket.ArnForObjects(jsii.String(x.Prefix + "*"))
	allow(role, "ExportObjects", []string{"s3:PutObject", "s3:AbortMultipartUpload"}, []*string{objects}, nil)
	allow(role, "ExportBucketPolicyStatus", []string{"s3:GetBucketPolicyStatus"}, []*string{bucket.BucketArn()}, nil)
	allow(role, "ExportKey", []string{"kms:Decrypt", "kms:GenerateDataKey"}, []*string{jsii.String(x.KMSKeyARN)}, map[string]any{
		"StringEquals": map[string]any{"kms:ViaService": "s3." + *stack.Region() + ".amazonaws.com"},
		"StringLike":   map[string]any{"kms:EncryptionContext:aws:s3:arn": objects},
	})
	return &MailExport{Bucket: bucket, Role: role}, nil
}

// allowPassExportRole lets the WorkMail consumer pass the export role to
// WorkMail (StartMailboxExportJob with RoleArn), that role only.
func (b *builder) allowPassExportRole(role awsiam.Role) {
	if b.exportRole == nil {
		return
	}
	allow(role, "MailExportPassRole", []string{"iam:PassRole"}, []*string{b.exportRole.RoleArn()}, nil)
}
