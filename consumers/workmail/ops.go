package workmail

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/workmail"
	"github.com/aws/aws-sdk-go-v2/service/workmail/types"

	"github.com/idsync/idsync/consumers"
	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/awsclient"
)

// run is one Apply: the op's facts and the state it reaches.
type run struct {
	a      *Applier
	person string
	p      domain.Person
	state  domain.TargetState
}

func (r *run) org() *string { return aws.String(r.a.cfg.OrganizationID) }

// do runs one op and records the state it reaches.
func (r *run) do(ctx context.Context, op domain.Op) (consumers.Step, error) {
	switch op.Kind {
	case domain.OpCreate:
		return r.create(ctx, op)
	case domain.OpAdopt:
		return r.settleIntent(ctx, op)
	}
	id := op.RemoteID
	if id == "" && op.Kind == domain.OpRegister {
		id = r.state.RemoteID
	}
	res := consumers.Step{RemoteID: id}
	if id == "" {
		return res, domain.Permanent(fmt.Errorf("%w: %s", ErrNoRemoteID, op.Kind))
	}
	var err error
	switch op.Kind {
	case domain.OpRegister, domain.OpEnable:
		res.Note, err = r.register(ctx, id, op.Email)
		if err == nil {
			r.state.Status, r.state.Email, r.state.DisabledAt = domain.RemoteEnabled, op.Email, time.Time{}
		}
	case domain.OpUpdateAttributes:
		err = r.updateAttributes(ctx, id, op.DisplayName, op.FirstName, op.LastName, op.IdentityProviderUserID)
		switch {
		case err == nil:
			r.state.DisplayName, r.state.FirstName, r.state.LastName = op.DisplayName, op.FirstName, op.LastName
			if op.IdentityProviderUserID != "" {
				r.state.IdentityProviderUserID = op.IdentityProviderUserID
				res.Note = "linked to IdC user " + op.IdentityProviderUserID
			}
		case op.IdentityProviderUserID != "" && notAssigned(err):
			err = r.unassigned("link user "+id, op.IdentityProviderUserID, err)
		}
	case domain.OpUpdateEmail:
		res.Note, err = r.updateEmail(ctx, id, op.Email)
		if err == nil {
			r.state.Email = op.Email
		}
	case domain.OpDisable:
		res.Note, err = r.disable(ctx, id)
		if err == nil {
			r.state.Status = domain.RemoteDisabled
			r.state.DisabledAt = r.a.now().UTC()
		}
	case domain.OpDelete:
		res.Note, err = r.delete(ctx, id)
		if err == nil {
			r.state = domain.TargetState{Target: domain.TargetWorkMail, Managed: true, Status: domain.RemoteDeleted, Version: r.state.Version}
		}
	case domain.OpExportStart:
		res.Note, res.KeepState, err = r.exportStart(ctx, id, op)
	case domain.OpExportCheck:
		res.Note, res.KeepState, err = r.exportCheck(ctx, id, op)
	default:
		err = domain.Permanent(fmt.Errorf("workmail: op %q is not a WorkMail op", op.Kind))
	}
	return res, err
}

// create creates the user, or adopts idsync's own after a crash. When the
// person's IdC user id is known it first looks for a user already carrying
// it, so that neither a retry nor a login renamed in between makes a second
// mailbox.
func (r *run) create(ctx context.Context, op domain.Op) (consumers.Step, error) {
	if op.IdentityProviderUserID != "" {
		own, others, err := r.byIdCUserID(ctx, op)
		if err != nil {
			return consumers.Step{}, err
		}
		if own != nil {
			return r.adopt(ctx, op, *own, adoptedByIdCID)
		}
		if len(others) > 0 {
			return consumers.Step{}, domain.Permanent(fmt.Errorf(
				"%w: create: the person's IdC user id is already on users %s, none named as planned and not exactly one enabled; not choosing one and not creating another mailbox",
				ErrUnmanaged, strings.Join(others, ", ")))
		}
	}
	out, err := r.a.api.CreateUser(ctx, &sdk.CreateUserInput{
		OrganizationId:         r.org(),
		Name:                   aws.String(op.Name),
		DisplayName:            aws.String(op.DisplayName),
		FirstName:              optional(op.FirstName),
		LastName:               optional(op.LastName),
		IdentityProviderUserId: optional(op.IdentityProviderUserID),
	})
	if err == nil {
		id := aws.ToString(out.UserId)
		r.created(op, id, domain.RemoteDisabled, "")
		return consumers.Step{RemoteID: id}, nil
	}
	if notAssigned(err) {
		return consumers.Step{}, r.unassigned("create", op.IdentityProviderUserID, err)
	}
	if code := awsclient.ErrorCode(err); code != codeNameAvailability && code != codeEmailInUse {
		return consumers.Step{}, awsclient.Failure(err)
	}
	u, how, err := r.findOwn(ctx, op)
	if err != nil {
		return consumers.Step{}, err
	}
	return r.adopt(ctx, op, u, how)
}

