package simworkmail

// Mailbox export jobs: StartMailboxExportJob, DescribeMailboxExportJob,
// ListMailboxExportJobs and CancelMailboxExportJob.
//
// Sources, and where the stand-in chose:
//   - Shapes, patterns, lengths and modelled errors: workmail-2017-10-01.json
//     (StartMailboxExportJobRequest, MailboxExportJob, IdempotencyClientToken,
//     RoleArn, KmsKeyArn, S3BucketName, S3ObjectKey, MailboxExportJobId).
//   - States: the model's MailboxExportJobState is RUNNING, COMPLETED, FAILED
//     and CANCELLED, and aws-sdk-go-v2's types.MailboxExportJobState lists the
//     same four. There is no PENDING state: a job is RUNNING from the moment
//     StartMailboxExportJob answers, with EstimatedProgress 0.
//   - Limits: "You can run up to 10 concurrent mailbox export jobs for a given
//     Amazon WorkMail organization" and "You can run a mailbox export job for
//     a given mailbox as often as once every 24 hours" (admin guide,
//     https://docs.aws.amazon.com/workmail/latest/adminguide/mail-export.html,
//     "Considerations"). Public scripts export in batches of 10 for that
//     reason. The refusal's code is not published; StartMailboxExportJob
//     models exactly one quota exception, LimitExceededException ("The
//     request exceeds the limit of the resource"), so both limits answer it.
//     The 24-hour rule is read strictly: every job started for the mailbox
//     counts, whatever its outcome (a FAILED or CANCELLED job too). Note that
//     aws-sdk-go-v2's standard retryer treats LimitExceededException as a
//     throttle and retries it.
//   - Region: "The following resources must all be in the same AWS Region:
//     Amazon WorkMail organization, AWS KMS CMK, Amazon S3 bucket" (same
//     page). A KmsKeyArn of another region than the stand-in's is refused at
//     start with InvalidParameterException; whether AWS refuses at start or
//     fails the job is not published, the earlier refusal is chosen.
//   - ClientToken (the model marks it @idempotencyToken and the operation
//     @idempotent): the same token with the same parameters answers the job
//     id of the first call, whatever the job's state, and starts nothing, so
//     neither limit applies to the replay. WorkMail models no
//     IdempotentParameterMismatch; the same token with different parameters
//     is refused with InvalidParameterException (the stricter reading: AWS's
//     EC2 documents IdempotentParameterMismatch for this case, no WorkMail
//     source says the first job is returned silently).
//   - Which mailboxes: users and resources (EntityId "user or resource
//     associated with the mailbox"); a group has none. Whether the retained
//     mailbox of a DISABLED user (kept 30 days after DeregisterFromWorkMail)
//     can be exported is not published. The stand-in refuses it with
//     InvalidParameterException unless Options.ExportDisabled is set, so a
//     client that deregisters before exporting is caught; a DELETED entity is
//     always refused.
//   - ListMailboxExportJobs lists "the mailbox export jobs started for the
//     specified organization within the last seven days"; older jobs are
//     still answered by DescribeMailboxExportJob (not published either way).
//   - CancelMailboxExportJob: "If the mailbox export job is near completion,
//     it might not be possible to cancel it." Cancelling a RUNNING job at
//     EstimatedProgress 90 or more, or a job that has ended, answers 200 and
//     changes nothing; the caller must describe the job to learn its state.
//   - The object: the job exports "to a .zip file in the Amazon S3 bucket".
//     Its key is not published; the stand-in writes
//     <S3Prefix without trailing slashes>/<JobId>.zip and reports S3Path as
//     <S3BucketName>/<key>. The zip holds one placeholder message and
//     export-log.json, whose members are those of the output log the admin
//     guide shows (totalNonExportableItems, totalMessages, sha384Hash,
//     totalBytes, totalFolders, startTime, endTime, all strings). Where that
//     log lives in the real export is not published either.
//   - ErrorInfo of a failed job is not published; the stand-in's (or
//     ExportFaults.ErrorInfo) is free text.

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/idsync/idsync/internal/sim/simkit"
)

