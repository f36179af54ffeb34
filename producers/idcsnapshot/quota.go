package idcsnapshot

import (
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/identitystore"
	"github.com/aws/aws-sdk-go-v2/service/identitystore/types"

	"github.com/idsync/idsync/internal/awsclient"
)

// newMeter returns one run's Identity Store meter: the collective quota
// (perSecond, burst) shared by every operation, every attempt counted, and
// every attempt held back for as long as a ThrottlingException's
// RetryAfterSeconds asked.
func newMeter(perSecond float64, burst int) *awsclient.Meter {
	return awsclient.NewMeter(awsclient.MeterOptions{
		Quota:      awsclient.Quota{Rate: perSecond, Burst: burst},
		RetryAfter: retryAfter,
	})
}

// retryAfter reads IdentityStore's RetryAfterSeconds from a throttled
// attempt's error.
func retryAfter(err error) time.Duration {
	var te *types.ThrottlingException
	if errors.As(err, &te) && te.RetryAfterSeconds > 0 {
		return time.Duration(te.RetryAfterSeconds) * time.Second
	}
	return 0
}

// meterOption installs m on one call.
func meterOption(m *awsclient.Meter) func(*identitystore.Options) {
	return func(o *identitystore.Options) { o.APIOptions = append(o.APIOptions, m.Install) }
}