// adopt takes over user u, found by rule how, as the result of create op:
// attributes that differ from op are aligned (and the IdC user id set when
// op knows it and u has none).
func (r *run) adopt(ctx context.Context, op domain.Op, u user, how string) (consumers.Step, error) {
	res := consumers.Step{RemoteID: u.id, Adopted: true, Note: "adopted existing user " + u.id + " (" + how + ")"}
	r.a.log.InfoContext(ctx, "workmail user adopted", "person", r.person, "remoteId", u.id, "rule", how)
	setIdP := ""
	if u.idpUserID == "" && op.IdentityProviderUserID != "" {
		setIdP = op.IdentityProviderUserID
	}
	if u.displayName != op.DisplayName || u.firstName != op.FirstName || u.lastName != op.LastName || setIdP != "" {
		if err := r.updateAttributes(ctx, u.id, op.DisplayName, op.FirstName, op.LastName, setIdP); err != nil {
			if notAssigned(err) {
				return res, r.unassigned("link adopted user "+u.id, setIdP, err)
			}
			return res, err
		}
		res.Note += "; attributes aligned"
	}
	op.Name = u.name // WorkMail cannot rename: the adopted user's Name stays
	if setIdP == "" {
		op.IdentityProviderUserID = u.idpUserID
	}
	r.created(op, u.id, u.status(), u.email)
	return res, nil
}

// created records the state after a create or an adoption.
func (r *run) created(op domain.Op, id string, status domain.RemoteStatus, email string) {
	r.state = domain.TargetState{
		Target: domain.TargetWorkMail, Managed: true, RemoteID: id, Status: status,
		Name: op.Name, Email: email, DisplayName: op.DisplayName, FirstName: op.FirstName, LastName: op.LastName,
		IdentityProviderUserID: op.IdentityProviderUserID, Version: r.state.Version,
	}
}

// unassigned is the error of a call (what, failed with err) that WorkMail
// refused because the person's IdC user idcUserID is not assigned to its
// IdC application: retryable while the person's latest fact is younger than
// the assignment grace, permanent after it. Its text holds ids and times,
// never the service's message.
func (r *run) unassigned(what, idcUserID string, err error) error {
	grace := r.a.cfg.AssignmentGrace()
	latest := latestFact(r.p)
	until := latest.Add(grace)
	cause := awsclient.Failure(err)
	if now := r.a.now(); latest.IsZero() || !now.Before(until) {
		return domain.Permanent(fmt.Errorf("workmail %s: %w: IdC user %s, still refused %s after the person's latest fact (grace %s); assign the user, or a group of theirs, to the application: %w",
			what, ErrNotAssigned, idcUserID, now.Sub(latest).Round(time.Second), grace, cause))
	}
	return domain.Retryable(fmt.Errorf("workmail %s: %w: IdC user %s, retried until %s (%s after the person's latest fact): %w",
		what, ErrNotAssigned, idcUserID, until.UTC().Format(time.RFC3339), grace, cause))
}

// latestFact is the time of the newest fact folded into p (profile,
// status or membership), or zero when there is none.
func latestFact(p domain.Person) time.Time {
	var latest time.Time
	for _, s := range []domain.Stamped{p.Login, p.FirstName, p.LastName, p.DisplayName, p.Email, p.Department, p.Title, p.Status} {
		if s.At.After(latest) {
			latest = s.At
		}
	}
	for _, m := range p.Groups {
		if m.At.After(latest) {
			latest = m.At
		}
	}
	return latest
}

