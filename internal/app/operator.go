package app

import (
	sdk "github.com/aws/aws-sdk-go-v2/service/workmail"

	"github.com/idsync/idsync/consumers/workmail"
	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/awsclient"
)

// WorkMailClient returns a WorkMail client for operator commands (idsync
// workmail export), built as the WorkMail target's is: the error
// classification and a meter at the target's quota (the WorkMail rate of
// the settings when set), against Settings.Endpoints.WorkMail.
func (a *App) WorkMailClient() *sdk.Client {
	return awsclient.WorkMail(a.AWS, a.Settings.Endpoints.WorkMail, a.meter(domain.TargetWorkMail, workmail.DefaultQuota()).Install)
}
