package opscli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/connect"
	"github.com/aws/aws-sdk-go-v2/service/identitystore"
	"github.com/aws/aws-sdk-go-v2/service/identitystore/document"
	idstypes "github.com/aws/aws-sdk-go-v2/service/identitystore/types"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin"
	ssotypes "github.com/aws/aws-sdk-go-v2/service/ssoadmin/types"
	"github.com/aws/aws-sdk-go-v2/service/workmail"
	"github.com/aws/smithy-go"

	"github.com/idsync/idsync/domain"
)

// Clients discover calls; the aws-sdk-go-v2 clients satisfy them.
type (
	// DiscoverSSOAdmin lists IAM Identity Center instances and assigns
	// groups to an application.
	DiscoverSSOAdmin interface {
		ssoadmin.ListInstancesAPIClient
		CreateApplicationAssignment(ctx context.Context, in *ssoadmin.CreateApplicationAssignmentInput, opts ...func(*ssoadmin.Options)) (*ssoadmin.CreateApplicationAssignmentOutput, error)
	}
	// DiscoverIdentityStore finds IdC groups by display name.
	DiscoverIdentityStore interface {
		GetGroupId(ctx context.Context, in *identitystore.GetGroupIdInput, opts ...func(*identitystore.Options)) (*identitystore.GetGroupIdOutput, error)
	}
	// DiscoverWorkMail finds WorkMail organisations and their IdC
	// application.
	DiscoverWorkMail interface {
		workmail.ListOrganizationsAPIClient
		DescribeOrganization(ctx context.Context, in *workmail.DescribeOrganizationInput, opts ...func(*workmail.Options)) (*workmail.DescribeOrganizationOutput, error)
		DescribeIdentityProviderConfiguration(ctx context.Context, in *workmail.DescribeIdentityProviderConfigurationInput, opts ...func(*workmail.Options)) (*workmail.DescribeIdentityProviderConfigurationOutput, error)
	}
	// DiscoverConnect finds Connect instances, profiles and hierarchy
	// groups.
	DiscoverConnect interface {
		connect.ListInstancesAPIClient
		connect.ListSecurityProfilesAPIClient
		connect.ListRoutingProfilesAPIClient
		connect.ListUserHierarchyGroupsAPIClient
	}
	// DiscoverOkta finds Okta groups by name (OktaGroups).
	DiscoverOkta interface {
		Find(ctx context.Context, name string) ([]OktaGroup, error)
	}
)

// DiscoverClients are the services discover reads. Okta is optional (nil:
// groups are found in IAM Identity Center only); WorkMail and Connect are
// needed only when groups are mapped to them.
type DiscoverClients struct {
	SSOAdmin      DiscoverSSOAdmin
	IdentityStore DiscoverIdentityStore
	WorkMail      DiscoverWorkMail
	Connect       DiscoverConnect
	Okta          DiscoverOkta
}

// ConnectGroupSpec is one --connect-group: a group and its Connect
// entitlements, profiles by name or id.
type ConnectGroupSpec struct {
	Name             string
	Priority         int
	SecurityProfiles []string
	RoutingProfile   string
	HierarchyGroup   string
}

// ParseConnectGroup reads NAME[=PRIORITY[:SECURITY_PROFILE,…[:ROUTING_PROFILE[:HIERARCHY_GROUP]]]].
// Profiles and the hierarchy group are names or ids; left out, discover
// takes the instance's only one or asks. A priority left out is set from
// the flag's position (10, 20, …) by the caller.
//
// Errors: ErrUsage for an empty name, a priority that is not an integer,
// or too many parts.
func ParseConnectGroup(s string) (ConnectGroupSpec, error) {
	name, rest, hasRest := strings.Cut(s, "=")
	spec := ConnectGroupSpec{Name: strings.TrimSpace(name)}
	if spec.Name == "" {
		return spec, fmt.Errorf("%w: --connect-group %q has no group name", ErrUsage, s)
	}
	if !hasRest {
		return spec, nil
	}
	parts := strings.Split(rest, ":")
	if len(parts) > 4 {
		return spec, fmt.Errorf("%w: --connect-group %q: at most PRIORITY:SECURITY_PROFILES:ROUTING_PROFILE:HIERARCHY_GROUP after =", ErrUsage, s)
	}
	p, err := strconv.Atoi(strings.TrimSpace(parts[0]))
	if err != nil {
		return spec, fmt.Errorf("%w: --connect-group %q: priority %q is not an integer", ErrUsage, s, parts[0])
	}
	spec.Priority = p
	if len(parts) > 1 && strings.TrimSpace(parts[1]) != "" {
		for _, sp := range strings.Split(parts[1], ",") {
			if sp = strings.TrimSpace(sp); sp != "" {
				spec.SecurityProfiles = append(spec.SecurityProfiles, sp)
			}
		}
	}
	if len(parts) > 2 {
		spec.RoutingProfile = strings.TrimSpace(parts[2])
	}
	if len(parts) > 3 {
		spec.HierarchyGroup = strings.TrimSpace(parts[3])
	}
	return spec, nil
}

