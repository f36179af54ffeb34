// Package simconnect is idsync's local stand-in for the Amazon Connect user
// APIs. It speaks restJson1 exactly as the service does, so that the real
// aws-sdk-go-v2 connect client (and the aws CLI) talk to it unchanged:
// CreateUser, DescribeUser, ListUsers, SearchUsers, UpdateUserIdentityInfo,
// UpdateUserSecurityProfiles, UpdateUserRoutingProfile, DeleteUser,
// ListSecurityProfiles, ListRoutingProfiles, ListInstances and DescribeInstance, with the
// API model's validation, the modelled exceptions and HTTP statuses,
// per-instance identity management (SAML, CONNECT_MANAGED,
// EXISTING_DIRECTORY), a users-per-instance limit, opaque pagination tokens,
// per-operation rate quotas (2 requests/s, burst 5, as AWS), a SearchUsers
// index that lags behind changes as the service's does (index.go) and fault
// injection from simkit. Instances, security profiles, routing profiles and
// hierarchy groups are seeded with Go methods; /_sim/* is the control
// surface (see simkit.Control.ServeControl).
package simconnect

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/idsync/idsync/internal/sim/simkit"
)

// Identity management types of an instance (the model's DirectoryType).
const (
	IdentitySAML              = "SAML"
	IdentityConnectManaged    = "CONNECT_MANAGED"
	IdentityExistingDirectory = "EXISTING_DIRECTORY"
)

// Defaults taken from AWS.
const (
	// DefaultUserLimit is the default "users per instance" service quota.
	DefaultUserLimit = 500
	// DefaultRegion and DefaultAccountID make up the ARNs the stand-in mints.
	DefaultRegion    = "us-east-1"
	DefaultAccountID = "123456789012"
)

// AWS's default rate quota for the Connect user APIs: 2 requests per second
// with a burst of 5, per operation, per account and region.
const (
	DefaultRate  = 2
	DefaultBurst = 5
)

// Options configures a Server. The zero value is a stand-in with AWS's
// defaults.
type Options struct {
	// Seed seeds fault injection and the default id generator, so that a
	// run is repeatable.
	Seed uint64
	// Clock defaults to time.Now. It drives quotas and LastModifiedTime.
	Clock func() time.Time
	// NewID mints instance, user and profile ids; it defaults to random
	// (seeded) version-4 UUIDs. It is called with the server's lock held.
	NewID func() string
	// Quota is every operation's rate quota; the zero value means AWS's
	// (DefaultRate, DefaultBurst). NoQuota turns quotas off. Either can be
	// changed later through Control().SetQuota (scope simkit.EachOp or an
	// operation name) or POST /_sim/quotas.
	Quota   simkit.Quota
	NoQuota bool
	// UserLimit is the users-per-instance quota of new instances; zero means
	// DefaultUserLimit. SetUserLimit changes one instance's.
	UserLimit int
	// Region and AccountID appear in ARNs; they default to DefaultRegion and
	// DefaultAccountID.
	Region    string
	AccountID string
	// SearchLag is how long a created, updated or deleted user takes to
	// reach SearchUsers (see DefaultSearchLag for the source); zero means
	// DefaultSearchLag. NoSearchLag makes the search index instant. Either
	// can be changed later with SetSearchLag or POST /_sim/search-lag.
	SearchLag   time.Duration
	NoSearchLag bool
}

// Server is the Amazon Connect stand-in: an http.Handler. It is safe for
// concurrent use.
type Server struct {
	ctl       *simkit.Control
	now       func() time.Time
	region    string
	account   string
	userLimit int

	mu        sync.Mutex
	searchLag time.Duration
	newID     func() string
	instances map[string]*instance
	order     []string // instance ids in creation order
}

// New returns a Server configured by o.
func New(o Options) *Server {
	if o.Clock == nil {
		o.Clock = time.Now
	}
	q := o.Quota
	if q == (simkit.Quota{}) {
		q = simkit.Quota{Rate: DefaultRate, Burst: DefaultBurst}
	}
	if o.NoQuota {
		q = simkit.Quota{}
	}
	if o.NewID == nil {
		rng := rand.New(rand.NewPCG(o.Seed, o.Seed^0x5bd1e9955bd1e995))
		o.NewID = func() string { return uuid4(rng) }
	}
	if o.UserLimit <= 0 {
		o.UserLimit = DefaultUserLimit
	}
	if o.Region == "" {
		o.Region = DefaultRegion
	}
	if o.AccountID == "" {
		o.AccountID = DefaultAccountID
	}
	if o.SearchLag <= 0 {
		o.SearchLag = DefaultSearchLag
	}
	if o.NoSearchLag {
		o.SearchLag = 0
	}
	return &Server{
		ctl:       simkit.NewControl(simkit.Options{Seed: o.Seed, PerOp: q, Clock: o.Clock}),
		now:       o.Clock,
		region:    o.Region,
		account:   o.AccountID,
		userLimit: o.UserLimit,
		searchLag: o.SearchLag,
		newID:     o.NewID,
		instances: map[string]*instance{},
	}
}

