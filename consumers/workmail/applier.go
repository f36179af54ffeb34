package workmail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/workmail"

	"github.com/idsync/idsync/consumers"
	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/awsclient"
)

// Errors the Applier returns (wrapped, and marked domain.Permanent).
var (
	// ErrConfig: New was given an unusable configuration.
	ErrConfig = errors.New("workmail applier: invalid configuration")
	// ErrOrganization: the organisation is unusable: not Active, no default
	// mail domain.
	ErrOrganization = errors.New("workmail organisation unusable")
	// ErrIdentityCenter: the organisation's identity provider configuration
	// is missing or is not the expected IAM Identity Center instance and
	// application.
	ErrIdentityCenter = errors.New("workmail identity provider configuration does not match")
	// ErrUnmanaged: the name or address an op needs belongs to an entity
	// idsync does not manage; nothing was changed.
	ErrUnmanaged = errors.New("workmail entity not managed by idsync")
	// ErrAddressInUse: the email address belongs to another entity.
	ErrAddressInUse = errors.New("workmail email address in use by another entity")
	// ErrEnabledUser: a delete found the user ENABLED and refused.
	ErrEnabledUser = errors.New("workmail user is enabled; refusing to delete")
	// ErrNoRemoteID: an op that needs the user's id has none (a plan not
	// made by domain.PlanWorkMail, or a register without its create).
	ErrNoRemoteID = errors.New("workmail op has no user id")
	// ErrNotAssigned: the organisation is linked to IAM Identity Center and
	// refused to link the mailbox to the person's IdC user, who is not
	// assigned (directly or through a group) to WorkMail's IdC application.
	// Retryable while the person's latest fact is younger than the
	// configuration's assignment grace (Okta's push to IdC and the
	// assignment lag the hook that brought the person), permanent after.
	ErrNotAssigned = errors.New("IdC user not assigned to the WorkMail application")
)

// IdentityCenter is the IAM Identity Center configuration the organisation
// is expected to have. An empty field is not checked.
type IdentityCenter struct {
	InstanceARN    string
	ApplicationARN string
}

// Options configures an Applier.
type Options struct {
	// API is the WorkMail client (required), built with awsclient.WorkMail.
	API API
	// Config is the organisation and its mapping (required: OrganizationID
	// must be a WorkMail organisation id).
	Config domain.WorkMailConfig
	// IdentityCenter, when set, is checked once by the pre-flight with
	// DescribeIdentityProviderConfiguration.
	IdentityCenter *IdentityCenter
	// Logger receives a line per adoption and per refused delete, with ids
	// only; nil discards.
	Logger *slog.Logger
	// Clock dates a disable's DisabledAt in the state a failed later op
	// keeps (default time.Now).
	Clock func() time.Time
}

// Applier is the WorkMail consumers.Target for one organisation. It is safe
// for concurrent use.
type Applier struct {
	cfg domain.WorkMailConfig
	api API
	now func() time.Time
	idc *IdentityCenter
	log *slog.Logger

	mu      sync.Mutex
	checked bool   // the pre-flight passed
	domain  string // the mail domain PlanWorkMail renders with
}

var _ consumers.Target = (*Applier)(nil)

var reOrganizationID = regexp.MustCompile(`^m-[0-9a-f]{32}$`)