// DiscoverArgs say what to look for and pick among candidates.
type DiscoverArgs struct {
	// IdCInstance picks the IAM Identity Center instance: its ARN or its
	// identity store id.
	IdCInstance string
	// WorkMailOrg picks the organisation (id or alias); MailDomain
	// overrides its default mail domain.
	WorkMailOrg, MailDomain string
	// ConnectInstance picks the Connect instance (id, ARN or alias).
	ConnectInstance string
	// WorkMailGroups are the names of the groups whose members get a
	// mailbox; ConnectGroups those whose members get an agent.
	WorkMailGroups []string
	ConnectGroups  []ConnectGroupSpec
	// Assign assigns the WorkMail groups to WorkMail's IAM Identity Center
	// application (an existing assignment is success).
	Assign bool
	// Format of candidate lists.
	Format Format
}

// Found is one thing discover found, for the report it prints.
type Found struct {
	What, Name, ID, Note string
}

// Discovery is what Discover found: the configuration document (indented
// JSON that domain.ParseConfig accepts), the parsed configuration and what
// each id is.
type Discovery struct {
	Document []byte
	Config   domain.Config
	Found    []Found
}

// ErrNotFound is wrapped when discover finds nothing to choose: no
// instance, organisation or group of that name.
var ErrNotFound = errors.New("not found")

// candidate is one choice in an ambiguity.
type candidate struct{ id, name, note string }

// discoverer is one Discover run.
type discoverer struct {
	c     DiscoverClients
	a     DiscoverArgs
	w     io.Writer
	found []Found
}

// ambiguous lists candidates to w and returns the usage error asking for
// flag.
func (d *discoverer) ambiguous(what, flag string, cs []candidate) error {
	p := NewPrinter(d.w, d.a.Format, "CANDIDATE", "NAME", "NOTE")
	for _, c := range cs {
		if err := p.Row(nil, c.id, c.name, c.note); err != nil {
			return err
		}
	}
	if err := p.Flush(); err != nil {
		return err
	}
	return fmt.Errorf("%w: %d %s; choose one with %s", ErrUsage, len(cs), what, flag)
}

// pick chooses among cs: the one matching want (by id or name) when want
// is given, the only one when there is one; otherwise it lists them.
func (d *discoverer) pick(what, flag, want string, cs []candidate) (candidate, error) {
	if want != "" {
		var hits []candidate
		for _, c := range cs {
			if c.id == want || strings.EqualFold(c.name, want) || strings.HasSuffix(c.id, "/"+want) {
				hits = append(hits, c)
			}
		}
		switch len(hits) {
		case 1:
			return hits[0], nil
		case 0:
			if err := d.ambiguous(what, flag, cs); err != nil && !errors.Is(err, ErrUsage) {
				return candidate{}, err
			}
			return candidate{}, fmt.Errorf("%w: no %s matches %s %q (the candidates are listed)", ErrUsage, what, flag, want)
		}
		return candidate{}, d.ambiguous(what+" match "+want, flag+" with an id", hits)
	}
	switch len(cs) {
	case 0:
		return candidate{}, fmt.Errorf("no %s found: %w", what, ErrNotFound)
	case 1:
		return cs[0], nil
	}
	return candidate{}, d.ambiguous(what, flag, cs)
}

