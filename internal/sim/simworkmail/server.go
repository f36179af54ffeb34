// Package simworkmail is idsync's stand-in for the Amazon WorkMail API: an
// http.Handler that speaks awsJson1_1 (X-Amz-Target "WorkMailService.<Op>")
// so that the real aws-sdk-go-v2 workmail client, and the aws CLI, talk to it
// unchanged. It keeps organisations and their users, groups and resources
// in memory and follows the WorkMail user life cycle (CreateUser →
// DISABLED, RegisterToWorkMail → ENABLED, DeregisterFromWorkMail →
// DISABLED, DeleteUser → DELETED), with the API model's validation, the
// modelled exceptions, ListUsers pagination and filters, a per-organisation
// user limit, the IAM Identity Center assignment rule for linked mailboxes,
// per-operation rate quotas and fault injection (see simkit).
//
// Operations: CreateUser, DescribeUser, ListUsers, UpdateUser,
// RegisterToWorkMail, DeregisterFromWorkMail, DeleteUser,
// UpdatePrimaryEmailAddress, CreateGroup, CreateResource, DescribeGroup,
// DescribeResource, DescribeEntity, DescribeOrganization,
// ListOrganizations, DescribeIdentityProviderConfiguration,
// PutIdentityProviderConfiguration, StartMailboxExportJob,
// DescribeMailboxExportJob, ListMailboxExportJobs, CancelMailboxExportJob
// (export.go: states, limits, ClientToken idempotency, the object written
// to Options.ExportDir).
//
// Behaviour chosen where the documentation leaves room (each with its
// source where it is defined):
//   - Deleted users stay visible to DescribeUser and ListUsers with State
//     DELETED (the model's User.State and ListUsersFilters.State both name
//     DELETED); their name and email addresses become free for reuse.
//   - A disabled user keeps its primary email address reserved (its mailbox
//     is kept for 30 days and re-enabling restores it).
//   - Users, groups and resources share names and addresses (groups.go).
//   - Validation failures are InvalidParameterException (400), the
//     exception every operation models; so is a second ListUsers filter
//     ("You can only use one filter per request", users.go) and an
//     IdentityProviderUserId of an IdC user not assigned to the
//     organisation's WorkMail application (idc.go).
//   - RegisterToWorkMail of an ENABLED entity changes nothing and answers
//     200 unless Options.RegisterEnabled asks for
//     EntityAlreadyRegisteredException (EnabledRegistration).
//   - The user limit (default 1,000 live users per organisation) answers
//     CreateUser with LimitExceededException; CreateUser does not model that
//     exception, so the SDK decodes it as a smithy.GenericAPIError with that
//     code.
//   - DeleteUser of an unknown user answers EntityNotFoundException, which
//     DeleteUser does not model either (smithy.GenericAPIError in the SDK).
//   - Throttling is "ThrottlingException" (400), which WorkMail does not model
//     but AWS's common errors list and the SDK's retryer classifies as a
//     throttle (errors.go).
package simworkmail

import (
	"cmp"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/idsync/idsync/internal/sim/simkit"
)

// Entity types (the model's EntityType).
const (
	EntityUser     = "USER"
	EntityGroup    = "GROUP"
	EntityResource = "RESOURCE"
)

// Entity states.
const (
	StateEnabled  = "ENABLED"
	StateDisabled = "DISABLED"
	StateDeleted  = "DELETED"
)

// OrganizationActive is the State of a usable organisation.
const OrganizationActive = "Active"

// DefaultUserLimit is WorkMail's default number of users per organisation.
const DefaultUserLimit = 1000

// The per-operation rate quota used when Options.Quota is zero: requests
// per second and burst. WorkMail publishes no per-operation request quota;
// this one is generous enough for normal use and still shows throttling
// under bursts.
const (
	DefaultQuotaRate  = 10
	DefaultQuotaBurst = 20
)

// Seeding errors.
var (
	// ErrNoOrganization: the organisation id is unknown.
	ErrNoOrganization = errors.New("workmail sim: no such organization")
	// ErrSeed: a seeded user breaks the same rule an API call would (taken
	// name or email, unknown mail domain, invalid name).
	ErrSeed = errors.New("workmail sim: invalid seed")
)

