package simworkmail_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/workmail"
	"github.com/aws/aws-sdk-go-v2/service/workmail/types"

	"github.com/idsync/idsync/internal/sim/simworkmail"
)

const (
	exportRole = "arn:aws:iam::123456789012:role/WorkmailMailboxExportRole"
	exportKey  = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
)

func exportInput(f *fixture, entity, token string) *workmail.StartMailboxExportJobInput {
	in := &workmail.StartMailboxExportJobInput{
		OrganizationId: aws.String(f.org), EntityId: aws.String(entity), Description: aws.String("leaver export"),
		RoleArn: aws.String(exportRole), KmsKeyArn: aws.String(exportKey),
		S3BucketName: aws.String("idsync-exports"), S3Prefix: aws.String("leavers/"),
	}
	if token != "" {
		in.ClientToken = aws.String(token)
	}
	return in
}

func (f *fixture) startExport(t *testing.T, in *workmail.StartMailboxExportJobInput) string {
	t.Helper()
	out, err := f.client.StartMailboxExportJob(context.Background(), in)
	if err != nil {
		t.Fatalf("StartMailboxExportJob %s: %v", aws.ToString(in.EntityId), err)
	}
	return aws.ToString(out.JobId)
}

func (f *fixture) describeExport(t *testing.T, id string) *workmail.DescribeMailboxExportJobOutput {
	t.Helper()
	out, err := f.client.DescribeMailboxExportJob(context.Background(), &workmail.DescribeMailboxExportJobInput{
		OrganizationId: aws.String(f.org), JobId: aws.String(id)})
	if err != nil {
		t.Fatalf("DescribeMailboxExportJob %s: %v", id, err)
	}
	return out
}

// TestExportJobLifecycle: a job is RUNNING from the start (the model has no
// PENDING), reports its progress from the clock, and at the end of its
// duration is COMPLETED at 100 % with a .zip in the bucket directory.
func TestExportJobLifecycle(t *testing.T) {
	dir := t.TempDir()
	f := setup(t, simworkmail.Options{ExportDir: dir, Export: simworkmail.ExportFaults{Duration: 20 * time.Second}}, 1)
	uid := f.enabledUser(t, "ana", "ana@example.com")
	id := f.startExport(t, exportInput(f, "ana@example.com", "leaver-ana-1"))

	got := f.describeExport(t, id)
	if got.State != types.MailboxExportJobStateRunning || got.EstimatedProgress != 0 || aws.ToString(got.EntityId) != uid ||
		!aws.ToTime(got.StartTime).Equal(t0) || got.EndTime != nil {
		t.Fatalf("just started: %+v", got)
	}
	if aws.ToString(got.RoleArn) != exportRole || aws.ToString(got.KmsKeyArn) != exportKey || aws.ToString(got.S3Prefix) != "leavers/" ||
		aws.ToString(got.Description) != "leaver export" {
		t.Fatalf("parameters not echoed: %+v", got)
	}
	wantPath := "idsync-exports/leavers/" + id + ".zip"
	if aws.ToString(got.S3Path) != wantPath {
		t.Fatalf("S3Path %q, want %q", aws.ToString(got.S3Path), wantPath)
	}
	f.clock.Advance(10 * time.Second)
	if got := f.describeExport(t, id); got.State != types.MailboxExportJobStateRunning || got.EstimatedProgress != 50 {
		t.Fatalf("halfway: %s %d", got.State, got.EstimatedProgress)
	}
	if _, err := os.Stat(filepath.Join(dir, "idsync-exports")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("bucket written before completion: %v", err)
	}
	f.clock.Advance(time.Minute)
	got = f.describeExport(t, id)
	if got.State != types.MailboxExportJobStateCompleted || got.EstimatedProgress != 100 ||
		!aws.ToTime(got.EndTime).Equal(t0.Add(20*time.Second)) || got.ErrorInfo != nil {
		t.Fatalf("completed: %+v", got)
	}
	raw, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(wantPath)))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(raw), int64(len(raw)))
	if err != nil {
		t.Fatalf("object is not a zip: %v", err)
	}
	var log map[string]string
	for _, zf := range zr.File {
		if zf.Name != "export-log.json" {
			continue
		}
		rc, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		_ = rc.Close()
		if err := json.Unmarshal(b, &log); err != nil {
			t.Fatal(err)
		}
	}
	if log["totalMessages"] != "1" || log["sha384Hash"] == "" || log["startTime"] != fmt.Sprint(t0.UnixMilli()) {
		t.Fatalf("export log %v", log)
	}
	if jobs := f.sim.ExportJobs(f.org); len(jobs) != 1 || jobs[0].File == "" || jobs[0].ClientToken != "leaver-ana-1" {
		t.Fatalf("ExportJobs %+v", jobs)
	}
}

