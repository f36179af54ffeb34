package simidentitystore

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/idsync/idsync/internal/sim/simkit"
)

type createUserIn struct {
	wireUser
}

type createUserOut struct {
	UserId          string
	IdentityStoreId string
}

func (s *Server) createUser(_ context.Context, in *createUserIn) (*createUserOut, error) {
	w := in.wireUser
	w.UserId, w.ExternalIds = "", nil // not settable through the API (SCIM sets ExternalIds)
	var c checker
	c.storeID(w.IdentityStoreId)
	c.user(&w)
	if err := c.err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, e := s.storeFor(w.IdentityStoreId)
	if e != nil {
		return nil, e
	}
	u, e := s.insertUser(st, w)
	if e != nil {
		return nil, e
	}
	return &createUserOut{UserId: u.w.UserId, IdentityStoreId: st.id}, nil
}

// insertUser adds a validated user to st; s.mu must be held for writing.
func (s *Server) insertUser(st *store, w wireUser) (*user, *simkit.APIError) {
	if st.byUserName[fold(w.UserName)] != nil {
		return nil, conflict("Duplicate UserName")
	}
	for _, x := range w.ExternalIds {
		if st.byUserExt[externalKey{x.Issuer, x.Id}] != nil {
			return nil, conflict("Duplicate ExternalId")
		}
	}
	if e := st.emailTaken(w, nil); e != nil {
		return nil, e
	}
	w.UserId = s.newUUID()
	w.IdentityStoreId = st.id
	u := &user{seq: s.nextSeq(), w: w}
	st.indexUser(u)
	st.userOrder = append(st.userOrder, u)
	return u, nil
}

type describeUserIn struct {
	IdentityStoreId string
	UserId          string
	Extensions      []string
}

func (s *Server) describeUser(_ context.Context, in *describeUserIn) (*wireUser, error) {
	var c checker
	c.storeID(in.IdentityStoreId)
	c.resourceID("userId", in.UserId, true)
	c.extensionNames(in.Extensions)
	if err := c.err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	st, e := s.storeFor(in.IdentityStoreId)
	if e != nil {
		return nil, e
	}
	u, e := st.findUser(in.UserId)
	if e != nil {
		return nil, e
	}
	out := userOut(u, in.Extensions)
	return &out, nil
}

// userOut is the answer's copy of u with only the requested extensions.
func userOut(u *user, extensions []string) wireUser {
	w := u.w
	w.Extensions = nil
	for _, name := range extensions {
		if v, ok := u.w.Extensions[name]; ok {
			if w.Extensions == nil {
				w.Extensions = map[string]json.RawMessage{}
			}
			w.Extensions[name] = v
		}
	}
	return w
}

type listUsersIn struct {
	IdentityStoreId string
	MaxResults      *int
	NextToken       string
	Filters         []wireFilter
	Extensions      []string
}

type listUsersOut struct {
	Users     []wireUser
	NextToken string `json:",omitempty"`
}

const defaultPageSize = 100

func (s *Server) listUsers(_ context.Context, in *listUsersIn) (*listUsersOut, error) {
	var c checker
	c.storeID(in.IdentityStoreId)
	c.page(in.MaxResults, in.NextToken)
	c.extensionNames(in.Extensions)
	filters(&c, in.Filters, "UserName")
	if err := c.err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	st, e := s.storeFor(in.IdentityStoreId)
	if e != nil {
		return nil, e
	}
	items := filtered(st.userOrder, st.byUserName, in.Filters)
	users, next, err := listPage(items, userSeq, in.NextToken, in.MaxResults, func(u *user) wireUser { return userOut(u, in.Extensions) })
	if err != nil {
		return nil, err
	}
	return &listUsersOut{Users: users, NextToken: next}, nil
}

func pageSize(max *int) int {
	if max == nil {
		return defaultPageSize
	}
	return *max
}