// Options configures a Server. The zero value is usable.
type Options struct {
	// Seed makes fault injection and the default id generator repeatable.
	Seed uint64
	// Clock defaults to time.Now.
	Clock func() time.Time
	// NewUUID returns a fresh lower-case UUID for a user id; organisation
	// ids are "m-" and the same 32 hex digits. Defaults to a generator
	// seeded from Seed.
	NewUUID func() string
	// Quota is every operation's rate quota; zero means DefaultQuotaRate
	// per second with burst DefaultQuotaBurst.
	Quota simkit.Quota
	// NoQuota turns rate quotas off (fault injection still applies).
	NoQuota bool
	// UserLimit is the default live-user limit of new organisations; zero
	// means DefaultUserLimit.
	UserLimit int
	// Region and AccountID appear in organisation ARNs; defaults us-east-1
	// and 123456789012.
	Region    string
	AccountID string
	// IdentityCenter, when set, is asked whether an IAM Identity Center
	// user may be linked to a mailbox. When an organisation has an
	// identity provider configuration (PutIdentityProviderConfiguration),
	// CreateUser and UpdateUser with an IdentityProviderUserId of a user
	// it does not report as assigned to the configured application answer
	// InvalidParameterException "... is not authorized ...", as WorkMail
	// does. Nil, or an organisation without that configuration, accepts
	// any well-formed id. simssoadmin.Server.AssignmentChecker builds one
	// from the SSO Admin and IdentityStore stand-ins.
	IdentityCenter IdentityCenterAuthorizer
	// RegisterEnabled is RegisterToWorkMail's answer for an entity that is
	// already ENABLED; the zero value is RegisterNoChange.
	RegisterEnabled EnabledRegistration
	// ThrottleCode is the error code of a throttled request (rate quota or
	// injected throttle); empty means ThrottlingException, the code AWS's
	// common errors give. See errors.go.
	ThrottleCode string

	// ExportDir stands in for S3 for mailbox export jobs: a COMPLETED job
	// has written its .zip to ExportDir/<S3BucketName>/<S3Prefix>/<JobId>.zip
	// (directories made as needed). Empty: jobs complete without writing.
	ExportDir string
	// Export is how export jobs run (duration, failure rate) until
	// SetExportFaults or POST /_sim/export-faults changes it.
	Export ExportFaults
	// ExportConcurrency is how many export jobs may be RUNNING at once in
	// an organisation; zero means DefaultExportConcurrency (10).
	ExportConcurrency int
	// ExportInterval is how long after a job's start the same mailbox may
	// not be exported again; zero means DefaultExportInterval (24 h).
	// NoExportInterval turns the rule off (kinder than WorkMail: for
	// focused tests only).
	ExportInterval   time.Duration
	NoExportInterval bool
	// ExportDisabled lets the mailbox of a DISABLED user or resource be
	// exported. Off by default: whether WorkMail exports a deregistered
	// (retained) mailbox is not published, so the stand-in refuses it.
	ExportDisabled bool
}

// IdentityCenterAuthorizer answers whether the IAM Identity Center user
// userID is assigned, directly or through a group, to the application
// applicationArn (the WorkMail application of an organisation's identity
// provider configuration). It must be safe for concurrent use; it is called
// with the stand-in's lock held, so it must not call back into the
// WorkMail stand-in.
type IdentityCenterAuthorizer interface {
	UserAssigned(applicationArn, userID string) bool
}

// EnabledRegistration is RegisterToWorkMail's answer for an entity that is
// already ENABLED. The operation's documentation says "It performs no
// change if the user, group, or resource is enabled and fails if the user,
// group, or resource is deleted", which reads as a success; the model also
// lists EntityAlreadyRegisteredException ("The user, group, or resource
// that you're trying to register is already registered") without saying
// when it is answered. Neither public code nor the documentation settles
// it, so both answers are available and the default is the documented
// "no change": a client that assumes the exception (for instance to learn
// that the entity keeps another primary address) is caught by it.
type EnabledRegistration int