// Discover finds the ids a configuration needs and builds the document:
// the IAM Identity Center instance and identity store (sso-admin
// ListInstances), each named group in IdC (identitystore GetGroupId by
// displayName) and, with Okta, in Okta, the WorkMail organisation with its
// default domain and IdC application (ListOrganizations,
// DescribeOrganization, DescribeIdentityProviderConfiguration) when
// WorkMail groups are named, and the Connect instance with its security
// and routing profiles and hierarchy groups when Connect groups are named.
// Where there is more than one candidate and no flag picks one, it lists
// them to w and returns ErrUsage: it never takes the first silently. With
// Assign it then assigns the WorkMail groups to WorkMail's IdC application.
// The document is validated with domain.ParseConfig before it is returned.
//
// Errors: ErrUsage (no group named, an ambiguity, a flag matching
// nothing, a group found nowhere); ErrNotFound (no instance or
// organisation at all); service errors; a document that does not validate
// (domain.ErrInvalidConfig).
func Discover(ctx context.Context, c DiscoverClients, w io.Writer, a DiscoverArgs) (Discovery, error) {
	if a.Format == "" {
		a.Format = FormatTable
	}
	if len(a.WorkMailGroups) == 0 && len(a.ConnectGroups) == 0 {
		return Discovery{}, fmt.Errorf("%w: name at least one group (--workmail-group, --connect-group)", ErrUsage)
	}
	d := &discoverer{c: c, a: a, w: w}
	cfg := domain.Config{}

	// IAM Identity Center.
	var instances []candidate
	for p := ssoadmin.NewListInstancesPaginator(c.SSOAdmin, &ssoadmin.ListInstancesInput{}); p.HasMorePages(); {
		out, err := p.NextPage(ctx)
		if err != nil {
			return Discovery{}, fmt.Errorf("list IAM Identity Center instances: %w", err)
		}
		for _, in := range out.Instances {
			instances = append(instances, candidate{id: aws.ToString(in.InstanceArn), name: aws.ToString(in.IdentityStoreId),
				note: strings.TrimSpace(aws.ToString(in.Name) + " " + string(in.Status))})
		}
	}
	inst, err := d.pick("IAM Identity Center instances", "--idc-instance", a.IdCInstance, instances)
	if err != nil {
		return Discovery{}, err
	}
	storeID := inst.name
	cfg.Snapshot.IdentityStoreID = storeID
	d.found = append(d.found, Found{"IAM Identity Center", inst.note, inst.id, "identity store " + storeID})

	// Groups, in IdC and Okta.
	refs := map[string]domain.GroupRef{}
	names := slices.Clone(a.WorkMailGroups)
	for _, g := range a.ConnectGroups {
		names = append(names, g.Name)
	}
	for _, n := range names {
		if _, done := refs[n]; done {
			continue
		}
		ref, err := d.group(ctx, storeID, n)
		if err != nil {
			return Discovery{}, err
		}
		refs[n] = ref
	}

	if len(a.WorkMailGroups) > 0 {
		wm, err := d.workMail(ctx, inst.id)
		if err != nil {
			return Discovery{}, err
		}
		for _, n := range a.WorkMailGroups {
			wm.Groups = append(wm.Groups, refs[n])
		}
		cfg.WorkMail = wm.WorkMailConfig
		if a.Assign {
			if err := d.assign(ctx, wm.appArn, wm.Groups); err != nil {
				return Discovery{}, err
			}
		}
	} else if a.Assign {
		return Discovery{}, fmt.Errorf("%w: --assign needs --workmail-group", ErrUsage)
	}
	if len(a.ConnectGroups) > 0 {
		cn, err := d.connect(ctx, refs)
		if err != nil {
			return Discovery{}, err
		}
		cfg.Connect = cn
	}

	doc, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return Discovery{}, fmt.Errorf("encode configuration: %w", err)
	}
	parsed, err := domain.ParseConfig(doc)
	if err != nil {
		return Discovery{}, fmt.Errorf("the discovered configuration does not validate: %w", err)
	}
	return Discovery{Document: append(doc, '\n'), Config: parsed, Found: d.found}, nil
}

