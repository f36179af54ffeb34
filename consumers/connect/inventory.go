package connect

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconnect "github.com/aws/aws-sdk-go-v2/service/connect"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/awsclient"
)

// InventoryAPI is the part of the Connect API an Inventory uses: one read
// (*connect.Client satisfies it). The IdC snapshot's drift check lists the
// instance's agents with it, so it needs no Connect write.
type InventoryAPI interface {
	SearchUsers(ctx context.Context, in *awsconnect.SearchUsersInput, optFns ...func(*awsconnect.Options)) (*awsconnect.SearchUsersOutput, error)
}

// inventoryPage is the SearchUsers page size: the most Connect returns
// (MaxResult500).
const inventoryPage = 500

// Inventory lists the instance's agents that carry idsync's ownership tag,
// as they are, for the drift check. It is safe for concurrent use.
type Inventory struct {
	api      InventoryAPI
	instance string
	tagKey   string
}

// InventoryOptions configure NewInventory.
type InventoryOptions struct {
	// API searches the instance's users (required).
	API InventoryAPI
	// Config names the instance.
	Config domain.ConnectConfig
	// TagKey is the ownership tag's key ("" means DefaultTagKey, as
	// Options.TagKey).
	TagKey string
}

// NewInventory returns an Inventory of o.Config's instance.
//
// Errors: domain.ErrInvalidConfig (wrapped) when o.API is nil or o.Config
// has no instance id.
func NewInventory(o InventoryOptions) (*Inventory, error) {
	if o.API == nil {
		return nil, fmt.Errorf("%w: connect inventory needs a client", domain.ErrInvalidConfig)
	}
	if o.Config.InstanceID == "" {
		return nil, fmt.Errorf("%w: connect.instanceId is empty", domain.ErrInvalidConfig)
	}
	tagKey := o.TagKey
	if tagKey == "" {
		tagKey = DefaultTagKey
	}
	return &Inventory{api: o.API, instance: o.Config.InstanceID, tagKey: tagKey}, nil
}

// Accounts lists the agents carrying the ownership tag (whatever its
// value), keyed by user id, each with its SecurityProfileIds,
// RoutingProfileId, HierarchyGroupId and first and last name as
// SearchUsers tells them. A tag condition matches a key and a value, and
// the value is each person's key, so the search has no filter: every page
// of 500 agents is read (one request per 500 agents of the instance) and
// untagged agents are dropped here. Connect agents are never disabled, so
// Status is not observed. SearchUsers reads an index that may lag
// changes by a few seconds (see DefaultVisibilityWindow); an agent changed
// just before may be seen as it was. Read-only, so safe to repeat.
//
// Errors: the first failed page's (classified by awsclient.Failure):
// nothing is returned for a partial listing.
func (inv *Inventory) Accounts(ctx context.Context) (map[string]domain.Observed, error) {
	out := map[string]domain.Observed{}
	pages := awsconnect.NewSearchUsersPaginator(inv.api, &awsconnect.SearchUsersInput{
		InstanceId: aws.String(inv.instance), MaxResults: aws.Int32(inventoryPage),
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("connect: search the agents of instance %s: %w", inv.instance, awsclient.Failure(err))
		}
		for _, u := range page.Users {
			if _, owned := u.Tags[inv.tagKey]; !owned {
				continue
			}
			id := aws.ToString(u.Id)
			st := domain.TargetState{Target: domain.TargetConnect, RemoteID: id,
				SecurityProfileIDs: u.SecurityProfileIds, RoutingProfileID: aws.ToString(u.RoutingProfileId),
				HierarchyGroupID: aws.ToString(u.HierarchyGroupId)}
			fields := []domain.AccountField{domain.FieldSecurityProfiles, domain.FieldRoutingProfile, domain.FieldHierarchyGroup}
			if ii := u.IdentityInfo; ii != nil {
				st.FirstName, st.LastName = aws.ToString(ii.FirstName), aws.ToString(ii.LastName)
				fields = append(fields, domain.FieldFirstName, domain.FieldLastName)
			}
			out[id] = domain.Observed{State: st, Fields: fields}
		}
	}
	return out, nil
}