// RegisterToWorkMail's answers for an ENABLED entity.
const (
	// RegisterNoChange answers 200 and changes nothing: the entity keeps
	// its primary address even when the request names another one.
	RegisterNoChange EnabledRegistration = iota
	// RegisterAlreadyRegistered answers EntityAlreadyRegisteredException.
	RegisterAlreadyRegistered
)

// Server is the WorkMail stand-in. It is safe for concurrent use.
type Server struct {
	ctl     *simkit.Control
	svc     *simkit.JSONService
	now     func() time.Time
	region  string
	account string
	limit   int
	idc     IdentityCenterAuthorizer

	exportDir         string
	exportConcurrency int
	exportInterval    time.Duration
	exportDisabled    bool

	mu           sync.Mutex
	registerOn   EnabledRegistration
	exportFaults ExportFaults
	exportRng    *rand.Rand
	newUUID      func() string
	orgs         map[string]*org
	order        []*org
	seq          int
}

// New returns a Server with no organisations.
func New(o Options) *Server {
	if o.Clock == nil {
		o.Clock = time.Now
	}
	q := o.Quota
	if q == (simkit.Quota{}) {
		q = simkit.Quota{Rate: DefaultQuotaRate, Burst: DefaultQuotaBurst}
	}
	if o.NoQuota {
		q = simkit.Quota{}
	}
	s := &Server{
		ctl:        simkit.NewControl(simkit.Options{Seed: o.Seed, PerOp: q, Clock: o.Clock}),
		now:        o.Clock,
		region:     cmp.Or(o.Region, "us-east-1"),
		account:    cmp.Or(o.AccountID, "123456789012"),
		limit:      o.UserLimit,
		idc:        o.IdentityCenter,
		registerOn: o.RegisterEnabled,
		newUUID:    o.NewUUID,
		orgs:       map[string]*org{},

		exportDir:         o.ExportDir,
		exportConcurrency: cmp.Or(o.ExportConcurrency, DefaultExportConcurrency),
		exportInterval:    cmp.Or(o.ExportInterval, DefaultExportInterval),
		exportDisabled:    o.ExportDisabled,
		exportFaults:      o.Export,
		exportRng:         newExportRng(o.Seed),
	}
	if o.NoExportInterval {
		s.exportInterval = 0
	}
	if s.limit <= 0 {
		s.limit = DefaultUserLimit
	}
	if s.newUUID == nil {
		s.newUUID = seededUUIDs(o.Seed)
	}
	s.svc = &simkit.JSONService{
		Prefix:   "WorkMailService.",
		Control:  s.ctl,
		Throttle: throttling(cmp.Or(o.ThrottleCode, codeThrottling)),
		Dump:     func() any { return s.Organizations() },
		Ops: map[string]simkit.JSONOp{
			"CreateUser":                            simkit.Op(s.createUser),
			"DescribeUser":                          simkit.Op(s.describeUser),
			"ListUsers":                             simkit.Op(s.listUsers),
			"UpdateUser":                            simkit.Op(s.updateUser),
			"DeleteUser":                            simkit.Op(s.deleteUser),
			"RegisterToWorkMail":                    simkit.Op(s.registerToWorkMail),
			"DeregisterFromWorkMail":                simkit.Op(s.deregisterFromWorkMail),
			"UpdatePrimaryEmailAddress":             simkit.Op(s.updatePrimaryEmailAddress),
			"CreateGroup":                           simkit.Op(s.createGroup),
			"CreateResource":                        simkit.Op(s.createResource),
			"DescribeGroup":                         simkit.Op(s.describeGroup),
			"DescribeResource":                      simkit.Op(s.describeResource),
			"DescribeEntity":                        simkit.Op(s.describeEntity),
			"DescribeOrganization":                  simkit.Op(s.describeOrganization),
			"ListOrganizations":                     simkit.Op(s.listOrganizations),
			"DescribeIdentityProviderConfiguration": simkit.Op(s.describeIdentityProviderConfiguration),
			"PutIdentityProviderConfiguration":      simkit.Op(s.putIdentityProviderConfiguration),
			"StartMailboxExportJob":                 simkit.Op(s.startMailboxExportJob),
			"DescribeMailboxExportJob":              simkit.Op(s.describeMailboxExportJob),
			"ListMailboxExportJobs":                 simkit.Op(s.listMailboxExportJobs),
			"CancelMailboxExportJob":                simkit.Op(s.cancelMailboxExportJob),
		},
	}
	return s
}

