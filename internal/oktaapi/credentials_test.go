package oktaapi_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"
	jose "github.com/go-jose/go-jose/v4"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/oktaapi"
	"github.com/idsync/idsync/internal/sim/simokta"
)

func pemOf(t *testing.T, typ string, der []byte) string {
	t.Helper()
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

func TestParseCredentials(t *testing.T) {
	rsaKey := newRSA(t)
	ecKey := newEC(t)
	pkcs8, err := x509.MarshalPKCS8PrivateKey(rsaKey)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalECPrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	jwk, err := jose.JSONWebKey{Key: rsaKey, KeyID: "kid-9", Algorithm: "RS384"}.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	pubJWK, err := jose.JSONWebKey{Key: rsaKey.Public(), KeyID: "kid-9"}.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	org := "https://example.okta.com"
	for _, tc := range []struct {
		name   string
		doc    secret
		method string
		kid    string
		bad    string // part of the error, "" when valid
	}{
		{"ssws", secret{"orgUrl": org + "/", "ssws": "00abc"}, oktaapi.MethodSSWS, "", ""},
		{"pkcs8 pem", secret{"orgUrl": org, "clientId": "0oa1", "keyId": "k1", "privateKeyPem": pemOf(t, "PRIVATE KEY", pkcs8)}, oktaapi.MethodPrivateKeyJWT, "k1", ""},
		{"pkcs1 pem", secret{"orgUrl": org, "clientId": "0oa1", "privateKeyPem": pemOf(t, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey))}, oktaapi.MethodPrivateKeyJWT, "", ""},
		{"ec pem", secret{"orgUrl": org, "clientId": "0oa1", "privateKeyPem": pemOf(t, "EC PRIVATE KEY", ecDER)}, oktaapi.MethodPrivateKeyJWT, "", ""},
		{"jwk object", secret{"orgUrl": org, "clientId": "0oa1", "privateKeyJwk": json.RawMessage(jwk)}, oktaapi.MethodPrivateKeyJWT, "kid-9", ""},
		{"jwk string", secret{"orgUrl": org, "clientId": "0oa1", "privateKeyJwk": string(jwk), "keyId": "kid-9"}, oktaapi.MethodPrivateKeyJWT, "kid-9", ""},
		{"no org (Options.OrgURL)", secret{"ssws": "00abc"}, oktaapi.MethodSSWS, "", ""},
		{"loopback http", secret{"orgUrl": "http://127.0.0.1:8080", "ssws": "00abc"}, oktaapi.MethodSSWS, "", ""},

		{"not json", nil, "", "", "not JSON"},
		{"unknown field", secret{"orgUrl": org, "ssws": "00abc", "token": "x"}, "", "", `unknown field "token"`},
		{"wrong type", secret{"orgUrl": org, "ssws": 7}, "", "", `field "ssws"`},
		{"neither", secret{"orgUrl": org}, "", "", "neither ssws nor clientId"},
		{"both", secret{"orgUrl": org, "ssws": "00abc", "clientId": "0oa1"}, "", "", "both ssws and clientId"},
		{"ssws with key", secret{"orgUrl": org, "ssws": "00abc", "keyId": "k"}, "", "", "service-app fields"},
		{"ssws with space", secret{"orgUrl": org, "ssws": "SSWS 00abc-secret-value"}, "", "", "white space"},
		{"remote http", secret{"orgUrl": "http://example.okta.com", "ssws": "00abc"}, "", "", "https"},
		{"org with path", secret{"orgUrl": org + "/oauth2/default", "ssws": "00abc"}, "", "", "path"},
		{"no key", secret{"orgUrl": org, "clientId": "0oa1"}, "", "", "without privateKeyJwk or privateKeyPem"},
		{"two keys", secret{"orgUrl": org, "clientId": "0oa1", "privateKeyJwk": json.RawMessage(jwk), "privateKeyPem": pemOf(t, "PRIVATE KEY", pkcs8)}, "", "", "both privateKeyJwk and privateKeyPem"},
		{"public jwk", secret{"orgUrl": org, "clientId": "0oa1", "privateKeyJwk": json.RawMessage(pubJWK)}, "", "", "public key"},
		{"kid mismatch", secret{"orgUrl": org, "clientId": "0oa1", "privateKeyJwk": json.RawMessage(jwk), "keyId": "other"}, "", "", "keyId differs"},
		{"small rsa", secret{"orgUrl": org, "clientId": "0oa1", "privateKeyPem": pemOf(t, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(small))}, "", "", "1024 bits"},
		{"certificate", secret{"orgUrl": org, "clientId": "0oa1", "privateKeyPem": pemOf(t, "CERTIFICATE", []byte{1, 2})}, "", "", "not a private key"},
		{"garbage pem", secret{"orgUrl": org, "clientId": "0oa1", "privateKeyPem": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"}, "", "", "does not parse"},
		{"scopes without users.read", secret{"orgUrl": org, "clientId": "0oa1", "privateKeyJwk": json.RawMessage(jwk), "scopes": []string{"okta.groups.read"}}, "", "", "okta.users.read"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := []byte("orgUrl=x ssws=00abc-secret-value")
			if tc.doc != nil {
				raw = tc.doc.JSON(t)
			}
			c, err := oktaapi.ParseCredentials(raw)
			if tc.bad != "" {
				if !errors.Is(err, oktaapi.ErrInvalidCredentials) || domain.KindOf(err) != domain.ErrorPermanent {
					t.Fatalf("err = %v, want a permanent ErrInvalidCredentials", err)
				}
				if !strings.Contains(err.Error(), tc.bad) {
					t.Errorf("err = %q, want it to mention %q", err, tc.bad)
				}
				if strings.Contains(err.Error(), "secret-value") || strings.Contains(err.Error(), "PRIVATE") {
					t.Errorf("err = %q repeats the secret", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Method() != tc.method || c.KeyID != tc.kid {
				t.Errorf("method %s kid %q, want %s %q", c.Method(), c.KeyID, tc.method, tc.kid)
			}
			if tc.method == oktaapi.MethodPrivateKeyJWT && (c.ClientID != "0oa1" || strings.Join(c.Scopes, " ") != oktaapi.ScopeUsersRead) {
				t.Errorf("client %q scopes %v", c.ClientID, c.Scopes)
			}
			for _, s := range []string{c.String(), fmt.Sprintf("%v %+v %#v", c, c, c)} {
				if strings.Contains(s, "00abc") || strings.Contains(s, "PRIVATE") || strings.Contains(s, `"d"`) {
					t.Errorf("%q shows the secret", s)
				}
			}
		})
	}
}

func TestOrgURLFromOptions(t *testing.T) {
	o := newOrg(t, simokta.Options{})
	id := o.User(person())
	s := o.sswsSecret()
	delete(s, "orgUrl")
	c := o.Client(s, func(op *oktaapi.Options) { op.OrgURL = o.ts.URL + "/" })
	if _, err := c.GetUser(context.Background(), id); err != nil {
		t.Fatal(err)
	}

	c = o.Client(o.sswsSecret(), func(op *oktaapi.Options) { op.OrgURL = "https://other.okta.com" })
	_, err := c.GetUser(context.Background(), id)
	if !errors.Is(err, oktaapi.ErrInvalidCredentials) || domain.KindOf(err) != domain.ErrorPermanent {
		t.Errorf("err = %v, want a permanent ErrInvalidCredentials (secret of another org)", err)
	}

	c = o.Client(s, nil)
	if _, err := c.GetUser(context.Background(), id); !errors.Is(err, oktaapi.ErrInvalidCredentials) {
		t.Errorf("err = %v, want ErrInvalidCredentials (no org at all)", err)
	}
}

func TestNewRefusesInvalidOptions(t *testing.T) {
	if _, err := oktaapi.New(oktaapi.Options{}); !errors.Is(err, oktaapi.ErrInvalid) {
		t.Errorf("New without credentials: %v", err)
	}
	if _, err := oktaapi.New(oktaapi.Options{Credentials: oktaapi.Static(oktaapi.Credentials{}), OrgURL: "ftp://x"}); !errors.Is(err, oktaapi.ErrInvalid) {
		t.Errorf("New with a bad org URL: %v", err)
	}
	c, err := oktaapi.New(oktaapi.Options{Credentials: oktaapi.Static(oktaapi.Credentials{OrgURL: "https://x.okta.com"})})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetUser(context.Background(), "00u1"); !errors.Is(err, oktaapi.ErrInvalidCredentials) {
		t.Errorf("credentials not made by ParseCredentials: %v", err)
	}
}

// The credentials are read once per TTL; a failed refresh keeps the last
// good ones for one more TTL.
func TestCredentialsCached(t *testing.T) {
	o := newOrg(t, simokta.Options{})
	id := o.User(person())
	creds, err := oktaapi.ParseCredentials(o.sswsSecret().JSON(t))
	if err != nil {
		t.Fatal(err)
	}
	fetches, fail := 0, false
	c, err := oktaapi.New(oktaapi.Options{
		Credentials: func(context.Context) (oktaapi.Credentials, error) {
			fetches++
			if fail {
				return oktaapi.Credentials{}, domain.Retryable(errors.New("secret store unavailable"))
			}
			return creds, nil
		},
		CredentialsTTL: time.Minute, Rate: -1, Clock: o.clock.Now, Sleep: o.clock.Sleep,
	})
	if err != nil {
		t.Fatal(err)
	}
	get := func() error {
		_, err := c.GetUser(context.Background(), id)
		return err
	}
	for range 3 {
		if err := get(); err != nil {
			t.Fatal(err)
		}
	}
	if fetches != 1 {
		t.Fatalf("%d fetches for three calls, want 1", fetches)
	}
	fail = true
	o.clock.Advance(90 * time.Second)
	if err := get(); err != nil {
		t.Fatalf("stale credentials not used: %v", err)
	}
	o.clock.Advance(time.Minute)
	err = get()
	if err == nil || domain.KindOf(err) != domain.ErrorRetryable {
		t.Fatalf("err = %v, want the fetch's retryable error", err)
	}
	fail = false
	if err := get(); err != nil {
		t.Fatal(err)
	}
}

type fakeSecrets struct {
	value *string
	err   error
}

func (f fakeSecrets) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	if f.err != nil {
		return nil, f.err
	}
	return &secretsmanager.GetSecretValueOutput{Name: in.SecretId, SecretString: f.value}, nil
}

func (f fakeSecrets) GetParameter(_ context.Context, in *ssm.GetParameterInput, _ ...func(*ssm.Options)) (*ssm.GetParameterOutput, error) {
	if f.err != nil {
		return nil, f.err
	}
	if !aws.ToBool(in.WithDecryption) {
		return nil, errors.New("not decrypted")
	}
	return &ssm.GetParameterOutput{Parameter: &ssmtypes.Parameter{Name: in.Name, Value: f.value}}, nil
}

func TestSecretSources(t *testing.T) {
	doc := `{"orgUrl":"https://example.okta.com","ssws":"00abc"}`
	for name, src := range map[string]func(fakeSecrets) func(context.Context) (oktaapi.Credentials, error){
		"secrets manager": func(f fakeSecrets) func(context.Context) (oktaapi.Credentials, error) {
			return oktaapi.FromSecretsManager(f, "idsync/okta")
		},
		"ssm": func(f fakeSecrets) func(context.Context) (oktaapi.Credentials, error) {
			return oktaapi.FromSSM(f, "/idsync/okta")
		},
	} {
		t.Run(name, func(t *testing.T) {
			c, err := src(fakeSecrets{value: aws.String(doc)})(context.Background())
			if err != nil || c.Method() != oktaapi.MethodSSWS || c.OrgURL != "https://example.okta.com" {
				t.Fatalf("got %v, %v", c, err)
			}
			_, err = src(fakeSecrets{value: aws.String("{}")})(context.Background())
			if !errors.Is(err, oktaapi.ErrInvalidCredentials) {
				t.Errorf("empty document: %v", err)
			}
			missing := &smithy.GenericAPIError{Code: "ResourceNotFoundException", Fault: smithy.FaultClient}
			_, err = src(fakeSecrets{err: missing})(context.Background())
			if !errors.As(err, new(*smithy.GenericAPIError)) || domain.KindOf(err) != domain.ErrorPermanent {
				t.Errorf("missing secret: %v (%v), want permanent", err, domain.KindOf(err))
			}
			throttled := &smithy.GenericAPIError{Code: "ThrottlingException"}
			_, err = src(fakeSecrets{err: throttled})(context.Background())
			if domain.KindOf(err) != domain.ErrorRetryable {
				t.Errorf("throttled: %v (%v), want retryable", err, domain.KindOf(err))
			}
		})
	}
}
