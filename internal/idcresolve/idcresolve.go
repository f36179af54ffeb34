// Package idcresolve finds the IAM Identity Center (IdentityStore) user of
// a person idsync knows only from Okta (by Okta user id and login), so that
// a WorkMail mailbox can be created linked to it (IdentityProviderUserId)
// before the next IdC snapshot links the two.
//
// Okta's SCIM push to IAM Identity Center stores the Okta user id as the
// IdC user's external id, with the issuer of IdC's SCIM endpoint,
// "https://scim.aws.com/<n>", and the Okta login as its UserName. GetUserId
// matches an external id only with its exact issuer, so:
//
//  1. with the exact issuer configured (Options.Issuer), the user is looked
//     up by ExternalId {Issuer, Okta user id};
//  2. otherwise, or when that finds nobody (the issuer may be configured
//     wrongly), by the unique attribute userName = the Okta login, and the
//     user found is checked: when it carries an external id of a SCIM
//     issuer (Options.Issuer, or any issuer with Options.IssuerPrefix)
//     for another Okta user id, it is someone else and ErrMismatch is
//     returned; a user without such an external id is accepted on its
//     login alone (a user created in IdC by hand).
//
// Nobody found is not an error: the SCIM push lags Okta, so Resolve
// returns a zero Match and the caller tries again later.
package idcresolve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/identitystore"
	"github.com/aws/aws-sdk-go-v2/service/identitystore/document"
	"github.com/aws/aws-sdk-go-v2/service/identitystore/types"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/awsclient"
)

// DefaultIssuerPrefix is what every IdC SCIM external-id issuer starts
// with ("https://scim.aws.com/<n>").
const DefaultIssuerPrefix = "https://scim.aws.com/"

// Errors. Each is wrapped with detail (ids only, never a login or name).
var (
	// ErrInvalid: invalid Options, or Resolve called with neither an Okta
	// id nor a login. Permanent.
	ErrInvalid = errors.New("idcresolve: invalid argument")
	// ErrMismatch: the IdC user with the person's login carries a SCIM
	// external id naming another Okta user: the login was reused, and the
	// user is not linked. Permanent.
	ErrMismatch = errors.New("idcresolve: IdC user with that login belongs to another Okta user")
)

// IdentityStore is the part of the IdentityStore client the resolver
// uses; *identitystore.Client (awsclient.IdentityStore, with a Meter
// installed to share the service's 20 requests/s) satisfies it.
type IdentityStore interface {
	GetUserId(ctx context.Context, in *identitystore.GetUserIdInput, optFns ...func(*identitystore.Options)) (*identitystore.GetUserIdOutput, error)
	DescribeUser(ctx context.Context, in *identitystore.DescribeUserInput, optFns ...func(*identitystore.Options)) (*identitystore.DescribeUserOutput, error)
}

// Options configures a Resolver.
type Options struct {
	// IdentityStore is the client; required.
	IdentityStore IdentityStore
	// IdentityStoreID is the identity store (configuration
	// snapshot.identityStoreId); required.
	IdentityStoreID string
	// Issuer is the exact SCIM issuer of the Okta push's external ids,
	// e.g. "https://scim.aws.com/4820611" (configuration
	// snapshot.scimIssuer). Empty: look users up by login only.
	Issuer string
	// IssuerPrefix is how SCIM issuers begin, used to recognise the
	// external ids of a user found by login. Default DefaultIssuerPrefix.
	IssuerPrefix string
	// Logger receives a line when the configured issuer seems wrong (ids
	// and issuers only). Default: discard.
	Logger *slog.Logger
}

// Resolver looks up IdC user ids. It is safe for concurrent use.
type Resolver struct {
	api    IdentityStore
	store  string
	issuer string
	prefix string
	log    *slog.Logger
}