// Mailbox export job states (the model's MailboxExportJobState).
const (
	ExportRunning   = "RUNNING"
	ExportCompleted = "COMPLETED"
	ExportFailed    = "FAILED"
	ExportCancelled = "CANCELLED"
)

// Export defaults.
const (
	// DefaultExportConcurrency is WorkMail's limit on concurrent (RUNNING)
	// mailbox export jobs per organisation (mail-export.html).
	DefaultExportConcurrency = 10
	// DefaultExportInterval is how often one mailbox may be exported
	// (mail-export.html: "as often as once every 24 hours").
	DefaultExportInterval = 24 * time.Hour
	// DefaultExportDuration is how long a job runs. Real jobs take as long
	// as the mailbox's size and item count demand (minutes to hours); 30 s
	// keeps local runs short while still making a client follow the job
	// across calls.
	DefaultExportDuration = 30 * time.Second
	// DefaultExportErrorInfo is the ErrorInfo of an injected failure.
	DefaultExportErrorInfo = "Mailbox export failed: the export could not be written to the S3 bucket (injected)"

	exportListWindow   = 7 * 24 * time.Hour
	exportNoCancelFrom = 90 // EstimatedProgress from which a cancel is ignored
)

// ExportFaults say how mailbox export jobs run: how long, and how often
// they fail. Safe to change while jobs run: a job keeps the duration and
// outcome drawn when it started.
type ExportFaults struct {
	// Duration of a job from start to COMPLETED; zero means
	// DefaultExportDuration.
	Duration time.Duration `json:"duration"`
	// FailureRate is the probability, drawn from the stand-in's seeded
	// generator when the job starts, that the job ends FAILED (halfway
	// through its duration) instead of COMPLETED.
	FailureRate float64 `json:"failureRate"`
	// ErrorInfo is a failed job's ErrorInfo; empty means
	// DefaultExportErrorInfo.
	ErrorInfo string `json:"errorInfo,omitempty"`
}

// ExportJob is a snapshot of one mailbox export job.
type ExportJob struct {
	JobID             string    `json:"jobId"`
	OrganizationID    string    `json:"organizationId"`
	EntityID          string    `json:"entityId"`
	ClientToken       string    `json:"clientToken"`
	Description       string    `json:"description,omitempty"`
	RoleArn           string    `json:"roleArn"`
	KmsKeyArn         string    `json:"kmsKeyArn"`
	S3BucketName      string    `json:"s3BucketName"`
	S3Prefix          string    `json:"s3Prefix"`
	S3Path            string    `json:"s3Path"`
	State             string    `json:"state"`
	EstimatedProgress int       `json:"estimatedProgress"`
	ErrorInfo         string    `json:"errorInfo,omitempty"`
	StartTime         time.Time `json:"startTime"`
	EndTime           time.Time `json:"endTime,omitzero"`
	// File is the local file standing in for the S3 object, once written
	// (COMPLETED with Options.ExportDir set).
	File string `json:"file,omitempty"`
}

// exportRequest is what a ClientToken replay must repeat.
type exportRequest struct {
	entity, description, roleArn, kmsKeyArn, bucket, prefix string
}

type exportJob struct {
	seq      int
	id       string
	token    string
	req      exportRequest
	entityID string
	key      string
	state    string
	started  time.Time
	ended    time.Time
	duration time.Duration
	failAt   time.Time // zero unless the job was drawn to fail
	errInfo  string    // ErrorInfo when it fails
	progress int       // frozen once the job ended
	file     string
}

// exportState is one organisation's export jobs.
type exportState struct {
	jobs   []*exportJob // in start order
	tokens map[string]*exportJob
}

