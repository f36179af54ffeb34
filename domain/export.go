package domain

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Mailbox exports: WorkMail's leave policy can export a mailbox before it
// is deleted (WorkMailLeave.ExportTo), and an operator can export every
// mailbox before WorkMail's end of support. A TargetState's Export fields
// describe the latest export job of the mailbox.

// ExportJobState is a mailbox export job's state, as WorkMail reports it
// (the API model's MailboxExportJobState).
type ExportJobState string

// Export job states.
const (
	ExportRunning   ExportJobState = "RUNNING"
	ExportCompleted ExportJobState = "COMPLETED"
	ExportFailed    ExportJobState = "FAILED"
	ExportCancelled ExportJobState = "CANCELLED"
)

// Ended reports whether a job in state s has ended (anything but RUNNING
// and the empty state).
func (s ExportJobState) Ended() bool {
	return s == ExportCompleted || s == ExportFailed || s == ExportCancelled
}

// ReasonExportFailed: a leaver's mailbox is kept because its export
// failed (or WorkMail refused to start it); an operator re-arms it, for
// instance with `idsync workmail export --person KEY`.
const ReasonExportFailed = "export failed"

// ReasonFrozen: WorkMail is frozen (WorkMailConfig.Mode): no new mailbox
// is created for a joiner.
const ReasonFrozen = "frozen"

// ExportCovers reports whether s records an export that COMPLETED and was
// started at or after the mailbox was disabled (s.DisabledAt), so that it
// holds everything the mailbox will ever hold: a disabled mailbox
// receives no more mail. An export of an enabled mailbox (started before
// the disable) does not cover it.
func (s TargetState) ExportCovers() bool {
	return s.ExportState == ExportCompleted && !s.ExportStartedAt.Before(s.DisabledAt)
}

// WithExportOf returns s with o's Export fields: what a job-following op
// learned, which the plan could not know.
func (s TargetState) WithExportOf(o TargetState) TargetState {
	s.ExportJobID, s.ExportState, s.ExportStartedAt = o.ExportJobID, o.ExportState, o.ExportStartedAt
	s.ExportProgress, s.ExportPath, s.ExportReason = o.ExportProgress, o.ExportPath, o.ExportReason
	return s
}

// FollowsJob reports whether ops of kind k start or follow a job in the
// target whose outcome the planner cannot know (OpExportStart,
// OpExportCheck): the state reached after them carries it in the Export
// fields, which consumers.Execute takes from the state reached instead of
// from the plan's Next.
func (k OpKind) FollowsJob() bool { return k == OpExportStart || k == OpExportCheck }

// ExportClientToken is the ClientToken (StartMailboxExportJob's
// idempotency token) of the export of mailbox remoteID that a leave with
// the given disable time needs, to destination to: "idsync-leave-" and 40
// hex digits of a SHA-256 over them. It depends on neither the event nor the clock, so every plan of
// the same due delete, whichever event brought it and however often it is
// retried, asks for the same job and WorkMail starts at most one.
// The destination is part of it because WorkMail refuses a token repeated
// with other parameters. (WorkMail answers a repeated token with the first
// job whatever its state, so a failed export is not retried under it: the
// plan holds the delete, and an operator's export replaces the record.)
func ExportClientToken(remoteID string, disabledAt time.Time, to MailboxExportTo) string {
	return exportToken("idsync-leave-", remoteID, disabledAt.UTC().Format(time.RFC3339Nano),
		to.Bucket, to.Prefix, to.KMSKeyARN, to.RoleARN)
}

// BulkExportClientToken is the ClientToken of an operator's export of
// mailbox remoteID in the campaign that exports every mailbox not exported
// since since: "idsync-bulk-" and 40 hex digits. A resumed campaign (the
// same since) asks for the same jobs.
func BulkExportClientToken(remoteID string, since time.Time, to MailboxExportTo) string {
	return exportToken("idsync-bulk-", remoteID, since.UTC().Format(time.RFC3339Nano),
		to.Bucket, to.Prefix, to.KMSKeyARN, to.RoleARN)
}

func exportToken(prefix string, parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return prefix + hex.EncodeToString(h.Sum(nil))[:40]
}

// Export destination checks, by hand after the API model's shapes
// (workmail-2017-10-01.json: S3BucketName, S3ObjectKey, KmsKeyArn,
// RoleArn); Go's regular expressions cannot repeat {0,1023} times.

func checkExportTo(bad badFunc, path string, x MailboxExportTo) {
	if n := len(x.Bucket); n < 1 || n > 63 || !allIn(x.Bucket, ".-") {
		bad(path+".bucket", "%q must be 1–63 characters of [A-Za-z0-9.-] (S3BucketName)", x.Bucket)
	}
	if n := len(x.Prefix); n < 1 || n > 1023 || !allIn(x.Prefix, "!_.*'()/-") {
		bad(path+".prefix", "%q must be 1–1023 characters of [A-Za-z0-9!_.*'()/-] (S3ObjectKey)", x.Prefix)
	}
	if !validExportARN(x.KMSKeyARN, "kms") {
		bad(path+".kmsKeyArn", "%q is not a KMS key ARN (arn:aws:kms:<region>:<account>:key/…, 20–2048 characters)", x.KMSKeyARN)
	}
	if !validExportARN(x.RoleARN, "iam") {
		bad(path+".roleArn", "%q is not an IAM role ARN (arn:aws:iam::<account>:role/…, 20–2048 characters)", x.RoleARN)
	}
}

// validExportARN matches the model's ^arn:aws:<service>:[a-z0-9-]*:
// [a-z0-9-]+:[A-Za-z0-9][A-Za-z0-9:_/+=,@.-]{0,1023}$, length 20–2048.
func validExportARN(arn, service string) bool {
	if n := len(arn); n < 20 || n > 2048 {
		return false
	}
	rest, ok := strings.CutPrefix(arn, "arn:aws:"+service+":")
	if !ok {
		return false
	}
	region, rest, ok := strings.Cut(rest, ":")
	if !ok || !allLowerIn(region) {
		return false
	}
	account, resource, ok := strings.Cut(rest, ":")
	if !ok || account == "" || !allLowerIn(account) {
		return false
	}
	if resource == "" || len(resource) > 1024 || !isAlnum(resource[0]) {
		return false
	}
	return allIn(resource, ":_/+=,@.-")
}

// allLowerIn reports whether s is made of [a-z0-9-] only.
func allLowerIn(s string) bool {
	for i := range len(s) {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// allIn reports whether s is made of ASCII letters, digits and the bytes
// of extra only.
func allIn(s, extra string) bool {
	for i := range len(s) {
		if c := s[i]; !isAlnum(c) && !strings.ContainsRune(extra, rune(c)) {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// Check reports every problem of x as Validate would under
// workmail.onLeave.exportTo: for a destination given another way (the
// operator's flags).
//
// Errors: errors.Join of *ConfigError values (each matching
// ErrInvalidConfig), or nil.
func (x MailboxExportTo) Check(path string) error {
	var errs []error
	checkExportTo(func(p, format string, args ...any) {
		errs = append(errs, &ConfigError{Path: p, Problem: fmt.Sprintf(format, args...)})
	}, path, x)
	return errors.Join(errs...)
}
