package workmail

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/workmail"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/awsclient"
)

// PlanAPI is the part of the WorkMail API a Planner uses: reads only
// (*workmail.Client satisfies it). The IdC snapshot plans with a Planner
// to reconcile, so it needs no WorkMail write.
type PlanAPI interface {
	DescribeOrganization(ctx context.Context, in *sdk.DescribeOrganizationInput, optFns ...func(*sdk.Options)) (*sdk.DescribeOrganizationOutput, error)
	DescribeIdentityProviderConfiguration(ctx context.Context, in *sdk.DescribeIdentityProviderConfigurationInput, optFns ...func(*sdk.Options)) (*sdk.DescribeIdentityProviderConfigurationOutput, error)
}

// PlannerOptions configure a Planner.
type PlannerOptions struct {
	// API makes the pre-flight reads (required).
	API PlanAPI
	// Config is the WorkMail configuration (a valid organisation id).
	Config domain.WorkMailConfig
	// IdentityCenter, when set, is checked once by the pre-flight with
	// DescribeIdentityProviderConfiguration.
	IdentityCenter *IdentityCenter
}

// Planner plans a person's mailbox: domain.PlanWorkMail after a read-only
// pre-flight of the organisation. It is safe for concurrent use; the
// Applier embeds one.
type Planner struct {
	cfg domain.WorkMailConfig
	api PlanAPI
	idc *IdentityCenter

	mu      sync.Mutex
	checked bool   // the pre-flight passed
	domain  string // the mail domain PlanWorkMail renders with
}

// NewPlanner returns a Planner for o.Config's organisation.
//
// Errors: ErrConfig when o.API is nil or the organisation id is not a
// WorkMail organisation id.
func NewPlanner(o PlannerOptions) (*Planner, error) {
	if o.API == nil {
		return nil, fmt.Errorf("%w: no WorkMail client", ErrConfig)
	}
	if !reOrganizationID.MatchString(o.Config.OrganizationID) {
		return nil, fmt.Errorf("%w: organisation id %q does not match %s", ErrConfig, o.Config.OrganizationID, reOrganizationID)
	}
	return &Planner{cfg: o.Config, api: o.API, idc: o.IdentityCenter}, nil
}

// Plan runs the pre-flight (once per Planner, until it passes) and returns
// domain.PlanWorkMail for p with the configured mail domain, else the
// organisation's default one. It makes no writes.
//
// Errors: from the pre-flight, domain.Permanent wrapping the SDK's
// OrganizationNotFoundException, ErrOrganization or ErrIdentityCenter;
// retryable for throttling and other transient failures and for an
// organisation still being created; and PlanWorkMail's own errors
// (Permanent, domain.ErrInvalidAttribute).
func (pl *Planner) Plan(ctx context.Context, p domain.Person, last domain.TargetState, now time.Time) (domain.Plan, error) {
	mailDomain, err := pl.preflight(ctx)
	if err != nil {
		return domain.Plan{}, err
	}
	return domain.PlanWorkMail(pl.cfg, mailDomain, p, last, now)
}

// Check runs the pre-flight now (once per Planner, until it passes): the
// organisation is Active with a mail domain and, with an IdentityCenter,
// its identity provider configuration names that IAM Identity Center
// instance and application. The composition root calls it at cold start,
// so that a consumer of a misconfigured organisation fails to start with
// the reason instead of dead-lettering every message.
//
// Errors: as Plan's pre-flight: Permanent wrapping ErrOrganization or
// ErrIdentityCenter (the latter saying what is configured and what was
// expected, or that the organisation has no IAM Identity Center
// configuration); retryable for transient failures.
func (pl *Planner) Check(ctx context.Context) error {
	_, err := pl.preflight(ctx)
	return err
}

// preflight checks the organisation and returns the mail domain; the
// result is cached once it passes.
func (pl *Planner) preflight(ctx context.Context) (string, error) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	if pl.checked {
		return pl.domain, nil
	}
	org := pl.cfg.OrganizationID
	out, err := pl.api.DescribeOrganization(ctx, &sdk.DescribeOrganizationInput{OrganizationId: aws.String(org)})
	if err != nil {
		return "", awsclient.Failure(err)
	}
	switch state := aws.ToString(out.State); {
	case strings.EqualFold(state, "Active"):
	case strings.EqualFold(state, "Creating"), strings.EqualFold(state, "Requested"), strings.EqualFold(state, "Pending"):
		return "", domain.Retryable(fmt.Errorf("%w: organisation %s is %s", ErrOrganization, org, state))
	default:
		return "", domain.Permanent(fmt.Errorf("%w: organisation %s is %s", ErrOrganization, org, state))
	}
	mailDomain := pl.cfg.MailDomain
	if mailDomain == "" {
		mailDomain = aws.ToString(out.DefaultMailDomain)
	}
	if mailDomain == "" {
		return "", domain.Permanent(fmt.Errorf("%w: organisation %s has no default mail domain and none is configured", ErrOrganization, org))
	}
	if pl.idc != nil {
		if err := pl.checkIdentityCenter(ctx); err != nil {
			return "", err
		}
	}
	pl.checked, pl.domain = true, mailDomain
	return mailDomain, nil
}

func (pl *Planner) checkIdentityCenter(ctx context.Context) error {
	org := pl.cfg.OrganizationID
	out, err := pl.api.DescribeIdentityProviderConfiguration(ctx,
		&sdk.DescribeIdentityProviderConfigurationInput{OrganizationId: aws.String(org)})
	if err != nil {
		if awsclient.ErrorCode(err) == "ResourceNotFoundException" {
			return domain.Permanent(fmt.Errorf("%w: organisation %s is not linked to IAM Identity Center (no identity provider configuration; enable the IAM Identity Center integration in the WorkMail console, or PutIdentityProviderConfiguration): %w",
				ErrIdentityCenter, org, awsclient.Failure(err)))
		}
		return awsclient.Failure(err)
	}
	var instance, application string
	if c := out.IdentityCenterConfiguration; c != nil {
		instance, application = aws.ToString(c.InstanceArn), aws.ToString(c.ApplicationArn)
	}
	if instance == "" && application == "" {
		return domain.Permanent(fmt.Errorf("%w: organisation %s has an identity provider configuration without IAM Identity Center", ErrIdentityCenter, org))
	}
	if want := pl.idc.InstanceARN; want != "" && want != instance {
		return domain.Permanent(fmt.Errorf("%w: organisation %s uses instance %q, want %q", ErrIdentityCenter, org, instance, want))
	}
	if want := pl.idc.ApplicationARN; want != "" && want != application {
		return domain.Permanent(fmt.Errorf("%w: organisation %s uses application %q, want %q", ErrIdentityCenter, org, application, want))
	}
	return nil
}