// group finds a group by name in IdC and (when configured) Okta.
func (d *discoverer) group(ctx context.Context, storeID, name string) (domain.GroupRef, error) {
	ref := domain.GroupRef{Name: name}
	out, err := d.c.IdentityStore.GetGroupId(ctx, &identitystore.GetGroupIdInput{
		IdentityStoreId: aws.String(storeID),
		AlternateIdentifier: &idstypes.AlternateIdentifierMemberUniqueAttribute{Value: idstypes.UniqueAttribute{
			AttributePath: aws.String("displayName"), AttributeValue: document.NewLazyDocument(name),
		}},
	})
	var nf *idstypes.ResourceNotFoundException
	switch {
	case err == nil:
		ref.IdCID = aws.ToString(out.GroupId)
	case errors.As(err, &nf):
	default:
		return ref, fmt.Errorf("find IdC group %q: %w", name, err)
	}
	idcNote := "IdC " + ref.IdCID
	if ref.IdCID == "" {
		idcNote = "not in IAM Identity Center: the snapshot cannot read it"
	}
	if d.c.Okta != nil {
		groups, err := d.c.Okta.Find(ctx, name)
		if err != nil {
			return ref, fmt.Errorf("find Okta group %q: %w", name, err)
		}
		switch len(groups) {
		case 0:
			d.found = append(d.found, Found{"group", name, ref.IdCID, idcNote + "; not in Okta: hook events cannot name it"})
		case 1:
			ref.OktaID = groups[0].ID
			d.found = append(d.found, Found{"group", name, ref.OktaID, idcNote + "; Okta " + groups[0].Type})
		default:
			var cs []candidate
			for _, g := range groups {
				cs = append(cs, candidate{id: g.ID, name: g.Name, note: g.Type})
			}
			return ref, d.ambiguous("Okta groups named "+strconv.Quote(name), "a unique group name in Okta", cs)
		}
	} else {
		d.found = append(d.found, Found{"group", name, ref.IdCID, idcNote + "; Okta not searched (OKTA_ORG_URL, OKTA_API_TOKEN)"})
	}
	if ref.IdCID == "" && ref.OktaID == "" {
		return ref, fmt.Errorf("%w: group %q is in neither IAM Identity Center (identity store %s) nor Okta", ErrUsage, name, storeID)
	}
	return ref, nil
}

// workMailFound is the organisation discover chose.
type workMailFound struct {
	*domain.WorkMailConfig
	appArn string
}

func (d *discoverer) workMail(ctx context.Context, idcInstance string) (workMailFound, error) {
	if d.c.WorkMail == nil {
		return workMailFound{}, fmt.Errorf("%w: no WorkMail client", ErrUsage)
	}
	var orgs []candidate
	for p := workmail.NewListOrganizationsPaginator(d.c.WorkMail, &workmail.ListOrganizationsInput{}); p.HasMorePages(); {
		out, err := p.NextPage(ctx)
		if err != nil {
			return workMailFound{}, fmt.Errorf("list WorkMail organisations: %w", err)
		}
		for _, o := range out.OrganizationSummaries {
			if strings.EqualFold(aws.ToString(o.State), "Deleted") {
				continue
			}
			orgs = append(orgs, candidate{id: aws.ToString(o.OrganizationId), name: aws.ToString(o.Alias),
				note: strings.TrimSpace(aws.ToString(o.DefaultMailDomain) + " " + aws.ToString(o.State))})
		}
	}
	org, err := d.pick("WorkMail organisations", "--workmail-org", d.a.WorkMailOrg, orgs)
	if err != nil {
		return workMailFound{}, err
	}
	desc, err := d.c.WorkMail.DescribeOrganization(ctx, &workmail.DescribeOrganizationInput{OrganizationId: aws.String(org.id)})
	if err != nil {
		return workMailFound{}, fmt.Errorf("describe WorkMail organisation %s: %w", org.id, err)
	}
	mailDomain := d.a.MailDomain
	if mailDomain == "" {
		mailDomain = aws.ToString(desc.DefaultMailDomain)
	}
	d.found = append(d.found, Found{"WorkMail organisation", org.name, org.id, "mail domain " + mailDomain})
	res := workMailFound{WorkMailConfig: &domain.WorkMailConfig{OrganizationID: org.id, MailDomain: mailDomain}}
	idp, err := d.c.WorkMail.DescribeIdentityProviderConfiguration(ctx, &workmail.DescribeIdentityProviderConfigurationInput{OrganizationId: aws.String(org.id)})
	var api smithy.APIError
	switch {
	case err == nil && idp.IdentityCenterConfiguration != nil:
		res.appArn = aws.ToString(idp.IdentityCenterConfiguration.ApplicationArn)
		note := "IAM Identity Center application"
		if in := aws.ToString(idp.IdentityCenterConfiguration.InstanceArn); in != idcInstance {
			note += "; WARNING: of instance " + in + ", not " + idcInstance
		} else {
			// The consumer checks the link at cold start; the stack assigns
			// the WorkMail groups to the application.
			res.IdentityCenter.InstanceARN, res.IdentityCenter.ApplicationARN = in, res.appArn
		}
		d.found = append(d.found, Found{"WorkMail application", "", res.appArn, note})
	case err == nil, errors.As(err, &api) && api.ErrorCode() == "ResourceNotFoundException":
		d.found = append(d.found, Found{"WorkMail application", "", "", "none: the organisation is not linked to IAM Identity Center"})
	default:
		return workMailFound{}, fmt.Errorf("describe the identity provider of WorkMail organisation %s: %w", org.id, err)
	}
	return res, nil
}

