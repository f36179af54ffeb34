package simokta

// OAuth 2.0 for Okta: API service apps get scoped access tokens from the org
// authorization server (POST /oauth2/v1/token, client credentials with a
// private_key_jwt client assertion) and call the management API with
// "Authorization: Bearer <token>".
//
// Sources, and where the stand-in chose:
//   - The flow, the request parameters and the answer {"token_type":"Bearer",
//     "expires_in":3600,"access_token":…,"scope":…} ("The lifetime for this
//     token is fixed at one hour"): Okta's guide "Implement OAuth for Okta
//     with a service app" (developer.okta.com/docs/guides/
//     implement-oauth-for-okta-serviceapp/main/). The assertion's claims:
//     iss and sub "must be the same as the client_id", aud "the full URL of
//     the resource", i.e. https://<org>/oauth2/v1/token, exp "must be a
//     maximum of only an hour in the future", jti optional, iat optional;
//     RS256/384/512 and ES256/384/512; "private_key_jwt … is the only
//     supported method for OAuth service apps that want to get access
//     tokens with Okta scopes"; every key of the app's JWKS needs a unique
//     kid.
//   - jti: "If jti is specified, the token can only be used once"
//     (developer.okta.com/docs/api/openapi/okta-oauth/guides/client-auth/,
//     quoted in okta/okta-aws-cli#259). Okta's Go SDK once sent no jti
//     (okta/okta-sdk-golang#458), so a missing jti is accepted, as Okta does.
//   - Error bodies {"error":…,"error_description":…}, RFC 6749 §5.2 (401 for
//     invalid_client, 400 otherwise). Messages seen from Okta in public code
//     and reports: "The client_assertion token is expired.", "The
//     client_assertion token has an expiration too far into the future.",
//     "The authorization server resource does not have any configured
//     default scopes, 'scope' must be provided." (invalid_scope),
//     "The DPoP proof JWT header is missing." (invalid_dpop_proof). The other
//     messages are the stand-in's own.
//   - Scopes: a token carries the requested scopes that the app was granted
//     and drops the others (okta/okta-sdk-golang#145: okta.apps.manage
//     granted, "okta.apps.manage okta.groups.read" requested, token issued;
//     okta/terraform-provider-okta#2375: the token's scp held only the
//     granted two of four); none granted is invalid_scope.
//   - A call without the operation's scope answers 403 with
//     WWW-Authenticate: Bearer authorization_uri=…, realm=…, scope="…",
//     error="insufficient_scope", error_description="The access token
//     provided does not contain the required scopes.", resource="<path>"
//     and no body (okta/okta-sdk-golang#145, "no body";
//     okta/terraform-provider-okta#2375, 403). The stand-in requires the
//     operation's own scope (okta.users.read for reading users): whether a
//     .manage scope also grants reading is not documented, so it does not.
//   - Admin roles: "Assign admin roles for every OAuth 2.0 service app that
//     you create … No role is automatically assigned, so you must assign a
//     role before you use the service app" (same guide). Without one, a
//     call answers 403 E0000006 "You do not have permission to perform the
//     requested action"; READ_ONLY_ADMIN may only read.
//   - DPoP: public setup guides for API service apps all say to untick
//     "Require Demonstrating Proof of Possession (DPoP) header in token
//     requests", and report invalid_dpop_proof "The DPoP proof JWT header is
//     missing." when it is ticked (newer orgs tick it for new apps). The
//     stand-in does not implement DPoP: an app registered with RequireDPoP
//     refuses every token request with invalid_dpop_proof, so a deployment
//     guide can be tested against it; idsync must tell operators to untick
//     it or implement DPoP.
//   - Application rate limits: "By default, each new application sets this
//     percentage at 50%" of each endpoint's limit (same guide); see
//     ratelimit.go.

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"mime"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Okta's OAuth constants.
const (
	// ClientAssertionType is the only client_assertion_type accepted.
	ClientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
	// AccessTokenLifetime is fixed by Okta for Okta-scoped tokens.
	AccessTokenLifetime = time.Hour
	// MaxAssertionLifetime bounds a client assertion's exp from now.
	MaxAssertionLifetime = time.Hour
	// DefaultAppRateLimitPercent is a new service app's share of each
	// endpoint's rate limit.
	DefaultAppRateLimitPercent = 50
)

