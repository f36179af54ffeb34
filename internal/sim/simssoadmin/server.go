// Package simssoadmin is idsync's local stand-in for the part of the IAM
// Identity Center admin API (SSO Admin) that discovery and the WorkMail integration need: instances,
// applications (e.g. the WorkMail application) and application assignments.
// It speaks awsJson1_1 (X-Amz-Target "SWBExternalService.<Op>") so the real
// aws-sdk-go-v2 ssoadmin client talks to it unchanged, with the API model's
// validation, error codes and HTTP statuses, keyset pagination, the
// collective rate quota, and simkit's fault injection.
package simssoadmin

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/idsync/idsync/internal/sim/simkit"
)

// TargetPrefix is the X-Amz-Target prefix of every SSO Admin operation.
const TargetPrefix = "SWBExternalService."

// DefaultQuota is IAM Identity Center's collective API throttle: 20
// transactions per second across its APIs, no separate burst documented, so
// the bucket holds one second's worth.
func DefaultQuota() simkit.Quota { return simkit.Quota{Rate: 20, Burst: 20} }

// PrincipalChecker says whether a USER or GROUP exists in an identity store;
// the identitystore stand-in's *Server satisfies it.
type PrincipalChecker interface {
	PrincipalExists(identityStoreID, principalType, principalID string) bool
}

// Options configures a Server.
type Options struct {
	// Seed makes fault injection and minted ARNs repeatable.
	Seed uint64
	// Clock defaults to time.Now.
	Clock func() time.Time
	// Quota is the collective quota shared by all operations. The zero value
	// means AWS's default (DefaultQuota); see NoQuota to switch it off.
	Quota simkit.Quota
	// NoQuota switches the collective quota off.
	NoQuota bool
	// AccountID owns the instances and applications; default "123456789012".
	AccountID string
	// Principals, when set, is asked whether an assignment's principal
	// exists in the instance's identity store; an unknown principal is then
	// ResourceNotFoundException. Nil accepts any well-formed principal id.
	Principals PrincipalChecker
}

// Server is the SSO Admin stand-in: an http.Handler plus Go seeding
// methods. It is safe for concurrent use.
type Server struct {
	svc        *simkit.JSONService
	control    *simkit.Control
	now        func() time.Time
	account    string
	principals PrincipalChecker

	mu        sync.RWMutex
	rng       *rand.Rand // guarded by mu (write lock)
	seq       uint64
	instances map[string]*instance
	instOrder []*instance
	apps      map[string]*application
}

type instance struct {
	seq             uint64
	arn             string
	identityStoreID string
	created         time.Time
	apps            []*application // by seq
}

type application struct {
	seq         uint64
	arn         string
	name        string
	provider    string
	instance    *instance
	created     time.Time
	assignments []*assignment // by seq
	byPrincipal map[principal]*assignment
}

type principal struct{ typ, id string }

type assignment struct {
	seq uint64
	p   principal
}

// New returns a Server with no instances; add them with AddInstance.
func New(o Options) *Server {
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.AccountID == "" {
		o.AccountID = "123456789012"
	}
	q := o.Quota
	if q == (simkit.Quota{}) {
		q = DefaultQuota()
	}
	if o.NoQuota {
		q = simkit.Quota{}
	}
	s := &Server{
		control:    simkit.NewControl(simkit.Options{Seed: o.Seed, Collective: q, Clock: o.Clock}),
		now:        o.Clock,
		account:    o.AccountID,
		principals: o.Principals,
		rng:        rand.New(rand.NewPCG(o.Seed^0x2545f4914f6cdd1d, o.Seed+0x9e3779b97f4a7c15)),
		instances:  map[string]*instance{},
		apps:       map[string]*application{},
	}
	s.svc = &simkit.JSONService{
		Prefix:  TargetPrefix,
		Control: s.control,
		Ops: map[string]simkit.JSONOp{
			"ListInstances":                 simkit.Op(s.listInstances),
			"ListApplications":              simkit.Op(s.listApplications),
			"DescribeApplication":           simkit.Op(s.describeApplication),
			"ListApplicationAssignments":    simkit.Op(s.listApplicationAssignments),
			"CreateApplicationAssignment":   simkit.Op(s.createApplicationAssignment),
			"DescribeApplicationAssignment": simkit.Op(s.describeApplicationAssignment),
			"DeleteApplicationAssignment":   simkit.Op(s.deleteApplicationAssignment),
		},
		Throttle: func() *simkit.APIError {
			return simkit.Errorf(http.StatusTooManyRequests, "ThrottlingException", "Rate exceeded")
		},
		Dump: func() any { return s.State() },
	}
	return s
}

