package simconnect

import (
	"context"
	"encoding/base64"
	"errors"
	"sort"
	"strings"

	"github.com/idsync/idsync/internal/sim/simkit"
)

// errBadToken is returned by parseCursor for a token it did not make.
var errBadToken = errors.New("invalid next token")

// Pages of users and profiles are cut by key, not offset: a token holds the
// sort key of the last item served, so deleting users between pages never
// skips one that is still there.

func cursorToken(key string) string {
	return base64.RawURLEncoding.EncodeToString([]byte("k:" + key))
}

func parseCursor(tok string) (string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || !strings.HasPrefix(string(raw), "k:") {
		return "", errBadToken
	}
	return strings.TrimPrefix(string(raw), "k:"), nil
}

// pageAfter returns up to size of items (sorted by key) whose key sorts
// after the token's, and the token of the next page ("" on the last).
func pageAfter[T any](items []T, key func(T) string, token *string, size int) ([]T, string, error) {
	start := 0
	if token != nil {
		after, err := parseCursor(*token)
		if err != nil {
			return nil, "", errInvalidParameter("The nextToken is not valid")
		}
		start = sort.Search(len(items), func(i int) bool { return key(items[i]) > after })
	}
	end := start + size
	if end >= len(items) {
		return items[start:], "", nil
	}
	return items[start:end], cursorToken(key(items[end-1])), nil
}

func queryToken(c *call) *string {
	if v, ok := c.query["nextToken"]; ok && len(v) > 0 {
		return &v[0]
	}
	return nil
}

// listPage serves a List operation paged by key: it checks the InstanceId
// label and maxResults, then, with s.mu held, pages the instance's items
// (sorted by key) and summarises each item of the page.
func listPage[T, S any](s *Server, c *call, items func(*instance) []T, key func(T) string, summary func(T) S) ([]S, string, error) {
	var p simkit.Problems
	checkInstanceID(&p, c.instance)
	if err := problems(&p); err != nil {
		return nil, "", err
	}
	size, err := parseMaxResults(c.query.Get("maxResults"), 100, 1000, errInvalidParameter)
	if err != nil {
		return nil, "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	inst, err := s.lookupInstance(c.instance)
	if err != nil {
		return nil, "", err
	}
	page, next, err := pageAfter(items(inst), key, queryToken(c), size)
	if err != nil {
		return nil, "", err
	}
	out := []S{}
	for _, x := range page {
		out = append(out, summary(x))
	}
	return out, next, nil
}

// listUsers is ListUsers: GET /users-summary/{InstanceId}?maxResults&nextToken.
func (s *Server) listUsers(_ context.Context, c *call) (any, error) {
	list, next, err := listPage(s, c, (*instance).sortedUsers, userKey, func(u *User) userSummaryJSON {
		return userSummaryJSON{
			ID: u.ID, Arn: u.ARN, Username: u.Username,
			LastModifiedTime: epochSeconds(u.LastModifiedTime), LastModifiedRegion: s.region,
		}
	})
	if err != nil {
		return nil, err
	}
	return listUsersOut{UserSummaryList: list, NextToken: next}, nil
}

// listProfiles pages one of an instance's profile maps.
func (s *Server) listProfiles(c *call, pick func(*instance) map[string]*profile) ([]profileSummaryJSON, string, error) {
	return listPage(s, c, func(in *instance) []*profile { return sortedProfiles(pick(in)) }, profileKey, func(pr *profile) profileSummaryJSON {
		return profileSummaryJSON{ID: pr.ID, Arn: pr.ARN, Name: pr.Name,
			LastModifiedTime: epochSeconds(pr.modified), LastModifiedRegion: s.region}
	})
}

// listSecurityProfiles is ListSecurityProfiles: GET
// /security-profiles-summary/{InstanceId}.
func (s *Server) listSecurityProfiles(_ context.Context, c *call) (any, error) {
	list, next, err := s.listProfiles(c, func(in *instance) map[string]*profile { return in.securityProfiles })
	if err != nil {
		return nil, err
	}
	return listSecurityProfilesOut{SecurityProfileSummaryList: list, NextToken: next}, nil
}

// listRoutingProfiles is ListRoutingProfiles: GET
// /routing-profiles-summary/{InstanceId}.
func (s *Server) listRoutingProfiles(_ context.Context, c *call) (any, error) {
	list, next, err := s.listProfiles(c, func(in *instance) map[string]*profile { return in.routingProfiles })
	if err != nil {
		return nil, err
	}
	return listRoutingProfilesOut{RoutingProfileSummaryList: list, NextToken: next}, nil
}

// listInstances is ListInstances: GET /instance?maxResults&nextToken, in
// creation order (instances are never deleted, so offsets are stable).
func (s *Server) listInstances(_ context.Context, c *call) (any, error) {
	// ListInstances models InvalidRequestException, not InvalidParameterException.
	size, err := parseMaxResults(c.query.Get("maxResults"), 10, 10, errInvalidRequest)
	if err != nil {
		return nil, err
	}
	offset := 0
	if tok := queryToken(c); tok != nil {
		if offset, err = simkit.ParsePageToken(*tok); err != nil {
			return nil, errInvalidRequest("The nextToken is not valid")
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ids, next := simkit.Page(s.order, offset, size)
	out := listInstancesOut{InstanceSummaryList: []instanceSummaryJSON{}, NextToken: next}
	for _, id := range ids {
		out.InstanceSummaryList = append(out.InstanceSummaryList, s.instanceJSON(s.instances[id]))
	}
	return out, nil
}

// instanceJSON is an instance as ListInstances and DescribeInstance show
// it. Callers hold s.mu.
func (s *Server) instanceJSON(in *instance) instanceSummaryJSON {
	return instanceSummaryJSON{
		ID: in.id, Arn: in.arn, IdentityManagementType: in.idType, InstanceAlias: in.alias,
		CreatedTime:          epochSeconds(in.created),
		ServiceRole:          "arn:aws:iam::" + s.account + ":role/aws-service-role/connect.amazonaws.com/AWSServiceRoleForAmazonConnect",
		InstanceStatus:       "ACTIVE",
		InboundCallsEnabled:  true,
		OutboundCallsEnabled: true,
		InstanceAccessURL:    "https://" + in.alias + ".my.connect.aws",
	}
}

// describeInstance is DescribeInstance (GET /instance/{InstanceId}): the
// instance by id or ARN, ResourceNotFoundException for an unknown one (the
// model lists InternalServiceException, InvalidRequestException and
// ResourceNotFoundException).
func (s *Server) describeInstance(_ context.Context, c *call) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in, err := s.lookupInstance(c.instance)
	if err != nil {
		return nil, err
	}
	return describeInstanceOut{Instance: s.instanceJSON(in)}, nil
}
