package bench_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/app"
	"github.com/idsync/idsync/internal/awsclient"
	"github.com/idsync/idsync/internal/localrun"
	"github.com/idsync/idsync/internal/settings"
	"github.com/idsync/idsync/internal/sim/simconnect"
	"github.com/idsync/idsync/internal/sim/simidentitystore"
	"github.com/idsync/idsync/internal/sim/simkit"
	"github.com/idsync/idsync/internal/sim/simworkmail"
	"github.com/idsync/idsync/internal/testenv"
)

// benchScale is the factor the backfill scales every rate quota by
// (IDSYNC_BENCH_SCALE, default 20): the stand-ins' and the clients' alike,
// bursts unchanged, so that the run takes a minute instead of twenty.
func benchScale() float64 {
	if f, err := strconv.ParseFloat(os.Getenv("IDSYNC_BENCH_SCALE"), 64); err == nil && f > 0 {
		return f
	}
	return 20
}

// quotaMinimum is the least time calls can take within a token bucket of
// rate per second holding burst tokens at the start.
func quotaMinimum(calls int64, rate float64, burst int) float64 {
	return max(0, float64(calls-int64(burst))) / rate
}

// BenchmarkBackfill: 2,000 people added to the mapped IdC groups of make
// run's pipeline (internal/localrun: the consumers polled as Lambda's
// event source mapping does), found by one snapshot and provisioned into
// both targets, with the stand-ins' quotas (Connect 2 requests/s burst 5
// per operation; WorkMail, which documents no request quota, 10/s burst 20
// per operation at the stand-in while the consumer's own budget is 5/s
// burst 10 shared by every operation; Identity Store 20/s) and the
// clients' budgets all scaled by IDSYNC_BENCH_SCALE. The minimum is what
// the quotas allow for the calls actually made, counted per operation at
// the stand-ins: per Connect operation (calls − burst) ÷ rate, for WorkMail
// the larger of the consumer's shared budget and each operation's quota;
// the slower target is the minimum. ratio = wall time (from the snapshot
// to the last account) ÷ minimum (target ≤ 1.15); dlq counts dead letters
// (target 0).
func BenchmarkBackfill(b *testing.B) {
	const people = 2000
	scale := benchScale()
	ctx := context.Background()
	testenv.Get(b) // the engines, or skip
	for i := 0; b.Loop(); i++ {
		stack, err := localrun.Start(ctx, localrun.Options{
			DynamoDBEndpoint: os.Getenv(settings.EnvDynamoDBEndpoint), SQSEndpoint: os.Getenv(settings.EnvSQSEndpoint),
			Prefix: testenv.UniqueName(b, "bf", 40),
			Rates:  map[domain.Target]float64{domain.TargetWorkMail: 5 * scale, domain.TargetConnect: 2 * scale},
		})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(stack.Close)
		stack.Connect.Control().SetQuota(simkit.EachOp, simkit.Quota{Rate: simconnect.DefaultRate * scale, Burst: simconnect.DefaultBurst})
		stack.WorkMail.Control().SetQuota(simkit.EachOp, simkit.Quota{Rate: simworkmail.DefaultQuotaRate * scale, Burst: simworkmail.DefaultQuotaBurst})
		stack.IdentityStore.Control().SetQuota(simkit.Collective, simkit.Quota{Rate: 20 * scale, Burst: 20})
		org, instance, storeID := stack.Endpoint("WORKMAIL_ORGANIZATION_ID"), stack.Endpoint("CONNECT_INSTANCE_ID"), stack.Endpoint("IDENTITY_STORE_ID")
		if err := stack.WorkMail.SetUserLimit(org, 10*people); err != nil {
			b.Fatal(err)
		}
		if err := stack.Connect.SetUserLimit(instance, 10*people); err != nil {
			b.Fatal(err)
		}
		for p := range people {
			id, err := stack.IdentityStore.SeedUser(storeID, simidentitystore.User{
				UserName: fmt.Sprintf("bf%05d@%s", p, localrun.MailDomain), GivenName: "Back", FamilyName: fmt.Sprintf("Fill%05d", p),
				Email:       fmt.Sprintf("bf%05d@%s", p, localrun.MailDomain),
				ExternalIDs: []simidentitystore.ExternalID{{Issuer: "https://scim.aws.com/4820611", ID: fmt.Sprintf("00u1bf%012d", p)}},
			})
			if err != nil {
				b.Fatal(err)
			}
			for _, g := range []string{"IDC_WORKMAIL_GROUP_ID", "IDC_CONNECT_GROUP_ID"} {
				if _, err := stack.IdentityStore.SeedMembership(storeID, stack.Endpoint(g), id); err != nil {
					b.Fatal(err)
				}
			}
		}
		st := stack.Settings
		st.IdCRate = 20 * scale
		a, err := app.New(ctx, app.Options{Settings: st, Component: settings.Snapshot, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			b.Fatal(err)
		}
		snap, err := a.Snapshotter()
		if err != nil {
			b.Fatal(err)
		}
		stack.Connect.Control().ResetCounters()
		stack.WorkMail.Control().ResetCounters()
		start := time.Now()
		sum, err := snap.Run(ctx)
		if err != nil {
			b.Fatal(err)
		}
		snapDone := time.Since(start)
		done := func() bool {
			enabled := 0
			for _, u := range stack.WorkMail.Users(org) {
				if u.State == "ENABLED" {
					enabled++
				}
			}
			return enabled >= people && len(stack.Connect.Users(instance)) >= people
		}
		for !done() {
			if time.Since(start) > 30*time.Minute {
				b.Fatalf("not provisioned after 30 minutes")
			}
			time.Sleep(100 * time.Millisecond)
		}
		wall := time.Since(start)

		var connectMin, workmailMin float64
		var cCalls, wCalls int64
		for _, c := range stack.Connect.Control().Counters() {
			cCalls += c.Requests
		}
		for _, c := range stack.Connect.Control().Counters() {
			connectMin = max(connectMin, quotaMinimum(c.Requests, simconnect.DefaultRate*scale, simconnect.DefaultBurst))
		}
		for _, c := range stack.WorkMail.Control().Counters() {
			wCalls += c.Requests
			workmailMin = max(workmailMin, quotaMinimum(c.Requests, simworkmail.DefaultQuotaRate*scale, simworkmail.DefaultQuotaBurst))
		}
		workmailMin = max(workmailMin, quotaMinimum(wCalls, 5*scale, 10))
		minimum := max(connectMin, workmailMin)
		dlq := int64(0)
		awsCfg, err := awsclient.Config(ctx, awsclient.Options{Local: true})
		if err != nil {
			b.Fatal(err)
		}
		sq := awsclient.SQS(awsCfg, st.Endpoints.SQS)
		for _, q := range st.Queues {
			out, err := sq.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(q.DLQURL),
				AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages}})
			if err != nil {
				b.Fatal(err)
			}
			n, _ := strconv.ParseInt(out.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessages)], 10, 64)
			dlq += n
		}
		b.ReportMetric(wall.Seconds(), "wall-s")
		b.ReportMetric(minimum, "min-s")
		b.ReportMetric(wall.Seconds()/minimum, "ratio")
		b.ReportMetric(float64(dlq), "dlq")
		b.ReportMetric(scale, "quota-scale")
		b.ReportMetric(float64(cCalls), "connect-calls")
		b.ReportMetric(float64(wCalls), "workmail-calls")
		b.Logf("snapshot %v (%d events); Connect %v (minimum %.1f s), WorkMail %v (minimum %.1f s)", snapDone, sum.Events,
			stack.Connect.Control().Counters(), connectMin, stack.WorkMail.Control().Counters(), workmailMin)
		stack.Close()
	}
}
