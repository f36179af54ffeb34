package app

import (
	sdkconnect "github.com/aws/aws-sdk-go-v2/service/connect"
	sdkworkmail "github.com/aws/aws-sdk-go-v2/service/workmail"

	"github.com/idsync/idsync/consumers/connect"
	"github.com/idsync/idsync/consumers/workmail"
	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/awsclient"
)

// WorkMailClient returns a WorkMail client as every WorkMail user of the
// App gets it (the target, the snapshot's planner and inventory, idsync
// workmail export): the error classification and the WorkMail meter (the
// target's quota, or the WorkMail rate of the settings when set), against
// Settings.Endpoints.WorkMail.
func (a *App) WorkMailClient() *sdkworkmail.Client {
	return awsclient.WorkMail(a.AWS, a.Settings.Endpoints.WorkMail, a.meter(domain.TargetWorkMail, workmail.DefaultQuota()).Install)
}

// ConnectClient returns a Connect client as every Connect user of the App
// gets it (the target, the snapshot's planner and inventory, idsync adopt
// connect): the error classification and the Connect meter (a budget per
// operation at the target's quota, or the Connect rate of the settings
// when set), against Settings.Endpoints.Connect.
func (a *App) ConnectClient() *sdkconnect.Client {
	return awsclient.Connect(a.AWS, a.Settings.Endpoints.Connect, a.meter(domain.TargetConnect, connect.DefaultQuota()).Install)
}
