package simconnect

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/idsync/idsync/internal/sim/simkit"
)

// match says whether a user satisfies a search criterion.
type match func(u *User) bool

func matchAll(*User) bool { return true }

// maxCriteriaDepth bounds the nesting of AndConditions / OrConditions.
const maxCriteriaDepth = 8

// compileCriteria turns a UserSearchCriteria into a match. Members set side
// by side in one node must all hold. StringCondition FieldName is one of
// Username, FirstName, LastName, RoutingProfileId, SecurityProfileId,
// ResourceId (case-insensitive); names compare case-insensitively, ids
// exactly. HierarchyGroupCondition matches the user's group (groups have no
// children here, so WITH_CHILD_GROUPS equals EXACT). ListCondition is not
// supported: InvalidParameterException.
func compileCriteria(c *userSearchCriteriaJSON, path string, depth int) (match, error) {
	if c == nil {
		return matchAll, nil
	}
	if depth > maxCriteriaDepth {
		return nil, errInvalidParameter("%s is nested more than %d levels deep", path, maxCriteriaDepth)
	}
	var all []match
	if c.StringCondition != nil {
		m, err := compileString(c.StringCondition, path+".StringCondition")
		if err != nil {
			return nil, err
		}
		all = append(all, m)
	}
	if h := c.HierarchyGroupCondition; h != nil {
		switch h.HierarchyGroupMatchType {
		case "", "EXACT", "WITH_CHILD_GROUPS":
		default:
			return nil, errInvalidParameter("%s.HierarchyGroupCondition.HierarchyGroupMatchType %q is not one of EXACT, WITH_CHILD_GROUPS", path, h.HierarchyGroupMatchType)
		}
		if h.Value == "" {
			return nil, errInvalidParameter("%s.HierarchyGroupCondition.Value must not be empty", path)
		}
		v := h.Value
		all = append(all, func(u *User) bool { return u.HierarchyGroupID == v })
	}
	if c.ListCondition != nil && string(c.ListCondition) != "null" {
		return nil, errInvalidParameter("%s.ListCondition is not supported by this stand-in", path)
	}
	if len(c.AndConditions) > 0 {
		ms, err := compileList(c.AndConditions, path+".AndConditions", depth)
		if err != nil {
			return nil, err
		}
		all = append(all, func(u *User) bool {
			for _, m := range ms {
				if !m(u) {
					return false
				}
			}
			return true
		})
	}
	if len(c.OrConditions) > 0 {
		ms, err := compileList(c.OrConditions, path+".OrConditions", depth)
		if err != nil {
			return nil, err
		}
		all = append(all, func(u *User) bool {
			for _, m := range ms {
				if m(u) {
					return true
				}
			}
			return false
		})
	}
	return func(u *User) bool {
		for _, m := range all {
			if !m(u) {
				return false
			}
		}
		return true
	}, nil
}

func compileList(cs []userSearchCriteriaJSON, path string, depth int) ([]match, error) {
	ms := make([]match, 0, len(cs))
	for i := range cs {
		m, err := compileCriteria(&cs[i], fmt.Sprintf("%s[%d]", path, i), depth+1)
		if err != nil {
			return nil, err
		}
		ms = append(ms, m)
	}
	return ms, nil
}

func compileString(sc *stringConditionJSON, path string) (match, error) {
	var cmp func(have, want string) bool
	switch sc.ComparisonType {
	case "EXACT":
		cmp = func(have, want string) bool { return have == want }
	case "STARTS_WITH":
		cmp = strings.HasPrefix
	case "CONTAINS":
		cmp = strings.Contains
	default:
		return nil, errInvalidParameter("%s.ComparisonType %q is not one of EXACT, STARTS_WITH, CONTAINS", path, sc.ComparisonType)
	}
	if sc.Value == "" {
		return nil, errInvalidParameter("%s.Value must not be empty", path)
	}
	want := sc.Value
	folded := func(field func(*User) string) match {
		w := strings.ToLower(want)
		return func(u *User) bool { return cmp(strings.ToLower(field(u)), w) }
	}
	switch strings.ToLower(sc.FieldName) {
	case "username":
		return folded(func(u *User) string { return u.Username }), nil
	case "firstname":
		return folded(func(u *User) string { return u.FirstName }), nil
	case "lastname":
		return folded(func(u *User) string { return u.LastName }), nil
	case "resourceid":
		return func(u *User) bool { return cmp(u.ID, want) }, nil
	case "routingprofileid":
		return func(u *User) bool { return cmp(u.RoutingProfileID, want) }, nil
	case "securityprofileid":
		return func(u *User) bool {
			return slices.ContainsFunc(u.SecurityProfileIDs, func(id string) bool { return cmp(id, want) })
		}, nil
	}
	return nil, errInvalidParameter("%s.FieldName %q is not one of Username, FirstName, LastName, RoutingProfileId, SecurityProfileId, ResourceId", path, sc.FieldName)
}

