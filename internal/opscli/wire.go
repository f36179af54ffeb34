package opscli

import (
	"context"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/idsync/idsync/consumers/connect"
	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/app"
	"github.com/idsync/idsync/internal/awsclient"
	"github.com/idsync/idsync/internal/settings"
	"github.com/idsync/idsync/producers/publish"
)

// This file builds the commands' collaborators from an App, the way the
// CLI does, so that tests exercise the same wiring.

// SQSOf returns the App's SQS client.
func SQSOf(a *app.App) *sqs.Client { return awsclient.SQS(a.AWS, a.Settings.Endpoints.SQS) }

// ChooseTargets checks the targets an operator named against the
// configuration; none named means every configured target.
//
// Errors: ErrUsage when the settings carry no configuration, or a named
// target is unknown or not configured.
func ChooseTargets(s settings.Settings, named []domain.Target) ([]domain.Target, error) {
	if !s.HasConfig {
		return nil, fmt.Errorf("%w: this command needs the configuration document (%s or %s)", ErrUsage, settings.EnvConfigFile, settings.EnvConfig)
	}
	configured := settings.Targets(s.Config)
	if len(named) == 0 {
		return configured, nil
	}
	for _, t := range named {
		if !slices.Contains(configured, t) {
			return nil, fmt.Errorf("%w: target %q is not one the configuration enables (%v)", ErrUsage, t, configured)
		}
	}
	return named, nil
}

// QueueOf returns target t's queue and dead-letter queue.
//
// Errors: ErrUsage for an unknown target or one without both URLs.
func QueueOf(s settings.Settings, t domain.Target) (settings.Queue, error) {
	if !slices.Contains(settings.KnownTargets(), t) {
		return settings.Queue{}, fmt.Errorf("%w: --target %q is not one of %v", ErrUsage, t, settings.KnownTargets())
	}
	q := s.Queues[t]
	if q.URL == "" || q.DLQURL == "" {
		return q, fmt.Errorf("%w: target %s needs %s and %s", ErrUsage, t, settings.QueueURLVar(t), settings.DLQURLVar(t))
	}
	return q, nil
}

// ReplayDepsOf builds replay's collaborators for targets (already
// chosen): the store, a planner per target (dry runs), a publisher to
// their queues, their queue URLs and, with snapshot, the snapshotter (which
// queues to every configured target, as the scheduled one does).
//
// Errors: ErrUsage for a target without a queue; the App's builders'.
func ReplayDepsOf(a *app.App, targets []domain.Target, snapshot bool) (ReplayDeps, error) {
	sq := SQSOf(a)
	d := ReplayDeps{Store: a.Store, SQS: sq}
	queues := map[domain.Target]string{}
	for _, t := range targets {
		pl, err := a.Target(t)
		if err != nil {
			return d, err
		}
		d.Planners = append(d.Planners, pl)
		q := a.Settings.Queues[t]
		if q.URL == "" {
			return d, fmt.Errorf("%w: target %s needs %s", ErrUsage, t, settings.QueueURLVar(t))
		}
		d.QueueURLs = append(d.QueueURLs, q.URL)
		queues[t] = q.URL
	}
	if len(queues) > 0 {
		pub, err := publish.New(publish.Options{SQS: sq, Queues: queues})
		if err != nil {
			return d, err
		}
		d.Publisher = pub
	}
	if snapshot {
		snap, err := a.Snapshotter()
		if err != nil {
			return d, err
		}
		d.Snapshot = snap
	}
	return d, nil
}

// DiscoverClientsOf builds discover's clients from setup settings
// (settings.Setup): the AWS SDK clients at the settings' endpoints, and an
// Okta client when the Okta API is set.
//
// Errors: loading the AWS configuration.
func DiscoverClientsOf(ctx context.Context, s settings.Settings) (DiscoverClients, error) {
	cfg, err := awsclient.Config(ctx, awsclient.Options{Local: s.Local, Region: s.Region})
	if err != nil {
		return DiscoverClients{}, err
	}
	e := s.Endpoints
	c := DiscoverClients{
		SSOAdmin: awsclient.SSOAdmin(cfg, e.SSOAdmin), IdentityStore: awsclient.IdentityStore(cfg, e.IdentityStore),
		WorkMail: awsclient.WorkMail(cfg, e.WorkMail), Connect: awsclient.Connect(cfg, e.Connect),
	}
	if s.Okta.OrgURL != "" {
		c.Okta = OktaGroups{OrgURL: s.Okta.OrgURL, APIToken: s.Okta.APIToken}
	}
	return c, nil
}

// AdoptConnectDepsOf builds adopt connect's collaborators: the store, a
// Connect client behind the Connect consumer's quota (app.ConnectClient)
// and the configuration's Connect section.
//
// Errors: ErrUsage when the settings carry no configuration or it has no
// connect section.
func AdoptConnectDepsOf(a *app.App) (AdoptConnectDeps, error) {
	if !a.Settings.HasConfig || a.Settings.Config.Connect == nil {
		return AdoptConnectDeps{}, fmt.Errorf("%w: adopt connect needs the configuration document with a connect section (%s or %s)",
			ErrUsage, settings.EnvConfigFile, settings.EnvConfig)
	}
	return AdoptConnectDeps{
		Connect: a.ConnectClient(),
		Store:   a.Store, Config: *a.Settings.Config.Connect, TagKey: connect.DefaultTagKey,
	}, nil
}