// Admin roles (Okta's role types) the stand-in knows.
const (
	RoleSuperAdmin    = "SUPER_ADMIN"
	RoleOrgAdmin      = "ORG_ADMIN"
	RoleUserAdmin     = "USER_ADMIN"
	RoleReadOnlyAdmin = "READ_ONLY_ADMIN"
)

// ServiceApp is an OAuth 2.0 API service app of the org, as registered in
// Okta: its client id, its public keys, the Okta API scopes granted to it
// and the admin roles assigned to it.
type ServiceApp struct {
	// ClientID is the app's client id; empty means one is minted ("0oa…").
	ClientID string `json:"clientId,omitempty"`
	// JWKS is the app's public key set, {"keys":[…]}: RSA or EC public keys,
	// each with a unique kid (Okta refuses keys without one).
	JWKS json.RawMessage `json:"jwks"`
	// Scopes is the app's grants collection, e.g. ["okta.users.read"].
	Scopes []string `json:"scopes"`
	// AdminRoles are the admin roles assigned to the app, e.g.
	// ["READ_ONLY_ADMIN"]. With none, every API call answers 403 E0000006.
	AdminRoles []string `json:"adminRoles"`
	// RequireDPoP ticks "Require Demonstrating Proof of Possession (DPoP)
	// header in token requests"; the stand-in does not implement DPoP, so
	// every token request of such an app is refused (invalid_dpop_proof).
	RequireDPoP bool `json:"requireDPoP,omitempty"`
	// RateLimitPercent is the app's share of each endpoint's per-minute
	// rate limit; zero means DefaultAppRateLimitPercent.
	RateLimitPercent int `json:"rateLimitPercent,omitempty"`
}

type serviceApp struct {
	ServiceApp
	keys []jose.JSONWebKey
}

type accessToken struct {
	clientID string
	scopes   []string
	expires  time.Time
}

// oauthState is the org authorization server's state; guarded by its own
// lock so that token work does not hold the org's.
type oauthState struct {
	mu     sync.Mutex
	apps   map[string]*serviceApp
	jtis   map[string]time.Time // clientID + " " + jti → the assertion's exp
	tokens map[string]*accessToken
	key    *rsa.PrivateKey
	kid    string
}

// RegisterServiceApp registers (or replaces) an API service app and returns
// its client id.
//
// Errors (wrapping ErrInvalid): a JWKS that does not parse, is empty, holds
// a private or unusable key, or a key without a kid or with a duplicate
// kid; an empty scope.
func (s *Server) RegisterServiceApp(app ServiceApp) (string, error) {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(app.JWKS, &set); err != nil {
		return "", invalid("jwks: " + err.Error())
	}
	if len(set.Keys) == 0 {
		return "", invalid("jwks: no keys")
	}
	seen := map[string]bool{}
	for _, k := range set.Keys {
		switch {
		case k.KeyID == "":
			return "", invalid("jwks: every key needs a kid")
		case seen[k.KeyID]:
			return "", invalid("jwks: duplicate kid " + k.KeyID)
		case !k.IsPublic() || !k.Valid():
			return "", invalid("jwks: key " + k.KeyID + " is not a valid public key")
		}
		seen[k.KeyID] = true
	}
	for _, sc := range app.Scopes {
		if strings.TrimSpace(sc) == "" {
			return "", invalid("scopes: empty scope")
		}
	}
	if app.ClientID == "" {
		app.ClientID = "0oa" + s.randString(17)
	}
	app.Scopes = slices.Clone(app.Scopes)
	app.AdminRoles = slices.Clone(app.AdminRoles)
	s.oauth.mu.Lock()
	defer s.oauth.mu.Unlock()
	s.oauth.apps[app.ClientID] = &serviceApp{ServiceApp: app, keys: set.Keys}
	return app.ClientID, nil
}

// ServiceApps returns the registered service apps (by client id).
func (s *Server) ServiceApps() []ServiceApp {
	s.oauth.mu.Lock()
	defer s.oauth.mu.Unlock()
	out := make([]ServiceApp, 0, len(s.oauth.apps))
	for _, id := range slices.Sorted(maps.Keys(s.oauth.apps)) {
		out = append(out, s.oauth.apps[id].ServiceApp)
	}
	return out
}

// oauthError is an RFC 6749 error answer of the token endpoint.
type oauthError struct {
	status int
	code   string
	desc   string
}

func (e *oauthError) Error() string { return e.code + ": " + e.desc }

