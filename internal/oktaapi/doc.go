// Package oktaapi is a small client of Okta's Users API: GetUser reads one
// user (GET /api/v1/users/{id}) with the profile attributes idsync uses
// and the user's status. The consumers use it to learn a person's first
// and last name seconds after an Okta event hook, before the IAM Identity
// Center snapshot brings them.
//
// # Credentials
//
// The credentials live in a Secrets Manager secret or an SSM SecureString
// parameter (FromSecretsManager, FromSSM) holding one JSON object, either
// an API token:
//
//	{"orgUrl": "https://example.okta.com", "ssws": "00a…"}
//
// or, preferred, an OAuth 2.0 API service app with a private key:
//
//	{"orgUrl": "https://example.okta.com",
//	 "clientId": "0oa…",
//	 "privateKeyJwk": {"kty": "RSA", "kid": "…", "n": "…", "e": "AQAB", "d": "…", …},
//	 "keyId": "…",
//	 "scopes": ["okta.users.read"]}
//
// with "privateKeyPem" (PKCS#8, PKCS#1 or SEC 1) instead of
// "privateKeyJwk" if preferred; see ParseCredentials. The service app is
// set up in Okta as an "API Services" app integration with client
// authentication "Public key / Private key" (the public key registered,
// with a kid), the okta.users.read scope granted, an admin role that may
// read users (Read-only Administrator suffices) and "Require Demonstrating
// Proof of Possession (DPoP)" unticked: idsync does not send DPoP proofs,
// and such an app's token requests fail with ErrUnauthorized
// (invalid_dpop_proof). The credentials are read on first use and again
// every Options.CredentialsTTL, so a rotated secret takes effect without
// a redeploy.
//
// # OAuth
//
// With a service app the client obtains access tokens from the org
// authorization server (POST <org>/oauth2/v1/token, grant client
// credentials, a private_key_jwt client assertion signed with go-jose:
// iss = sub = client id, aud = the token endpoint, iat, exp five minutes
// on, a random jti), caches each until two minutes before it expires,
// and on a 401 from the API gets a new one and tries once more.
//
// # Rate limits
//
// Every request waits for a client-side token bucket (Options.Rate,
// Options.Burst). Okta's answers carry X-Rate-Limit-Limit, -Remaining and
// -Reset: once Remaining reaches 0, no request for that operation is sent
// before the reset (reset minus the answer's Date, plus a second, as
// Okta's SDKs compute it); a 429 (E0000047) is retried after the reset, a
// 5xx or a network failure after a backoff, at most Options.MaxRetries
// times. A wait longer than Options.MaxWait, or one that would pass the
// context's deadline, is not begun: the call fails at once with
// ErrRateLimited (retryable), so an SQS consumer returns the message and
// tries again later. Retries carry X-Okta-Retry-For and
// X-Okta-Retry-Count, as Okta's SDKs send them.
//
// # Errors
//
// Every failure of a call is an *Error naming the operation, Okta's error
// code and the HTTP status, wrapping one kind (ErrNotFound,
// ErrUnauthorized, ErrForbidden, ErrRejected, ErrRateLimited,
// ErrUnavailable) and marked domain.Permanent or domain.Retryable by it.
// Error texts and log lines never carry profile values or Okta's error
// summaries (which can echo the id or login asked for); User and Profile
// print and log without their profile values.
package oktaapi