// listPage pages items (sorted by seqOf) from token, MaxResults max, and
// converts each item of the page with conv.
func listPage[T, W any](items []T, seqOf func(T) uint64, token string, max *int, conv func(T) W) ([]W, string, error) {
	page, next, ok := simkit.PageBySeq(items, seqOf, token, pageSize(max))
	if !ok {
		return nil, "", invalid("Invalid NextToken")
	}
	out := make([]W, 0, len(page))
	for _, x := range page {
		out = append(out, conv(x))
	}
	return out, next, nil
}

// filtered applies the deprecated Filters member (already checked by
// filters): with a filter, the one item whose folded name matches, if any.
func filtered[T any](all []*T, byName map[string]*T, fs []wireFilter) []*T {
	if len(fs) != 1 {
		return all
	}
	if x := byName[fold(fs[0].AttributeValue)]; x != nil {
		return []*T{x}
	}
	return nil
}

// filters checks the deprecated Filters member: at most one filter, on the
// one attribute the operation supports.
func filters(c *checker, fs []wireFilter, path string) {
	if len(fs) > 1 {
		c.Addf("Value at 'filters' failed to satisfy constraint: Member must have length less than or equal to 1")
	}
	for _, f := range fs {
		c.attributePath("filters.member.attributePath", f.AttributePath)
		c.Required("filters.member.attributeValue", f.AttributeValue)
		if f.AttributePath != "" && !strings.EqualFold(f.AttributePath, path) {
			c.Addf("Value '%s' at 'filters.member.attributePath' failed to satisfy constraint: only %s is supported", f.AttributePath, path)
		}
	}
}

type updateUserIn struct {
	IdentityStoreId string
	UserId          string
	Operations      []wireAttributeOp
}

type empty struct{}

func (s *Server) updateUser(_ context.Context, in *updateUserIn) (*empty, error) {
	var c checker
	c.storeID(in.IdentityStoreId)
	c.resourceID("userId", in.UserId, true)
	c.operations(in.Operations)
	if err := c.err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, e := s.storeFor(in.IdentityStoreId)
	if e != nil {
		return nil, e
	}
	u, e := st.findUser(in.UserId)
	if e != nil {
		return nil, e
	}
	w := u.w
	for _, op := range in.Operations {
		if err := applyUserOp(&w, op); err != nil {
			return nil, err
		}
	}
	if err := s.replaceUser(st, u, w); err != nil {
		return nil, err
	}
	return &empty{}, nil
}

// replaceUser validates w and stores it as u's new attributes; s.mu must be
// held for writing.
func (s *Server) replaceUser(st *store, u *user, w wireUser) error {
	var c checker
	c.user(&w)
	if err := c.err(); err != nil {
		return err
	}
	if o := st.byUserName[fold(w.UserName)]; o != nil && o != u {
		return conflict("Duplicate UserName")
	}
	for _, x := range w.ExternalIds {
		if o := st.byUserExt[externalKey{x.Issuer, x.Id}]; o != nil && o != u {
			return conflict("Duplicate ExternalId")
		}
	}
	if e := st.emailTaken(w, u); e != nil {
		return e
	}
	st.unindexUser(u)
	w.UserId, w.IdentityStoreId = u.w.UserId, st.id
	u.w = w
	st.indexUser(u)
	return nil
}

