package opscli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/connect"
	cntypes "github.com/aws/aws-sdk-go-v2/service/connect/types"
	"github.com/oklog/ulid/v2"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/store"
)

// AdoptConnectAPI is the part of the Connect client idsync adopt connect
// uses; *connect.Client satisfies it.
type AdoptConnectAPI interface {
	ListUsers(ctx context.Context, in *connect.ListUsersInput, optFns ...func(*connect.Options)) (*connect.ListUsersOutput, error)
	DescribeUser(ctx context.Context, in *connect.DescribeUserInput, optFns ...func(*connect.Options)) (*connect.DescribeUserOutput, error)
	TagResource(ctx context.Context, in *connect.TagResourceInput, optFns ...func(*connect.Options)) (*connect.TagResourceOutput, error)
}

// AdoptStore is the part of the store idsync adopt connect uses.
type AdoptStore interface {
	AllRecords(ctx context.Context) ([]store.Record, error)
	PutTarget(ctx context.Context, key string, next domain.TargetState, expected int64) (domain.TargetState, error)
	Append(ctx context.Context, entries ...domain.LedgerEntry) ([]domain.LedgerEntry, error)
}

// AdoptConnectDeps are adopt connect's collaborators.
type AdoptConnectDeps struct {
	Connect AdoptConnectAPI
	Store   AdoptStore
	// Config is the Connect section of the configuration.
	Config domain.ConnectConfig
	// TagKey is the ownership tag's key (consumers/connect.DefaultTagKey).
	TagKey string
	// Clock and NewID stamp the ledger rows (defaults time.Now and a ULID).
	Clock func() time.Time
	NewID func() string
}

// AdoptConnectArgs are adopt connect's options.
type AdoptConnectArgs struct {
	// Apply tags the agents and records them; without it nothing changes.
	Apply  bool
	Format Format
}

// Adoption outcomes (the OUTCOME column).
const (
	AdoptWould    = "would adopt"
	AdoptDone     = "adopted"
	AdoptOwned    = "already idsync's: recorded"
	AdoptOwnedDry = "already idsync's: would record"
	AdoptForeign  = "refused: tagged for another person"
	AdoptFailed   = "failed"
)

// AdoptRow is one agent whose username is a managed person's planned
// username.
type AdoptRow struct {
	PersonKey string `json:"personKey"`
	Login     string `json:"login"`
	Username  string `json:"username"`
	AgentID   string `json:"agentId"`
	// Tag is the agent's ownership tag value before the command ("" when
	// it had none).
	Tag     string `json:"tag,omitempty"`
	Outcome string `json:"outcome"`
	Reason  string `json:"reason,omitempty"`
}

// AdoptSummary counts what adopt connect found and did.
type AdoptSummary struct {
	// Candidates are the agents listed; Adopted those tagged (or found
	// tagged) and recorded, Would those a dry run would adopt, Refused
	// those tagged for another person, Failed those that could not be
	// adopted.
	Candidates, Adopted, Would, Refused, Failed int
}

// ErrAdoptFailed is returned when at least one adoption failed.
var ErrAdoptFailed = errors.New("some agents could not be adopted")

// AdoptConnect finds the Connect agents idsync should manage but does not
// know, as after a migration from AWS's Okta → Connect sample: for every
// person idsync manages who qualifies for an agent (a member of a mapped
// Connect group, active) and whose Connect target state is not managed
// yet, the agent whose Username equals the username idsync would create
// for them (connect.usernameTemplate, compared without regard to case).
// It prints one row per such agent; with Apply it adopts each one that
// carries no ownership tag: TagResource with the ownership tag (the person
// key, as the Connect consumer tags the agents it creates), then the
// person's Connect target state (managed, the agent's id, its names and
// profiles as they are, so that the next plan changes only what differs
// from the configuration), then one ledger row. An agent tagged for
// another person is never adopted; one already tagged for this person is
// recorded without tagging. Agents of people who do not qualify are never
// listed (the consumer would remove them). Idempotent: a second run finds
// the adopted agents managed and lists nothing.
//
// Errors: ErrUsage for a template that does not render; the store's and
// Connect's read errors; ErrAdoptFailed (after printing every row) when
// some adoption failed; the writer's.
func AdoptConnect(ctx context.Context, d AdoptConnectDeps, out, log io.Writer, a AdoptConnectArgs) (AdoptSummary, error) {
	var sum AdoptSummary
	now, newID := d.Clock, d.NewID
	if now == nil {
		now = time.Now
	}
	if newID == nil {
		newID = func() string { return ulid.Make().String() }
	}
	recs, err := d.Store.AllRecords(ctx)
	if err != nil {
		return sum, fmt.Errorf("read managed people: %w", err)
	}
	// The candidates: planned username → the people it is planned for.
	want := map[string][]store.Record{}
	for _, r := range recs {
		if !r.HasIdentity() || !d.Config.Qualifies(r.Person) || r.Target(domain.TargetConnect).Managed || r.Person.Login.Value == "" {
			continue
		}
		u, err := d.Config.Username(r.Person)
		if err != nil {
			return sum, fmt.Errorf("%w: connect.usernameTemplate for person %s: %w", ErrUsage, r.Key, err)
		}
		want[strings.ToLower(u)] = append(want[strings.ToLower(u)], r)
	}
	p := NewPrinter(out, a.Format, "PERSON", "LOGIN", "USERNAME", "AGENT ID", "TAG", "OUTCOME", "REASON")
	if len(want) > 0 {
		pages := connect.NewListUsersPaginator(d.Connect, &connect.ListUsersInput{InstanceId: aws.String(d.Config.InstanceID)})
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				return sum, fmt.Errorf("list Connect users: %w", err)
			}
			for _, s := range page.UserSummaryList {
				people := want[strings.ToLower(aws.ToString(s.Username))]
				if len(people) == 0 {
					continue
				}
				row := adoptOne(ctx, d, a, people, s, now, newID)
				sum.Candidates++
				switch row.Outcome {
				case AdoptDone, AdoptOwned:
					sum.Adopted++
				case AdoptWould, AdoptOwnedDry:
					sum.Would++
				case AdoptForeign:
					sum.Refused++
				case AdoptFailed:
					sum.Failed++
				}
				if err := p.Row(row, row.PersonKey, row.Login, row.Username, row.AgentID, row.Tag, row.Outcome, row.Reason); err != nil {
					return sum, err
				}
			}
		}
	}
	if err := p.Flush(); err != nil {
		return sum, err
	}
	if a.Apply {
		fmt.Fprintf(log, "adopt connect: %d agents match a managed person's username; adopted %d, refused %d, failed %d\n",
			sum.Candidates, sum.Adopted, sum.Refused, sum.Failed)
	} else {
		fmt.Fprintf(log, "adopt connect (dry run): %d agents match a managed person's username; would adopt %d, refused %d, failed %d; nothing changed (--apply tags and records them)\n",
			sum.Candidates, sum.Would, sum.Refused, sum.Failed)
	}
	if sum.Failed > 0 {
		return sum, fmt.Errorf("%w: %d of %d (see the rows)", ErrAdoptFailed, sum.Failed, sum.Candidates)
	}
	return sum, nil
}

