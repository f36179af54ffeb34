package workmail

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/workmail"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/awsclient"
)

// Mailbox exports (StartMailboxExportJob, DescribeMailboxExportJob,
// ListMailboxExportJobs): the leaver's export before a delete (the
// Applier's export-start and export-check ops) and the operator's bulk
// export (internal/opscli) both go through the functions below, so both
// classify WorkMail's answers the same way.

// Errors of mailbox exports.
var (
	// ErrExportLimit: WorkMail refused to start an export job with
	// LimitExceededException: the organisation already runs its 10
	// concurrent export jobs, or the mailbox was exported less than 24
	// hours ago. Retryable: both limits pass.
	ErrExportLimit = errors.New("workmail mailbox export limit reached")
	// ErrExportFailed: an export job ended FAILED or CANCELLED, WorkMail
	// refused to start it, or the job cannot be followed. Permanent: the
	// mailbox is kept until an operator re-arms the export.
	ErrExportFailed = errors.New("workmail mailbox export failed")
)

// ExportStarter, ExportDescriber and ExportLister are the export
// operations of the WorkMail client (*workmail.Client satisfies them).
type (
	ExportStarter interface {
		StartMailboxExportJob(ctx context.Context, in *sdk.StartMailboxExportJobInput, optFns ...func(*sdk.Options)) (*sdk.StartMailboxExportJobOutput, error)
	}
	ExportDescriber interface {
		DescribeMailboxExportJob(ctx context.Context, in *sdk.DescribeMailboxExportJobInput, optFns ...func(*sdk.Options)) (*sdk.DescribeMailboxExportJobOutput, error)
	}
	ExportLister interface {
		ListMailboxExportJobs(ctx context.Context, in *sdk.ListMailboxExportJobsInput, optFns ...func(*sdk.Options)) (*sdk.ListMailboxExportJobsOutput, error)
	}
)

// ExportJob is what idsync keeps of a mailbox export job.
type ExportJob struct {
	ID       string
	EntityID string // the mailbox's user (or resource) id
	State    domain.ExportJobState
	Progress int    // EstimatedProgress, 0–100
	Path     string // S3Path: bucket/key of the .zip
	// Reason is a FAILED job's ErrorInfo without email addresses (see
	// ExportReason).
	Reason       string
	Started, End time.Time
}

// StartExport starts the export of mailbox entityID of organisation org to
// to, with the idempotency token token (WorkMail answers the job id of the
// first call for a token repeated with the same parameters, and starts
// nothing) and a description without personal data.
//
// Errors: ErrExportLimit (Retryable) for LimitExceededException; the
// client's classified *awsclient.CallError otherwise
// (InvalidParameterException, EntityNotFoundException and the other
// client faults Permanent).
func StartExport(ctx context.Context, api ExportStarter, org, entityID, token string, to domain.MailboxExportTo, description string) (string, error) {
	out, err := api.StartMailboxExportJob(ctx, &sdk.StartMailboxExportJobInput{
		ClientToken: aws.String(token), OrganizationId: aws.String(org), EntityId: aws.String(entityID),
		Description: optional(description), RoleArn: aws.String(to.RoleARN), KmsKeyArn: aws.String(to.KMSKeyARN),
		S3BucketName: aws.String(to.Bucket), S3Prefix: aws.String(to.Prefix),
	})
	if awsclient.ErrorCode(err) == codeLimitExceeded {
		// LimitExceededException is a quota everywhere else, and
		// awsclient.IsPermanent (through the client's Classify middleware)
		// marks it permanent: retrying cannot lift 1,000 users per
		// organisation. StartMailboxExportJob answers it for two limits
		// that do pass (mail-export.html, "Considerations"): at most 10
		// export jobs running per organisation, and one export per mailbox
		// every 24 hours. This one case is therefore marked retryable,
		// overriding the mark: the consumer leaves the message for
		// redelivery (it is not dead-lettered), the next plan of the due
		// delete tries again, and the bulk export waits for a slot.
		return "", domain.Retryable(fmt.Errorf("%w: mailbox %s: %w", ErrExportLimit, entityID, awsclient.Failure(err)))
	}
	if err != nil {
		return "", awsclient.Failure(err)
	}
	return aws.ToString(out.JobId), nil
}