// Patterns of the export members (workmail-2017-10-01.json).
var (
	reClientToken = regexp.MustCompile(`^[\x21-\x7e]+$`)
	// RoleArn and KmsKeyArn end in [A-Za-z0-9][A-Za-z0-9:_/+=,@.-]{0,1023};
	// Go's regexp allows at most 1000 repetitions, so the resource part's
	// length is checked apart (arnResource).
	reRoleArn     = regexp.MustCompile(`^arn:aws:iam:[a-z0-9-]*:[a-z0-9-]+:([A-Za-z0-9][A-Za-z0-9:_/+=,@.-]*)$`)
	reKmsKeyArn   = regexp.MustCompile(`^arn:aws:kms:[a-z0-9-]*:[a-z0-9-]+:([A-Za-z0-9][A-Za-z0-9:_/+=,@.-]*)$`)
	reBucket      = regexp.MustCompile(`^[A-Za-z0-9.-]+$`)
	reObjectKey   = regexp.MustCompile(`^[A-Za-z0-9!_.*'()/-]+$`)
	reExportJobID = regexp.MustCompile(`^[A-Za-z0-9-]+$`)
)

type startExportInput struct {
	ClientToken    *string
	OrganizationID *string `json:"OrganizationId"`
	EntityID       *string `json:"EntityId"`
	Description    *string
	RoleArn        *string
	KmsKeyArn      *string
	S3BucketName   *string
	S3Prefix       *string
}

type startExportOutput struct {
	JobID string `json:"JobId"`
}

type exportJobInput struct {
	ClientToken    *string
	OrganizationID *string `json:"OrganizationId"`
	JobID          *string `json:"JobId"`
}

type describeExportOutput struct {
	EntityID          string  `json:"EntityId"`
	Description       *string `json:"Description,omitempty"`
	RoleArn           string  `json:"RoleArn"`
	KmsKeyArn         string  `json:"KmsKeyArn"`
	S3BucketName      string  `json:"S3BucketName"`
	S3Prefix          string  `json:"S3Prefix"`
	S3Path            string  `json:"S3Path"`
	EstimatedProgress int     `json:"EstimatedProgress"`
	State             string  `json:"State"`
	ErrorInfo         *string `json:"ErrorInfo,omitempty"`
	StartTime         *epoch  `json:"StartTime,omitempty"`
	EndTime           *epoch  `json:"EndTime,omitempty"`
}

type listExportsInput struct {
	OrganizationID *string `json:"OrganizationId"`
	NextToken      *string
	MaxResults     *int32
}

type exportSummary struct {
	JobID             string  `json:"JobId"`
	EntityID          string  `json:"EntityId"`
	Description       *string `json:"Description,omitempty"`
	S3BucketName      string  `json:"S3BucketName"`
	S3Path            string  `json:"S3Path"`
	EstimatedProgress int     `json:"EstimatedProgress"`
	State             string  `json:"State"`
	StartTime         *epoch  `json:"StartTime,omitempty"`
	EndTime           *epoch  `json:"EndTime,omitempty"`
}

type listExportsOutput struct {
	Jobs      []exportSummary `json:"Jobs"`
	NextToken *string         `json:"NextToken,omitempty"`
}

// SetExportFaults changes how new mailbox export jobs run (see
// ExportFaults); jobs already started keep theirs. Safe for concurrent use.
func (s *Server) SetExportFaults(f ExportFaults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.exportFaults = f
}

// ExportFaults returns the current export faults.
func (s *Server) ExportFaults() ExportFaults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.exportFaults
}

// ExportJobs returns a snapshot of an organisation's mailbox export jobs in
// start order (older than seven days included), after bringing each job up
// to the clock (which may complete jobs and write their objects); nil for
// an unknown organisation. It never fails.
func (s *Server) ExportJobs(orgID string) []ExportJob {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orgs[orgID]
	if !ok {
		return nil
	}
	s.settleExports(o)
	out := make([]ExportJob, 0, len(o.exports.jobs))
	for _, j := range o.exports.jobs {
		out = append(out, s.exportSnapshot(o, j))
	}
	return out
}

