package app

import (
	"log/slog"

	"github.com/idsync/idsync/consumers"
	"github.com/idsync/idsync/consumers/connect"
	"github.com/idsync/idsync/consumers/workmail"
	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/awsclient"
	"github.com/idsync/idsync/producers/idcsnapshot"
)

// targetDef is one provisioning target idsync can drive: whether the
// configuration enables it, and how to build its consumers.Target. Adding
// a target is a package implementing consumers.Target (passing
// consumers/targettest) and one entry here.
type targetDef struct {
	name       domain.Target
	configured func(domain.Config) bool
	build      func(a *App) (consumers.Target, error)
}

func targets() []targetDef {
	return []targetDef{
		{domain.TargetWorkMail, func(c domain.Config) bool { return c.WorkMail != nil }, func(a *App) (consumers.Target, error) {
			api := a.WorkMailClient()
			cfg := *a.Settings.Config.WorkMail
			var idc *workmail.IdentityCenter
			if ic := cfg.IdentityCenter; ic.InstanceARN != "" || ic.ApplicationARN != "" {
				idc = &workmail.IdentityCenter{InstanceARN: ic.InstanceARN, ApplicationARN: ic.ApplicationARN}
			}
			return workmail.New(workmail.Options{API: api, Config: cfg, IdentityCenter: idc, Logger: a.targetLog(domain.TargetWorkMail), Clock: a.now})
		}},
		{domain.TargetConnect, func(c domain.Config) bool { return c.Connect != nil }, func(a *App) (consumers.Target, error) {
			api := a.ConnectClient()
			return connect.New(connect.Options{API: api, Config: *a.Settings.Config.Connect, Logger: a.targetLog(domain.TargetConnect), Clock: a.now})
		}},
	}
}

// plannerDef is how the snapshot plans a target to reconcile it: a
// planner over a read-only client (the pre-flight reads), so the
// snapshot's role needs no target write.
type plannerDef struct {
	name       domain.Target
	configured func(domain.Config) bool
	build      func(a *App) (idcsnapshot.Planner, error)
}

func planners() []plannerDef {
	return []plannerDef{
		{domain.TargetWorkMail, func(c domain.Config) bool { return c.WorkMail != nil }, func(a *App) (idcsnapshot.Planner, error) {
			api := a.WorkMailClient()
			return workmail.NewPlanner(workmail.PlannerOptions{API: api, Config: *a.Settings.Config.WorkMail})
		}},
		{domain.TargetConnect, func(c domain.Config) bool { return c.Connect != nil }, func(a *App) (idcsnapshot.Planner, error) {
			api := a.ConnectClient()
			return connect.NewPlanner(connect.PlannerOptions{API: api, Config: *a.Settings.Config.Connect})
		}},
	}
}

// inventoryDef is how the snapshot's drift check lists a target's
// accounts: an inventory over a read-only client, so the snapshot's role
// needs no target write.
type inventoryDef struct {
	name       domain.Target
	configured func(domain.Config) bool
	build      func(a *App) (idcsnapshot.Inventory, error)
}

func inventories() []inventoryDef {
	return []inventoryDef{
		{domain.TargetWorkMail, func(c domain.Config) bool { return c.WorkMail != nil }, func(a *App) (idcsnapshot.Inventory, error) {
			api := a.WorkMailClient()
			return workmail.NewInventory(workmail.InventoryOptions{API: api, Config: *a.Settings.Config.WorkMail})
		}},
		{domain.TargetConnect, func(c domain.Config) bool { return c.Connect != nil }, func(a *App) (idcsnapshot.Inventory, error) {
			api := a.ConnectClient()
			return connect.NewInventory(connect.InventoryOptions{API: api, Config: *a.Settings.Config.Connect})
		}},
	}
}

// targetLog is the logger of target t's applier.
func (a *App) targetLog(t domain.Target) *slog.Logger { return a.log.With("component", string(t)) }

// meter returns the client-side budget of target t: its default quota q,
// with the rate the settings give for t (settings.RateVar) when set. It is
// made once per App: every client of t an App builds (the applier's, the
// snapshot's planner and inventory, an operator command's) shares it, so
// that together they keep to t's quota.
func (a *App) meter(t domain.Target, q awsclient.Quota) *awsclient.Meter {
	a.metersMu.Lock()
	defer a.metersMu.Unlock()
	if m, ok := a.meters[t]; ok {
		return m
	}
	if r, ok := a.Settings.Rates[t]; ok && r > 0 {
		q.Rate = r
	}
	m := awsclient.NewMeter(awsclient.MeterOptions{Quota: q})
	if a.meters == nil {
		a.meters = map[domain.Target]*awsclient.Meter{}
	}
	a.meters[t] = m
	return m
}