// adoptOne decides (and with Apply, does) the adoption of one agent whose
// username is planned for people.
func adoptOne(ctx context.Context, d AdoptConnectDeps, a AdoptConnectArgs, people []store.Record, s cntypes.UserSummary,
	now func() time.Time, newID func() string) AdoptRow {
	rec := people[0]
	row := AdoptRow{PersonKey: rec.Key, Login: rec.Person.Login.Value, Username: aws.ToString(s.Username), AgentID: aws.ToString(s.Id)}
	if len(people) > 1 {
		keys := make([]string, len(people))
		for i, r := range people {
			keys[i] = r.Key
		}
		row.PersonKey, row.Outcome = strings.Join(keys, ","), AdoptFailed
		row.Reason = "the username is planned for several people; resolve their logins first"
		return row
	}
	out, err := d.Connect.DescribeUser(ctx, &connect.DescribeUserInput{InstanceId: aws.String(d.Config.InstanceID), UserId: s.Id})
	if err != nil || out.User == nil {
		row.Outcome, row.Reason = AdoptFailed, "describe the agent: "+errText(err)
		return row
	}
	u := out.User
	row.Tag = u.Tags[d.TagKey]
	switch {
	case row.Tag != "" && row.Tag != rec.Key && row.Tag != rec.Person.OktaID && row.Tag != rec.Person.IdCUserID:
		row.Outcome, row.Reason = AdoptForeign, "the agent's "+d.TagKey+" tag names "+row.Tag
		return row
	case !a.Apply && row.Tag != "":
		row.Outcome = AdoptOwnedDry
		return row
	case !a.Apply:
		row.Outcome = AdoptWould
		return row
	}
	if row.Tag == "" {
		if _, err := d.Connect.TagResource(ctx, &connect.TagResourceInput{ResourceArn: u.Arn, Tags: map[string]string{d.TagKey: rec.Key}}); err != nil {
			row.Outcome, row.Reason = AdoptFailed, "tag the agent: "+errText(err)
			return row
		}
	}
	last := rec.Target(domain.TargetConnect)
	next := domain.TargetState{
		Target: domain.TargetConnect, Managed: true, RemoteID: aws.ToString(u.Id), Status: domain.RemoteEnabled,
		Name: aws.ToString(u.Username), SecurityProfileIDs: slices.Clone(u.SecurityProfileIds),
		RoutingProfileID: aws.ToString(u.RoutingProfileId), HierarchyGroupID: aws.ToString(u.HierarchyGroupId),
	}
	if id := u.IdentityInfo; id != nil {
		next.FirstName, next.LastName, next.Email = aws.ToString(id.FirstName), aws.ToString(id.LastName), aws.ToString(id.Email)
	}
	if _, err := d.Store.PutTarget(ctx, rec.Key, next, last.Version); err != nil {
		row.Outcome, row.Reason = AdoptFailed, "record the target state (the agent is tagged; run again): "+errText(err)
		return row
	}
	reason := "adopted by an operator: username matches the planned one"
	if row.Tag == "" {
		reason += "; tagged " + d.TagKey
	} else {
		reason += "; already tagged for this person"
	}
	entry := domain.LedgerEntry{
		ID: newID(), At: now().UTC(), PersonKey: rec.Key, Target: domain.TargetConnect, Op: domain.OpCreate,
		Outcome: domain.OutcomeApplied, RemoteID: aws.ToString(u.Id), Reason: reason,
		Detail: map[string]string{"adopted": "true", "by": "idsync adopt connect"},
	}
	if _, err := d.Store.Append(ctx, entry); err != nil {
		row.Outcome, row.Reason = AdoptFailed, "ledger row (the agent is adopted): "+errText(err)
		return row
	}
	row.Outcome = AdoptDone
	if row.Tag != "" {
		row.Outcome = AdoptOwned
	}
	return row
}

func errText(err error) string {
	if err == nil {
		return "no answer"
	}
	return err.Error()
}