// applyUserOp applies one AttributeOperation to w. A null or absent value
// removes the attribute. Paths are matched regardless of case.
func applyUserOp(w *wireUser, op wireAttributeOp) error {
	path := strings.ToLower(op.AttributePath)
	raw := op.AttributeValue
	remove := len(raw) == 0 || string(raw) == "null"
	str := func(dst *string) error {
		if remove {
			*dst = ""
			return nil
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			return invalid("AttributeValue for %s must be a string", op.AttributePath)
		}
		return nil
	}
	list := func(dst any) error {
		// Nil the slice first: decoding into a non-nil slice would reuse,
		// and so overwrite, the stored record's backing array.
		if err := json.Unmarshal([]byte("null"), dst); err != nil || remove {
			return err
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			return invalid("AttributeValue for %s must be a list of objects", op.AttributePath)
		}
		return nil
	}
	strs := map[string]*string{
		"username": &w.UserName, "displayname": &w.DisplayName, "nickname": &w.NickName,
		"profileurl": &w.ProfileUrl, "usertype": &w.UserType, "title": &w.Title,
		"preferredlanguage": &w.PreferredLanguage, "locale": &w.Locale, "timezone": &w.Timezone,
	}
	if dst, ok := strs[path]; ok {
		return str(dst)
	}
	switch {
	case path == "name":
		if remove {
			w.Name = nil
			return nil
		}
		var n wireName
		if err := json.Unmarshal(raw, &n); err != nil {
			return invalid("AttributeValue for name must be an object")
		}
		w.Name = &n
		return nil
	case strings.HasPrefix(path, "name."):
		n := wireName{}
		if w.Name != nil {
			n = *w.Name
		}
		parts := map[string]*string{
			"givenname": &n.GivenName, "familyname": &n.FamilyName, "formatted": &n.Formatted,
			"middlename": &n.MiddleName, "honorificprefix": &n.HonorificPrefix, "honorificsuffix": &n.HonorificSuffix,
		}
		dst, ok := parts[strings.TrimPrefix(path, "name.")]
		if !ok {
			return invalid("Invalid attribute path %s", op.AttributePath)
		}
		if err := str(dst); err != nil {
			return err
		}
		w.Name = &n
		return nil
	case path == "emails":
		return list(&w.Emails)
	case path == "addresses":
		return list(&w.Addresses)
	case path == "phonenumbers":
		return list(&w.PhoneNumbers)
	case path == "externalids":
		// Not in the public model's user attributes, but how a SCIM-style
		// provisioner (the Okta stand-in) records the IdP's id on a user.
		return list(&w.ExternalIds)
	case path == enterpriseExtension || strings.HasPrefix(path, enterpriseExtension+"."):
		return applyExtensionOp(w, strings.TrimPrefix(strings.TrimPrefix(path, enterpriseExtension), "."), op.AttributePath, raw, remove)
	}
	return invalid("Invalid attribute path %s", op.AttributePath)
}

// applyExtensionOp sets or removes the enterprise extension, or one field of
// it ("department", "manager.value", ...). The extension map is replaced,
// never edited in place.
func applyExtensionOp(w *wireUser, field, path string, raw json.RawMessage, remove bool) error {
	ext := map[string]json.RawMessage{}
	for k, v := range w.Extensions {
		ext[k] = v
	}
	defer func() {
		w.Extensions = ext
		if len(ext) == 0 {
			w.Extensions = nil
		}
	}()
	if field == "" {
		if remove {
			delete(ext, enterpriseExtension)
			return nil
		}
		var obj map[string]any
		if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
			return invalid("AttributeValue for %s must be an object", path)
		}
		ext[enterpriseExtension] = raw
		return nil
	}
	obj := map[string]any{}
	if cur, ok := ext[enterpriseExtension]; ok {
		_ = json.Unmarshal(cur, &obj)
	}
	var val any
	if !remove {
		if err := json.Unmarshal(raw, &val); err != nil {
			return invalid("AttributeValue for %s is not JSON", path)
		}
	}
	// Field names keep the extension's own casing (department, costCenter, ...).
	orig := path[len(enterpriseExtension)+1:]
	head, sub, nested := strings.Cut(orig, ".")
	switch {
	case nested:
		m, _ := obj[head].(map[string]any)
		mm := map[string]any{}
		for k, v := range m {
			mm[k] = v
		}
		if remove {
			delete(mm, sub)
		} else {
			mm[sub] = val
		}
		obj[head] = mm
	case remove:
		delete(obj, head)
	default:
		obj[head] = val
	}
	enc, err := json.Marshal(obj)
	if err != nil {
		return invalid("AttributeValue for %s is not JSON", path)
	}
	ext[enterpriseExtension] = enc
	return nil
}

