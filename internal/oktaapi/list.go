package oktaapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// ListPageSize is the page size ListUsers asks for: Okta's maximum for
// GET /api/v1/users.
const ListPageSize = 200

// NonActiveFilter is the filter expression of the users whose status
// takes access away: Okta lists DEPROVISIONED users only when a filter or
// search asks for that status.
const NonActiveFilter = `status eq "` + StatusSuspended + `" or status eq "` + StatusDeprovisioned + `"`

// maxListPages bounds the pages one ListUsers call follows (200 000 users
// at ListPageSize): a guard against a next link that never ends.
const maxListPages = 1000

// ListUsers lists the users matching filter, an Okta filter expression
// (GET /api/v1/users?filter=<filter>&limit=200; e.g. NonActiveFilter),
// and calls page with each page's users, in order. It follows the
// answers' Link rel="next" header, as Okta documents paging, until an
// answer has none, and returns the number of pages read. Each request is
// authenticated, limited and retried as GetUser's are (one rate-limit
// hold for the operation OpListUsers; Okta limits the list endpoint
// apart from GET /api/v1/users/{id}).
//
// It reads only; calling it again lists again (the users may have
// changed in between). Errors: the first failure ends the listing and is
// returned with the pages read before it: an *Error as GetUser's
// (ErrUnavailable also for an answer that is not a list of users, a next
// link that leaves the org or repeats itself, or more than 1000 pages),
// ErrInvalid for an empty filter; the credentials' errors; page's error,
// wrapped.
func (c *Client) ListUsers(ctx context.Context, filter string, page func([]User) error) (int, error) {
	if strings.TrimSpace(filter) == "" {
		return 0, classified(&Error{Op: OpListUsers, Kind: ErrInvalid, Detail: "empty filter"})
	}
	creds, gen, err := c.credentials(ctx)
	if err != nil {
		return 0, fmt.Errorf("okta %s: %w", OpListUsers, err)
	}
	org, err := url.Parse(creds.OrgURL)
	if err != nil {
		return 0, classified(&Error{Op: OpListUsers, Kind: ErrInvalidCredentials, Detail: "orgUrl does not parse"})
	}
	q := url.Values{"filter": {filter}, "limit": {strconv.Itoa(ListPageSize)}}
	next := creds.OrgURL + "/api/v1/users?" + q.Encode()
	seen := map[string]bool{}
	pages := 0
	for next != "" {
		if pages >= maxListPages || seen[next] {
			return pages, classified(&Error{Op: OpListUsers, Kind: ErrUnavailable,
				Detail: fmt.Sprintf("paging does not end after %d pages", pages)})
		}
		seen[next] = true
		a, err := c.get(ctx, OpListUsers, creds, gen, next)
		if err != nil {
			return pages, err
		}
		var raw []json.RawMessage
		if err := json.Unmarshal(a.body, &raw); err != nil {
			return pages, classified(&Error{Op: OpListUsers, Status: a.status, Kind: ErrUnavailable,
				Detail: "answer is not a list of users", RequestID: a.requestID()})
		}
		users := make([]User, 0, len(raw))
		for _, r := range raw {
			u, err := decodeUser(r)
			if err != nil {
				return pages, classified(&Error{Op: OpListUsers, Status: a.status, Kind: ErrUnavailable,
					Detail: err.Error(), RequestID: a.requestID()})
			}
			users = append(users, u)
		}
		pages++
		if err := page(users); err != nil {
			return pages, fmt.Errorf("okta %s: page %d: %w", OpListUsers, pages, err)
		}
		next = nextLink(a.header)
		if next == "" {
			break
		}
		u, err := url.Parse(next)
		if err != nil || u.Scheme != org.Scheme || u.Host != org.Host || u.Path != "/api/v1/users" {
			return pages, classified(&Error{Op: OpListUsers, Kind: ErrUnavailable, Detail: "next link leaves the org's users list",
				RequestID: a.requestID()})
		}
	}
	return pages, nil
}

// get reads target with creds (of generation gen): authenticated, and
// with a service app's refused token replaced once. It returns a 200
// answer, or the answer's error.
func (c *Client) get(ctx context.Context, op string, creds Credentials, gen int, target string) (answer, error) {
	stale := ""
	for refreshed := false; ; refreshed = true {
		auth, err := c.authorization(ctx, creds, gen, stale)
		if err != nil {
			return answer{}, err
		}
		a, err := c.exchange(ctx, op, func() (*http.Request, error) {
			req, err := http.NewRequest(http.MethodGet, target, nil)
			if err != nil {
				return nil, err
			}
			req.Header.Set("Authorization", auth)
			req.Header.Set("Accept", "application/json")
			return req, nil
		})
		if err != nil {
			return answer{}, err
		}
		switch {
		case a.status == http.StatusOK:
			return a, nil
		case a.status == http.StatusUnauthorized && creds.Method() == MethodPrivateKeyJWT && !refreshed:
			c.log.InfoContext(ctx, "okta access token refused; getting a new one", "op", op, "requestId", a.requestID())
			stale = auth
			continue
		}
		return answer{}, classified(answerError(op, a))
	}
}

// nextLink returns the URL of the Link header's rel="next", or "".
// Okta sends one Link header per relation; several in one header,
// comma-separated, are read too.
func nextLink(h http.Header) string {
	for _, v := range h.Values("Link") {
		for _, part := range strings.Split(v, ",") {
			ref, params, ok := strings.Cut(strings.TrimSpace(part), ";")
			if !ok {
				continue
			}
			ref = strings.TrimSpace(ref)
			if !strings.HasPrefix(ref, "<") || !strings.HasSuffix(ref, ">") {
				continue
			}
			for _, p := range strings.Split(params, ";") {
				k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
				if strings.EqualFold(strings.TrimSpace(k), "rel") && strings.Trim(strings.TrimSpace(val), `"`) == "next" {
					return ref[1 : len(ref)-1]
				}
			}
		}
	}
	return ""
}
