package oktaapi

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	jose "github.com/go-jose/go-jose/v4"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/awsclient"
)

// ScopeUsersRead is the Okta API scope GetUser needs.
const ScopeUsersRead = "okta.users.read"

// Authentication methods (Credentials.Method).
const (
	MethodSSWS          = "ssws"            // an Okta API token: "Authorization: SSWS <token>"
	MethodPrivateKeyJWT = "private_key_jwt" // an OAuth 2.0 API service app
)

// minRSABits is the smallest RSA key accepted for a client assertion.
const minRSABits = 2048

// Credentials are parsed Okta API credentials: an org URL and either an
// API token (SSWS) or an OAuth 2.0 API service app (client id, private
// key, key id, scopes). The token and the private key are unexported and
// never printed: String and LogValue show only the org, the method, the
// client id and the key id.
type Credentials struct {
	// OrgURL is the org's base URL (https://<org>.okta.com), without a
	// trailing slash; empty when the secret leaves it to Options.OrgURL.
	OrgURL string
	// ClientID is the service app's client id; empty with an API token.
	ClientID string
	// KeyID is the kid of the service app's key; may be empty.
	KeyID string
	// Scopes are the scopes requested with each access token.
	Scopes []string

	ssws string
	key  crypto.Signer
	alg  jose.SignatureAlgorithm
}

// Method is MethodSSWS or MethodPrivateKeyJWT.
func (c Credentials) Method() string {
	if c.ssws != "" {
		return MethodSSWS
	}
	return MethodPrivateKeyJWT
}

// String describes c without its secrets.
func (c Credentials) String() string {
	s := "okta credentials (" + c.Method() + ", " + c.OrgURL
	if c.ClientID != "" {
		s += ", client " + c.ClientID
	}
	if c.KeyID != "" {
		s += ", kid " + c.KeyID
	}
	return s + ")"
}

// GoString is String, so that %#v does not print the secrets either.
func (c Credentials) GoString() string { return c.String() }

// LogValue logs c without its secrets.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(slog.String("orgUrl", c.OrgURL), slog.String("method", c.Method()),
		slog.String("clientId", c.ClientID), slog.String("keyId", c.KeyID))
}

// same reports whether c and o authenticate the same way (so that a token
// fetched with one is good for the other).
func (c Credentials) same(o Credentials) bool {
	if c.OrgURL != o.OrgURL || c.ClientID != o.ClientID || c.KeyID != o.KeyID || c.ssws != o.ssws ||
		c.alg != o.alg || !slices.Equal(c.Scopes, o.Scopes) {
		return false
	}
	if c.key == nil || o.key == nil {
		return c.key == nil && o.key == nil
	}
	type equaler interface{ Equal(crypto.PublicKey) bool }
	pub, ok := c.key.Public().(equaler)
	return ok && pub.Equal(o.key.Public())
}

// secretDoc is the stored form of the credentials.
type secretDoc struct {
	OrgURL        string          `json:"orgUrl"`
	SSWS          string          `json:"ssws"`
	ClientID      string          `json:"clientId"`
	PrivateKeyJWK json.RawMessage `json:"privateKeyJwk"`
	PrivateKeyPEM string          `json:"privateKeyPem"`
	KeyID         string          `json:"keyId"`
	Scopes        []string        `json:"scopes"`
}

