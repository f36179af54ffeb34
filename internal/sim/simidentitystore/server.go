// Package simidentitystore is idsync's local stand-in for the AWS Identity Store
// API (the directory behind IAM Identity Center). It speaks awsJson1_1
// (X-Amz-Target "AWSIdentityStore.<Op>") so the real aws-sdk-go-v2
// identitystore client talks to it unchanged: users, groups and group
// memberships with the API model's validation, error codes and HTTP
// statuses, keyset pagination that stays O(page) over 100,000 users, the
// service's collective rate quota, and simkit's fault injection.
//
// Besides the HTTP API it has a Go seeding surface (AddIdentityStore,
// SeedUser, SeedGroup, SeedMembership, ...) that tests and the Okta stand-in
// call directly, cheaply enough for bulk loads of 100,000 users.
package simidentitystore

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/idsync/idsync/internal/sim/simkit"
)

// TargetPrefix is the X-Amz-Target prefix of every Identity Store operation.
const TargetPrefix = "AWSIdentityStore."

// DefaultQuota is the Identity Store's collective request rate: IAM Identity
// Center documents a collective throttle of 20 transactions per second across
// its APIs and no separate burst, so the bucket holds one second's worth.
func DefaultQuota() simkit.Quota { return simkit.Quota{Rate: 20, Burst: 20} }

// Options configures a Server.
type Options struct {
	// Seed makes fault injection and minted ids repeatable.
	Seed uint64
	// Clock defaults to time.Now.
	Clock func() time.Time
	// Quota is the collective quota shared by all operations. The zero value
	// means AWS's default (DefaultQuota); see NoQuota to switch it off.
	Quota simkit.Quota
	// NoQuota switches the collective quota off.
	NoQuota bool
	// RetryAfterSeconds is what a throttled answer tells the caller to wait
	// (ThrottlingException.RetryAfterSeconds and the Retry-After header);
	// zero means 1.
	RetryAfterSeconds int
	// AccountID is the AWS account that owns the identity stores, used in
	// identity store ARNs and access-denied messages; default "123456789012".
	AccountID string
}

// Server is the Identity Store stand-in: an http.Handler plus Go seeding
// methods. It is safe for concurrent use.
type Server struct {
	svc        *simkit.JSONService
	control    *simkit.Control
	now        func() time.Time
	account    string
	retryAfter int

	mu     sync.RWMutex
	rng    *rand.Rand // id generator; guarded by mu (write lock)
	seq    uint64     // creation sequence of every entity; guarded by mu
	stores map[string]*store
	order  []string // identity store ids in creation order
	denied map[string]bool
}

// New returns a Server with no identity stores; add them with
// AddIdentityStore.
func New(o Options) *Server {
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.AccountID == "" {
		o.AccountID = "123456789012"
	}
	if o.RetryAfterSeconds <= 0 {
		o.RetryAfterSeconds = 1
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
		retryAfter: o.RetryAfterSeconds,
		rng:        rand.New(rand.NewPCG(o.Seed^0x5bd1e995, o.Seed+0x27d4eb2f165667c5)),
		stores:     map[string]*store{},
		denied:     map[string]bool{},
	}
	ops := map[string]simkit.JSONOp{
		"CreateUser":                    simkit.Op(s.createUser),
		"DescribeUser":                  simkit.Op(s.describeUser),
		"ListUsers":                     simkit.Op(s.listUsers),
		"UpdateUser":                    simkit.Op(s.updateUser),
		"DeleteUser":                    simkit.Op(s.deleteUser),
		"GetUserId":                     simkit.Op(s.getUserID),
		"CreateGroup":                   simkit.Op(s.createGroup),
		"DescribeGroup":                 simkit.Op(s.describeGroup),
		"ListGroups":                    simkit.Op(s.listGroups),
		"UpdateGroup":                   simkit.Op(s.updateGroup),
		"DeleteGroup":                   simkit.Op(s.deleteGroup),
		"GetGroupId":                    simkit.Op(s.getGroupID),
		"CreateGroupMembership":         simkit.Op(s.createGroupMembership),
		"DeleteGroupMembership":         simkit.Op(s.deleteGroupMembership),
		"DescribeGroupMembership":       simkit.Op(s.describeGroupMembership),
		"GetGroupMembershipId":          simkit.Op(s.getGroupMembershipID),
		"ListGroupMemberships":          simkit.Op(s.listGroupMemberships),
		"ListGroupMembershipsForMember": simkit.Op(s.listGroupMembershipsForMember),
		"IsMemberInGroups":              simkit.Op(s.isMemberInGroups),
	}
	for name, op := range ops {
		ops[name] = s.guard(name, op)
	}
	s.svc = &simkit.JSONService{
		Prefix:   TargetPrefix,
		Control:  s.control,
		Ops:      ops,
		Throttle: s.throttle,
		Dump:     func() any { return s.State() },
	}
	return s
}