// Control returns the stand-in's quotas, faults and counters.
func (s *Server) Control() *simkit.Control { return s.ctl }

// SetRegisterEnabled changes RegisterToWorkMail's answer for an ENABLED
// entity (see EnabledRegistration). Safe for concurrent use.
func (s *Server) SetRegisterEnabled(v EnabledRegistration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.registerOn = v
}

// ServeHTTP implements http.Handler: WorkMail operations on POST /, the
// simkit control surface under /_sim/ (GET /_sim/state answers
// Organizations()), and seeding routes for processes that cannot call the
// Go methods:
//
//	POST /_sim/organizations {"alias":"corp","defaultDomain":"corp.example","extraDomains":[]} → {"organizationId":"m-…"}
//	POST /_sim/users         {"organizationId":"m-…","user":{"name":"x","email":"x@corp.example",…}} → the User
//	POST /_sim/groups        {"organizationId":"m-…","name":"sales","email":"sales@corp.example"} → the Entity
//	POST /_sim/resources     {"organizationId":"m-…","name":"room1","type":"ROOM","email":"room1@corp.example"} → the Entity
//	GET  /_sim/export-jobs   every organisation's mailbox export jobs (ExportJob), brought up to the clock
//	GET  /_sim/export-faults the current ExportFaults as {"durationMs":N,"failureRate":F,"errorInfo":"…"}
//	POST /_sim/export-faults the same document: SetExportFaults (204)
//
// Seeding errors answer 400 (404 for an unknown organisation) with a JSON
// error body.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		switch r.URL.Path {
		case "/_sim/organizations":
			s.serveAddOrganization(w, r)
			return
		case "/_sim/users":
			s.serveAddUser(w, r)
			return
		case "/_sim/groups", "/_sim/resources":
			s.serveAddEntity(w, r)
			return
		}
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/_sim/export-jobs",
		(r.Method == http.MethodGet || r.Method == http.MethodPost) && r.URL.Path == "/_sim/export-faults":
		s.serveExportControl(w, r)
		return
	}
	s.svc.ServeHTTP(w, r)
}

func (s *Server) serveAddOrganization(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Alias         string   `json:"alias"`
		DefaultDomain string   `json:"defaultDomain"`
		ExtraDomains  []string `json:"extraDomains"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&req); err != nil || req.Alias == "" {
		simkit.RESTJSON1.WriteError(w, simkit.Errorf(http.StatusBadRequest, "InvalidRequestException", "want {\"alias\":…}"))
		return
	}
	id := s.AddOrganization(req.Alias, req.DefaultDomain, req.ExtraDomains...)
	simkit.RESTJSON1.WriteJSON(w, http.StatusOK, map[string]string{"organizationId": id})
}

func (s *Server) serveAddUser(w http.ResponseWriter, r *http.Request) {
	var req struct {
		OrganizationID string `json:"organizationId"`
		User           User   `json:"user"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&req); err != nil {
		simkit.RESTJSON1.WriteError(w, simkit.Errorf(http.StatusBadRequest, "InvalidRequestException", "decode: %v", err))
		return
	}
	u, err := s.AddUser(req.OrganizationID, req.User)
	writeSeeded(w, u, err)
}