func (s *Server) exportSnapshot(o *org, j *exportJob) ExportJob {
	return ExportJob{
		JobID: j.id, OrganizationID: o.id, EntityID: j.entityID, ClientToken: j.token, Description: j.req.description,
		RoleArn: j.req.roleArn, KmsKeyArn: j.req.kmsKeyArn, S3BucketName: j.req.bucket, S3Prefix: j.req.prefix,
		S3Path: j.req.bucket + "/" + j.key, State: j.state, EstimatedProgress: s.progressOf(j),
		ErrorInfo: errInfoOf(j), StartTime: j.started, EndTime: j.ended, File: j.file,
	}
}

func errInfoOf(j *exportJob) string {
	if j.state == ExportFailed {
		return j.errInfo
	}
	return ""
}

// progressOf is a job's EstimatedProgress: frozen once it ended, else the
// share of its duration that has passed, at most 99 while RUNNING. s.mu
// must be held.
func (s *Server) progressOf(j *exportJob) int {
	if j.state != ExportRunning {
		return j.progress
	}
	return progressAt(j, s.now())
}

func progressAt(j *exportJob, t time.Time) int {
	if j.duration <= 0 {
		return 99
	}
	p := int(t.Sub(j.started) * 100 / j.duration)
	return min(max(p, 0), 99)
}

// settleExports ends the RUNNING jobs of o whose time has come: FAILED at
// their failure time, else COMPLETED (writing their object) at the end of
// their duration. s.mu must be held.
func (s *Server) settleExports(o *org) {
	now := s.now()
	for _, j := range o.exports.jobs {
		if j.state != ExportRunning {
			continue
		}
		switch end := j.started.Add(j.duration); {
		case !j.failAt.IsZero() && !now.Before(j.failAt):
			s.endExport(j, ExportFailed, j.failAt)
		case !now.Before(end):
			if err := s.writeExport(o, j, end); err != nil {
				j.errInfo = "Mailbox export failed: " + err.Error()
				s.endExport(j, ExportFailed, end)
				continue
			}
			s.endExport(j, ExportCompleted, end)
		}
	}
}

func (s *Server) endExport(j *exportJob, state string, at time.Time) {
	switch state {
	case ExportCompleted:
		j.progress = 100
	default:
		j.progress = progressAt(j, at)
	}
	j.state, j.ended = state, at
}

// writeExport writes j's object under Options.ExportDir (nothing when it is
// empty): ExportDir/<bucket>/<key>, confined to ExportDir (a key that would
// leave it fails the job). s.mu must be held.
func (s *Server) writeExport(o *org, j *exportJob, end time.Time) error {
	if s.exportDir == "" {
		return nil
	}
	body, err := exportZip(o, j, end)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(s.exportDir, 0o755); err != nil {
		return fmt.Errorf("bucket %s: %w", j.req.bucket, err)
	}
	root, err := os.OpenRoot(s.exportDir)
	if err != nil {
		return fmt.Errorf("bucket %s: %w", j.req.bucket, err)
	}
	defer func() { _ = root.Close() }()
	name := path.Join(j.req.bucket, j.key)
	if err := root.MkdirAll(path.Dir(name), 0o755); err != nil {
		return fmt.Errorf("object %s: %w", j.key, err)
	}
	if err := root.WriteFile(name, body, 0o644); err != nil {
		return fmt.Errorf("object %s: %w", j.key, err)
	}
	j.file = s.exportDir + string(os.PathSeparator) + strings.ReplaceAll(name, "/", string(os.PathSeparator))
	return nil
}