// TestExportClientToken: the same token with the same parameters answers the
// first job's id and starts nothing, even after the job ended; with other
// parameters it is refused.
func TestExportClientToken(t *testing.T) {
	f := setup(t, simworkmail.Options{}, 1)
	f.enabledUser(t, "ana", "ana@example.com")
	f.enabledUser(t, "ben", "ben@example.com")
	first := f.startExport(t, exportInput(f, "ana", "tok-1"))
	if again := f.startExport(t, exportInput(f, "ana", "tok-1")); again != first {
		t.Fatalf("replay answered %s, want %s", again, first)
	}
	f.clock.Advance(time.Hour)
	if again := f.startExport(t, exportInput(f, "ana", "tok-1")); again != first {
		t.Fatalf("replay after completion answered %s, want %s", again, first)
	}
	if n := len(f.sim.ExportJobs(f.org)); n != 1 {
		t.Fatalf("%d jobs, want 1", n)
	}
	for name, in := range map[string]*workmail.StartMailboxExportJobInput{
		"other entity": exportInput(f, "ben", "tok-1"),
		"other prefix": func() *workmail.StartMailboxExportJobInput {
			in := exportInput(f, "ana", "tok-1")
			in.S3Prefix = aws.String("elsewhere/")
			return in
		}(),
	} {
		if _, err := f.client.StartMailboxExportJob(context.Background(), in); !isA[*types.InvalidParameterException](err) {
			t.Fatalf("%s with a used token: %v, want InvalidParameterException", name, err)
		}
	}
	// Without a token the SDK makes one, so each call is a new job.
	if id := f.startExport(t, exportInput(f, "ben", "")); id == first {
		t.Fatal("a new token answered the old job")
	}
}

// TestExportConcurrencyLimit: at most 10 jobs run at once per organisation;
// the 11th is LimitExceededException until one ends.
func TestExportConcurrencyLimit(t *testing.T) {
	f := setup(t, simworkmail.Options{Export: simworkmail.ExportFaults{Duration: time.Minute}}, 1)
	for i := range 11 {
		f.enabledUser(t, fmt.Sprintf("u%02d", i), fmt.Sprintf("u%02d@example.com", i))
	}
	for i := range 10 {
		f.startExport(t, exportInput(f, fmt.Sprintf("u%02d", i), fmt.Sprintf("t%02d", i)))
		f.clock.Advance(time.Second)
	}
	_, err := f.client.StartMailboxExportJob(context.Background(), exportInput(f, "u10", "t10"))
	if !isA[*types.LimitExceededException](err) {
		t.Fatalf("11th concurrent job: %v, want LimitExceededException", err)
	}
	f.clock.Advance(51 * time.Second) // the first job (started at t0) has ended
	f.startExport(t, exportInput(f, "u10", "t10"))
	// The refused attempt did not consume its token.
	if n := len(f.sim.ExportJobs(f.org)); n != 11 {
		t.Fatalf("%d jobs, want 11", n)
	}
}

// TestExportOncePerDay: one mailbox is exported at most once every 24 hours,
// whatever became of the previous job.
func TestExportOncePerDay(t *testing.T) {
	f := setup(t, simworkmail.Options{Export: simworkmail.ExportFaults{FailureRate: 1}}, 1)
	f.enabledUser(t, "ana", "ana@example.com")
	id := f.startExport(t, exportInput(f, "ana", "day-1"))
	f.clock.Advance(time.Hour)
	if got := f.describeExport(t, id); got.State != types.MailboxExportJobStateFailed {
		t.Fatalf("job %s, want FAILED", got.State)
	}
	_, err := f.client.StartMailboxExportJob(context.Background(), exportInput(f, "ana", "day-1-retry"))
	if !isA[*types.LimitExceededException](err) || !strings.Contains(apiMessage(err), "once every") {
		t.Fatalf("second export within 24 h: %v, want LimitExceededException", err)
	}
	f.clock.Advance(23 * time.Hour)
	f.sim.SetExportFaults(simworkmail.ExportFaults{})
	f.startExport(t, exportInput(f, "ana", "day-2"))

	g := setup(t, simworkmail.Options{NoExportInterval: true}, 1)
	g.enabledUser(t, "ana", "ana@example.com")
	g.startExport(t, exportInput(g, "ana", "a"))
	g.startExport(t, exportInput(g, "ana", "b"))
}