// register enables user id with primary address email, and makes sure
// the user ends ENABLED with that primary address whatever
// RegisterToWorkMail answers for a user that is already enabled:
//   - the state reached says the user is ENABLED (a create adopted an
//     enabled user): no RegisterToWorkMail; the primary address is changed
//     when it is another one.
//   - 200: the operation "performs no change if the user ... is enabled",
//     so the answer does not say the address was set; DescribeUser tells,
//     and another primary address is changed.
//   - EntityAlreadyRegisteredException: the same, from DescribeUser.
//
// An address held by another entity fails permanently.
func (r *run) register(ctx context.Context, id, email string) (string, error) {
	if r.state.Status == domain.RemoteEnabled && r.state.RemoteID == id {
		if strings.EqualFold(r.state.Email, email) {
			return "already enabled with that address", nil
		}
		if _, err := r.updateEmail(ctx, id, email); err != nil {
			return "", err
		}
		return "already enabled; primary address changed", nil
	}
	_, err := r.a.api.RegisterToWorkMail(ctx, &sdk.RegisterToWorkMailInput{
		OrganizationId: r.org(), EntityId: aws.String(id), Email: aws.String(email),
	})
	switch awsclient.ErrorCode(err) {
	case "":
		if err != nil {
			return "", awsclient.Failure(err)
		}
		if r.state.Status == domain.RemoteDisabled && r.state.RemoteID == id && r.state.Email == "" {
			// A user idsync created DISABLED and never registered has no
			// address to keep: a plain success set the planned one, so no
			// DescribeUser (one call fewer per joiner on the shared budget).
			return "", nil
		}
		return r.ensurePrimary(ctx, id, email, "")
	case codeAlreadyRegistered:
		return r.ensurePrimary(ctx, id, email, "already registered")
	case codeEmailInUse:
		holder, herr := r.addressHolder(ctx, email, awsclient.Failure(err))
		if herr != nil {
			return "", herr
		}
		if holder.id == id && holder.state == string(types.EntityStateEnabled) && strings.EqualFold(holder.email, email) {
			return "already registered with that address", nil
		}
		if holder.id == id {
			return "", awsclient.Failure(err)
		}
		return "", domain.Permanent(fmt.Errorf("%w: the address is held by entity %s: %w", ErrAddressInUse, holder.id, awsclient.Failure(err)))
	default:
		return "", awsclient.Failure(err)
	}
}

// ensurePrimary reads user id back after a register that did not fail
// (note says how it answered; "" for a plain success) and changes its
// primary address to email when it has another one: an already enabled
// user keeps its address through RegisterToWorkMail.
func (r *run) ensurePrimary(ctx context.Context, id, email, note string) (string, error) {
	u, err := r.describe(ctx, id)
	if err != nil {
		return "", err
	}
	if strings.EqualFold(u.email, email) {
		if note == "" {
			return "", nil
		}
		return note + " with that address", nil
	}
	if note == "" {
		note = "already enabled"
	}
	if _, err := r.updateEmail(ctx, id, email); err != nil {
		return "", err
	}
	return note + "; primary address changed", nil
}

// updateEmail changes user id's primary address. An address user id
// already has as its primary address is done; one held by another entity
// fails permanently; a mailbox found not enabled (deregistered outside
// idsync) is retryable: the drift check re-enables it.
func (r *run) updateEmail(ctx context.Context, id, email string) (string, error) {
	_, err := r.a.api.UpdatePrimaryEmailAddress(ctx, &sdk.UpdatePrimaryEmailAddressInput{
		OrganizationId: r.org(), EntityId: aws.String(id), Email: aws.String(email),
	})
	if awsclient.ErrorCode(err) == codeEntityState {
		// The mailbox is not enabled although idsync recorded it so: it was
		// changed outside idsync. Not this event's fault: retried, then left
		// to the drift check, which re-enables it, and the reconciliation
		// after it, which changes the address.
		return "", domain.Retryable(fmt.Errorf("workmail change address of %s: mailbox not enabled at WorkMail (changed outside idsync): %w", id, err))
	}
	if awsclient.ErrorCode(err) != codeEmailInUse {
		return "", awsclient.Failure(err)
	}
	holder, herr := r.addressHolder(ctx, email, awsclient.Failure(err))
	if herr != nil {
		return "", herr
	}
	if holder.id == id && strings.EqualFold(holder.email, email) {
		return "already the primary address", nil
	}
	if holder.id == id {
		return "", awsclient.Failure(err)
	}
	return "", domain.Permanent(fmt.Errorf("%w: the address is held by entity %s: %w", ErrAddressInUse, holder.id, awsclient.Failure(err)))
}