// compileFilter turns a UserSearchFilter into a match. Its TagFilter
// (TagCondition, AndConditions, OrConditions of AND-lists) is supported;
// UserAttributeFilter is not: InvalidParameterException.
func compileFilter(f *userSearchFilterJSON) (match, error) {
	if f == nil {
		return matchAll, nil
	}
	if f.UserAttributeFilter != nil && string(f.UserAttributeFilter) != "null" {
		return nil, errInvalidParameter("SearchFilter.UserAttributeFilter is not supported by this stand-in")
	}
	tf := f.TagFilter
	if tf == nil {
		return matchAll, nil
	}
	has := func(u *User, c tagConditionJSON) bool {
		v, ok := u.Tags[c.TagKey]
		return ok && v == c.TagValue
	}
	return func(u *User) bool {
		if tf.TagCondition != nil && !has(u, *tf.TagCondition) {
			return false
		}
		for _, c := range tf.AndConditions {
			if !has(u, c) {
				return false
			}
		}
		if len(tf.OrConditions) == 0 {
			return true
		}
		for _, and := range tf.OrConditions {
			if !slices.ContainsFunc(and, func(c tagConditionJSON) bool { return !has(u, c) }) {
				return true
			}
		}
		return false
	}, nil
}

// searchUsers is SearchUsers: POST /search-users. It searches the lagging
// index (index.go), not the users themselves. Results are ordered by
// username; PhoneConfig.AfterContactWorkTimeLimit is answered in
// milliseconds, as the service documents.
func (s *Server) searchUsers(_ context.Context, c *call) (any, error) {
	var in searchUsersIn
	if err := decode(c.body, &in); err != nil {
		return nil, err
	}
	var p simkit.Problems
	checkInstanceID(&p, in.InstanceID)
	if in.MaxResults != nil && (*in.MaxResults < 1 || *in.MaxResults > 500) {
		p.Addf("Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 500", *in.MaxResults)
	}
	if in.NextToken != nil {
		p.Length("nextToken", *in.NextToken, 1, 2500)
		if *in.NextToken == "" {
			p.Addf("Value at 'nextToken' failed to satisfy constraint: Member must have length between 1 and 2500")
		}
	}
	if err := problems(&p); err != nil {
		return nil, err
	}
	crit, err := compileCriteria(in.SearchCriteria, "SearchCriteria", 0)
	if err != nil {
		return nil, err
	}
	filter, err := compileFilter(in.SearchFilter)
	if err != nil {
		return nil, err
	}
	size := 100
	if in.MaxResults != nil {
		size = int(*in.MaxResults)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	inst, err := s.lookupInstance(in.InstanceID)
	if err != nil {
		return nil, err
	}
	var hits []*User
	for _, u := range s.searchableLocked(inst) {
		if crit(u) && filter(u) {
			hits = append(hits, u)
		}
	}
	page, next, err := pageAfter(hits, userKey, in.NextToken, size)
	if err != nil {
		return nil, err
	}
	out := searchUsersOut{Users: []userSearchSummaryJSON{}, NextToken: next, ApproximateTotalCount: int64(len(hits))}
	for _, u := range page {
		sum := userSearchSummaryJSON{
			Arn: u.ARN, DirectoryUserID: u.DirectoryUserID, HierarchyGroupID: u.HierarchyGroupID, ID: u.ID,
			PhoneConfig:        phoneJSON(u, 1000),
			RoutingProfileID:   u.RoutingProfileID,
			SecurityProfileIDs: append([]string{}, u.SecurityProfileIDs...),
			Tags:               u.Tags,
			Username:           u.Username,
		}
		if u.FirstName != "" || u.LastName != "" {
			sum.IdentityInfo = &identityInfoLiteJSON{FirstName: u.FirstName, LastName: u.LastName}
		}
		out.Users = append(out.Users, sum)
	}
	return out, nil
}
