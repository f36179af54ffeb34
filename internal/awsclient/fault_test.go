package awsclient_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/idsync/idsync/internal/awsclient"
)

func responseError(status int, err error) error {
	return &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
		Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}}, Err: err,
	}}
}

func TestIsPermanent(t *testing.T) {
	api := func(code string, fault smithy.ErrorFault) error {
		return &smithy.GenericAPIError{Code: code, Message: "m", Fault: fault}
	}
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"quota, though the SDK calls it a throttle", responseError(429, api("LimitExceededException", smithy.FaultClient)), true},
		{"service quota", api("ServiceQuotaExceededException", smithy.FaultClient), true},
		{"throttling", responseError(429, api("ThrottlingException", smithy.FaultClient)), false},
		{"server fault", responseError(500, api("InternalServiceException", smithy.FaultServer)), false},
		{"client fault", responseError(400, api("InvalidParameterException", smithy.FaultClient)), true},
		{"unmodelled 404", responseError(404, api("EntityNotFoundException", smithy.FaultUnknown)), true},
		{"unmodelled 408", responseError(408, errors.New("timeout")), false},
		{"deadline", fmt.Errorf("call: %w", context.DeadlineExceeded), false},
		{"canceled client fault", fmt.Errorf("%w: %w", context.Canceled, api("InvalidRequestException", smithy.FaultClient)), false},
		{"unknown", errors.New("something else"), false},
	} {
		if got := awsclient.IsPermanent(tc.err); got != tc.want {
			t.Errorf("%s: IsPermanent = %v, want %v", tc.name, got, tc.want)
		}
	}
}
