// Package awsclient builds every AWS SDK client idsync uses, in one place:
// region, credentials (static ones for the local stand-ins), endpoint
// overrides, the retryer, and DynamoDB Local's checksum quirk. It also holds
// the SDK middleware every client of a kind shares:
//
//   - Meter keeps a client's calls inside a service quota, with one token
//     bucket shared by all operations or one per operation, and counts
//     attempts and throttles. It sits in the Finalize step right after the
//     SDK's Retry middleware, so that retries wait for tokens too.
//   - Classify turns every failed call of a target client (WorkMail,
//     Connect) into a *CallError marked domain.Permanent or
//     domain.Retryable by the one rule, IsPermanent. Its text never holds
//     the service's message.
//
// WorkMail and Connect install Classify and take meters (any API options)
// as extra arguments.
package awsclient

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/connect"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/identitystore"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin"
	"github.com/aws/aws-sdk-go-v2/service/workmail"
	"github.com/aws/smithy-go/middleware"
)

// Options says how to build an aws.Config.
type Options struct {
	// Region defaults to the environment's, else us-east-1 when Local.
	Region string
	// Local uses static credentials ("local"/"local") for the stand-ins
	// instead of the default credential chain.
	Local bool
	// MaxAttempts is the retryer's attempt limit (default 5 when zero).
	MaxAttempts int
	// MaxBackoff caps the retryer's backoff (default 5s when zero).
	MaxBackoff time.Duration
	// NoRetryRateLimit turns off the client-side retry token bucket, so that
	// sustained throttling slows callers down instead of failing them fast
	// with "retry quota exceeded".
	NoRetryRateLimit bool
	// HTTPClient overrides the HTTP client (e.g. for request counting).
	HTTPClient aws.HTTPClient
}

// Config loads an aws.Config from o and the environment.
//
// Errors: the shared config loader's (unreadable profile files and the like).
func Config(ctx context.Context, o Options) (aws.Config, error) {
	attempts, backoff := o.MaxAttempts, o.MaxBackoff
	if attempts == 0 {
		attempts = 5
	}
	if backoff == 0 {
		backoff = 5 * time.Second
	}
	opts := []func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(so *retry.StandardOptions) {
				so.MaxAttempts = attempts
				so.MaxBackoff = backoff
				// A quota (LimitExceededException: users per WorkMail
				// organisation or Connect instance, DynamoDB control-plane
				// limits) does not go away by retrying, though the SDK lists
				// the code among throttles: fail at once, so that the caller
				// classifies it as permanent without spending every attempt.
				so.Retryables = append([]retry.IsErrorRetryable{retry.IsErrorRetryableFunc(quotaNotRetryable)}, so.Retryables...)
				if o.NoRetryRateLimit {
					so.RateLimiter = ratelimit.None
				}
			})
		}),
	}
	region := o.Region
	if region == "" && o.Local {
		region = "us-east-1"
	}
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	if o.Local {
		opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("local", "local", "")))
	}
	if o.HTTPClient != nil {
		opts = append(opts, config.WithHTTPClient(o.HTTPClient))
	} else if o.Local {
		opts = append(opts, config.WithHTTPClient(awshttp.NewBuildableClient().WithTimeout(30*time.Second)))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS config: %w", err)
	}
	cfg.APIOptions = append(cfg.APIOptions, hideRequestWriterTo)
	return cfg, nil
}

// quotaNotRetryable says "do not retry" for a quota
// (LimitExceededException, ServiceQuotaExceededException) and leaves every
// other error to the standard checks.
func quotaNotRetryable(err error) aws.Ternary {
	if isQuotaCode(ErrorCode(err)) {
		return aws.FalseTernary
	}
	return aws.UnknownTernary
}

func endpoint(url string) *string {
	if url == "" {
		return nil
	}
	return aws.String(url)
}

// DynamoDB returns a DynamoDB client; endpoint "" means AWS's. Against an
// endpoint override (DynamoDB Local) response checksum validation is off,
// since DynamoDB Local's CRC32 header does not always match.
func DynamoDB(cfg aws.Config, url string) *dynamodb.Client {
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.BaseEndpoint = endpoint(url)
		if url != "" {
			o.DisableValidateResponseChecksum = true
		}
	})
}

// SQS returns an SQS client; endpoint "" means AWS's.
func SQS(cfg aws.Config, url string) *sqs.Client {
	return sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = endpoint(url) })
}

// WorkMail returns a WorkMail client with Classify installed, then
// apiOptions (e.g. a Meter's Install); endpoint "" means AWS's.
func WorkMail(cfg aws.Config, url string, apiOptions ...func(*middleware.Stack) error) *workmail.Client {
	return workmail.NewFromConfig(cfg, func(o *workmail.Options) {
		o.BaseEndpoint = endpoint(url)
		o.APIOptions = targetOptions(o.APIOptions, apiOptions)
	})
}

// Connect returns an Amazon Connect client with Classify installed, then
// apiOptions (e.g. a Meter's Install); endpoint "" means AWS's.
func Connect(cfg aws.Config, url string, apiOptions ...func(*middleware.Stack) error) *connect.Client {
	return connect.NewFromConfig(cfg, func(o *connect.Options) {
		o.BaseEndpoint = endpoint(url)
		o.APIOptions = targetOptions(o.APIOptions, apiOptions)
	})
}

// targetOptions is a target client's API options: the configuration's,
// Classify, then extra, in a new slice (the configuration's is shared by
// every client built from it).
func targetOptions(base, extra []func(*middleware.Stack) error) []func(*middleware.Stack) error {
	return slices.Concat(base, []func(*middleware.Stack) error{Classify}, extra)
}

// IdentityStore returns an IdentityStore client with apiOptions (e.g. a
// Meter's Install) added; endpoint "" means AWS's.
func IdentityStore(cfg aws.Config, url string, apiOptions ...func(*middleware.Stack) error) *identitystore.Client {
	return identitystore.NewFromConfig(cfg, func(o *identitystore.Options) {
		o.BaseEndpoint = endpoint(url)
		o.APIOptions = slices.Concat(o.APIOptions, apiOptions)
	})
}

// SSOAdmin returns an SSO Admin client; endpoint "" means AWS's. (Used by the SSO Admin
// stand-in's tests; kept here for discovery of the WorkMail application.)
func SSOAdmin(cfg aws.Config, url string) *ssoadmin.Client {
	return ssoadmin.NewFromConfig(cfg, func(o *ssoadmin.Options) { o.BaseEndpoint = endpoint(url) })
}

// SecretsManager returns a Secrets Manager client; endpoint "" means AWS's.
func SecretsManager(cfg aws.Config, url string) *secretsmanager.Client {
	return secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) { o.BaseEndpoint = endpoint(url) })
}

// SSM returns an SSM client; endpoint "" means AWS's.
func SSM(cfg aws.Config, url string) *ssm.Client {
	return ssm.NewFromConfig(cfg, func(o *ssm.Options) { o.BaseEndpoint = endpoint(url) })
}