// Control returns the quotas, faults and counters of the stand-in.
func (s *Server) Control() *simkit.Control { return s.control }

// ServeHTTP implements http.Handler: the SSO Admin API and simkit's /_sim
// control surface.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.svc.ServeHTTP(w, r) }

// hex returns n random lowercase hex digits; s.mu must be held for writing.
func (s *Server) hex(n int) string {
	var b strings.Builder
	for b.Len() < n {
		fmt.Fprintf(&b, "%016x", s.rng.Uint64())
	}
	return b.String()[:n]
}

// AddInstance creates an ACTIVE IAM Identity Center instance backed by the
// given identity store and returns its ARN
// (arn:aws:sso:::instance/ssoins-<16 hex>). Every call creates a new instance.
func (s *Server) AddInstance(identityStoreID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	in := &instance{seq: s.seq, identityStoreID: identityStoreID, created: s.now().UTC().Truncate(time.Second)}
	for in.arn == "" || s.instances[in.arn] != nil {
		in.arn = "arn:aws:sso:::instance/ssoins-" + s.hex(16)
	}
	s.instances[in.arn] = in
	s.instOrder = append(s.instOrder, in)
	return in.arn
}

// AddApplication creates an ENABLED application in an instance (e.g. name
// "WorkMail") and returns its ARN
// (arn:aws:sso::<account>:application/ssoins-…/apl-<16 hex>), or "" when
// instanceArn is not an instance of this server. Every call creates a new
// application.
func (s *Server) AddApplication(instanceArn, name, providerArn string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.instances[instanceArn]
	if in == nil {
		return ""
	}
	s.seq++
	app := &application{seq: s.seq, name: name, provider: providerArn, instance: in,
		created: s.now().UTC().Truncate(time.Second), byPrincipal: map[principal]*assignment{}}
	insID := strings.TrimPrefix(instanceArn, "arn:aws:sso:::instance/")
	for app.arn == "" || s.apps[app.arn] != nil {
		app.arn = fmt.Sprintf("arn:aws:sso::%s:application/%s/apl-%s", s.account, insID, s.hex(16))
	}
	s.apps[app.arn] = app
	in.apps = append(in.apps, app)
	return app.arn
}

// Assignment is one application assignment as State reports it.
type Assignment struct {
	PrincipalType string `json:"principalType"`
	PrincipalID   string `json:"principalId"`
}

// ApplicationState is one application and its assignments in creation order.
type ApplicationState struct {
	ApplicationArn         string       `json:"applicationArn"`
	Name                   string       `json:"name"`
	ApplicationProviderArn string       `json:"applicationProviderArn"`
	Assignments            []Assignment `json:"assignments"`
}

// InstanceState is one instance and its applications.
type InstanceState struct {
	InstanceArn     string             `json:"instanceArn"`
	IdentityStoreID string             `json:"identityStoreId"`
	Applications    []ApplicationState `json:"applications"`
}

// State is the stand-in's whole content, as served at GET /_sim/state.
type State struct {
	Instances []InstanceState `json:"instances"`
}

// State returns a copy of every instance, application and assignment.
func (s *Server) State() State {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := State{Instances: make([]InstanceState, 0, len(s.instOrder))}
	for _, in := range s.instOrder {
		is := InstanceState{InstanceArn: in.arn, IdentityStoreID: in.identityStoreID, Applications: []ApplicationState{}}
		for _, app := range in.apps {
			as := ApplicationState{ApplicationArn: app.arn, Name: app.name, ApplicationProviderArn: app.provider,
				Assignments: make([]Assignment, 0, len(app.assignments))}
			for _, a := range app.assignments {
				as.Assignments = append(as.Assignments, Assignment{PrincipalType: a.p.typ, PrincipalID: a.p.id})
			}
			is.Applications = append(is.Applications, as)
		}
		out.Instances = append(out.Instances, is)
	}
	return out
}