// DescribeExport reads export job jobID of organisation org.
//
// Errors: the client's classified *awsclient.CallError
// (EntityNotFoundException for an unknown job, Permanent).
func DescribeExport(ctx context.Context, api ExportDescriber, org, jobID string) (ExportJob, error) {
	out, err := api.DescribeMailboxExportJob(ctx, &sdk.DescribeMailboxExportJobInput{
		OrganizationId: aws.String(org), JobId: aws.String(jobID),
	})
	if err != nil {
		return ExportJob{}, awsclient.Failure(err)
	}
	return ExportJob{
		ID: jobID, EntityID: aws.ToString(out.EntityId), State: domain.ExportJobState(out.State),
		Progress: int(out.EstimatedProgress), Path: aws.ToString(out.S3Path),
		Reason: ExportReason(aws.ToString(out.ErrorInfo)), Started: aws.ToTime(out.StartTime), End: aws.ToTime(out.EndTime),
	}, nil
}

// ListExports reads every export job of organisation org that WorkMail
// lists (those started in the last seven days), every page.
//
// Errors: the client's classified *awsclient.CallError.
func ListExports(ctx context.Context, api ExportLister, org string) ([]ExportJob, error) {
	var out []ExportJob
	p := sdk.NewListMailboxExportJobsPaginator(api, &sdk.ListMailboxExportJobsInput{OrganizationId: aws.String(org)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, awsclient.Failure(err)
		}
		for _, j := range page.Jobs {
			out = append(out, ExportJob{
				ID: aws.ToString(j.JobId), EntityID: aws.ToString(j.EntityId), State: domain.ExportJobState(j.State),
				Progress: int(j.EstimatedProgress), Path: aws.ToString(j.S3Path),
				Started: aws.ToTime(j.StartTime), End: aws.ToTime(j.EndTime),
			})
		}
	}
	return out, nil
}

// maxExportReason bounds what idsync keeps of a job's ErrorInfo.
const maxExportReason = 256

// ExportReason is what idsync records of a failed job's ErrorInfo
// (free text, up to 1,024 characters, whose content WorkMail does not
// publish): whitespace collapsed, anything shaped like an email address
// replaced by "<address>", at most 256 bytes. Ledger rows, logs and DLQ
// attributes carry ids, not addresses.
func ExportReason(info string) string {
	words := strings.Fields(info)
	for i, w := range words {
		if strings.Contains(w, "@") {
			words[i] = "<address>"
		}
	}
	s := strings.Join(words, " ")
	if len(s) > maxExportReason {
		s = s[:maxExportReason]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
	}
	return s
}

// exportStart starts the export of mailbox id with op's ClientToken and
// records the job in the state; a refusal that retrying cannot help is
// recorded as a FAILED export (keep), so that the next plans hold the
// delete instead of trying again.
func (r *run) exportStart(ctx context.Context, id string, op domain.Op) (note string, keep bool, err error) {
	to := r.a.cfg.ExportTo()
	if to == nil {
		return "", false, domain.Permanent(fmt.Errorf("%w: export-start without workmail.onLeave.exportTo", ErrConfig))
	}
	if op.ClientToken == "" {
		return "", false, domain.Permanent(fmt.Errorf("%w: export-start of mailbox %s without a client token", ErrConfig, id))
	}
	job, err := StartExport(ctx, r.a.api, r.a.cfg.OrganizationID, id, op.ClientToken, *to, "idsync: export before delete")
	now := r.a.now().UTC()
	if err != nil {
		if domain.KindOf(err) != domain.ErrorPermanent {
			return "", false, err
		}
		r.exportEnded("", domain.ExportFailed, now, "start refused: "+err.Error())
		r.a.log.WarnContext(ctx, "workmail export refused", "person", r.person, "remoteId", id, "err", err.Error())
		return "", true, domain.Permanent(fmt.Errorf("%w: mailbox %s: WorkMail refused to start the export; the mailbox is kept: %w", ErrExportFailed, id, err))
	}
	r.state.ExportJobID, r.state.ExportState, r.state.ExportStartedAt = job, domain.ExportRunning, now
	r.state.ExportProgress, r.state.ExportPath, r.state.ExportReason = 0, "", ""
	return "export job " + job + " started", false, nil
}