// TestExportFailure: with failure rate 1 a job ends FAILED halfway with its
// ErrorInfo, and nothing is written; the rate is set through /_sim.
func TestExportFailure(t *testing.T) {
	dir := t.TempDir()
	f := setup(t, simworkmail.Options{ExportDir: dir}, 1)
	f.enabledUser(t, "ana", "ana@example.com")
	resp, err := http.Post(f.url+"/_sim/export-faults", "application/json",
		strings.NewReader(`{"durationMs":40000,"failureRate":1,"errorInfo":"S3 bucket policy denies the role"}`))
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("POST /_sim/export-faults: %v %v", resp, err)
	}
	_ = resp.Body.Close()
	if got := f.sim.ExportFaults(); got.Duration != 40*time.Second || got.FailureRate != 1 {
		t.Fatalf("ExportFaults %+v", got)
	}
	id := f.startExport(t, exportInput(f, "ana", "x"))
	f.clock.Advance(19 * time.Second)
	if got := f.describeExport(t, id); got.State != types.MailboxExportJobStateRunning {
		t.Fatalf("before the failure: %s", got.State)
	}
	f.clock.Advance(time.Second)
	got := f.describeExport(t, id)
	if got.State != types.MailboxExportJobStateFailed || aws.ToString(got.ErrorInfo) != "S3 bucket policy denies the role" ||
		got.EstimatedProgress != 50 || !aws.ToTime(got.EndTime).Equal(t0.Add(20*time.Second)) {
		t.Fatalf("failed job: %+v", got)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("a failed job wrote %v", entries)
	}
	resp, err = http.Get(f.url + "/_sim/export-jobs")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var jobs []simworkmail.ExportJob
	if err := json.NewDecoder(resp.Body).Decode(&jobs); err != nil || len(jobs) != 1 || jobs[0].State != simworkmail.ExportFailed {
		t.Fatalf("GET /_sim/export-jobs: %+v %v", jobs, err)
	}
}

// TestExportKeyStaysInBucket: a prefix that would climb out of the bucket
// directory fails the job instead of writing outside ExportDir.
func TestExportKeyStaysInBucket(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "s3")
	f := setup(t, simworkmail.Options{ExportDir: dir}, 1)
	f.enabledUser(t, "ana", "ana@example.com")
	in := exportInput(f, "ana", "x")
	in.S3Prefix = aws.String("../../escape")
	id := f.startExport(t, in)
	f.clock.Advance(time.Hour)
	if got := f.describeExport(t, id); got.State != types.MailboxExportJobStateFailed || got.ErrorInfo == nil {
		t.Fatalf("escaping key: %+v", got)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "escape")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("written outside the export directory: %v", err)
	}
}

// TestExportCancel: a running job is cancelled; one near completion (90 %
// or more) is not, and the call still succeeds.
func TestExportCancel(t *testing.T) {
	f := setup(t, simworkmail.Options{Export: simworkmail.ExportFaults{Duration: 100 * time.Second}}, 1)
	f.enabledUser(t, "ana", "ana@example.com")
	f.enabledUser(t, "ben", "ben@example.com")
	a := f.startExport(t, exportInput(f, "ana", "a"))
	b := f.startExport(t, exportInput(f, "ben", "b"))
	cancel := func(id string) {
		t.Helper()
		if _, err := f.client.CancelMailboxExportJob(context.Background(), &workmail.CancelMailboxExportJobInput{
			OrganizationId: aws.String(f.org), JobId: aws.String(id)}); err != nil {
			t.Fatalf("CancelMailboxExportJob: %v", err)
		}
	}
	f.clock.Advance(30 * time.Second)
	cancel(a)
	if got := f.describeExport(t, a); got.State != types.MailboxExportJobStateCancelled || got.EstimatedProgress != 30 {
		t.Fatalf("cancelled job: %s %d", got.State, got.EstimatedProgress)
	}
	cancel(a) // idempotent
	f.clock.Advance(65 * time.Second)
	cancel(b)
	if got := f.describeExport(t, b); got.State != types.MailboxExportJobStateRunning {
		t.Fatalf("job at 95%% after cancel: %s", got.State)
	}
	f.clock.Advance(5 * time.Second)
	if got := f.describeExport(t, b); got.State != types.MailboxExportJobStateCompleted {
		t.Fatalf("job near completion: %s", got.State)
	}
}