// New returns a Resolver.
//
// Errors: ErrInvalid (Permanent) without an IdentityStore or an
// IdentityStoreID.
func New(o Options) (*Resolver, error) {
	var missing []string
	if o.IdentityStore == nil {
		missing = append(missing, "IdentityStore")
	}
	if o.IdentityStoreID == "" {
		missing = append(missing, "IdentityStoreID")
	}
	if len(missing) > 0 {
		return nil, domain.Permanent(fmt.Errorf("%w: Options.%s required", ErrInvalid, strings.Join(missing, " and Options.")))
	}
	r := &Resolver{api: o.IdentityStore, store: o.IdentityStoreID, issuer: strings.TrimSpace(o.Issuer),
		prefix: o.IssuerPrefix, log: o.Logger}
	if r.prefix == "" {
		r.prefix = DefaultIssuerPrefix
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	return r, nil
}

// Method says how a user was found.
type Method string

// Methods.
const (
	ByExternalID Method = "externalId" // ExternalId {Issuer, Okta user id}
	ByUserName   Method = "userName"   // the login, checked against the user's external ids
)

// Match is a resolved IdC user. The zero Match means nobody was found.
type Match struct {
	UserID string
	By     Method
}

// Resolve returns the IdC user of the Okta user oktaID with login login
// (see the package documentation for the order of lookups). Either may be
// empty, not both. Nobody found yet gives a zero Match and a nil error.
//
// Errors: ErrInvalid; ErrMismatch (Permanent); a failed IdentityStore
// call as an *awsclient.CallError (no service message) marked by
// awsclient.IsPermanent: throttling, 5xx and timeouts retryable,
// AccessDenied, Validation and other client faults permanent.
func (r *Resolver) Resolve(ctx context.Context, oktaID, login string) (Match, error) {
	if oktaID == "" && login == "" {
		return Match{}, domain.Permanent(fmt.Errorf("%w: neither an Okta user id nor a login", ErrInvalid))
	}
	if r.issuer != "" && oktaID != "" {
		id, err := r.getUserID(ctx, &types.AlternateIdentifierMemberExternalId{Value: types.ExternalId{
			Issuer: aws.String(r.issuer), Id: aws.String(oktaID)}})
		if err != nil || id != "" {
			return Match{UserID: id, By: ByExternalID}, err
		}
	}
	if login == "" {
		return Match{}, nil
	}
	id, err := r.getUserID(ctx, &types.AlternateIdentifierMemberUniqueAttribute{Value: types.UniqueAttribute{
		AttributePath: aws.String("userName"), AttributeValue: document.NewLazyDocument(login)}})
	if err != nil || id == "" {
		return Match{}, err
	}
	if oktaID == "" {
		return Match{UserID: id, By: ByUserName}, nil
	}
	return r.check(ctx, id, oktaID)
}

// check accepts the user id found by login unless its SCIM external ids
// name another Okta user.
func (r *Resolver) check(ctx context.Context, userID, oktaID string) (Match, error) {
	out, err := r.api.DescribeUser(ctx, &identitystore.DescribeUserInput{IdentityStoreId: aws.String(r.store), UserId: aws.String(userID)})
	if err != nil {
		if isNotFound(err) { // deleted meanwhile
			return Match{}, nil
		}
		return Match{}, callError("DescribeUser", err)
	}
	var others []string
	for _, x := range out.ExternalIds {
		issuer, id := aws.ToString(x.Issuer), aws.ToString(x.Id)
		if !r.scim(issuer) {
			continue
		}
		if id == oktaID {
			if r.issuer != "" && issuer != r.issuer {
				r.log.WarnContext(ctx, "IdC user found by login carries another SCIM issuer than configured; check snapshot.scimIssuer",
					"idcUserId", userID, "oktaId", oktaID, "issuer", issuer, "configured", r.issuer)
			}
			return Match{UserID: userID, By: ByUserName}, nil
		}
		others = append(others, id)
	}
	if len(others) > 0 {
		return Match{}, domain.Permanent(fmt.Errorf("%w: IdC user %s has external id %s, not Okta user %s",
			ErrMismatch, userID, strings.Join(others, ", "), oktaID))
	}
	return Match{UserID: userID, By: ByUserName}, nil
}

// scim reports whether an issuer is the Okta push's.
func (r *Resolver) scim(issuer string) bool {
	return issuer == r.issuer || strings.HasPrefix(issuer, r.prefix)
}

// getUserID calls GetUserId; "" when nobody matches.
func (r *Resolver) getUserID(ctx context.Context, alt types.AlternateIdentifier) (string, error) {
	out, err := r.api.GetUserId(ctx, &identitystore.GetUserIdInput{IdentityStoreId: aws.String(r.store), AlternateIdentifier: alt})
	if err != nil {
		if isNotFound(err) {
			return "", nil
		}
		return "", callError("GetUserId", err)
	}
	return aws.ToString(out.UserId), nil
}

// isNotFound reports whether err says the user does not exist. A missing
// identity store (a configuration error) is not such an answer.
func isNotFound(err error) bool {
	nf, ok := errors.AsType[*types.ResourceNotFoundException](err)
	return ok && (nf.ResourceType == "" || nf.ResourceType == types.ResourceTypeUser)
}

// callError reports a failed call as awsclient classifies target calls:
// an *awsclient.CallError (service, operation, code, status; never the
// message) marked Permanent or Retryable. A client built with
// awsclient.Classify already did so.
func callError(op string, err error) error {
	if _, ok := errors.AsType[*awsclient.CallError](err); ok {
		return fmt.Errorf("idcresolve: %w", awsclient.Failure(err))
	}
	ce := &awsclient.CallError{Service: "IdentityStore", Operation: op, Code: awsclient.ErrorCode(err), Err: err}
	if re, ok := errors.AsType[*awshttp.ResponseError](err); ok {
		ce.Status = re.HTTPStatusCode()
	}
	if awsclient.IsPermanent(err) {
		return fmt.Errorf("idcresolve: %w", domain.Permanent(ce))
	}
	return fmt.Errorf("idcresolve: %w", domain.Retryable(ce))
}
