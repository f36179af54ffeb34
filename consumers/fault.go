package consumers

import (
	"context"
	"errors"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
)

// PermanentAWSError reports whether an error from an AWS SDK call will fail
// the same way however often it is retried, the one rule both targets
// classify by: a quota (LimitExceededException,
// ServiceQuotaExceededException), any other client fault and any other 4xx
// are permanent; cancellation, deadlines, throttling, 5xx, 408, 429,
// transport errors and anything unknown are not.
func PermanentAWSError(err error) bool {
	var ae smithy.APIError
	hasCode := errors.As(err, &ae)
	switch {
	case err == nil:
		return false
	case hasCode && (ae.ErrorCode() == "LimitExceededException" || ae.ErrorCode() == "ServiceQuotaExceededException"):
		// A quota, not a rate; the SDK lists LimitExceededException among
		// its throttles, so this check comes first.
		return true
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return false
	case retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err).Bool(),
		retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err).Bool(),
		retry.IsErrorTimeouts(retry.DefaultTimeouts).IsErrorTimeout(err).Bool():
		return false
	}
	if hasCode {
		switch ae.ErrorFault() {
		case smithy.FaultClient:
			return true
		case smithy.FaultServer:
			return false
		}
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		s := re.HTTPStatusCode()
		return s >= 400 && s < 500 && s != http.StatusRequestTimeout && s != http.StatusTooManyRequests
	}
	return false
}