// TestExportListPaging: jobs are listed in pages and only for seven days.
func TestExportListPaging(t *testing.T) {
	f := setup(t, simworkmail.Options{ExportConcurrency: 100}, 1)
	for i := range 25 {
		f.enabledUser(t, fmt.Sprintf("u%02d", i), fmt.Sprintf("u%02d@example.com", i))
	}
	old := f.startExport(t, exportInput(f, "u00", "old"))
	f.clock.Advance(8 * 24 * time.Hour)
	for i := 1; i < 25; i++ {
		f.startExport(t, exportInput(f, fmt.Sprintf("u%02d", i), fmt.Sprintf("t%02d", i)))
	}
	p := workmail.NewListMailboxExportJobsPaginator(f.client, &workmail.ListMailboxExportJobsInput{
		OrganizationId: aws.String(f.org), MaxResults: aws.Int32(10)})
	var ids []string
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, j := range out.Jobs {
			ids = append(ids, aws.ToString(j.JobId))
			if j.State != types.MailboxExportJobStateRunning || aws.ToString(j.S3BucketName) != "idsync-exports" {
				t.Fatalf("listed job %+v", j)
			}
		}
	}
	if len(ids) != 24 || pages != 3 {
		t.Fatalf("%d jobs in %d pages, want 24 in 3", len(ids), pages)
	}
	for _, id := range ids {
		if id == old {
			t.Fatal("a job older than seven days was listed")
		}
	}
	if got := f.describeExport(t, old); got.State != types.MailboxExportJobStateCompleted {
		t.Fatalf("old job: %s", got.State)
	}
	_, err := f.client.ListMailboxExportJobs(context.Background(), &workmail.ListMailboxExportJobsInput{
		OrganizationId: aws.String(f.org), NextToken: aws.String("bogus")})
	if !isA[*types.InvalidParameterException](err) {
		t.Fatalf("bogus NextToken: %v", err)
	}
}

// TestExportRefusals: the model's patterns, the region rule, mailboxes that
// cannot be exported, unknown jobs.
func TestExportRefusals(t *testing.T) {
	f := setup(t, simworkmail.Options{}, 1)
	f.enabledUser(t, "ana", "ana@example.com")
	f.createUser(t, "dis") // never registered: DISABLED
	if _, err := f.sim.AddGroup(f.org, "sales", "sales@example.com"); err != nil {
		t.Fatal(err)
	}
	mod := func(fn func(*workmail.StartMailboxExportJobInput)) *workmail.StartMailboxExportJobInput {
		in := exportInput(f, "ana", "tok")
		fn(in)
		return in
	}
	tests := []struct {
		name string
		in   *workmail.StartMailboxExportJobInput
		want func(error) bool
	}{
		{"role arn", mod(func(in *workmail.StartMailboxExportJobInput) { in.RoleArn = aws.String("arn:aws:s3:::bucket/role") }), isA[*types.InvalidParameterException]},
		{"kms arn", mod(func(in *workmail.StartMailboxExportJobInput) { in.KmsKeyArn = aws.String("alias/aws/s3-exports-key") }), isA[*types.InvalidParameterException]},
		{"bucket", mod(func(in *workmail.StartMailboxExportJobInput) { in.S3BucketName = aws.String("my_bucket") }), isA[*types.InvalidParameterException]},
		{"prefix", mod(func(in *workmail.StartMailboxExportJobInput) { in.S3Prefix = aws.String("a b") }), isA[*types.InvalidParameterException]},
		{"token", mod(func(in *workmail.StartMailboxExportJobInput) { in.ClientToken = aws.String("has space") }), isA[*types.InvalidParameterException]},
		{"kms region", mod(func(in *workmail.StartMailboxExportJobInput) {
			in.KmsKeyArn = aws.String(strings.Replace(exportKey, "us-east-1", "eu-west-1", 1))
		}), isA[*types.InvalidParameterException]},
		{"unknown entity", mod(func(in *workmail.StartMailboxExportJobInput) { in.EntityId = aws.String("nobody") }), isA[*types.EntityNotFoundException]},
		{"group", mod(func(in *workmail.StartMailboxExportJobInput) { in.EntityId = aws.String("sales") }), isA[*types.InvalidParameterException]},
		{"disabled user", mod(func(in *workmail.StartMailboxExportJobInput) { in.EntityId = aws.String("dis") }), isA[*types.InvalidParameterException]},
		{"organization", mod(func(in *workmail.StartMailboxExportJobInput) {
			in.OrganizationId = aws.String("m-ffffffffffffffffffffffffffffffff")
		}), isA[*types.OrganizationNotFoundException]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := f.client.StartMailboxExportJob(context.Background(), tt.in); !tt.want(err) {
				t.Fatalf("got %v", err)
			}
		})
	}
	_, err := f.client.DescribeMailboxExportJob(context.Background(), &workmail.DescribeMailboxExportJobInput{
		OrganizationId: aws.String(f.org), JobId: aws.String("00000000-0000-4000-8000-00000000ffff")})
	if !isA[*types.EntityNotFoundException](err) {
		t.Fatalf("unknown job: %v", err)
	}
	if n := len(f.sim.ExportJobs(f.org)); n != 0 {
		t.Fatalf("refusals started %d jobs", n)
	}

	g := setup(t, simworkmail.Options{ExportDisabled: true}, 1)
	g.createUser(t, "dis")
	g.startExport(t, exportInput(g, "dis", "tok"))
}