// exportZip builds a small .zip: one placeholder MIME message and
// export-log.json with the members of the admin guide's output log.
func exportZip(o *org, j *exportJob, end time.Time) ([]byte, error) {
	from := "mailbox@" + o.defaultDomain
	if e := o.byID[strings.ToLower(j.entityID)]; e != nil && e.email != "" {
		from = e.email
	}
	msg := "From: " + from + "\r\nTo: " + from + "\r\nSubject: idsync stand-in export\r\n" +
		"Date: " + j.started.UTC().Format(time.RFC1123Z) + "\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n\r\nExported by the WorkMail stand-in, job " + j.id + ".\r\n"
	sum := sha512.Sum384([]byte(msg))
	logDoc := map[string]string{
		"totalNonExportableItems": "0",
		"totalMessages":           "1",
		"sha384Hash":              hex.EncodeToString(sum[:]),
		"totalBytes":              strconv.Itoa(len(msg)),
		"totalFolders":            "1",
		"startTime":               strconv.FormatInt(j.started.UnixMilli(), 10),
		"endTime":                 strconv.FormatInt(end.UnixMilli(), 10),
	}
	logRaw, err := json.MarshalIndent(logDoc, "", "  ")
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range []struct {
		name string
		body []byte
	}{{"Inbox/1.eml", []byte(msg)}, {"export-log.json", logRaw}} {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: f.name, Method: zip.Deflate, Modified: end.UTC()})
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(f.body); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (s *Server) startMailboxExportJob(_ context.Context, in *startExportInput) (*startExportOutput, error) {
	var c checker
	c.str("clientToken", in.ClientToken, true, 1, 128, reClientToken)
	c.orgID(in.OrganizationID)
	c.entityID("entityId", in.EntityID)
	c.length("description", in.Description, 0, 1023)
	c.arn("roleArn", in.RoleArn, reRoleArn)
	c.arn("kmsKeyArn", in.KmsKeyArn, reKmsKeyArn)
	c.str("s3BucketName", in.S3BucketName, true, 1, 63, reBucket)
	c.str("s3Prefix", in.S3Prefix, true, 1, 1023, reObjectKey)
	if err := c.err(); err != nil {
		return nil, err
	}
	req := exportRequest{entity: *in.EntityID, description: deref(in.Description), roleArn: *in.RoleArn,
		kmsKeyArn: *in.KmsKeyArn, bucket: *in.S3BucketName, prefix: *in.S3Prefix}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, err := s.activeOrg(*in.OrganizationID)
	if err != nil {
		return nil, err
	}
	s.settleExports(o)
	if prev := o.exports.tokens[*in.ClientToken]; prev != nil {
		if prev.req != req {
			return nil, clientErr(codeInvalidParameter,
				"ClientToken %s was already used with different parameters (job %s)", *in.ClientToken, prev.id)
		}
		return &startExportOutput{JobID: prev.id}, nil
	}
	e := o.resolveAny(req.entity)
	if e == nil {
		return nil, clientErr(codeEntityNotFound, "Entity %s not found in organization %s", req.entity, o.id)
	}
	if err := s.exportable(e); err != nil {
		return nil, err
	}
	if region := strings.Split(req.kmsKeyArn, ":")[3]; region != s.region {
		return nil, clientErr(codeInvalidParameter,
			"KMS key %s is in region %q; the organization, the KMS key and the S3 bucket must be in the same region (%s)",
			req.kmsKeyArn, region, s.region)
	}
	running := 0
	var last *exportJob
	for _, j := range o.exports.jobs {
		if j.state == ExportRunning {
			running++
		}
		if j.entityID == e.id {
			last = j
		}
	}
	if running >= s.exportConcurrency {
		return nil, clientErr(codeLimitExceeded,
			"Organization %s already has %d mailbox export jobs running; at most %d may run at a time", o.id, running, s.exportConcurrency)
	}
	if last != nil && s.exportInterval > 0 && s.now().Before(last.started.Add(s.exportInterval)) {
		return nil, clientErr(codeLimitExceeded,
			"The mailbox of %s was last exported at %s (job %s); a mailbox can be exported once every %s",
			e.id, last.started.UTC().Format(time.RFC3339), last.id, s.exportInterval)
	}
	j := s.newExportJob(o, e, *in.ClientToken, req)
	return &startExportOutput{JobID: j.id}, nil
}

