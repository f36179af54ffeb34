package app

import (
	"context"
	"fmt"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/awsclient"
	"github.com/idsync/idsync/internal/enrich"
	"github.com/idsync/idsync/internal/idcresolve"
	"github.com/idsync/idsync/internal/oktaapi"
	"github.com/idsync/idsync/internal/settings"
	"github.com/idsync/idsync/producers/idcsnapshot"
)

// CheckConfig refuses a configuration the pipeline cannot serve with the
// settings' Okta API access: a Connect group without an IdC group id while
// there is no Okta API access (its members would only ever get
// provisional names, which no snapshot corrects). The hook and the
// consumers call it before they start.
//
// Errors: enrich.CheckConfig's (Permanent, wrapping enrich.ErrInvalid and
// naming every such group), wrapped with ErrInvalid.
func (a *App) CheckConfig() error {
	if err := enrich.CheckConfig(a.Settings.Config, a.Settings.OktaUsers.Configured()); err != nil {
		return fmt.Errorf("%w: %w (set %s or %s, or give the group its idcId)", ErrInvalid, err,
			settings.EnvOktaAPISecretID, settings.EnvOktaAPISecretParameter)
	}
	return nil
}

// Enricher returns the enricher of target t's consumer: for Connect, the
// person's names from Okta's Users API when the settings give Okta API
// access (else provisional names from the display name or login); for
// WorkMail, the person's IdC user id looked up in IdentityStore (by
// external id under snapshot.scimIssuer, else by userName), through a
// client metered at the snapshot's IdC rate.
//
// Errors: ErrInvalid for a target that is not configured; unusable local
// Okta API credentials; the constructors'.
func (a *App) Enricher(t domain.Target) (*enrich.Enricher, error) {
	cfg := domain.Config{Snapshot: a.Settings.Config.Snapshot}
	o := enrich.Options{Logger: a.log.With("component", "enrich-"+string(t))}
	switch t {
	case domain.TargetConnect:
		if a.Settings.Config.Connect == nil {
			return nil, fmt.Errorf("%w: the configuration has no %s section", ErrInvalid, t)
		}
		cfg.Connect = a.Settings.Config.Connect
		okta, err := a.oktaUsers()
		if err != nil {
			return nil, err
		}
		if okta != nil {
			o.Okta = okta
		}
	case domain.TargetWorkMail:
		if a.Settings.Config.WorkMail == nil {
			return nil, fmt.Errorf("%w: the configuration has no %s section", ErrInvalid, t)
		}
		cfg.WorkMail = a.Settings.Config.WorkMail
		rate := a.Settings.IdCRate
		if rate <= 0 {
			rate = idcsnapshot.DefaultRate
		}
		meter := awsclient.NewMeter(awsclient.MeterOptions{Quota: awsclient.Quota{Rate: rate, Burst: 1}})
		r, err := idcresolve.New(idcresolve.Options{
			IdentityStore:   awsclient.IdentityStore(a.AWS, a.Settings.Endpoints.IdentityStore, meter.Install),
			IdentityStoreID: cfg.Snapshot.IdentityStoreID, Issuer: cfg.Snapshot.SCIMIssuer,
			Logger: a.log.With("component", "idcresolve"),
		})
		if err != nil {
			return nil, err
		}
		o.IdC = r
	default:
		return nil, fmt.Errorf("%w: unknown target %q", ErrInvalid, t)
	}
	o.Config = cfg
	return enrich.New(o)
}

// oktaUsers returns the Okta Users API client the settings give access
// to, or nil when they give none. It performs no I/O: the credentials are
// read on first use (and the local ones parsed now).
//
// Errors: ErrInvalid wrapping oktaapi's for unusable local credentials
// (naming the field at fault, never a value); oktaapi.New's.
func (a *App) oktaUsers() (*oktaapi.Client, error) {
	o := a.Settings.OktaUsers
	creds, err := secretSource(a, o.SecretID, o.Parameter, o.Value, oktaapi.FromSecretsManager, oktaapi.FromSSM,
		func(v string) (func(context.Context) (oktaapi.Credentials, error), error) {
			c, err := oktaapi.ParseCredentials([]byte(v))
			if err != nil {
				return nil, fmt.Errorf("%w: %s: %w", ErrInvalid, settings.EnvOktaAPISecret, err)
			}
			return oktaapi.Static(c), nil
		})
	if err != nil || creds == nil {
		return nil, err
	}
	return oktaapi.New(oktaapi.Options{Credentials: creds, Rate: o.Rate, Logger: a.log.With("component", "okta-api"), Clock: a.now})
}
