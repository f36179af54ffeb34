package connect

import (
	"context"
	"errors"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/connect/types"
	"github.com/aws/smithy-go"

	"github.com/idsync/idsync/domain"
)

// classify marks an error of a Connect call with its domain kind. It is the
// one place where SDK errors are understood:
//   - LimitExceededException / ServiceQuotaExceededException (429, a quota
//     such as users per instance, not a rate): permanent;
//   - ThrottlingException, TooManyRequestsException and every other code
//     the SDK counts as throttling: retryable;
//   - InternalServiceException and other server faults, 5xx answers,
//     timeouts, cancelled contexts, transport errors and anything unknown:
//     retryable;
//   - InvalidParameterException, InvalidRequestException,
//     ResourceNotFoundException, DuplicateResourceException,
//     AccessDeniedException and every other client fault (4xx): permanent.
//
// It is applied once, to the raw error of an SDK call; errors the applier
// makes itself are marked where they are made.
func classify(err error) error {
	if err == nil {
		return nil
	}
	if isQuota(err) {
		return domain.Permanent(err)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return domain.Retryable(err)
	}
	if retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err) == aws.TrueTernary {
		return domain.Retryable(err)
	}
	var internal *types.InternalServiceException
	if errors.As(err, &internal) {
		return domain.Retryable(err)
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorFault() {
		case smithy.FaultClient:
			return domain.Permanent(err)
		case smithy.FaultServer:
			return domain.Retryable(err)
		}
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		code := re.HTTPStatusCode()
		if code >= 400 && code < 500 && code != http.StatusTooManyRequests && code != http.StatusRequestTimeout {
			return domain.Permanent(err)
		}
	}
	return domain.Retryable(err)
}

// isNotFound reports whether err is Connect's ResourceNotFoundException.
func isNotFound(err error) bool {
	var nf *types.ResourceNotFoundException
	return errors.As(err, &nf)
}

// isDuplicate reports whether err is Connect's DuplicateResourceException.
func isDuplicate(err error) bool {
	var d *types.DuplicateResourceException
	return errors.As(err, &d)
}

// errorCode is the API error code of err ("" when there is none), for logs:
// messages may carry names.
func errorCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}
