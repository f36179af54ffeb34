package awsclient_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/connect"
	connecttypes "github.com/aws/aws-sdk-go-v2/service/connect/types"
	"github.com/aws/smithy-go"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/awsclient"
)

// TestClassifyWorkMail: every failed call of a client built by
// awsclient.WorkMail comes back as a *CallError marked by the one rule,
// with idsync's text (never the service's message) and the SDK's error
// still in the chain.
func TestClassifyWorkMail(t *testing.T) {
	tests := []struct {
		name     string
		answers  []answer
		cancel   bool
		kind     domain.ErrorKind
		code     string
		status   int
		text     string
		requests int // with 3 SDK attempts
	}{
		{"success", nil, false, domain.ErrorNone, "", 0, "", 1},
		{"invalid parameter", []answer{{status: 400, code: "InvalidParameterException"}}, false,
			domain.ErrorPermanent, "InvalidParameterException", 400, "workmail UpdateUser: InvalidParameterException (HTTP 400)", 1},
		{"a quota is permanent and not retried, though the SDK lists it as a throttle",
			[]answer{{status: 400, code: "LimitExceededException"}}, false,
			domain.ErrorPermanent, "LimitExceededException", 400, "workmail UpdateUser: LimitExceededException (HTTP 400)", 1},
		{"sustained throttling", []answer{{status: 400, code: "ThrottlingException"}}, false,
			domain.ErrorRetryable, "ThrottlingException", 400, "workmail UpdateUser: ThrottlingException (HTTP 400)", 3},
		{"server error", []answer{{status: 500, code: "InternalServerException"}}, false,
			domain.ErrorRetryable, "InternalServerException", 500, "workmail UpdateUser: InternalServerException (HTTP 500)", 3},
		{"throttled once, then served", []answer{{status: 400, code: "ThrottlingException"}, {}}, false,
			domain.ErrorNone, "", 0, "", 2},
		{"connection dropped", []answer{{drop: true}}, false,
			domain.ErrorRetryable, "", 0, "workmail UpdateUser: connection closed before an answer", 3},
		{"context cancelled", nil, true,
			domain.ErrorRetryable, "", 0, "workmail UpdateUser: context canceled", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, c := workMail(t, 3)
			f.answer("UpdateUser", tt.answers...)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.cancel {
				cancel()
			}
			raw := updateUser(ctx, c)
			err := awsclient.Failure(raw)
			if got := domain.KindOf(err); got != tt.kind {
				t.Fatalf("kind %s, want %s (%v)", got, tt.kind, err)
			}
			if n := f.count("UpdateUser"); n != tt.requests {
				t.Errorf("%d requests, want %d", n, tt.requests)
			}
			if err == nil {
				return
			}
			if domain.KindOf(raw) != tt.kind {
				t.Errorf("the SDK's own error is classified %s, want %s", domain.KindOf(raw), tt.kind)
			}
			var ce *awsclient.CallError
			if !errors.As(err, &ce) {
				t.Fatalf("%v (%T) holds no *CallError", err, err)
			}
			if ce.Service != "WorkMail" || ce.Operation != "UpdateUser" || ce.Code != tt.code || ce.Status != tt.status {
				t.Errorf("CallError = %+v", ce)
			}
			if err.Error() != tt.text {
				t.Errorf("text %q, want %q", err.Error(), tt.text)
			}
			if strings.Contains(raw.Error(), "@") || strings.Contains(err.Error(), "service says") {
				t.Errorf("the service's message leaked: %q / %q", raw.Error(), err.Error())
			}
			if tt.code != "" {
				var ae smithy.APIError
				if !errors.As(err, &ae) || ae.ErrorCode() != tt.code || ae.ErrorMessage() != serviceSays {
					t.Errorf("the SDK's error is not in the chain of %v", err)
				}
				if got := awsclient.ErrorCode(err); got != tt.code {
					t.Errorf("ErrorCode = %q, want %q", got, tt.code)
				}
			}
			if tt.cancel && !errors.Is(err, context.Canceled) {
				t.Errorf("%v is not context.Canceled", err)
			}
		})
	}
}

// TestClassifyConnect: the Connect builder installs Classify too, and the
// modelled exception types stay reachable.
func TestClassifyConnect(t *testing.T) {
	tests := []struct {
		name string
		ans  answer
		kind domain.ErrorKind
		text string
		as   func(error) bool
	}{
		{"duplicate", answer{status: 409, code: "DuplicateResourceException"}, domain.ErrorPermanent,
			"connect CreateUser: DuplicateResourceException (HTTP 409)",
			func(err error) bool { _, ok := errors.AsType[*connecttypes.DuplicateResourceException](err); return ok }},
		{"users-per-instance quota", answer{status: 429, code: "LimitExceededException"}, domain.ErrorPermanent,
			"connect CreateUser: LimitExceededException (HTTP 429)",
			func(err error) bool { _, ok := errors.AsType[*connecttypes.LimitExceededException](err); return ok }},
		{"throttled", answer{status: 429, code: "ThrottlingException"}, domain.ErrorRetryable,
			"connect CreateUser: ThrottlingException (HTTP 429)",
			func(err error) bool { _, ok := errors.AsType[*connecttypes.ThrottlingException](err); return ok }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, c := connectClient(t, 2)
			f.answer("PUT /users/inst-1", tt.ans)
			_, raw := c.CreateUser(context.Background(), &connect.CreateUserInput{
				InstanceId: aws.String("inst-1"), Username: aws.String("jane"),
				PhoneConfig:        &connecttypes.UserPhoneConfig{PhoneType: connecttypes.PhoneTypeSoftPhone},
				SecurityProfileIds: []string{"sp"}, RoutingProfileId: aws.String("rp"),
			})
			err := awsclient.Failure(raw)
			if domain.KindOf(err) != tt.kind || err.Error() != tt.text || !tt.as(err) {
				t.Errorf("err = %q (%s), want %q (%s) with the modelled type inside", err, domain.KindOf(err), tt.text, tt.kind)
			}
		})
	}
}

// TestFailureLeavesOtherErrors: Failure only takes the SDK's shell off a
// classified call error.
func TestFailureLeavesOtherErrors(t *testing.T) {
	plain := errors.New("plain")
	shell := &smithy.OperationError{ServiceID: "X", OperationName: "Y", Err: plain}
	for _, err := range []error{nil, plain, shell} {
		if got := awsclient.Failure(err); got != err {
			t.Errorf("Failure(%v) = %v, want it unchanged", err, got)
		}
	}
}