func badClient(format string, args ...any) *oauthError {
	return &oauthError{status: http.StatusUnauthorized, code: "invalid_client", desc: fmt.Sprintf(format, args...)}
}

func badRequest(code, desc string) *oauthError {
	return &oauthError{status: http.StatusBadRequest, code: code, desc: desc}
}

func (s *Server) writeOAuthError(w http.ResponseWriter, e *oauthError) {
	w.Header().Set("Cache-Control", "no-cache, no-store")
	w.Header().Set("Pragma", "no-cache")
	s.writeJSON(w, e.status, map[string]string{"error": e.code, "error_description": e.desc})
}

// handleToken serves POST /oauth2/v1/token for the client credentials
// grant with a private_key_jwt client assertion.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	if !s.admit(w, r, "Token") {
		return
	}
	resp, oerr := s.token(r)
	if oerr != nil {
		s.writeOAuthError(w, oerr)
		return
	}
	w.Header().Set("Cache-Control", "no-cache, no-store")
	w.Header().Set("Pragma", "no-cache")
	s.writeJSON(w, http.StatusOK, resp)
}

type tokenResponse struct {
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
	AccessToken string `json:"access_token"`
	Scope       string `json:"scope"`
}

// assertionAlgs are the client assertion algorithms Okta accepts.
func assertionAlgs() []jose.SignatureAlgorithm {
	return []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.ES256, jose.ES384, jose.ES512}
}

func (s *Server) token(r *http.Request) (*tokenResponse, *oauthError) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		return nil, badRequest("invalid_request", "The request must be sent as application/x-www-form-urlencoded.")
	}
	r.Body = http.MaxBytesReader(nil, r.Body, 1<<16)
	if err := r.ParseForm(); err != nil {
		return nil, badRequest("invalid_request", "The request body could not be parsed.")
	}
	f := r.PostForm
	switch gt := f.Get("grant_type"); gt {
	case "":
		return nil, badRequest("invalid_request", "The request is missing a required parameter: grant_type.")
	case "client_credentials":
	default:
		return nil, badRequest("unsupported_grant_type",
			fmt.Sprintf("The authorization grant type %q is not supported by the authorization server. Configured grant types: [client_credentials].", gt))
	}
	if f.Get("client_secret") != "" || r.Header.Get("Authorization") != "" {
		return nil, badClient("Client authentication failed: okta.* scopes require private_key_jwt client authentication.")
	}
	assertion := f.Get("client_assertion")
	if f.Get("client_assertion_type") != ClientAssertionType || assertion == "" {
		return nil, badClient("Client authentication failed. Either the client or the client credentials are invalid.")
	}
	tok, err := jwt.ParseSigned(assertion, assertionAlgs())
	if err != nil {
		return nil, badClient("The client_assertion is not a valid JWT signed with a supported algorithm.")
	}
	var unverified jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil {
		return nil, badClient("The client_assertion could not be parsed.")
	}
	clientID := unverified.Issuer
	if id := f.Get("client_id"); id != "" && id != clientID {
		return nil, badClient("The client_id parameter does not match the client_assertion's iss.")
	}
	s.oauth.mu.Lock()
	app := s.oauth.apps[clientID]
	s.oauth.mu.Unlock()
	if app == nil {
		return nil, badClient("Invalid value for 'client_id' parameter.")
	}
	if app.RequireDPoP {
		if r.Header.Get("DPoP") == "" {
			return nil, badRequest("invalid_dpop_proof", "The DPoP proof JWT header is missing.")
		}
		return nil, badRequest("invalid_dpop_proof", "DPoP proofs are not implemented by the Okta stand-in; untick RequireDPoP.")
	}
	claims, oerr := verifyAssertion(tok, app)
	if oerr != nil {
		return nil, oerr
	}
	now := s.now()
	if oerr := s.checkAssertionClaims(r, clientID, claims, now); oerr != nil {
		return nil, oerr
	}
	requested := strings.Fields(f.Get("scope"))
	if len(requested) == 0 {
		return nil, badRequest("invalid_scope", "The authorization server resource does not have any configured default scopes, 'scope' must be provided.")
	}
	var granted []string
	for _, sc := range requested {
		if slices.Contains(app.Scopes, sc) && !slices.Contains(granted, sc) {
			granted = append(granted, sc)
		}
	}
	if len(granted) == 0 {
		return nil, badRequest("invalid_scope", "The requested scope is invalid, unknown, or malformed.")
	}
	raw, err := s.mintAccessToken(r, clientID, granted, now)
	if err != nil {
		return nil, &oauthError{status: http.StatusInternalServerError, code: "server_error", desc: err.Error()}
	}
	return &tokenResponse{TokenType: "Bearer", ExpiresIn: int(AccessTokenLifetime / time.Second), AccessToken: raw,
		Scope: strings.Join(granted, " ")}, nil
}