// New returns an Applier for o.Config's organisation that calls o.API.
//
// Errors: ErrConfig when o.API is nil or o.Config.OrganizationID is not a
// WorkMail organisation id.
func New(o Options) (*Applier, error) {
	if o.API == nil {
		return nil, fmt.Errorf("%w: no WorkMail client", ErrConfig)
	}
	if !reOrganizationID.MatchString(o.Config.OrganizationID) {
		return nil, fmt.Errorf("%w: organisation id %q does not match %s", ErrConfig, o.Config.OrganizationID, reOrganizationID)
	}
	a := &Applier{cfg: o.Config, api: o.API, now: o.Clock, idc: o.IdentityCenter, log: o.Logger}
	if a.now == nil {
		a.now = time.Now
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	return a, nil
}

// Name returns domain.TargetWorkMail.
func (a *Applier) Name() domain.Target { return domain.TargetWorkMail }

// Plan runs the pre-flight (once per Applier, until it passes) and returns
// domain.PlanWorkMail for p with the configured mail domain, else the
// organisation's default one. It makes no writes.
//
// Errors: from the pre-flight, domain.Permanent wrapping the SDK's
// OrganizationNotFoundException, ErrOrganization or ErrIdentityCenter;
// retryable for throttling and other transient failures and for an
// organisation still being created; and PlanWorkMail's own errors
// (Permanent, domain.ErrInvalidAttribute).
func (a *Applier) Plan(ctx context.Context, p domain.Person, last domain.TargetState, now time.Time) (domain.Plan, error) {
	mailDomain, err := a.preflight(ctx)
	if err != nil {
		return domain.Plan{}, err
	}
	return domain.PlanWorkMail(a.cfg, mailDomain, p, last, now)
}

// Check runs the pre-flight now (once per Applier, until it passes): the
// organisation is Active with a mail domain and, with
// Options.IdentityCenter, its identity provider configuration names that
// IAM Identity Center instance and application. The composition root calls
// it at cold start, so that a consumer of a misconfigured organisation
// fails to start with the reason instead of dead-lettering every message.
//
// Errors: as Plan's pre-flight: Permanent wrapping ErrOrganization or
// ErrIdentityCenter (the latter saying what is configured and what was
// expected, or that the organisation has no IAM Identity Center
// configuration); retryable for transient failures.
func (a *Applier) Check(ctx context.Context) error {
	_, err := a.preflight(ctx)
	return err
}

// preflight checks the organisation and returns the mail domain; the
// result is cached once it passes.
func (a *Applier) preflight(ctx context.Context) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.checked {
		return a.domain, nil
	}
	org := a.cfg.OrganizationID
	out, err := a.api.DescribeOrganization(ctx, &sdk.DescribeOrganizationInput{OrganizationId: aws.String(org)})
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
	mailDomain := a.cfg.MailDomain
	if mailDomain == "" {
		mailDomain = aws.ToString(out.DefaultMailDomain)
	}
	if mailDomain == "" {
		return "", domain.Permanent(fmt.Errorf("%w: organisation %s has no default mail domain and none is configured", ErrOrganization, org))
	}
	if a.idc != nil {
		if err := a.checkIdentityCenter(ctx); err != nil {
			return "", err
		}
	}
	a.checked, a.domain = true, mailDomain
	return mailDomain, nil
}

func (a *Applier) checkIdentityCenter(ctx context.Context) error {
	org := a.cfg.OrganizationID
	out, err := a.api.DescribeIdentityProviderConfiguration(ctx,
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
	if want := a.idc.InstanceARN; want != "" && want != instance {
		return domain.Permanent(fmt.Errorf("%w: organisation %s uses instance %q, want %q", ErrIdentityCenter, org, instance, want))
	}
	if want := a.idc.ApplicationARN; want != "" && want != application {
		return domain.Permanent(fmt.Errorf("%w: organisation %s uses application %q, want %q", ErrIdentityCenter, org, application, want))
	}
	return nil
}

// Apply makes op true for p's mailbox, given state, the state the plan's
// earlier ops reached, and returns the state it reaches (see
// consumers.Target). After a create, the state carries the new (or
// adopted) user's id, DISABLED until the register that follows; the
// register of a plan's create uses that id.
//
// Apply is safe to repeat after a crash: a create adopts idsync's own user
// (see the package documentation), and register, disable and delete treat
// an account already in the wanted state as done.
//
// Errors: classified Permanent or Retryable: ErrUnmanaged, ErrAddressInUse,
// ErrEnabledUser and ErrNoRemoteID are permanent; ErrNotAssigned is
// retryable within the assignment grace and permanent after it; SDK errors
// as the package documentation says.
func (a *Applier) Apply(ctx context.Context, p domain.Person, state domain.TargetState, op domain.Op) (consumers.Step, error) {
	r := &run{a: a, person: p.Key, p: p, state: state}
	step, err := r.do(ctx, op)
	step.State = r.state
	return step, err
}
