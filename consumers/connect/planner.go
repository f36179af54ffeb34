package connect

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconnect "github.com/aws/aws-sdk-go-v2/service/connect"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/awsclient"
)

// PlanAPI is the part of the Connect API a Planner uses: one read
// (*connect.Client satisfies it). The IdC snapshot plans with a Planner to
// reconcile, so it needs no Connect write.
type PlanAPI interface {
	DescribeInstance(ctx context.Context, in *awsconnect.DescribeInstanceInput, optFns ...func(*awsconnect.Options)) (*awsconnect.DescribeInstanceOutput, error)
}

// PlannerOptions configure a Planner.
type PlannerOptions struct {
	// API reads the instance's identity management type (required).
	API PlanAPI
	// Config is the Connect configuration (with an instance id).
	Config domain.ConnectConfig
}

// Planner plans a person's agent: domain.PlanConnect on the instance's
// identity management type, read once. It is safe for concurrent use; the
// Applier embeds one.
type Planner struct {
	api PlanAPI
	cfg domain.ConnectConfig

	mu       sync.Mutex
	identity domain.ConnectIdentity // the instance's, once read
	read     bool                   // identity was read
}

// NewPlanner returns a Planner for o.Config.
//
// Errors: domain.ErrInvalidConfig (wrapped) when o.API is nil or o.Config
// has no instance id.
func NewPlanner(o PlannerOptions) (*Planner, error) {
	if o.API == nil {
		return nil, fmt.Errorf("%w: connect planner needs a client", domain.ErrInvalidConfig)
	}
	if o.Config.InstanceID == "" {
		return nil, fmt.Errorf("%w: connect.instanceId is empty", domain.ErrInvalidConfig)
	}
	return &Planner{api: o.API, cfg: o.Config}, nil
}

// Plan returns domain.PlanConnect's plan for p on the instance's identity
// management type, with p's names in Unicode Normalization Form C (see
// nfc). The type is read once per Planner (DescribeInstance) and cached
// once read; that read-only pre-flight is the only call Plan makes.
//
// Errors: the pre-flight's (the SDK's, classified; ErrNoInstance,
// permanent) and PlanConnect's (Permanent, wrapping
// domain.ErrInvalidAttribute: e.g. a username over 20 characters on an
// instance that does not use SAML, found before any call).
func (pl *Planner) Plan(ctx context.Context, p domain.Person, last domain.TargetState, now time.Time) (domain.Plan, error) {
	identity, err := pl.identityManagement(ctx)
	if err != nil {
		return domain.Plan{}, err
	}
	plan, err := domain.PlanConnect(pl.cfg, identity, nfc(p), last, now)
	if err != nil {
		return domain.Plan{}, fmt.Errorf("plan connect agent for %s: %w", p.Key, err)
	}
	return plan, nil
}

// identityManagement returns the instance's identity management type: read
// with DescribeInstance the first time, cached once read.
func (pl *Planner) identityManagement(ctx context.Context) (domain.ConnectIdentity, error) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	if pl.read {
		return pl.identity, nil
	}
	id := pl.cfg.InstanceID
	out, err := pl.api.DescribeInstance(ctx, &awsconnect.DescribeInstanceInput{InstanceId: aws.String(id)})
	switch {
	case isNotFound(err):
		return "", domain.Permanent(fmt.Errorf("%w: %s: %w", ErrNoInstance, id, awsclient.Failure(err)))
	case err != nil:
		return "", fmt.Errorf("connect: read the identity management type of instance %s: %w", id, awsclient.Failure(err))
	case out.Instance == nil:
		return "", domain.Permanent(fmt.Errorf("%w: %s: DescribeInstance answered no instance", ErrNoInstance, id))
	}
	pl.identity, pl.read = domain.ConnectIdentity(out.Instance.IdentityManagementType), true
	return pl.identity, nil
}
