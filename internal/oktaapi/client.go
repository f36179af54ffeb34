package oktaapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/idsync/idsync/domain"
)

// Defaults of Options.
const (
	// DefaultCredentialsTTL is how long fetched credentials are used before
	// the secret is read again.
	DefaultCredentialsTTL = 5 * time.Minute
	// DefaultRate is the client-side request rate (per second). Okta's
	// smallest published limit for GET /api/v1/users/{id} is 600 a minute
	// for the whole org, and a service app gets 50 % of it by default:
	// 5 a second. The default leaves most of that to other apps and to
	// idsync's other instances.
	DefaultRate = 2.0
	// DefaultBurst is the client-side limiter's burst.
	DefaultBurst = 5
	// DefaultMaxRetries is how many times a call is repeated after a 429,
	// a 5xx or a network failure.
	DefaultMaxRetries = 3
	// DefaultMaxWait bounds one wait for Okta's rate-limit reset (Okta's
	// windows are one minute long).
	DefaultMaxWait = 65 * time.Second
	// DefaultTimeout bounds each HTTP attempt.
	DefaultTimeout = 10 * time.Second
)

// maxBody bounds the answers read.
const maxBody = 1 << 20

// Options configures a Client. The settings named are the environment
// variables the composition root (internal/app) builds them from.
type Options struct {
	// Credentials returns the Okta API credentials; required. Use
	// FromSecretsManager (OKTA_API_SECRET_ID) or FromSSM
	// (OKTA_API_SECRET_PARAMETER), Static in tests and local runs. It is
	// called lazily (never by New) and again once CredentialsTTL has
	// passed.
	Credentials func(context.Context) (Credentials, error)
	// CredentialsTTL is how long fetched credentials are kept; when a
	// refresh fails, the last good ones are used for up to one more TTL.
	// Default DefaultCredentialsTTL.
	CredentialsTTL time.Duration
	// OrgURL is the org's base URL when the secret has no "orgUrl"; when
	// both are set they must agree, a guard against a secret of another
	// org. Optional.
	OrgURL string
	// HTTPClient makes the calls. Default: a client with DefaultTimeout.
	HTTPClient *http.Client
	// Rate is the client-side request rate per second shared by every
	// call (token requests included), with bursts of Burst (Rate:
	// OKTA_API_RATE). Zero means DefaultRate / DefaultBurst; a negative Rate
	// turns the limiter off.
	Rate  float64
	Burst int
	// MaxRetries is how many times a call is repeated after a 429, a 5xx
	// or a network failure. Zero means DefaultMaxRetries; negative none.
	MaxRetries int
	// MaxWait bounds one wait for Okta's rate-limit reset; a longer wait
	// fails at once with ErrRateLimited. Default DefaultMaxWait. Waits are
	// also bounded by the context: a wait that would pass its deadline is
	// not begun.
	MaxWait time.Duration
	// Logger receives a line when a call is held back or retried and when
	// an access token is obtained: operation, status, codes and waits,
	// never a profile value. Default: discard.
	Logger *slog.Logger
	// Clock reads the time (token expiry, rate-limit resets). Default
	// time.Now.
	Clock func() time.Time
	// Sleep waits d or until ctx ends (returning ctx's error). Default a
	// timer. Tests inject one that advances their clock.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Client reads users from Okta's Users API, authenticating with an API
// token or as an OAuth 2.0 service app (see the package documentation).
// It is safe for concurrent use.
type Client struct {
	fetch      func(context.Context) (Credentials, error)
	credTTL    time.Duration
	orgURL     string
	http       *http.Client
	limiter    *rate.Limiter
	maxRetries int
	maxWait    time.Duration
	log        *slog.Logger
	now        func() time.Time
	sleep      func(context.Context, time.Duration) error

	credMu  sync.Mutex
	creds   Credentials
	credGen int // increases whenever the credentials change
	credAt  time.Time
	credOK  bool

	tokMu sync.Mutex
	tok   accessToken

	holdMu sync.Mutex
	holds  map[string]time.Time // operation → no request before this (Okta's reset)
}

// New returns a Client. It performs no I/O.
//
// Errors: ErrInvalid (Permanent) without Options.Credentials or with an
// invalid Options.OrgURL.
func New(o Options) (*Client, error) {
	if o.Credentials == nil {
		return nil, domain.Permanent(fmt.Errorf("okta: %w: Options.Credentials is required", ErrInvalid))
	}
	var org string
	if o.OrgURL != "" {
		var err error
		if org, err = NormaliseOrgURL(o.OrgURL); err != nil {
			return nil, domain.Permanent(fmt.Errorf("okta: %w: Options.OrgURL: %v", ErrInvalid, err))
		}
	}
	c := &Client{
		fetch: o.Credentials, credTTL: o.CredentialsTTL, orgURL: org, http: o.HTTPClient,
		maxRetries: o.MaxRetries, maxWait: o.MaxWait, log: o.Logger, now: o.Clock, sleep: o.Sleep,
		holds: map[string]time.Time{},
	}
	if c.credTTL <= 0 {
		c.credTTL = DefaultCredentialsTTL
	}
	if c.http == nil {
		c.http = &http.Client{Timeout: DefaultTimeout}
	}
	switch {
	case o.Rate < 0:
		c.limiter = rate.NewLimiter(rate.Inf, 1)
	case o.Rate == 0:
		c.limiter = rate.NewLimiter(rate.Limit(DefaultRate), max(o.Burst, DefaultBurst))
	default:
		c.limiter = rate.NewLimiter(rate.Limit(o.Rate), max(o.Burst, 1))
	}
	switch {
	case c.maxRetries == 0:
		c.maxRetries = DefaultMaxRetries
	case c.maxRetries < 0:
		c.maxRetries = 0
	}
	if c.maxWait <= 0 {
		c.maxWait = DefaultMaxWait
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.sleep == nil {
		c.sleep = sleepCtx
	}
	return c, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// GetUser reads the user with Okta id id (GET /api/v1/users/{id}).
//
// With a service app, an access token is obtained on first use and reused
// until shortly before it expires; a 401 drops it and the call is made once
// more with a new one. Calls wait for the client-side limiter and, once
// Okta reported no requests left in its window, for the window's reset;
// a 429 is retried after the reset, a 5xx or network failure after a
// backoff, at most Options.MaxRetries times.
//
// Errors, each an *Error (errors.As) wrapping its kind (errors.Is) and
// marked domain.Permanent or domain.Retryable: ErrNotFound, ErrUnauthorized,
// ErrForbidden, ErrRejected, ErrInvalid (an empty id) and
// ErrInvalidCredentials are permanent; ErrRateLimited and ErrUnavailable
// (also wrapping the context's error when it ended) are retryable. Errors
// of Options.Credentials are returned wrapped, with their own mark.
func (c *Client) GetUser(ctx context.Context, id string) (User, error) {
	if id == "" {
		return User{}, classified(&Error{Op: OpGetUser, Kind: ErrInvalid, Detail: "empty user id"})
	}
	creds, gen, err := c.credentials(ctx)
	if err != nil {
		return User{}, fmt.Errorf("okta %s: %w", OpGetUser, err)
	}
	a, err := c.get(ctx, OpGetUser, creds, gen, creds.OrgURL+"/api/v1/users/"+url.PathEscape(id))
	if err != nil {
		return User{}, err
	}
	u, err := decodeUser(a.body)
	if err != nil {
		return User{}, classified(&Error{Op: OpGetUser, Status: a.status, Kind: ErrUnavailable,
			Detail: err.Error(), RequestID: a.requestID()})
	}
	return u, nil
}

// credentials returns the cached credentials, fetching them when the
// cache is empty or older than the TTL, with the generation they belong
// to.
func (c *Client) credentials(ctx context.Context) (Credentials, int, error) {
	c.credMu.Lock()
	defer c.credMu.Unlock()
	now := c.now()
	if c.credOK && now.Sub(c.credAt) < c.credTTL {
		return c.creds, c.credGen, nil
	}
	cr, err := c.fetch(ctx)
	if err == nil {
		cr, err = c.resolveOrg(cr)
	}
	if err != nil {
		if c.credOK && now.Sub(c.credAt) < 2*c.credTTL {
			c.log.WarnContext(ctx, "okta credentials refresh failed; using the cached ones", "err", err.Error())
			return c.creds, c.credGen, nil
		}
		return Credentials{}, 0, err
	}
	if !c.credOK || !cr.same(c.creds) {
		c.credGen++
	}
	c.creds, c.credAt, c.credOK = cr, now, true
	return cr, c.credGen, nil
}

// resolveOrg fills in or checks the org URL against Options.OrgURL.
func (c *Client) resolveOrg(cr Credentials) (Credentials, error) {
	switch {
	case cr.OrgURL == "" && c.orgURL == "":
		return Credentials{}, domain.Permanent(fmt.Errorf("okta: %w: no orgUrl in the secret and no Options.OrgURL", ErrInvalidCredentials))
	case cr.OrgURL == "":
		cr.OrgURL = c.orgURL
	case c.orgURL != "" && cr.OrgURL != c.orgURL:
		return Credentials{}, domain.Permanent(fmt.Errorf("okta: %w: the secret's orgUrl differs from the configured org URL", ErrInvalidCredentials))
	}
	if cr.ssws == "" && cr.key == nil {
		return Credentials{}, domain.Permanent(fmt.Errorf("okta: %w: neither an API token nor a private key (use ParseCredentials)", ErrInvalidCredentials))
	}
	return cr, nil
}

// authorization is the Authorization header value for creds: the API
// token, or a Bearer access token other than stale.
func (c *Client) authorization(ctx context.Context, creds Credentials, gen int, stale string) (string, error) {
	if creds.Method() == MethodSSWS {
		return "SSWS " + creds.ssws, nil
	}
	tok, err := c.bearer(ctx, creds, gen, stale)
	if err != nil {
		return "", err
	}
	return "Bearer " + tok, nil
}

// answer is an HTTP answer read in full.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) requestID() string { return a.header.Get("X-Okta-Request-Id") }

// exchange sends the request build makes (a new one per attempt) and
// returns the first answer that is neither a 429 nor a 5xx, retrying
// those and network failures at most c.maxRetries times. Every attempt
// first waits for the client-side limiter and for any hold Okta's
// rate-limit headers set for op.
func (c *Client) exchange(ctx context.Context, op string, build func() (*http.Request, error)) (answer, error) {
	var last *Error
	prevID := ""
	for attempt := 0; attempt <= c.maxRetries; attempt++ {
		if err := c.admit(ctx, op); err != nil {
			if last != nil && last.Kind == ErrRateLimited {
				last.Cause, last.Detail = err, "next attempt not made: "+describeWait(err)
				return answer{}, classified(last)
			}
			return answer{}, classified(&Error{Op: op, Kind: ErrRateLimited, Cause: err, Detail: describeWait(err)})
		}
		req, err := build()
		if err != nil {
			return answer{}, classified(&Error{Op: op, Kind: ErrInvalid, Detail: "request could not be built"})
		}
		req = req.WithContext(ctx)
		req.Header.Set("User-Agent", "idsync-oktaapi")
		if attempt > 0 {
			req.Header.Set("X-Okta-Retry-Count", strconv.Itoa(attempt))
			if prevID != "" {
				req.Header.Set("X-Okta-Retry-For", prevID)
			}
		}
		a, err := c.send(req)
		if err != nil {
			last = &Error{Op: op, Kind: ErrUnavailable, Cause: err}
			if ctx.Err() != nil {
				last.Cause = ctx.Err()
				return answer{}, classified(last)
			}
			c.log.WarnContext(ctx, "okta call failed", "op", op, "attempt", attempt+1, "err", describe(err))
			if err := c.backoff(ctx, attempt); err != nil {
				return answer{}, classified(last)
			}
			continue
		}
		prevID = a.requestID()
		c.noteRateHeaders(ctx, op, a)
		switch {
		case a.status == http.StatusTooManyRequests:
			last = answerError(op, a)
			c.log.WarnContext(ctx, "okta rate limit exceeded", "op", op, "attempt", attempt+1,
				"code", last.Code, "requestId", prevID, "resetIn", c.holdLeft(op).String())
		case a.status >= 500 || a.status == http.StatusRequestTimeout:
			last = answerError(op, a)
			c.log.WarnContext(ctx, "okta call failed", "op", op, "attempt", attempt+1, "status", a.status,
				"code", last.Code, "requestId", prevID)
			if err := c.backoff(ctx, attempt); err != nil {
				return answer{}, classified(last)
			}
		default:
			return a, nil
		}
	}
	return answer{}, classified(last)
}

// send makes one attempt and reads its answer.
func (c *Client) send(req *http.Request) (answer, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return answer{}, err
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: body}, nil
}

// backoff waits before repeating a call after a 5xx or a network failure:
// 0.5 s, 1 s, 2 s, … at most 8 s.
func (c *Client) backoff(ctx context.Context, attempt int) error {
	if attempt >= c.maxRetries {
		return nil // no further attempt follows
	}
	d := min(500*time.Millisecond<<attempt, 8*time.Second)
	return c.wait(ctx, d)
}

// errWaitTooLong and errPastDeadline say why a wait was not begun.
var (
	errWaitTooLong  = errors.New("wait longer than Options.MaxWait")
	errPastDeadline = errors.New("wait would pass the context's deadline")
)

func describeWait(err error) string {
	switch {
	case errors.Is(err, errWaitTooLong), errors.Is(err, errPastDeadline):
		return err.Error()
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "context ended while waiting"
	}
	return "wait failed"
}

// wait sleeps d unless that is longer than MaxWait or would pass ctx's
// deadline, in which case it fails at once.
func (c *Client) wait(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	if d > c.maxWait {
		return errWaitTooLong
	}
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < d {
		return errPastDeadline
	}
	return c.sleep(ctx, d)
}

// admit waits for the client-side limiter and for op's hold.
func (c *Client) admit(ctx context.Context, op string) error {
	if d := c.holdLeft(op); d > 0 {
		c.log.InfoContext(ctx, "okta rate limit window used up; holding back until its reset", "op", op, "wait", d.String())
		if err := c.wait(ctx, d); err != nil {
			return err
		}
	}
	now := c.now()
	r := c.limiter.ReserveN(now, 1)
	if !r.OK() {
		return errWaitTooLong
	}
	if err := c.wait(ctx, r.DelayFrom(now)); err != nil {
		r.CancelAt(now)
		return err
	}
	return nil
}

// holdLeft is how long op must still wait for Okta's reset.
func (c *Client) holdLeft(op string) time.Duration {
	c.holdMu.Lock()
	defer c.holdMu.Unlock()
	return c.holds[op].Sub(c.now())
}

// noteRateHeaders reads Okta's X-Rate-Limit-* headers: when Remaining is
// 0 (as on every 429), no request for op is sent before the reset. A 429
// without usable headers holds op for a second.
//
// The wait is computed as Okta's SDKs do: X-Rate-Limit-Reset (epoch
// seconds) minus the answer's Date, plus one second for the truncation of
// both to seconds, so that a skewed local clock does not matter. Without
// a Date header the local clock is used.
func (c *Client) noteRateHeaders(ctx context.Context, op string, a answer) {
	remaining, errR := strconv.Atoi(a.header.Get("X-Rate-Limit-Remaining"))
	reset, errT := strconv.ParseInt(a.header.Get("X-Rate-Limit-Reset"), 10, 64)
	limited := a.status == http.StatusTooManyRequests || (errR == nil && remaining <= 0)
	if !limited {
		return
	}
	now := c.now()
	wait := time.Second
	if errT == nil {
		serverNow := now
		if d, err := http.ParseTime(a.header.Get("Date")); err == nil {
			serverNow = d
		}
		wait = time.Unix(reset, 0).Sub(serverNow) + time.Second
		wait = max(wait, 0)
	}
	until := now.Add(wait)
	c.holdMu.Lock()
	if until.After(c.holds[op]) {
		c.holds[op] = until
	}
	c.holdMu.Unlock()
	if a.status != http.StatusTooManyRequests {
		c.log.DebugContext(ctx, "okta rate limit window used up", "op", op, "resetIn", wait.String())
	}
}
