package oktaapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/idsync/idsync/domain"
)

// The kinds of failure, each wrapped by an *Error (test with errors.Is).
// The permanent ones are marked domain.Permanent, the others
// domain.Retryable.
var (
	// ErrNotFound: no user has that id (404, Okta error E0000007).
	// Permanent.
	ErrNotFound = errors.New("not found")
	// ErrUnauthorized: Okta refused the credentials: a wrong, revoked or
	// expired API token (401 E0000011), a client assertion the org's
	// authorization server did not accept (invalid_client), a service app
	// that requires DPoP. Permanent: the secret must be fixed.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrForbidden: the credentials are valid but may not read users: an
	// access token without okta.users.read (403 insufficient_scope, or the
	// scope not granted to the app: invalid_scope), or a service app
	// without an admin role (403 E0000006). Permanent.
	ErrForbidden = errors.New("forbidden")
	// ErrRateLimited: Okta's rate limit (429 E0000047) still held after the
	// bounded retries, or its reset lies beyond the context's deadline or
	// Options.MaxWait. Retryable.
	ErrRateLimited = errors.New("rate limited")
	// ErrUnavailable: a 5xx answer, a timeout, a network failure or an
	// answer that could not be decoded, after the bounded retries.
	// Retryable.
	ErrUnavailable = errors.New("unavailable")
	// ErrRejected: any other 4xx answer (a malformed request). Permanent.
	ErrRejected = errors.New("request rejected")
	// ErrInvalidCredentials: the stored credentials are unusable (not the
	// documented JSON, no org URL, no or a broken private key, both or
	// neither of an API token and a client id). Permanent.
	ErrInvalidCredentials = errors.New("invalid API credentials")
	// ErrInvalid: invalid Options or arguments (an empty user id).
	// Permanent.
	ErrInvalid = errors.New("invalid argument")
)

// Operations named in an Error.
const (
	OpGetUser   = "GetUser"   // GET /api/v1/users/{id}
	OpListUsers = "ListUsers" // GET /api/v1/users?filter=…
	OpToken     = "Token"     // POST /oauth2/v1/token
)

// Error is a failed Okta call. Its text names the operation, Okta's error
// code (E00000xx, or the OAuth error such as invalid_client or
// insufficient_scope), the HTTP status and the kind, and never Okta's
// error summary, which can echo the user id or login asked for. For the
// token endpoint only, whose answers are about the service app and never
// about a user, Okta's error_description is kept in Detail, since it is
// what tells a wrong key from a skewed clock.
type Error struct {
	Op        string // OpGetUser or OpToken
	Status    int    // the answer's HTTP status; 0 when there was none
	Code      string // Okta's errorCode, the OAuth error, or the WWW-Authenticate error
	Detail    string // what idsync knows beyond the code, never a profile value
	RequestID string // X-Okta-Request-Id of the answer, for Okta support
	Kind      error  // one of the Err… kinds above
	Cause     error  // the underlying error (transport, context), or nil
}

// Error is "okta <Op>: <Code> (HTTP <status>): <kind>[: <detail>]".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("okta ")
	b.WriteString(e.Op)
	b.WriteString(": ")
	switch {
	case e.Code != "" && e.Status != 0:
		fmt.Fprintf(&b, "%s (HTTP %d): ", e.Code, e.Status)
	case e.Code != "":
		b.WriteString(e.Code + ": ")
	case e.Status != 0:
		fmt.Fprintf(&b, "HTTP %d: ", e.Status)
	}
	if e.Kind != nil {
		b.WriteString(e.Kind.Error())
	} else {
		b.WriteString("failed")
	}
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	if e.Cause != nil && e.Detail == "" {
		b.WriteString(": ")
		b.WriteString(describe(e.Cause))
	}
	return b.String()
}

// Unwrap returns the kind and the cause, so that errors.Is finds both
// (ErrUnavailable and context.DeadlineExceeded, say).
func (e *Error) Unwrap() []error {
	var out []error
	if e.Kind != nil {
		out = append(out, e.Kind)
	}
	if e.Cause != nil {
		out = append(out, e.Cause)
	}
	return out
}

// permanentKind reports whether a kind is permanent.
func permanentKind(kind error) bool {
	switch kind {
	case ErrNotFound, ErrUnauthorized, ErrForbidden, ErrRejected, ErrInvalidCredentials, ErrInvalid:
		return true
	}
	return false
}

// classified marks e Permanent or Retryable by its kind.
func classified(e *Error) error {
	if permanentKind(e.Kind) {
		return domain.Permanent(e)
	}
	return domain.Retryable(e)
}

// kindOf maps an answer's status and code to a kind.
func kindOf(status int, code string) error {
	switch {
	case code == codeNotFound || status == http.StatusNotFound:
		return ErrNotFound
	case status == http.StatusUnauthorized, code == oauthInvalidClient, code == oauthInvalidDPoP:
		return ErrUnauthorized
	case status == http.StatusForbidden, code == oauthInvalidScope:
		return ErrForbidden
	case status == http.StatusTooManyRequests:
		return ErrRateLimited
	case status == http.StatusRequestTimeout, status >= 500:
		return ErrUnavailable
	case status >= 400:
		return ErrRejected
	}
	return ErrUnavailable // a status the client does not expect
}

// Okta and OAuth error codes the client recognises.
const (
	codeNotFound       = "E0000007"
	oauthInvalidClient = "invalid_client"
	oauthInvalidScope  = "invalid_scope"
	oauthInvalidDPoP   = "invalid_dpop_proof"
	insufficientScope  = "insufficient_scope"
)

// describe says, in idsync's words, what went wrong with a call that got
// no answer. It never repeats the transport error's text, which names the
// URL (and so the user id).
func describe(err error) string {
	var netErr *net.OpError
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, context.Canceled):
		return "context canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "context deadline exceeded"
	case errors.As(err, &dnsErr):
		return "DNS lookup failed"
	case errors.As(err, &netErr):
		return "network error: " + netErr.Op
	}
	var te interface{ Timeout() bool }
	if errors.As(err, &te) && te.Timeout() {
		return "timeout"
	}
	return fmt.Sprintf("no answer (%T)", innermost(err))
}

// innermost is the last error of err's chain of single unwraps.
func innermost(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
}