func (s *Server) serveAddEntity(w http.ResponseWriter, r *http.Request) {
	var req struct {
		OrganizationID string `json:"organizationId"`
		Name           string `json:"name"`
		Type           string `json:"type"`
		Email          string `json:"email"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&req); err != nil {
		simkit.RESTJSON1.WriteError(w, simkit.Errorf(http.StatusBadRequest, "InvalidRequestException", "decode: %v", err))
		return
	}
	var (
		e   Entity
		err error
	)
	if r.URL.Path == "/_sim/groups" {
		e, err = s.AddGroup(req.OrganizationID, req.Name, req.Email)
	} else {
		e, err = s.AddResource(req.OrganizationID, req.Name, req.Type, req.Email)
	}
	writeSeeded(w, e, err)
}

// writeSeeded answers a seeding route: v, or 404 for an unknown
// organisation and 400 for any other seeding error.
func writeSeeded(w http.ResponseWriter, v any, err error) {
	switch {
	case errors.Is(err, ErrNoOrganization):
		simkit.RESTJSON1.WriteError(w, simkit.Errorf(http.StatusNotFound, "ResourceNotFoundException", "%v", err))
	case err != nil:
		simkit.RESTJSON1.WriteError(w, simkit.Errorf(http.StatusBadRequest, "InvalidRequestException", "%v", err))
	default:
		simkit.RESTJSON1.WriteJSON(w, http.StatusOK, v)
	}
}

// AddOrganization creates an Active organisation and returns its id
// (m-<32 hex>). Its mail domains are defaultDomain, extraDomains and, as in
// WorkMail, the test domain <alias>.awsapps.com; an empty defaultDomain makes
// the test domain the default. It never fails; an alias that breaks the
// model's OrganizationName pattern is still accepted. Not idempotent: each
// call adds another organisation.
func (s *Server) AddOrganization(alias, defaultDomain string, extraDomains ...string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := "m-" + strings.ReplaceAll(s.newUUID(), "-", "")
	test := strings.ToLower(alias) + ".awsapps.com"
	def := strings.ToLower(cmp.Or(defaultDomain, test))
	o := &org{
		id:            id,
		alias:         alias,
		state:         OrganizationActive,
		defaultDomain: def,
		domains:       []string{def},
		created:       s.now(),
		directoryID:   "d-" + id[len(id)-10:],
		userLimit:     s.limit,
		byID:          map[string]*user{},
		names:         map[string]*user{},
		emails:        map[string]*user{},
	}
	for _, d := range append(extraDomains, test) {
		if d = strings.ToLower(d); !slices.Contains(o.domains, d) {
			o.domains = append(o.domains, d)
		}
	}
	s.seq++
	o.seq = s.seq
	s.orgs[id] = o
	s.order = append(s.order, o)
	return id
}

// SetOrganizationState sets an organisation's State (e.g. "Deleting");
// any state but "Active" makes user operations answer
// OrganizationStateException. Idempotent. Errors: ErrNoOrganization.
func (s *Server) SetOrganizationState(orgID, state string) error {
	return s.withOrg(orgID, func(o *org) error { o.state = state; return nil })
}

// SetUserLimit sets how many users that are not DELETED an organisation may
// hold; CreateUser beyond it answers LimitExceededException. Idempotent.
// Errors: ErrNoOrganization.
func (s *Server) SetUserLimit(orgID string, n int) error {
	return s.withOrg(orgID, func(o *org) error { o.userLimit = n; return nil })
}

// SetIdentityStoreID records the IAM Identity Center identity store the
// organisation is linked to; users with an IdentityProviderUserId then
// report it as IdentityProviderIdentityStoreId. Idempotent.
// Errors: ErrNoOrganization.
func (s *Server) SetIdentityStoreID(orgID, identityStoreID string) error {
	return s.withOrg(orgID, func(o *org) error { o.identityStoreID = identityStoreID; return nil })
}

// SeedUser creates a user directly, as if made outside idsync: ENABLED with
// email as its primary address when email is set, else DISABLED. It
// returns the user id. Not idempotent: a second call with the same name
// fails. Errors: ErrNoOrganization; ErrSeed when the name or email is taken
// or invalid, or the email's domain is not the organisation's.
func (s *Server) SeedUser(orgID, name, email string) (string, error) {
	u, err := s.AddUser(orgID, User{Name: name, DisplayName: name, Email: email})
	return u.UserID, err
}

// AddUser creates a user directly from u's Name, Email, DisplayName,
// FirstName, LastName, Role (default USER), HiddenFromGlobalAddressList,
// IdentityProviderUserID and directory attributes; it is ENABLED when Email
// is set, else DISABLED. Other fields of u are ignored. It bypasses quotas,
// faults and the user limit. Errors: as SeedUser.
func (s *Server) AddUser(orgID string, u User) (User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orgs[orgID]
	if !ok {
		return User{}, fmt.Errorf("%w: %s", ErrNoOrganization, orgID)
	}
	if u.Name == "" || !reUserName.MatchString(u.Name) || len(u.Name) > 64 {
		return User{}, fmt.Errorf("%w: user name %q", ErrSeed, u.Name)
	}
	if o.names[strings.ToLower(u.Name)] != nil {
		return User{}, fmt.Errorf("%w: name %q taken", ErrSeed, u.Name)
	}
	if u.Email != "" {
		if apiErr := o.checkEmail(u.Email, nil); apiErr != nil {
			return User{}, fmt.Errorf("%w: %v", ErrSeed, apiErr)
		}
	}
	nu := s.newEntity(o, EntityUser, s.newUUID(), u.Name)
	nu.displayName, nu.firstName, nu.lastName = u.DisplayName, u.FirstName, u.LastName
	nu.role = cmp.Or(u.Role, "USER")
	nu.hidden = u.HiddenFromGlobalAddressList
	nu.idpUserID = u.IdentityProviderUserID
	nu.attrs = directory{Initials: u.Initials, Telephone: u.Telephone, Street: u.Street, JobTitle: u.JobTitle,
		City: u.City, Company: u.Company, ZipCode: u.ZipCode, Department: u.Department, Country: u.Country, Office: u.Office}
	if u.Email != "" {
		o.enable(nu, u.Email, s.now())
	}
	return o.snapshot(nu), nil
}

// Users returns a snapshot of an organisation's users (DELETED ones
// included) in creation order; nil for an unknown organisation. It never
// fails and changes nothing.
func (s *Server) Users(orgID string) []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orgs[orgID]
	if !ok {
		return nil
	}
	out := make([]User, 0, len(o.users))
	for _, u := range o.users {
		out = append(out, o.snapshot(u))
	}
	return out
}

// Organizations returns a snapshot of every organisation with its users;
// it is also the body of GET /_sim/state. It never fails and changes
// nothing.
func (s *Server) Organizations() []Organization {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Organization, 0, len(s.order))
	for _, o := range s.order {
		snap := Organization{
			OrganizationID: o.id, Alias: o.alias, State: o.state, DefaultMailDomain: o.defaultDomain,
			MailDomains: slices.Clone(o.domains), UserLimit: o.userLimit, IdentityStoreID: o.identityStoreID,
			Users: make([]User, 0, len(o.users)), Groups: []Entity{}, Resources: []Entity{},
		}
		if o.idp != nil {
			c := *o.idp
			snap.IdentityProvider = &c
		}
		for _, u := range o.users {
			snap.Users = append(snap.Users, o.snapshot(u))
		}
		for _, e := range o.others {
			if e.kind == EntityGroup {
				snap.Groups = append(snap.Groups, entitySnapshot(e))
			} else {
				snap.Resources = append(snap.Resources, entitySnapshot(e))
			}
		}
		out = append(out, snap)
	}
	return out
}

func (s *Server) withOrg(orgID string, fn func(*org) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orgs[orgID]
	if !ok {
		return fmt.Errorf("%w: %s", ErrNoOrganization, orgID)
	}
	return fn(o)
}

// newEntity adds a DISABLED entity of kind (EntityUser, EntityGroup or
// EntityResource) with the given id and name to o; s.mu must be held.
func (s *Server) newEntity(o *org, kind, id, name string) *user {
	s.seq++
	u := &user{seq: s.seq, kind: kind, id: id, name: name, state: StateDisabled, created: s.now()}
	if kind == EntityUser {
		u.role = "USER"
		o.users = append(o.users, u)
		o.liveUsers++
	} else {
		o.others = append(o.others, u)
	}
	o.byID[strings.ToLower(u.id)] = u
	o.names[strings.ToLower(name)] = u
	return u
}

// seededUUIDs returns a generator of version-4 UUIDs drawn from seed.
func seededUUIDs(seed uint64) func() string {
	rng := rand.New(rand.NewPCG(seed^0x5eed, seed+0x3c6ef372fe94f82b))
	var mu sync.Mutex
	return func() string {
		mu.Lock()
		defer mu.Unlock()
		var b [16]byte
		for i := range b {
			b[i] = byte(rng.UintN(256))
		}
		b[6] = b[6]&0x0f | 0x40
		b[8] = b[8]&0x3f | 0x80
		h := hex.EncodeToString(b[:])
		return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
	}
}
