package workmail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"github.com/idsync/idsync/consumers"
	"github.com/idsync/idsync/domain"
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
	*Planner
	cfg domain.WorkMailConfig
	api API
	now func() time.Time
	log *slog.Logger
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
	pl, err := NewPlanner(PlannerOptions{API: o.API, Config: o.Config, IdentityCenter: o.IdentityCenter})
	if err != nil {
		return nil, err
	}
	a := &Applier{Planner: pl, cfg: o.Config, api: o.API, now: o.Clock, log: o.Logger}
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

// Apply makes op true for p's mailbox, given state, the state the plan's
// earlier ops reached, and returns the state it reaches (see
// consumers.Target). After a create, the state carries the new (or
// adopted) user's id, DISABLED until the register that follows; the
// register of a plan's create uses that id.
//
// Apply is safe to repeat after a crash: a create adopts idsync's own user
// (see the package documentation), register, disable and delete treat
// an account already in the wanted state as done, and export-start
// replays its ClientToken, which WorkMail answers with the first job.
//
// Errors: classified Permanent or Retryable: ErrUnmanaged, ErrAddressInUse,
// ErrEnabledUser, ErrNoRemoteID and ErrExportFailed are permanent (the
// last with Step.KeepState: the failure is recorded in the state);
// ErrNotAssigned is retryable within the assignment grace and permanent
// after it; ErrExportLimit is retryable; SDK errors as the package
// documentation says.
func (a *Applier) Apply(ctx context.Context, p domain.Person, state domain.TargetState, op domain.Op) (consumers.Step, error) {
	r := &run{a: a, person: p.Key, p: p, state: state}
	step, err := r.do(ctx, op)
	step.State = r.state
	return step, err
}