// assign assigns each group with an IdC id to the WorkMail application.
func (d *discoverer) assign(ctx context.Context, appArn string, groups []domain.GroupRef) error {
	if appArn == "" {
		return fmt.Errorf("%w: --assign: the WorkMail organisation has no IAM Identity Center application", ErrUsage)
	}
	for _, g := range groups {
		if g.IdCID == "" {
			d.found = append(d.found, Found{"assignment", g.Name, "", "not assigned: the group is not in IAM Identity Center"})
			continue
		}
		_, err := d.c.SSOAdmin.CreateApplicationAssignment(ctx, &ssoadmin.CreateApplicationAssignmentInput{
			ApplicationArn: aws.String(appArn), PrincipalId: aws.String(g.IdCID), PrincipalType: ssotypes.PrincipalTypeGroup,
		})
		var conflict *ssotypes.ConflictException
		switch {
		case err == nil:
			d.found = append(d.found, Found{"assignment", g.Name, g.IdCID, "assigned to the WorkMail application"})
		case errors.As(err, &conflict):
			d.found = append(d.found, Found{"assignment", g.Name, g.IdCID, "already assigned to the WorkMail application"})
		default:
			return fmt.Errorf("assign group %q to %s: %w", g.Name, appArn, err)
		}
	}
	return nil
}