// Control returns the quotas, faults and counters of the stand-in.
func (s *Server) Control() *simkit.Control { return s.control }

// ServeHTTP implements http.Handler: the Identity Store API, simkit's /_sim
// control surface, and POST /_sim/access {"op":"ListUsers","denied":true},
// which makes an operation ("*" for all) answer AccessDeniedException as IAM
// would for a caller without permission.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/_sim/access" && r.Method == http.MethodPost {
		var req struct {
			Op     string `json:"op"`
			Denied bool   `json:"denied"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&req); err != nil || req.Op == "" {
			simkit.RESTJSON1.WriteError(w, simkit.Errorf(http.StatusBadRequest, "InvalidRequestException", "want {\"op\":\"<operation>|*\",\"denied\":bool}"))
			return
		}
		s.SetAccessDenied(req.Op, req.Denied)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	s.svc.ServeHTTP(w, r)
}

// SetAccessDenied makes op (or every operation, for "*") answer
// AccessDeniedException while denied is true. It is idempotent.
func (s *Server) SetAccessDenied(op string, denied bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if denied {
		s.denied[op] = true
	} else {
		delete(s.denied, op)
	}
}

// guard answers AccessDeniedException for denied operations.
func (s *Server) guard(name string, op simkit.JSONOp) simkit.JSONOp {
	return func(ctx context.Context, body []byte) (any, error) {
		s.mu.RLock()
		denied := s.denied[name] || s.denied["*"]
		s.mu.RUnlock()
		if denied {
			var in struct{ IdentityStoreId string }
			_ = json.Unmarshal(body, &in)
			return nil, &simkit.APIError{
				Status: http.StatusForbidden, Code: "AccessDeniedException",
				Message: fmt.Sprintf("User: arn:aws:sts::%s:assumed-role/idsync/session is not authorized to perform: identitystore:%s on resource: arn:aws:identitystore::%s:identitystore/%s",
					s.account, name, s.account, in.IdentityStoreId),
			}
		}
		return op(ctx, body)
	}
}

func (s *Server) throttle() *simkit.APIError {
	return &simkit.APIError{
		Status:  http.StatusTooManyRequests,
		Code:    "ThrottlingException",
		Message: "Rate exceeded",
		Fields:  map[string]any{"RetryAfterSeconds": s.retryAfter},
		Header:  map[string]string{"Retry-After": strconv.Itoa(s.retryAfter)},
	}
}

// newUUID mints a random UUID (version 4 layout) from the seeded generator;
// s.mu must be held for writing.
func (s *Server) newUUID() string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[0:8], s.rng.Uint64())
	binary.LittleEndian.PutUint64(b[8:16], s.rng.Uint64())
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// nextSeq returns the next creation sequence number; s.mu must be held for
// writing.
func (s *Server) nextSeq() uint64 {
	s.seq++
	return s.seq
}

// storeFor resolves an identity store id (or identity store ARN) to its
// store; s.mu must be held.
func (s *Server) storeFor(id string) (*store, *simkit.APIError) {
	if _, after, ok := strings.Cut(id, ":identitystore/"); ok && strings.HasPrefix(id, "arn:") {
		id = after
	}
	st := s.stores[id]
	if st == nil {
		return nil, notFound("IDENTITY_STORE", id, "IdentityStore not present for IdentityStoreId: %s", id)
	}
	return st, nil
}

func notFound(resourceType, id, format string, args ...any) *simkit.APIError {
	e := simkit.Errorf(http.StatusNotFound, "ResourceNotFoundException", format, args...)
	e.Fields = map[string]any{"ResourceType": resourceType, "ResourceId": id}
	return e
}

// notFoundUnnamed is the ResourceNotFoundException of a lookup by an
// alternate identifier (GetUserId, GetGroupId, GetGroupMembershipId): it
// names no ResourceId.
func notFoundUnnamed(resourceType string) *simkit.APIError {
	e := notFound(resourceType, "", "%s not found.", resourceType)
	delete(e.Fields, "ResourceId")
	return e
}

func conflict(format string, args ...any) *simkit.APIError {
	e := simkit.Errorf(http.StatusConflict, "ConflictException", format, args...)
	e.Fields = map[string]any{"Reason": "UNIQUENESS_CONSTRAINT_VIOLATION"}
	return e
}

func invalid(format string, args ...any) *simkit.APIError {
	return simkit.Errorf(http.StatusBadRequest, "ValidationException", format, args...)
}