type deleteUserIn struct {
	IdentityStoreId string
	UserId          string
}

func (s *Server) deleteUser(_ context.Context, in *deleteUserIn) (*empty, error) {
	var c checker
	c.storeID(in.IdentityStoreId)
	c.resourceID("userId", in.UserId, true)
	if err := c.err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, e := s.storeFor(in.IdentityStoreId)
	if e != nil {
		return nil, e
	}
	if e := st.deleteUser(in.UserId); e != nil {
		return nil, e
	}
	return &empty{}, nil
}

// deleteUser removes a user and its group memberships.
func (st *store) deleteUser(id string) *simkit.APIError {
	u, e := st.findUser(id)
	if e != nil {
		return e
	}
	for len(u.memberships) > 0 {
		st.removeMembership(u.memberships[len(u.memberships)-1])
	}
	st.unindexUser(u)
	st.userOrder = simkit.RemoveBySeq(st.userOrder, u.seq, userSeq)
	return nil
}

type getIDIn struct {
	IdentityStoreId     string
	AlternateIdentifier wireAlternateIdentifier
}

type getUserIDOut struct {
	UserId          string
	IdentityStoreId string
}

func (s *Server) getUserID(_ context.Context, in *getIDIn) (*getUserIDOut, error) {
	path, value, err := alternate(in, "userName", "emails.value")
	if err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	st, e := s.storeFor(in.IdentityStoreId)
	if e != nil {
		return nil, e
	}
	var u *user
	switch {
	case in.AlternateIdentifier.ExternalId != nil:
		x := in.AlternateIdentifier.ExternalId
		u = st.byUserExt[externalKey{x.Issuer, x.Id}]
	case strings.EqualFold(path, "userName"):
		u = st.byUserName[fold(value)]
	default:
		for _, cand := range st.byEmail[fold(value)] {
			if u == nil || cand.seq < u.seq {
				u = cand
			}
		}
	}
	if u == nil {
		return nil, notFoundUnnamed("USER")
	}
	return &getUserIDOut{UserId: u.w.UserId, IdentityStoreId: st.id}, nil
}

// alternate validates a GetUserId / GetGroupId request and returns the
// unique attribute's path and string value (both "" for an ExternalId).
func alternate(in *getIDIn, paths ...string) (string, string, error) {
	var c checker
	c.storeID(in.IdentityStoreId)
	a := in.AlternateIdentifier
	switch {
	case (a.ExternalId == nil) == (a.UniqueAttribute == nil):
		c.Addf("Value at 'alternateIdentifier' failed to satisfy constraint: exactly one of ExternalId or UniqueAttribute must be set")
	case a.ExternalId != nil:
		c.externalIDs("alternateIdentifier.externalId", []wireExternalID{*a.ExternalId})
	default:
		c.attributePath("alternateIdentifier.uniqueAttribute.attributePath", a.UniqueAttribute.AttributePath)
		ok := false
		for _, p := range paths {
			ok = ok || strings.EqualFold(p, a.UniqueAttribute.AttributePath)
		}
		if a.UniqueAttribute.AttributePath != "" && !ok {
			c.Addf("Value '%s' at 'alternateIdentifier.uniqueAttribute.attributePath' failed to satisfy constraint: must be one of %s",
				a.UniqueAttribute.AttributePath, strings.Join(paths, ", "))
		}
		var v string
		if json.Unmarshal(a.UniqueAttribute.AttributeValue, &v) != nil || v == "" {
			c.Addf("Value at 'alternateIdentifier.uniqueAttribute.attributeValue' failed to satisfy constraint: Member must be a non-empty string")
		}
		if err := c.err(); err != nil {
			return "", "", err
		}
		return a.UniqueAttribute.AttributePath, v, nil
	}
	return "", "", c.err()
}
