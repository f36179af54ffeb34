package opscli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// ErrOkta is wrapped by errors from the Okta management API.
var ErrOkta = errors.New("okta API")

// OktaGroup is one Okta group as discover sees it.
type OktaGroup struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	Name string `json:"name"`
}

// OktaGroups finds Okta groups by name through the Okta management API
// (GET /api/v1/groups?q=…, an SSWS API token with okta.groups.read).
type OktaGroups struct {
	OrgURL, APIToken string
	// HTTP defaults to http.DefaultClient.
	HTTP *http.Client
}

var nextLink = regexp.MustCompile(`<([^>]+)>;\s*rel="next"`)

// Find returns the groups named name (compared without regard to case), in
// the API's order, following its pages.
//
// Errors: ErrOkta for an answer other than 200 (the status and Okta's
// errorSummary, never the token); transport errors; malformed JSON.
func (o OktaGroups) Find(ctx context.Context, name string) ([]OktaGroup, error) {
	client := o.HTTP
	if client == nil {
		client = http.DefaultClient
	}
	next := strings.TrimRight(o.OrgURL, "/") + "/api/v1/groups?limit=200&q=" + url.QueryEscape(name)
	var out []OktaGroup
	for page := 0; next != "" && page < 100; page++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, next, nil)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrOkta, err)
		}
		req.Header.Set("Authorization", "SSWS "+o.APIToken)
		req.Header.Set("Accept", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("%w: list groups: %w", ErrOkta, err)
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
		_ = resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("%w: list groups: %w", ErrOkta, err)
		}
		if resp.StatusCode != http.StatusOK {
			var e struct {
				ErrorSummary string `json:"errorSummary"`
			}
			_ = json.Unmarshal(body, &e)
			return nil, fmt.Errorf("%w: list groups: %s %s", ErrOkta, resp.Status, e.ErrorSummary)
		}
		var groups []struct {
			ID      string `json:"id"`
			Type    string `json:"type"`
			Profile struct {
				Name string `json:"name"`
			} `json:"profile"`
		}
		if err := json.Unmarshal(body, &groups); err != nil {
			return nil, fmt.Errorf("%w: list groups: %w", ErrOkta, err)
		}
		for _, g := range groups {
			if strings.EqualFold(g.Profile.Name, name) {
				out = append(out, OktaGroup{ID: g.ID, Type: g.Type, Name: g.Profile.Name})
			}
		}
		next = ""
		if m := nextLink.FindStringSubmatch(strings.Join(resp.Header.Values("Link"), ", ")); m != nil {
			next = m[1]
		}
	}
	return out, nil
}