// ParseCredentials reads stored credentials, one JSON object of either
// form:
//
//	{"orgUrl": "https://example.okta.com", "ssws": "<API token>"}
//
//	{"orgUrl": "https://example.okta.com", "clientId": "0oa…",
//	 "privateKeyJwk": {"kty": "RSA", "kid": "…", "n": …, "d": …, …},
//	 "keyId": "…", "scopes": ["okta.users.read"]}
//
// With a service app, the private key is either "privateKeyJwk" (the JWK
// Okta's admin console shows when it generates a key, as an object or as
// a string holding it) or "privateKeyPem" (PKCS#8 "PRIVATE KEY", PKCS#1
// "RSA PRIVATE KEY" or SEC 1 "EC PRIVATE KEY", unencrypted). RSA keys
// (at least 2048 bits) sign with RS256, EC keys with ES256/384/512 by
// curve, unless the JWK names its "alg". "keyId" is the key's kid in the
// app's JWKS; it defaults to the JWK's kid and must agree with it.
// "scopes" defaults to ["okta.users.read"] and must contain it. "orgUrl"
// may be omitted when the client is configured with Options.OrgURL; it
// must be https (http only for a loopback host, as the local stand-in
// is) with no path, query or user info. Unknown fields are refused.
//
// Errors: ErrInvalidCredentials (Permanent), naming the field at fault and
// never a value.
func ParseCredentials(raw []byte) (Credentials, error) {
	bad := func(format string, args ...any) (Credentials, error) {
		return Credentials{}, domain.Permanent(fmt.Errorf("okta: %w: %s", ErrInvalidCredentials, fmt.Sprintf(format, args...)))
	}
	dec := json.NewDecoder(bytes.NewReader(bytes.TrimSpace(raw)))
	dec.DisallowUnknownFields()
	var d secretDoc
	if err := dec.Decode(&d); err != nil {
		return bad("%s", jsonProblem(err))
	}
	if dec.More() {
		return bad("more than one JSON value")
	}
	var c Credentials
	if d.OrgURL != "" {
		org, err := NormaliseOrgURL(d.OrgURL)
		if err != nil {
			return bad("orgUrl: %v", err)
		}
		c.OrgURL = org
	}
	d.SSWS = strings.TrimSpace(d.SSWS)
	d.ClientID = strings.TrimSpace(d.ClientID)
	switch {
	case d.SSWS != "" && d.ClientID != "":
		return bad("both ssws and clientId are set; set one")
	case d.SSWS != "":
		if len(d.PrivateKeyJWK) > 0 || d.PrivateKeyPEM != "" || d.KeyID != "" || len(d.Scopes) > 0 {
			return bad("ssws is set with service-app fields (privateKeyJwk, privateKeyPem, keyId, scopes)")
		}
		if strings.ContainsFunc(d.SSWS, isSpaceOrControl) {
			return bad("ssws contains white space or control characters")
		}
		c.ssws = d.SSWS
		return c, nil
	case d.ClientID == "":
		return bad("neither ssws nor clientId is set")
	}
	c.ClientID = d.ClientID
	hasJWK := len(d.PrivateKeyJWK) > 0 && string(d.PrivateKeyJWK) != "null"
	switch {
	case hasJWK && d.PrivateKeyPEM != "":
		return bad("both privateKeyJwk and privateKeyPem are set; set one")
	case hasJWK:
		key, kid, alg, err := parseJWK(d.PrivateKeyJWK)
		if err != nil {
			return bad("privateKeyJwk: %v", err)
		}
		if d.KeyID != "" && kid != "" && d.KeyID != kid {
			return bad("keyId differs from privateKeyJwk's kid")
		}
		c.key, c.alg, c.KeyID = key, alg, cmpOr(d.KeyID, kid)
	case d.PrivateKeyPEM != "":
		key, err := parsePEM(d.PrivateKeyPEM)
		if err != nil {
			return bad("privateKeyPem: %v", err)
		}
		alg, err := algFor(key, "")
		if err != nil {
			return bad("privateKeyPem: %v", err)
		}
		c.key, c.alg, c.KeyID = key, alg, d.KeyID
	default:
		return bad("clientId is set without privateKeyJwk or privateKeyPem")
	}
	c.Scopes = []string{ScopeUsersRead}
	if len(d.Scopes) > 0 {
		c.Scopes = nil
		for _, s := range d.Scopes {
			if s = strings.TrimSpace(s); s != "" && !slices.Contains(c.Scopes, s) {
				c.Scopes = append(c.Scopes, s)
			}
		}
		if !slices.Contains(c.Scopes, ScopeUsersRead) {
			return bad("scopes does not contain %s", ScopeUsersRead)
		}
	}
	return c, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func isSpaceOrControl(r rune) bool { return r <= ' ' || r == 0x7f }

// jsonProblem describes a decoding error without quoting the input.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("not JSON (syntax error at offset %d)", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %q has the wrong type (want %s)", typ.Field, typ.Type)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	case errors.Is(err, io.EOF):
		return "empty"
	}
	return "not a JSON object"
}

// NormaliseOrgURL checks an Okta org URL and returns it without a trailing
// slash: https with a host and no user info, path (other than "/"), query
// or fragment; http only for a loopback host (localhost, 127.0.0.0/8,
// ::1), as the local stand-in is served.
//
// Errors: a description of what is wrong (never the URL itself).
func NormaliseOrgURL(s string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		return "", errors.New("not a URL")
	}
	switch {
	case u.Host == "":
		return "", errors.New("no host")
	case u.User != nil:
		return "", errors.New("user info is not allowed")
	case u.RawQuery != "" || u.Fragment != "":
		return "", errors.New("query and fragment are not allowed")
	case u.Path != "" && u.Path != "/":
		return "", errors.New("a path is not allowed (the org's base URL only)")
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(u.Hostname()):
	default:
		return "", errors.New("scheme must be https")
	}
	return u.Scheme + "://" + u.Host, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// parseJWK reads a private JWK (an object, or a string holding one).
func parseJWK(raw json.RawMessage) (crypto.Signer, string, jose.SignatureAlgorithm, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var inner string
		if err := json.Unmarshal(raw, &inner); err != nil {
			return nil, "", "", errors.New("not a JWK")
		}
		raw = json.RawMessage(inner)
	}
	var k jose.JSONWebKey
	if err := k.UnmarshalJSON(raw); err != nil {
		return nil, "", "", errors.New("not a valid JWK")
	}
	if k.IsPublic() {
		return nil, "", "", errors.New("a public key; the private key is needed")
	}
	if !k.Valid() {
		return nil, "", "", errors.New("not a valid key")
	}
	signer, ok := k.Key.(crypto.Signer)
	if !ok {
		return nil, "", "", fmt.Errorf("key type %T cannot sign", k.Key)
	}
	if err := checkKey(signer); err != nil {
		return nil, "", "", err
	}
	alg, err := algFor(signer, k.Algorithm)
	if err != nil {
		return nil, "", "", err
	}
	return signer, k.KeyID, alg, nil
}

