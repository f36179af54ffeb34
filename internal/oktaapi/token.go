package oktaapi

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// OAuth constants of Okta's org authorization server.
const (
	// ClientAssertionType is the client_assertion_type of a private_key_jwt
	// client assertion.
	ClientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
	// AssertionLifetime is how long a client assertion is valid; Okta
	// refuses more than an hour.
	AssertionLifetime = 5 * time.Minute
	// tokenRefreshMargin: an access token is replaced this long before it
	// expires (Okta's tokens live one hour), or at a quarter of its
	// lifetime for shorter ones.
	tokenRefreshMargin = 2 * time.Minute
)

// accessToken is a cached access token.
type accessToken struct {
	value   string
	gen     int // the credentials generation it was obtained with
	expires time.Time
}

// bearer returns a valid access token, obtaining one when none is cached,
// the cached one is about to expire, belongs to other credentials, or is
// stale (the token Okta just refused). Concurrent callers wait for one
// request.
func (c *Client) bearer(ctx context.Context, creds Credentials, gen int, stale string) (string, error) {
	c.tokMu.Lock()
	defer c.tokMu.Unlock()
	t := c.tok
	if t.value != "" && t.gen == gen && "Bearer "+t.value != stale && c.now().Before(t.expires) {
		return t.value, nil
	}
	t, err := c.fetchToken(ctx, creds, gen)
	if err != nil {
		return "", err
	}
	c.tok = t
	return t.value, nil
}

// tokenAnswer is the token endpoint's success answer.
type tokenAnswer struct {
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
	AccessToken string `json:"access_token"`
	Scope       string `json:"scope"`
}

// fetchToken asks the org authorization server for an access token with
// the client credentials grant and a private_key_jwt client assertion (a
// new one, with a new jti, for every attempt).
func (c *Client) fetchToken(ctx context.Context, creds Credentials, gen int) (accessToken, error) {
	endpoint := creds.OrgURL + "/oauth2/v1/token"
	scope := strings.Join(creds.Scopes, " ")
	a, err := c.exchange(ctx, OpToken, func() (*http.Request, error) {
		assertion, err := clientAssertion(creds, endpoint, c.now())
		if err != nil {
			return nil, err
		}
		form := url.Values{
			"grant_type":            {"client_credentials"},
			"scope":                 {scope},
			"client_assertion_type": {ClientAssertionType},
			"client_assertion":      {assertion},
		}
		req, err := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(form.Encode()))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		return req, nil
	})
	if err != nil {
		return accessToken{}, err
	}
	if a.status != http.StatusOK {
		return accessToken{}, classified(answerError(OpToken, a))
	}
	bad := func(detail string) (accessToken, error) {
		return accessToken{}, classified(&Error{Op: OpToken, Status: a.status, Kind: ErrUnavailable, Detail: detail, RequestID: a.requestID()})
	}
	var ta tokenAnswer
	if err := json.Unmarshal(a.body, &ta); err != nil || ta.AccessToken == "" {
		return bad("answer holds no access token")
	}
	if !strings.EqualFold(ta.TokenType, "Bearer") {
		return accessToken{}, classified(&Error{Op: OpToken, Status: a.status, Kind: ErrUnauthorized, RequestID: a.requestID(),
			Detail: fmt.Sprintf("token type %q is not supported (only Bearer; is DPoP required for the app?)", ta.TokenType)})
	}
	if ta.ExpiresIn <= 0 {
		return bad("answer has no expires_in")
	}
	now := c.now()
	life := time.Duration(ta.ExpiresIn) * time.Second
	margin := min(tokenRefreshMargin, life/4)
	c.log.DebugContext(ctx, "okta access token obtained", "clientId", creds.ClientID, "expiresIn", life.String(),
		"scope", ta.Scope)
	return accessToken{value: ta.AccessToken, gen: gen, expires: now.Add(life - margin)}, nil
}

// clientAssertion signs a client assertion with go-jose: iss = sub = the
// client id, aud = the token endpoint, iat now, exp AssertionLifetime
// later, a random jti (Okta accepts each jti once).
func clientAssertion(creds Credentials, aud string, now time.Time) (string, error) {
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: creds.alg, Key: jose.JSONWebKey{Key: creds.key, KeyID: creds.KeyID, Algorithm: string(creds.alg)}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", err
	}
	jti, err := newJTI()
	if err != nil {
		return "", err
	}
	claims := jwt.Claims{
		Issuer: creds.ClientID, Subject: creds.ClientID, Audience: jwt.Audience{aud},
		IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(AssertionLifetime)), ID: jti,
	}
	return jwt.Signed(signer).Claims(claims).Serialize()
}

// newJTI is 128 random bits, base64url.
func newJTI() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// errorBody is Okta's error object and the OAuth error answer in one.
type errorBody struct {
	ErrorCode        string `json:"errorCode"`
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

// answerError describes a failed answer: Okta's error code (or the OAuth
// error, or the WWW-Authenticate error), the kind, and for the token
// endpoint Okta's description.
func answerError(op string, a answer) *Error {
	e := &Error{Op: op, Status: a.status, RequestID: a.requestID()}
	var b errorBody
	_ = json.Unmarshal(a.body, &b)
	www := authParams(a.header.Get("WWW-Authenticate"))
	e.Code = firstOf(b.ErrorCode, b.Error, www["error"])
	e.Kind = kindOf(a.status, e.Code)
	switch {
	case e.Code == insufficientScope:
		e.Detail = "the access token lacks scope " + firstOf(www["scope"], ScopeUsersRead)
	case e.Code == oauthInvalidDPoP:
		e.Detail = "the service app requires DPoP, which idsync does not send: untick \"Require Demonstrating Proof of Possession\" for the app"
	case op == OpToken && b.ErrorDescription != "":
		e.Detail = truncate(b.ErrorDescription, 200)
	}
	return e
}

// authParams reads the key="value" pairs of a WWW-Authenticate header
// (Okta quotes every value and escapes none).
func authParams(h string) map[string]string {
	out := map[string]string{}
	for {
		eq := strings.Index(h, `="`)
		if eq < 0 {
			return out
		}
		key := h[:eq]
		if i := strings.LastIndexAny(key, " ,"); i >= 0 {
			key = key[i+1:]
		}
		rest := h[eq+2:]
		end := strings.IndexByte(rest, '"')
		if end < 0 {
			return out
		}
		out[strings.ToLower(key)] = rest[:end]
		h = rest[end+1:]
	}
}

func firstOf(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// truncate cuts s to at most n runes.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}
