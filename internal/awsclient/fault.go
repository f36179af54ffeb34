package awsclient

import (
	"context"
	"errors"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
)

// Quota error codes: a service quota (users per WorkMail organisation or
// Connect instance and the like), not a rate. The SDK lists
// LimitExceededException among its throttles; idsync neither retries nor
// counts them as throttles.
const (
	codeLimitExceeded        = "LimitExceededException"
	codeServiceQuotaExceeded = "ServiceQuotaExceededException"
)

// IsPermanent reports whether an error from an AWS SDK call will fail the
// same way however often it is retried; it is the one rule Classify marks
// errors by: a quota (LimitExceededException,
// ServiceQuotaExceededException), any other client fault and any other 4xx
// are permanent; cancellation, deadlines, throttling, 5xx, 408, 429,
// transport errors and anything unknown are not.
func IsPermanent(err error) bool {
	var ae smithy.APIError
	hasCode := errors.As(err, &ae)
	switch {
	case err == nil:
		return false
	case hasCode && isQuotaCode(ae.ErrorCode()):
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

// isThrottle reports whether err is a throttling answer (the SDK's list of
// throttle codes and statuses), quotas excepted.
func isThrottle(err error) bool {
	if isQuotaCode(ErrorCode(err)) {
		return false
	}
	return retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err).Bool()
}

func isQuotaCode(code string) bool {
	return code == codeLimitExceeded || code == codeServiceQuotaExceeded
}

// ErrorCode returns the service's error code found in err's chain (the
// modelled exception's or a generic API error's), or "" when there is none.
func ErrorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}