// parsePEM reads one unencrypted private key block.
func parsePEM(s string) (crypto.Signer, error) {
	block, _ := pem.Decode([]byte(strings.TrimSpace(s)))
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	if _, encrypted := block.Headers["Proc-Type"]; encrypted || block.Type == "ENCRYPTED PRIVATE KEY" {
		return nil, errors.New("encrypted keys are not supported")
	}
	var key any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("PEM block type %q is not a private key", block.Type)
	}
	if err != nil {
		return nil, errors.New("the key does not parse")
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("key type %T cannot sign", key)
	}
	return signer, checkKey(signer)
}

// checkKey accepts RSA keys of at least minRSABits and EC keys.
func checkKey(k crypto.Signer) error {
	switch k := k.(type) {
	case *rsa.PrivateKey:
		if k.N.BitLen() < minRSABits {
			return fmt.Errorf("RSA key of %d bits; at least %d needed", k.N.BitLen(), minRSABits)
		}
		return nil
	case *ecdsa.PrivateKey:
		return nil
	}
	return fmt.Errorf("key type %T is not RSA or EC", k)
}

// algFor is the signing algorithm for a key: want when given (and fitting
// the key), else RS256 for RSA and ES256/384/512 by curve.
func algFor(k crypto.Signer, want string) (jose.SignatureAlgorithm, error) {
	var def jose.SignatureAlgorithm
	var allowed []jose.SignatureAlgorithm
	switch k := k.(type) {
	case *rsa.PrivateKey:
		def, allowed = jose.RS256, []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512}
	case *ecdsa.PrivateKey:
		switch k.Curve {
		case elliptic.P256():
			def = jose.ES256
		case elliptic.P384():
			def = jose.ES384
		case elliptic.P521():
			def = jose.ES512
		default:
			return "", errors.New("EC curve is not P-256, P-384 or P-521")
		}
		allowed = []jose.SignatureAlgorithm{def}
	default:
		return "", fmt.Errorf("key type %T is not RSA or EC", k)
	}
	if want == "" {
		return def, nil
	}
	if !slices.Contains(allowed, jose.SignatureAlgorithm(want)) {
		return "", fmt.Errorf("alg %q does not fit the key (want one of %v)", want, allowed)
	}
	return jose.SignatureAlgorithm(want), nil
}

// SecretsManagerAPI is the part of the Secrets Manager client
// FromSecretsManager uses; *secretsmanager.Client satisfies it.
type SecretsManagerAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// SSMAPI is the part of the SSM client FromSSM uses; *ssm.Client
// satisfies it.
type SSMAPI interface {
	GetParameter(ctx context.Context, in *ssm.GetParameterInput, opts ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}

// FromSecretsManager returns a credentials source reading the Secrets
// Manager secret secretID (its SecretString, else SecretBinary) as
// ParseCredentials does.
//
// Errors of the source: the SDK's error wrapped and marked by
// awsclient.IsPermanent (a missing secret or denied access is permanent,
// throttling retryable); ErrInvalidCredentials from ParseCredentials.
func FromSecretsManager(client SecretsManagerAPI, secretID string) func(context.Context) (Credentials, error) {
	return func(ctx context.Context) (Credentials, error) {
		out, err := client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(secretID)})
		if err != nil {
			return Credentials{}, classifyAWS(fmt.Errorf("okta: get API credentials secret %s: %w", secretID, err))
		}
		raw := []byte(aws.ToString(out.SecretString))
		if out.SecretString == nil {
			raw = out.SecretBinary
		}
		return ParseCredentials(raw)
	}
}

// FromSSM returns a credentials source reading the SSM parameter name
// (a SecureString, decrypted) as ParseCredentials does.
//
// Errors of the source: as FromSecretsManager's.
func FromSSM(client SSMAPI, name string) func(context.Context) (Credentials, error) {
	return func(ctx context.Context) (Credentials, error) {
		out, err := client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(true)})
		if err != nil {
			return Credentials{}, classifyAWS(fmt.Errorf("okta: get API credentials parameter %s: %w", name, err))
		}
		if out.Parameter == nil {
			return Credentials{}, domain.Permanent(fmt.Errorf("okta: %w: parameter %s has no value", ErrInvalidCredentials, name))
		}
		return ParseCredentials([]byte(aws.ToString(out.Parameter.Value)))
	}
}

// Static returns a source that always returns c (tests, the local runner).
func Static(c Credentials) func(context.Context) (Credentials, error) {
	return func(context.Context) (Credentials, error) { return c, nil }
}

func classifyAWS(err error) error {
	if awsclient.IsPermanent(err) {
		return domain.Permanent(err)
	}
	return domain.Retryable(err)
}