// exportCheck follows job op.JobID of mailbox id: RUNNING records the
// progress, COMPLETED the object; FAILED, CANCELLED, an unknown job or a
// job of another mailbox fail permanently and are recorded (keep).
func (r *run) exportCheck(ctx context.Context, id string, op domain.Op) (note string, keep bool, err error) {
	if op.JobID == "" {
		return "", false, domain.Permanent(fmt.Errorf("%w: export-check of mailbox %s without a job id", ErrConfig, id))
	}
	now := r.a.now().UTC()
	job, err := DescribeExport(ctx, r.a.api, r.a.cfg.OrganizationID, op.JobID)
	switch {
	case awsclient.ErrorCode(err) == codeEntityNotFound:
		r.exportEnded(op.JobID, domain.ExportFailed, r.state.ExportStartedAt, "job not found: "+err.Error())
		return "", true, domain.Permanent(fmt.Errorf("%w: mailbox %s: export job %s not found; the mailbox is kept: %w", ErrExportFailed, id, op.JobID, err))
	case err != nil:
		return "", false, err
	case job.EntityID != "" && job.EntityID != id:
		r.exportEnded(op.JobID, domain.ExportFailed, r.state.ExportStartedAt, "job exports entity "+job.EntityID)
		return "", true, domain.Permanent(fmt.Errorf("%w: export job %s exports entity %s, not mailbox %s; the mailbox is kept", ErrExportFailed, op.JobID, job.EntityID, id))
	}
	r.state.ExportJobID = op.JobID
	if r.state.ExportStartedAt.IsZero() {
		r.state.ExportStartedAt = now
	}
	switch job.State {
	case domain.ExportCompleted:
		r.state.ExportState, r.state.ExportProgress, r.state.ExportPath, r.state.ExportReason = job.State, 100, job.Path, ""
		return fmt.Sprintf("export job %s COMPLETED: %s", op.JobID, job.Path), false, nil
	case domain.ExportFailed, domain.ExportCancelled:
		reason := job.Reason
		if reason == "" {
			reason = "no error info"
		}
		r.exportEnded(op.JobID, job.State, r.state.ExportStartedAt, reason)
		r.state.ExportProgress = job.Progress
		r.a.log.WarnContext(ctx, "workmail export failed", "person", r.person, "remoteId", id, "jobId", op.JobID, "state", string(job.State))
		return "", true, domain.Permanent(fmt.Errorf("%w: mailbox %s: export job %s %s (%s); the mailbox is kept", ErrExportFailed, id, op.JobID, job.State, reason))
	default:
		r.state.ExportState, r.state.ExportProgress = domain.ExportRunning, job.Progress
		if job.State != domain.ExportRunning {
			return fmt.Sprintf("export job %s in state %q, %d%%; looking again on the next plan", op.JobID, job.State, job.Progress), false, nil
		}
		return fmt.Sprintf("export job %s RUNNING, %d%%", op.JobID, job.Progress), false, nil
	}
}

// exportEnded records an export that ended without an object.
func (r *run) exportEnded(jobID string, st domain.ExportJobState, started time.Time, reason string) {
	r.state.ExportJobID, r.state.ExportState, r.state.ExportStartedAt = jobID, st, started
	r.state.ExportPath, r.state.ExportReason = "", ExportReason(reason)
}