// verifyAssertion checks the assertion's signature with the app's key named
// by its kid (or any of its keys when it names none) and returns the
// verified claims.
func verifyAssertion(tok *jwt.JSONWebToken, app *serviceApp) (jwt.Claims, *oauthError) {
	h := tok.Headers[0]
	for _, k := range app.keys {
		if h.KeyID != "" && k.KeyID != h.KeyID {
			continue
		}
		if k.Algorithm != "" && k.Algorithm != h.Algorithm {
			continue
		}
		var c jwt.Claims
		if err := tok.Claims(k.Key, &c); err == nil {
			return c, nil
		}
	}
	return jwt.Claims{}, badClient("The client_assertion signature is invalid.")
}

// checkAssertionClaims applies Okta's claim rules and records the jti.
func (s *Server) checkAssertionClaims(r *http.Request, clientID string, c jwt.Claims, now time.Time) *oauthError {
	aud := s.baseURL(r) + "/oauth2/v1/token"
	switch {
	case c.Issuer != clientID || c.Subject != clientID:
		return badClient("The client_assertion token must have iss and sub claims equal to the client_id.")
	case !c.Audience.Contains(aud) || len(c.Audience) != 1:
		return badClient("The audience claim for client_assertion must be the endpoint invoked for the request.")
	case c.Expiry == nil:
		return badClient("The client_assertion token must contain an exp claim.")
	case !now.Before(c.Expiry.Time()):
		return badClient("The client_assertion token is expired.")
	case c.Expiry.Time().After(now.Add(MaxAssertionLifetime)):
		return badClient("The client_assertion token has an expiration too far into the future.")
	case c.NotBefore != nil && now.Before(c.NotBefore.Time()):
		return badClient("The client_assertion token is not yet valid.")
	case c.IssuedAt != nil && c.IssuedAt.Time().After(c.Expiry.Time()):
		return badClient("The client_assertion token was issued after it expires.")
	}
	if c.ID == "" {
		return nil
	}
	s.oauth.mu.Lock()
	defer s.oauth.mu.Unlock()
	for k, exp := range s.oauth.jtis {
		if now.After(exp) {
			delete(s.oauth.jtis, k)
		}
	}
	key := clientID + " " + c.ID
	if _, used := s.oauth.jtis[key]; used {
		return badClient("The client_assertion token has already been used.")
	}
	s.oauth.jtis[key] = c.Expiry.Time()
	return nil
}

// mintAccessToken signs an access token (a JWT, as Okta's org authorization
// server issues them) and remembers it.
func (s *Server) mintAccessToken(r *http.Request, clientID string, scopes []string, now time.Time) (string, error) {
	s.oauth.mu.Lock()
	defer s.oauth.mu.Unlock()
	if s.oauth.key == nil {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return "", fmt.Errorf("generate the org's signing key: %w", err)
		}
		s.oauth.key, s.oauth.kid = key, opaque(43)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256,
		Key: jose.JSONWebKey{Key: s.oauth.key, KeyID: s.oauth.kid, Algorithm: string(jose.RS256), Use: "sig"}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", err
	}
	org := s.baseURL(r)
	claims := struct {
		jwt.Claims
		Ver int      `json:"ver"`
		Cid string   `json:"cid"`
		Scp []string `json:"scp"`
	}{Claims: jwt.Claims{ID: "AT." + opaque(43), Issuer: org, Audience: jwt.Audience{org}, Subject: clientID,
		IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(AccessTokenLifetime))},
		Ver: 1, Cid: clientID, Scp: scopes}
	raw, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		return "", err
	}
	for k, t := range s.oauth.tokens {
		if !now.Before(t.expires) {
			delete(s.oauth.tokens, k)
		}
	}
	s.oauth.tokens[raw] = &accessToken{clientID: clientID, scopes: scopes, expires: now.Add(AccessTokenLifetime)}
	return raw, nil
}

