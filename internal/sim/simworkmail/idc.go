package simworkmail

import "github.com/idsync/idsync/internal/sim/simkit"

// authorizeIdentityCenterUser refuses to link a mailbox to IAM Identity
// Center user idcUserID when o has an identity provider configuration, the
// stand-in has an IdentityCenterAuthorizer, and the user is not assigned
// (directly or through a group) to the configured application; s.mu must be
// held. An empty id (none given, or UpdateUser clearing it) is not checked.
//
// Sources. WorkMail's administrator guide: "By default, IAM Identity Center
// users must be assigned to this application or belong to a group which is
// assigned to this application in order to access a mailbox in the Amazon
// WorkMail organization" and "Users without an IAM Identity Center
// assignment or user association cannot access Amazon WorkMail"
// (https://docs.aws.amazon.com/workmail/latest/adminguide/assigning_usersandgroups.html);
// its user editing page asks for "the user ID of the IAM Identity Center
// user you want to associate", found under the application's assigned users
// (edit_user.html). AWS's public IdC → WorkMail sync sample
// (OktaIdCWorkMailLambdaExample, create_workmail_user) calls CreateUser with
// IdentityProviderUserId and catches InvalidParameterException whose
// message contains "is not authorized", commenting "All users should have
// assignment to WorkMail application before they could be associated". The
// exact message is not published; the stand-in's contains that phrase and
// the rest is its own, so a client should rely on the code (and at most on
// that phrase).
func (s *Server) authorizeIdentityCenterUser(o *org, idcUserID string) *simkit.APIError {
	if idcUserID == "" || o.idp == nil || s.idc == nil {
		return nil
	}
	if s.idc.UserAssigned(o.idp.ApplicationArn, idcUserID) {
		return nil
	}
	return clientErr(codeInvalidParameter, "IAM Identity Center user %s is not authorized: it is not assigned to application %s, directly or through a group",
		idcUserID, o.idp.ApplicationArn)
}
