package oktahook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// ErrNoSecret is wrapped when the secret store holds no usable secret.
var ErrNoSecret = errors.New("no hook secret configured")

// Secrets are the auth-header values the hook accepts: the current one and,
// during a rotation, the previous one.
type Secrets struct {
	Current  string `json:"current"`
	Previous string `json:"previous,omitempty"`
}

// parseSecrets reads a stored secret: either JSON {"current": "...",
// "previous": "..."} or a plain string (the current secret alone).
func parseSecrets(raw string) (Secrets, error) {
	raw = strings.TrimSpace(raw)
	var s Secrets
	if strings.HasPrefix(raw, "{") {
		if err := json.Unmarshal([]byte(raw), &s); err != nil {
			return Secrets{}, fmt.Errorf("%w: stored secret is not {\"current\",\"previous\"} JSON: %v", ErrNoSecret, err)
		}
	} else {
		s.Current = raw
	}
	if s.Current == "" {
		return Secrets{}, fmt.Errorf("%w: stored secret has no current value", ErrNoSecret)
	}
	return s, nil
}

// SecretsManagerAPI is the part of the Secrets Manager client the hook uses.
type SecretsManagerAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// SSMAPI is the part of the SSM client the hook uses.
type SSMAPI interface {
	GetParameter(ctx context.Context, in *ssm.GetParameterInput, opts ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}

// FromSecretsManager fetches the secrets from a Secrets Manager secret.
func FromSecretsManager(client SecretsManagerAPI, secretID string) func(context.Context) (Secrets, error) {
	return func(ctx context.Context) (Secrets, error) {
		out, err := client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(secretID)})
		if err != nil {
			return Secrets{}, fmt.Errorf("get hook secret %s: %w", secretID, err)
		}
		return parseSecrets(aws.ToString(out.SecretString))
	}
}

// FromSSM fetches the secrets from an SSM SecureString parameter.
func FromSSM(client SSMAPI, name string) func(context.Context) (Secrets, error) {
	return func(ctx context.Context) (Secrets, error) {
		out, err := client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(true)})
		if err != nil {
			return Secrets{}, fmt.Errorf("get hook secret parameter %s: %w", name, err)
		}
		if out.Parameter == nil {
			return Secrets{}, fmt.Errorf("%w: parameter %s has no value", ErrNoSecret, name)
		}
		return parseSecrets(aws.ToString(out.Parameter.Value))
	}
}

// Static returns fixed secrets (tests and the local runner only).
func Static(s Secrets) func(context.Context) (Secrets, error) {
	return func(context.Context) (Secrets, error) {
		if s.Current == "" {
			return Secrets{}, ErrNoSecret
		}
		return s, nil
	}
}

// SecretCache caches fetched secrets for a TTL, so a rotation or revocation
// takes effect within one TTL without a redeploy. It is safe for concurrent
// use. The secrets are never logged.
type SecretCache struct {
	fetch func(context.Context) (Secrets, error)
	ttl   time.Duration
	now   func() time.Time

	mu      sync.Mutex
	cached  Secrets
	fetched time.Time
	// failed and failErr remember the last failed fetch when nothing usable
	// is cached, so that a burst of requests during an outage of the secret
	// store costs one fetch per failBackoff, not one per request.
	failed  time.Time
	failErr error
}

// failBackoff is how long a failed fetch is not repeated.
const failBackoff = time.Second

// SecretCacheOptions configure NewSecretCache.
type SecretCacheOptions struct {
	// Fetch reads the secrets (FromSecretsManager, FromSSM, Static).
	Fetch func(context.Context) (Secrets, error)
	// TTL is how long an answer is used before it is fetched again.
	TTL time.Duration
	// Clock is the time source (default time.Now).
	Clock func() time.Time
}

// NewSecretCache caches o.Fetch's answer for o.TTL. It performs no I/O.
func NewSecretCache(o SecretCacheOptions) *SecretCache {
	if o.Clock == nil {
		o.Clock = time.Now
	}
	return &SecretCache{fetch: o.Fetch, ttl: o.TTL, now: o.Clock}
}

// Secrets returns the cached secrets, fetching them when the cache is empty
// or older than the TTL. When a refresh fails, the last good secrets are
// used for up to one more TTL.
//
// A failed fetch with nothing usable cached is not repeated for a second:
// calls meanwhile get the same error at once.
//
// Errors: the fetch error (wrapping ErrNoSecret when nothing is stored) when
// there is no usable cached value.
func (c *SecretCache) Secrets(ctx context.Context) (Secrets, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if !c.fetched.IsZero() && now.Sub(c.fetched) < c.ttl {
		return c.cached, nil
	}
	if c.failErr != nil && now.Sub(c.failed) < failBackoff {
		return Secrets{}, c.failErr
	}
	s, err := c.fetch(ctx)
	if err != nil {
		if !c.fetched.IsZero() && now.Sub(c.fetched) < 2*c.ttl {
			return c.cached, nil
		}
		c.failed, c.failErr = now, err
		return Secrets{}, err
	}
	c.cached, c.fetched, c.failErr = s, now, nil
	return s, nil
}