// principal is who an API request acts for: the API token's admin, or a
// service app with its token's scopes.
type principal struct {
	app    *serviceApp // nil for the SSWS admin
	scopes []string
}

// errUnauthenticated says a request carries no valid credentials.
var errUnauthenticated = errors.New("okta: unauthenticated")

// authenticate reads "SSWS <API token>" or "Bearer <access token>".
func (s *Server) authenticate(r *http.Request) (principal, error) {
	h := r.Header.Get("Authorization")
	if tok, ok := strings.CutPrefix(h, "SSWS "); ok {
		if subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), []byte(s.o.APIToken)) == 1 {
			return principal{}, nil
		}
		return principal{}, errUnauthenticated
	}
	raw, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		return principal{}, errUnauthenticated
	}
	s.oauth.mu.Lock()
	defer s.oauth.mu.Unlock()
	t := s.oauth.tokens[strings.TrimSpace(raw)]
	if t == nil || !s.now().Before(t.expires) {
		return principal{}, errUnauthenticated
	}
	app := s.oauth.apps[t.clientID]
	if app == nil {
		return principal{}, errUnauthenticated
	}
	return principal{app: app, scopes: t.scopes}, nil
}

// scopeFor is the Okta API scope an operation requires of an access token
// (Okta's management API reference, per operation).
func scopeFor(op string) string {
	switch op {
	case "ListUsers", "GetUser", "ListUserGroups":
		return "okta.users.read"
	case "CreateUser", "UpdateUser", "ReplaceUser", "DeleteUser", "UserLifecycle":
		return "okta.users.manage"
	case "ListGroups", "GetGroup", "ListGroupUsers":
		return "okta.groups.read"
	case "CreateGroup", "DeleteGroup", "AssignUserToGroup", "UnassignUserFromGroup":
		return "okta.groups.manage"
	case "ListEventHooks", "GetEventHook":
		return "okta.eventHooks.read"
	case "CreateEventHook", "DeleteEventHook", "EventHookLifecycle":
		return "okta.eventHooks.manage"
	case "ListLogEvents":
		return "okta.logs.read"
	}
	return ""
}

// authorize answers 401 for missing or bad credentials, 403 without a body
// for a token lacking the operation's scope, and 403 E0000006 for an app
// whose admin roles do not allow the operation. It returns false when it
// answered.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, op string, p principal, err error) bool {
	realm := s.baseURL(r)
	if err != nil {
		if strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(
				`Bearer authorization_uri="%s/oauth2/v1/authorize", realm="%s", error="invalid_token", error_description="The access token is invalid."`,
				realm, realm))
		}
		s.writeError(w, &APIError{Status: http.StatusUnauthorized, Code: codeInvalidToken, Summary: "Invalid token provided"})
		return false
	}
	if p.app == nil {
		return true
	}
	need := scopeFor(op)
	if need == "" || !slices.Contains(p.scopes, need) {
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(
			`Bearer authorization_uri="%s/oauth2/v1/authorize", realm="%s", scope="%s", error="insufficient_scope", error_description="The access token provided does not contain the required scopes.", resource="%s"`,
			realm, realm, need, r.URL.Path))
		w.Header().Set("X-Okta-Request-Id", opaque(20))
		w.WriteHeader(http.StatusForbidden)
		return false
	}
	if !rolesAllow(p.app.AdminRoles, strings.HasSuffix(need, ".read")) {
		s.writeError(w, &APIError{Status: http.StatusForbidden, Code: codeNoPermission,
			Summary: "You do not have permission to perform the requested action"})
		return false
	}
	return true
}

// rolesAllow says whether admin roles allow a read (or a write).
func rolesAllow(roles []string, read bool) bool {
	for _, r := range roles {
		if read || r != RoleReadOnlyAdmin {
			return true
		}
	}
	return false
}

// serveServiceApps serves GET /_sim/service-apps and POST
// /_sim/service-apps (a ServiceApp document → {"clientId":"0oa…"}).
func (s *Server) serveServiceApps(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet {
		s.writeJSON(w, http.StatusOK, s.ServiceApps())
		return
	}
	var app ServiceApp
	if err := decodeBody(r, &app); err != nil {
		s.writeError(w, err)
		return
	}
	id, err := s.RegisterServiceApp(app)
	if err != nil {
		s.writeError(w, asAPIError(err))
		return
	}
	s.writeJSON(w, http.StatusOK, map[string]string{"clientId": id})
}
