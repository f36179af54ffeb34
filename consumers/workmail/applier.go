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
	"golang.org/x/time/rate"

	"github.com/idsync/idsync/consumers"
	"github.com/idsync/idsync/domain"
)

// Client-side rate limit defaults. WorkMail publishes no per-operation
// request quota; 5 requests/s with a burst of 10 keeps one consumer well
// below what the service throttles.
const (
	DefaultRate  rate.Limit = 5
	DefaultBurst int        = 10
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
)

// IdentityCenter is the IAM Identity Center configuration the organisation
// is expected to have. An empty field is not checked.
type IdentityCenter struct {
	InstanceARN    string
	ApplicationARN string
}

// Options tunes an Applier. The zero value is usable.
type Options struct {
	// Rate and Burst size the token bucket every API call waits on; zero
	// means DefaultRate and DefaultBurst.
	Rate  rate.Limit
	Burst int
	// DryRun wraps the client in DryRun: writes are not sent, every op's
	// Outcome is domain.OutcomeWould and Apply returns the last-known state
	// unchanged.
	DryRun bool
	// Clock times each op for OpResult.Latency; defaults to time.Now.
	Clock func() time.Time
	// IdentityCenter, when set, is checked once by the pre-flight with
	// DescribeIdentityProviderConfiguration.
	IdentityCenter *IdentityCenter
	// Logger receives a line per adoption and per refused delete, with ids
	// only; nil discards.
	Logger *slog.Logger
}

// Applier is the WorkMail consumers.Target for one organisation. It is safe
// for concurrent use.
type Applier struct {
	cfg    domain.WorkMailConfig
	api    API
	dryRun bool
	now    func() time.Time
	idc    *IdentityCenter
	log    *slog.Logger

	mu      sync.Mutex
	checked bool   // the pre-flight passed
	domain  string // the mail domain PlanWorkMail renders with
}

var _ consumers.Target = (*Applier)(nil)

var reOrganizationID = regexp.MustCompile(`^m-[0-9a-f]{32}$`)

// New returns an Applier for cfg's organisation that calls api (normally the
// SDK's *workmail.Client) through a token bucket.
//
// Errors: ErrConfig when api is nil or cfg.OrganizationID is not a WorkMail
// organisation id.
func New(cfg domain.WorkMailConfig, api API, o Options) (*Applier, error) {
	if api == nil {
		return nil, fmt.Errorf("%w: no WorkMail client", ErrConfig)
	}
	if !reOrganizationID.MatchString(cfg.OrganizationID) {
		return nil, fmt.Errorf("%w: organisation id %q does not match %s", ErrConfig, cfg.OrganizationID, reOrganizationID)
	}
	r, b := o.Rate, o.Burst
	if r <= 0 {
		r = DefaultRate
	}
	if b <= 0 {
		b = DefaultBurst
	}
	api = limited{api: api, lim: rate.NewLimiter(r, b)}
	if o.DryRun {
		api = DryRun(api)
	}
	a := &Applier{cfg: cfg, api: api, dryRun: o.DryRun, now: o.Clock, idc: o.IdentityCenter, log: o.Logger}
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
		return "", classify("DescribeOrganization", err)
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
		if errorCode(err) == "ResourceNotFoundException" {
			return domain.Permanent(fmt.Errorf("%w: organisation %s has none: %w", ErrIdentityCenter, org, classify("DescribeIdentityProviderConfiguration", err)))
		}
		return classify("DescribeIdentityProviderConfiguration", err)
	}
	var instance, application string
	if c := out.IdentityCenterConfiguration; c != nil {
		instance, application = aws.ToString(c.InstanceArn), aws.ToString(c.ApplicationArn)
	}
	if want := a.idc.InstanceARN; want != "" && want != instance {
		return domain.Permanent(fmt.Errorf("%w: organisation %s uses instance %q, want %q", ErrIdentityCenter, org, instance, want))
	}
	if want := a.idc.ApplicationARN; want != "" && want != application {
		return domain.Permanent(fmt.Errorf("%w: organisation %s uses application %q, want %q", ErrIdentityCenter, org, application, want))
	}
	return nil
}

// Apply runs plan.Ops in order and returns the state reached and one
// result per op attempted (see consumers.Target). With an empty plan it
// returns plan.Next. After a create, the returned state carries the new (or
// adopted) user's id; when an op fails, the state reached before it (e.g.
// Managed and DISABLED with the id, after a create whose register failed)
// comes back with the error, for the caller to keep. In dry-run mode every
// result is domain.OutcomeWould and the state returned is last.
//
// Apply is safe to repeat after a crash: creates adopt idsync's own user
// (see the package documentation), and register, disable and delete treat
// an account already in the wanted state as done.
//
// Errors: the failing op's, classified Permanent or Retryable: ErrUnmanaged,
// ErrAddressInUse, ErrEnabledUser and ErrNoRemoteID are permanent; SDK
// errors as the package documentation says.
func (a *Applier) Apply(ctx context.Context, p domain.Person, last domain.TargetState, plan domain.Plan) (domain.TargetState, []consumers.OpResult, error) {
	if len(plan.Ops) == 0 {
		if a.dryRun {
			return last, nil, nil
		}
		return plan.Next, nil, nil
	}
	r := &run{a: a, person: p.Key, state: last, next: plan.Next, disabled: map[string]bool{}}
	results := make([]consumers.OpResult, 0, len(plan.Ops))
	for _, op := range plan.Ops {
		start := a.now()
		res, err := r.do(ctx, op)
		res.Op = op
		res.Latency = a.now().Sub(start)
		if err != nil {
			res.Outcome = domain.OutcomeFailed
			if res.Reason == "" {
				res.Reason = err.Error()
			} else {
				res.Reason += "; " + err.Error()
			}
			results = append(results, res)
			if a.dryRun {
				return last, results, err
			}
			return r.state, results, err
		}
		res.Outcome = domain.OutcomeApplied
		if a.dryRun {
			res.Outcome = domain.OutcomeWould
		}
		results = append(results, res)
	}
	if a.dryRun {
		return last, results, nil
	}
	final := plan.Next
	final.Target = domain.TargetWorkMail
	if final.Status != domain.RemoteDeleted {
		// A create fills in the id; an adoption may keep an older Name.
		if final.RemoteID == "" {
			final.RemoteID = r.state.RemoteID
		}
		if r.state.Name != "" {
			final.Name = r.state.Name
		}
	}
	return final, results, nil
}