func (d *discoverer) connect(ctx context.Context, refs map[string]domain.GroupRef) (*domain.ConnectConfig, error) {
	if d.c.Connect == nil {
		return nil, fmt.Errorf("%w: no Connect client", ErrUsage)
	}
	var insts []candidate
	for p := connect.NewListInstancesPaginator(d.c.Connect, &connect.ListInstancesInput{}); p.HasMorePages(); {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list Connect instances: %w", err)
		}
		for _, in := range out.InstanceSummaryList {
			insts = append(insts, candidate{id: aws.ToString(in.Id), name: aws.ToString(in.InstanceAlias),
				note: strings.TrimSpace(string(in.IdentityManagementType) + " " + string(in.InstanceStatus) + " " + aws.ToString(in.Arn))})
		}
	}
	inst, err := d.pick("Connect instances", "--connect-instance", d.a.ConnectInstance, insts)
	if err != nil {
		return nil, err
	}
	d.found = append(d.found, Found{"Connect instance", inst.name, inst.id, inst.note})
	id := aws.String(inst.id)
	var sps, rps, hgs []candidate
	for p := connect.NewListSecurityProfilesPaginator(d.c.Connect, &connect.ListSecurityProfilesInput{InstanceId: id}); p.HasMorePages(); {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list security profiles of %s: %w", inst.id, err)
		}
		for _, s := range out.SecurityProfileSummaryList {
			sps = append(sps, candidate{id: aws.ToString(s.Id), name: aws.ToString(s.Name)})
		}
	}
	for p := connect.NewListRoutingProfilesPaginator(d.c.Connect, &connect.ListRoutingProfilesInput{InstanceId: id}); p.HasMorePages(); {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list routing profiles of %s: %w", inst.id, err)
		}
		for _, s := range out.RoutingProfileSummaryList {
			rps = append(rps, candidate{id: aws.ToString(s.Id), name: aws.ToString(s.Name)})
		}
	}
	hierarchyErr := error(nil)
	for p := connect.NewListUserHierarchyGroupsPaginator(d.c.Connect, &connect.ListUserHierarchyGroupsInput{InstanceId: id}); p.HasMorePages(); {
		out, err := p.NextPage(ctx)
		if err != nil {
			hierarchyErr = fmt.Errorf("list hierarchy groups of %s: %w", inst.id, err)
			break
		}
		for _, s := range out.UserHierarchyGroupSummaryList {
			hgs = append(hgs, candidate{id: aws.ToString(s.Id), name: aws.ToString(s.Name)})
		}
	}
	if hierarchyErr != nil {
		d.found = append(d.found, Found{"hierarchy groups", "", "", "not listed: " + hierarchyErr.Error()})
	}

	cfg := &domain.ConnectConfig{InstanceID: inst.id}
	for i, spec := range d.a.ConnectGroups {
		g := domain.ConnectGroup{GroupRef: refs[spec.Name], Priority: spec.Priority}
		if g.Priority == 0 {
			g.Priority = 10 * (i + 1)
		}
		what := fmt.Sprintf("security profiles of %s", inst.id)
		if len(spec.SecurityProfiles) == 0 {
			sp, err := d.pick(what, fmt.Sprintf("--connect-group %q", spec.Name+"="+strconv.Itoa(g.Priority)+":SECURITY_PROFILE"), "", sps)
			if err != nil {
				return nil, err
			}
			g.SecurityProfileIDs = []string{sp.id}
		}
		for _, want := range spec.SecurityProfiles {
			sp, err := d.pick(what, "--connect-group "+strconv.Quote(spec.Name+"=…"), want, sps)
			if err != nil {
				return nil, err
			}
			g.SecurityProfileIDs = append(g.SecurityProfileIDs, sp.id)
		}
		rp, err := d.pick(fmt.Sprintf("routing profiles of %s", inst.id),
			fmt.Sprintf("--connect-group %q", spec.Name+"="+strconv.Itoa(g.Priority)+":"+strings.Join(spec.SecurityProfiles, ",")+":ROUTING_PROFILE"),
			spec.RoutingProfile, rps)
		if err != nil {
			return nil, err
		}
		g.RoutingProfileID = rp.id
		if spec.HierarchyGroup != "" {
			if hierarchyErr != nil {
				return nil, hierarchyErr
			}
			hg, err := d.pick(fmt.Sprintf("hierarchy groups of %s", inst.id), "--connect-group "+strconv.Quote(spec.Name+"=…"), spec.HierarchyGroup, hgs)
			if err != nil {
				return nil, err
			}
			g.HierarchyGroupID = hg.id
		}
		d.found = append(d.found, Found{"Connect group", spec.Name, strconv.Itoa(g.Priority),
			"security profiles " + strings.Join(g.SecurityProfileIDs, ",") + "; routing profile " + g.RoutingProfileID + hierarchyNote(g.HierarchyGroupID)})
		cfg.Groups = append(cfg.Groups, g)
	}
	return cfg, nil
}

func hierarchyNote(id string) string {
	if id == "" {
		return ""
	}
	return "; hierarchy group " + id
}

// PrintFound prints what discover found as a table.
//
// Errors: the writer's.
func PrintFound(w io.Writer, found []Found) error {
	p := NewPrinter(w, FormatTable, "FOUND", "NAME", "ID", "NOTE")
	for _, f := range found {
		if err := p.Row(nil, f.What, f.Name, f.ID, f.Note); err != nil {
			return err
		}
	}
	return p.Flush()
}

// WriteConfig writes a configuration document to path ("-" or "": w)
// without replacing an existing file unless force.
//
// Errors: ErrUsage when the file exists and force is false; file errors.
func WriteConfig(w io.Writer, path string, doc []byte, force bool) error {
	if path == "" || path == "-" {
		if _, err := w.Write(doc); err != nil {
			return fmt.Errorf("write: %w", err)
		}
		return nil
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(path, flags, 0o644)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("%w: %s exists; --force replaces it", ErrUsage, path)
	}
	if err != nil {
		return fmt.Errorf("write configuration: %w", err)
	}
	if _, err := f.Write(doc); err != nil {
		_ = f.Close()
		return fmt.Errorf("write configuration: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write configuration: %w", err)
	}
	return nil
}