// addressHolder finds the user holding email. When no user holds it (a
// group or resource does), it fails permanently with ErrAddressInUse
// naming that entity and wrapping cause.
func (r *run) addressHolder(ctx context.Context, email string, cause error) (user, error) {
	u, err := r.describe(ctx, email)
	if awsclient.ErrorCode(err) != codeEntityNotFound {
		return u, err
	}
	what, herr := r.addressHolderEntity(ctx, email)
	if herr != nil {
		return user{}, herr
	}
	return user{}, domain.Permanent(fmt.Errorf("%w: the address is held by %s: %w", ErrAddressInUse, what, cause))
}

// updateAttributes sets the user's names, and its IdC user id when idp is
// not empty. Empty first and last names clear them.
func (r *run) updateAttributes(ctx context.Context, id, display, first, last, idp string) error {
	_, err := r.a.api.UpdateUser(ctx, &sdk.UpdateUserInput{
		OrganizationId: r.org(), UserId: aws.String(id),
		DisplayName: aws.String(display), FirstName: aws.String(first), LastName: aws.String(last),
		IdentityProviderUserId: optional(idp),
	})
	return awsclient.Failure(err)
}

// disable deregisters user id; a user already DISABLED is done.
func (r *run) disable(ctx context.Context, id string) (string, error) {
	_, err := r.a.api.DeregisterFromWorkMail(ctx, &sdk.DeregisterFromWorkMailInput{
		OrganizationId: r.org(), EntityId: aws.String(id),
	})
	if awsclient.ErrorCode(err) != codeEntityState {
		return "", awsclient.Failure(err)
	}
	u, derr := r.describe(ctx, id)
	if derr != nil {
		return "", derr
	}
	if u.state == string(types.EntityStateDisabled) {
		return "already disabled", nil
	}
	return "", awsclient.Failure(err)
}

// delete deletes user id after DescribeUser shows it DISABLED. An ENABLED
// user is refused; a DELETED or unknown one is done.
func (r *run) delete(ctx context.Context, id string) (string, error) {
	u, err := r.describe(ctx, id)
	switch {
	case awsclient.ErrorCode(err) == codeEntityNotFound:
		return "already gone", nil
	case err != nil:
		return "", err
	}
	switch u.state {
	case string(types.EntityStateDeleted):
		return "already deleted", nil
	case string(types.EntityStateDisabled):
	case string(types.EntityStateEnabled):
		r.a.log.WarnContext(ctx, "workmail delete refused: user is enabled", "person", r.person, "remoteId", id)
		return "", domain.Permanent(fmt.Errorf("%w: user %s", ErrEnabledUser, id))
	default:
		return "", domain.Permanent(fmt.Errorf("workmail user %s is in state %q; not deleting", id, u.state))
	}
	_, err = r.a.api.DeleteUser(ctx, &sdk.DeleteUserInput{OrganizationId: r.org(), UserId: aws.String(id)})
	if awsclient.ErrorCode(err) == codeEntityNotFound {
		return "already gone", nil
	}
	return "", awsclient.Failure(err)
}

// user is what the Applier needs of a DescribeUser answer.
type user struct {
	id, name, email, state           string
	displayName, firstName, lastName string
	idpUserID                        string
	everEnabled                      bool
	enabledAt                        time.Time // EnabledDate; zero when never enabled
}

// status is what u's State means to idsync: enabled, or disabled (a
// user that is not enabled: never registered, or deregistered).
func (u user) status() domain.RemoteStatus {
	if u.state == string(types.EntityStateEnabled) {
		return domain.RemoteEnabled
	}
	return domain.RemoteDisabled
}

// describe calls DescribeUser with a user id, name or email address. The
// error is classified; awsclient.ErrorCode still sees the service's code.
func (r *run) describe(ctx context.Context, ident string) (user, error) {
	out, err := r.a.api.DescribeUser(ctx, &sdk.DescribeUserInput{OrganizationId: r.org(), UserId: aws.String(ident)})
	if err != nil {
		return user{}, awsclient.Failure(err)
	}
	return user{
		id: aws.ToString(out.UserId), name: aws.ToString(out.Name), email: aws.ToString(out.Email),
		state:       string(out.State),
		displayName: aws.ToString(out.DisplayName), firstName: aws.ToString(out.FirstName), lastName: aws.ToString(out.LastName),
		idpUserID:   aws.ToString(out.IdentityProviderUserId),
		everEnabled: out.EnabledDate != nil || out.MailboxProvisionedDate != nil,
		enabledAt:   aws.ToTime(out.EnabledDate),
	}, nil
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}