// exportable refuses entities without a mailbox to export; s.mu must be
// held.
func (s *Server) exportable(e *user) error {
	switch {
	case e.kind == EntityGroup:
		return clientErr(codeInvalidParameter, "Entity %s is a group; only users and resources have a mailbox to export", e.id)
	case e.state == StateDeleted:
		return clientErr(codeInvalidParameter, "Entity %s is deleted; its mailbox cannot be exported", e.id)
	case e.state == StateDisabled && !s.exportDisabled:
		return clientErr(codeInvalidParameter, "Entity %s is not enabled for WorkMail; its mailbox cannot be exported", e.id)
	}
	return nil
}

// newExportJob starts a RUNNING job with the current export faults; s.mu
// must be held.
func (s *Server) newExportJob(o *org, e *user, token string, req exportRequest) *exportJob {
	f := s.exportFaults
	d := f.Duration
	if d <= 0 {
		d = DefaultExportDuration
	}
	s.seq++
	j := &exportJob{seq: s.seq, id: s.newUUID(), token: token, req: req, entityID: e.id, state: ExportRunning,
		started: s.now(), duration: d, errInfo: cmpOr(f.ErrorInfo, DefaultExportErrorInfo)}
	j.key = strings.TrimRight(req.prefix, "/") + "/" + j.id + ".zip"
	if f.FailureRate > 0 && s.exportRng.Float64() < f.FailureRate {
		j.failAt = j.started.Add(d / 2)
	}
	o.exports.jobs = append(o.exports.jobs, j)
	if o.exports.tokens == nil {
		o.exports.tokens = map[string]*exportJob{}
	}
	o.exports.tokens[token] = j
	return j
}

// arn checks a required RoleArn or KmsKeyArn: length 20–2048, the model's
// pattern, and at most 1024 characters after the account.
func (c *checker) arn(name string, v *string, re *regexp.Regexp) {
	c.str(name, v, true, 20, 2048, re)
	if v == nil {
		return
	}
	if m := re.FindStringSubmatch(*v); m != nil && len(m[1]) > 1024 {
		c.p.Addf("Value at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: %s",
			name, strings.Replace(re.String(), "]*)$", "]{0,1023})$", 1))
	}
}