// uuid4 formats 16 random bytes from rng as a version-4 UUID.
func uuid4(rng *rand.Rand) string {
	var b [16]byte
	for i := 0; i < 16; i += 8 {
		v := rng.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// Control returns the server's quotas, faults and counters.
func (s *Server) Control() *simkit.Control { return s.ctl }

// handler is one operation: it reads what it needs from the call and
// returns the response body or an error (an *simkit.APIError to answer in
// the service's terms).
type handler func(ctx context.Context, c *call) (any, error)

// call is one request's bound inputs: path labels, query and body.
type call struct {
	instance string
	user     string
	resource string // TagResource's resourceArn
	query    url.Values
	body     []byte
}

const proto = simkit.RESTJSON1

// ServeHTTP implements http.Handler: /_sim/* is the control surface (with
// /_sim/search-lag, see serveSearchLag, besides simkit's routes); every
// other request is routed by method and path as the Connect model binds
// them, passed through the quotas and faults, and answered with the
// operation's JSON or the service's modelled exception (X-Amzn-ErrorType
// header, JSON body with Message). Unknown routes answer 404
// UnknownOperationException.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/_sim/search-lag" {
		s.serveSearchLag(w, r)
		return
	}
	if strings.HasPrefix(r.URL.Path, "/_sim/") {
		s.ctl.ServeControl(w, r, func() any { return s.State() })
		return
	}
	op, fn, c, ok := s.route(r)
	if !ok {
		proto.WriteError(w, simkit.Errorf(http.StatusNotFound, "UnknownOperationException",
			"no operation for %s %s", r.Method, r.URL.EscapedPath()))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		proto.WriteError(w, errInvalidRequest("could not read the request body: %v", err))
		return
	}
	c.body = body
	if !s.gate(w, r, op) {
		return
	}
	out, err := fn(r.Context(), c)
	if err != nil {
		apiErr, ok := err.(*simkit.APIError)
		if !ok {
			apiErr = errInternal("%v", err)
		}
		proto.WriteError(w, apiErr)
		return
	}
	proto.WriteJSON(w, http.StatusOK, out)
}

// route maps a request to its operation by method and URI, as the model's
// smithy.api#http traits say. Labels are unescaped one segment at a time,
// so that an instance ARN (which holds '/') may stand in a label.
func (s *Server) route(r *http.Request) (string, handler, *call, bool) {
	raw := strings.Split(strings.Trim(r.URL.EscapedPath(), "/"), "/")
	seg := make([]string, len(raw))
	for i, p := range raw {
		v, err := url.PathUnescape(p)
		if err != nil {
			return "", nil, nil, false
		}
		seg[i] = v
	}
	c := &call{query: r.URL.Query()}
	m := r.Method
	switch {
	case len(seg) == 2 && seg[0] == "users" && m == http.MethodPut:
		c.instance = seg[1]
		return "CreateUser", s.createUser, c, true
	case len(seg) == 3 && seg[0] == "users" && m == http.MethodGet:
		c.instance, c.user = seg[1], seg[2]
		return "DescribeUser", s.describeUser, c, true
	case len(seg) == 3 && seg[0] == "users" && m == http.MethodDelete:
		c.instance, c.user = seg[1], seg[2]
		return "DeleteUser", s.deleteUser, c, true
	case len(seg) == 4 && seg[0] == "users" && m == http.MethodPost:
		c.instance, c.user = seg[1], seg[2]
		switch seg[3] {
		case "identity-info":
			return "UpdateUserIdentityInfo", s.updateUserIdentityInfo, c, true
		case "security-profiles":
			return "UpdateUserSecurityProfiles", s.updateUserSecurityProfiles, c, true
		case "routing-profile":
			return "UpdateUserRoutingProfile", s.updateUserRoutingProfile, c, true
		case "hierarchy":
			return "UpdateUserHierarchy", s.updateUserHierarchy, c, true
		}
	case len(seg) == 2 && seg[0] == "users-summary" && m == http.MethodGet:
		c.instance = seg[1]
		return "ListUsers", s.listUsers, c, true
	case len(seg) == 1 && seg[0] == "search-users" && m == http.MethodPost:
		return "SearchUsers", s.searchUsers, c, true
	case len(seg) == 2 && seg[0] == "security-profiles-summary" && m == http.MethodGet:
		c.instance = seg[1]
		return "ListSecurityProfiles", s.listSecurityProfiles, c, true
	case len(seg) == 2 && seg[0] == "routing-profiles-summary" && m == http.MethodGet:
		c.instance = seg[1]
		return "ListRoutingProfiles", s.listRoutingProfiles, c, true
	case len(seg) == 2 && seg[0] == "tags" && m == http.MethodPost:
		c.resource = seg[1]
		return "TagResource", s.tagResource, c, true
	case len(seg) == 1 && seg[0] == "instance" && m == http.MethodGet:
		return "ListInstances", s.listInstances, c, true
	case len(seg) == 2 && seg[0] == "instance" && m == http.MethodGet:
		c.instance = seg[1]
		return "DescribeInstance", s.describeInstance, c, true
	}
	return "", nil, nil, false
}

// gate applies the Control's faults and quotas to one request for op, the
// way simkit.Control.Gate does, but answers injected 5xx with Connect's
// modelled InternalServiceException. It returns true when the request
// should be served.
func (s *Server) gate(w http.ResponseWriter, r *http.Request, op string) bool {
	return s.ctl.Screen(w, r, op, func(d simkit.Decision) {
		switch d {
		case simkit.Drop:
			proto.WriteError(w, simkit.Errorf(http.StatusServiceUnavailable, "ServiceUnavailableException", "connection dropped (injected)"))
		case simkit.ServerError:
			proto.WriteError(w, errInternal("internal error (injected)"))
		case simkit.Throttle:
			proto.WriteError(w, errThrottling())
		}
	})
}
