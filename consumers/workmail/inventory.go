package workmail

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/workmail"
	"github.com/aws/aws-sdk-go-v2/service/workmail/types"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/awsclient"
)

// InventoryAPI is the part of the WorkMail API an Inventory uses: one read
// (*workmail.Client satisfies it). The IdC snapshot's drift check lists
// the organisation's users with it, so it needs no WorkMail write.
type InventoryAPI interface {
	ListUsers(ctx context.Context, in *sdk.ListUsersInput, optFns ...func(*sdk.Options)) (*sdk.ListUsersOutput, error)
}

// inventoryPage is the ListUsers page size: the most WorkMail returns.
const inventoryPage = 100

// Inventory lists the organisation's mailboxes as they are, for the drift
// check. It is safe for concurrent use.
type Inventory struct {
	api InventoryAPI
	org string
}

// InventoryOptions configure NewInventory.
type InventoryOptions struct {
	// API lists the organisation's users (required).
	API InventoryAPI
	// Config names the organisation.
	Config domain.WorkMailConfig
}

// NewInventory returns an Inventory of o.Config's organisation.
//
// Errors: ErrConfig when o.API is nil or the organisation id is not a
// WorkMail organisation id.
func NewInventory(o InventoryOptions) (*Inventory, error) {
	if o.API == nil {
		return nil, fmt.Errorf("%w: no WorkMail client", ErrConfig)
	}
	if !reOrganizationID.MatchString(o.Config.OrganizationID) {
		return nil, fmt.Errorf("%w: organisation id %q does not match %s", ErrConfig, o.Config.OrganizationID, reOrganizationID)
	}
	return &Inventory{api: o.API, org: o.Config.OrganizationID}, nil
}

// Accounts lists every user of the organisation (ListUsers, every page of
// 100: one request per 100 users, groups and resources excluded), keyed by
// user id, each with what ListUsers tells of it: State (ENABLED as
// domain.RemoteEnabled, DISABLED as domain.RemoteDisabled), the primary
// Email (observed only for an ENABLED user: deregistering a user takes its
// address away), DisplayName and IdentityProviderUserId. DELETED users
// are left out: to the drift check they are missing. It reads every user,
// managed or not; the caller compares only those it manages. Read-only,
// so safe to repeat.
//
// Errors: the first failed page's (classified by awsclient.Failure):
// nothing is returned for a partial listing.
func (inv *Inventory) Accounts(ctx context.Context) (map[string]domain.Observed, error) {
	out := map[string]domain.Observed{}
	pages := sdk.NewListUsersPaginator(inv.api, &sdk.ListUsersInput{OrganizationId: aws.String(inv.org), MaxResults: aws.Int32(inventoryPage)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("workmail: list the users of %s: %w", inv.org, awsclient.Failure(err))
		}
		for _, u := range page.Users {
			id := aws.ToString(u.Id)
			var status domain.RemoteStatus
			switch u.State {
			case types.EntityStateEnabled:
				status = domain.RemoteEnabled
			case types.EntityStateDisabled:
				status = domain.RemoteDisabled
			default:
				continue
			}
			o := domain.Observed{
				State: domain.TargetState{Target: domain.TargetWorkMail, RemoteID: id, Status: status,
					DisplayName: aws.ToString(u.DisplayName), IdentityProviderUserID: aws.ToString(u.IdentityProviderUserId)},
				Fields: []domain.AccountField{domain.FieldStatus, domain.FieldDisplayName, domain.FieldIdentityProviderUserID},
			}
			if status == domain.RemoteEnabled {
				o.State.Email = aws.ToString(u.Email)
				o.Fields = append(o.Fields, domain.FieldEmail)
			}
			out[id] = o
		}
	}
	return out, nil
}