func cmpOr(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func checkExportJob(in *exportJobInput, token bool) error {
	var c checker
	if token {
		c.str("clientToken", in.ClientToken, true, 1, 128, reClientToken)
	}
	c.orgID(in.OrganizationID)
	c.str("jobId", in.JobID, true, 1, 63, reExportJobID)
	return c.err()
}

// exportJobOf finds a job of an active organisation after settling its
// jobs; s.mu must be held.
func (s *Server) exportJobOf(orgID, jobID string) (*org, *exportJob, error) {
	o, err := s.activeOrg(orgID)
	if err != nil {
		return nil, nil, err
	}
	s.settleExports(o)
	for _, j := range o.exports.jobs {
		if j.id == jobID {
			return o, j, nil
		}
	}
	return nil, nil, clientErr(codeEntityNotFound, "Mailbox export job %s not found in organization %s", jobID, orgID)
}

func (s *Server) describeMailboxExportJob(_ context.Context, in *exportJobInput) (*describeExportOutput, error) {
	if err := checkExportJob(in, false); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, j, err := s.exportJobOf(*in.OrganizationID, *in.JobID)
	if err != nil {
		return nil, err
	}
	return &describeExportOutput{
		EntityID: j.entityID, Description: strPtr(j.req.description), RoleArn: j.req.roleArn, KmsKeyArn: j.req.kmsKeyArn,
		S3BucketName: j.req.bucket, S3Prefix: j.req.prefix, S3Path: j.req.bucket + "/" + j.key,
		EstimatedProgress: s.progressOf(j), State: j.state, ErrorInfo: strPtr(errInfoOf(j)),
		StartTime: epochPtr(j.started), EndTime: epochPtr(j.ended),
	}, nil
}

func (s *Server) listMailboxExportJobs(_ context.Context, in *listExportsInput) (*listExportsOutput, error) {
	var c checker
	c.orgID(in.OrganizationID)
	c.length("nextToken", in.NextToken, 1, 1024)
	c.intRange("maxResults", in.MaxResults, 1, maxPage)
	if err := c.err(); err != nil {
		return nil, err
	}
	after, err := parseToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, err := s.activeOrg(*in.OrganizationID)
	if err != nil {
		return nil, err
	}
	s.settleExports(o)
	since := s.now().Add(-exportListWindow)
	recent := func(j *exportJob) bool { return j.started.After(since) }
	page, next := pageAfterSeq(o.exports.jobs, func(j *exportJob) int { return j.seq }, recent, after, pageLimit(in.MaxResults))
	out := &listExportsOutput{Jobs: []exportSummary{}, NextToken: next}
	for _, j := range page {
		out.Jobs = append(out.Jobs, exportSummary{
			JobID: j.id, EntityID: j.entityID, Description: strPtr(j.req.description), S3BucketName: j.req.bucket,
			S3Path: j.req.bucket + "/" + j.key, EstimatedProgress: s.progressOf(j), State: j.state,
			StartTime: epochPtr(j.started), EndTime: epochPtr(j.ended),
		})
	}
	return out, nil
}

func (s *Server) cancelMailboxExportJob(_ context.Context, in *exportJobInput) (*empty, error) {
	if err := checkExportJob(in, true); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, j, err := s.exportJobOf(*in.OrganizationID, *in.JobID)
	if err != nil {
		return nil, err
	}
	if j.state == ExportRunning && s.progressOf(j) < exportNoCancelFrom {
		s.endExport(j, ExportCancelled, s.now())
	}
	return &empty{}, nil
}

// serveExportControl serves GET /_sim/export-jobs (every organisation's
// jobs), GET /_sim/export-faults and POST /_sim/export-faults
// {"durationMs":N,"failureRate":F,"errorInfo":"…"}.
func (s *Server) serveExportControl(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/_sim/export-jobs":
		var all []ExportJob
		for _, o := range s.Organizations() {
			all = append(all, s.ExportJobs(o.OrganizationID)...)
		}
		simkit.RESTJSON1.WriteJSON(w, http.StatusOK, append([]ExportJob{}, all...))
	case r.Method == http.MethodGet:
		f := s.ExportFaults()
		simkit.RESTJSON1.WriteJSON(w, http.StatusOK, exportFaultsDoc{DurationMs: f.Duration.Milliseconds(),
			FailureRate: f.FailureRate, ErrorInfo: f.ErrorInfo})
	default:
		var req exportFaultsDoc
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&req); err != nil {
			simkit.RESTJSON1.WriteError(w, simkit.Errorf(http.StatusBadRequest, "InvalidRequestException", "decode: %v", err))
			return
		}
		if req.FailureRate < 0 || req.FailureRate > 1 || req.DurationMs < 0 {
			simkit.RESTJSON1.WriteError(w, simkit.Errorf(http.StatusBadRequest, "InvalidRequestException",
				"want durationMs ≥ 0 and failureRate in [0,1]"))
			return
		}
		s.SetExportFaults(ExportFaults{Duration: time.Duration(req.DurationMs) * time.Millisecond,
			FailureRate: req.FailureRate, ErrorInfo: req.ErrorInfo})
		w.WriteHeader(http.StatusNoContent)
	}
}

type exportFaultsDoc struct {
	DurationMs  int64   `json:"durationMs"`
	FailureRate float64 `json:"failureRate"`
	ErrorInfo   string  `json:"errorInfo,omitempty"`
}

// newExportRng returns the generator export failures are drawn from.
func newExportRng(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed^0xe8b0, seed+0x9e3779b97f4a7c15))
}
