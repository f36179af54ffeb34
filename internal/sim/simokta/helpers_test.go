package simokta_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idsync/idsync/internal/sim/simokta"
)

const token = "test-token"

// org is a stand-in under test with its HTTP front.
type org struct {
	t   *testing.T
	srv *simokta.Server
	ts  *httptest.Server
}

func newOrg(t *testing.T, o simokta.Options) *org {
	t.Helper()
	if o.APIToken == "" {
		o.APIToken = token
	}
	if o.OrgURL == "" {
		o.OrgURL = "https://test.okta.example"
	}
	srv := simokta.New(o)
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		ts.Close()
		srv.Close()
	})
	return &org{t: t, srv: srv, ts: ts}
}

// with returns o reporting to t (for subtests sharing one org).
func (o *org) with(t *testing.T) *org {
	c := *o
	c.t = t
	return &c
}

// do makes an authorised API call and decodes a JSON answer into out (when
// out is non-nil and there is a body). It returns the response (body read).
func (o *org) do(method, path string, body any, out any) *http.Response {
	o.t.Helper()
	return o.doAuth("SSWS "+token, method, path, body, out)
}

func (o *org) doAuth(auth, method, path string, body any, out any) *http.Response {
	o.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			o.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, o.ts.URL+path, rd)
	if err != nil {
		o.t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := o.ts.Client().Do(req)
	if err != nil {
		o.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		o.t.Fatal(err)
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			o.t.Fatalf("%s %s: decode %q: %v", method, path, raw, err)
		}
	}
	return resp
}

func (o *org) flush() {
	o.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := o.srv.Flush(ctx); err != nil {
		o.t.Fatalf("flush: %v", err)
	}
}

// oktaError is Okta's error object.
type oktaError struct {
	ErrorCode    string `json:"errorCode"`
	ErrorSummary string `json:"errorSummary"`
	ErrorLink    string `json:"errorLink"`
	ErrorID      string `json:"errorId"`
	ErrorCauses  []struct {
		ErrorSummary string `json:"errorSummary"`
	} `json:"errorCauses"`
}

type userObj struct {
	ID            string            `json:"id"`
	Status        string            `json:"status"`
	Created       string            `json:"created"`
	Activated     *string           `json:"activated"`
	StatusChanged *string           `json:"statusChanged"`
	LastUpdated   string            `json:"lastUpdated"`
	Profile       map[string]string `json:"profile"`
	Links         map[string]struct {
		Href string `json:"href"`
	} `json:"_links"`
}

type groupObj struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Profile struct {
		Name        string `json:"name"`
		Description string `json:"description"`
	} `json:"profile"`
}

type hookObj struct {
	ID                 string `json:"id"`
	Status             string `json:"status"`
	VerificationStatus string `json:"verificationStatus"`
	Name               string `json:"name"`
	Events             struct {
		Type  string   `json:"type"`
		Items []string `json:"items"`
	} `json:"events"`
	Channel struct {
		Type    string `json:"type"`
		Version string `json:"version"`
		Config  struct {
			URI        string            `json:"uri"`
			AuthScheme map[string]string `json:"authScheme"`
		} `json:"config"`
	} `json:"channel"`
}

// createUser creates a user through the API; password makes activation
// yield ACTIVE.
func (o *org) createUser(login string, activate, password bool) userObj {
	o.t.Helper()
	first := strings.FieldsFunc(login, func(r rune) bool { return r == '.' || r == '@' })[0]
	body := map[string]any{"profile": map[string]string{
		"firstName": strings.ToUpper(first[:1]) + first[1:], "lastName": "Tester", "email": login, "login": login,
		"department": "Engineering",
	}}
	if password {
		body["credentials"] = map[string]any{"password": map[string]string{"value": "Sup3r-secret!"}}
	}
	var u userObj
	path := "/api/v1/users?activate=false"
	if activate {
		path = "/api/v1/users?activate=true"
	}
	if resp := o.do(http.MethodPost, path, body, &u); resp.StatusCode != http.StatusOK {
		o.t.Fatalf("create user %s: %d", login, resp.StatusCode)
	}
	return u
}

func (o *org) createGroup(name string) groupObj {
	o.t.Helper()
	var g groupObj
	body := map[string]any{"profile": map[string]string{"name": name, "description": name + " group"}}
	if resp := o.do(http.MethodPost, "/api/v1/groups", body, &g); resp.StatusCode != http.StatusOK {
		o.t.Fatalf("create group %s: %d", name, resp.StatusCode)
	}
	return g
}

// createHook registers testdata/create_event_hook.json pointed at uri,
// subscribed to items (the file's items when none are given).
func (o *org) createHook(uri string, items ...string) hookObj {
	o.t.Helper()
	raw, err := os.ReadFile("testdata/create_event_hook.json")
	if err != nil {
		o.t.Fatal(err)
	}
	var body map[string]any
	if err := json.Unmarshal(bytes.ReplaceAll(raw, []byte("RECEIVER_URI"), []byte(uri)), &body); err != nil {
		o.t.Fatal(err)
	}
	if len(items) > 0 {
		body["events"] = map[string]any{"type": "EVENT_TYPE", "items": items}
	}
	var h hookObj
	if resp := o.do(http.MethodPost, "/api/v1/eventHooks", body, &h); resp.StatusCode != http.StatusOK {
		o.t.Fatalf("create hook: %d", resp.StatusCode)
	}
	return h
}

// verifiedHook creates a hook to rcv and verifies it.
func (o *org) verifiedHook(rcv *receiver, items ...string) hookObj {
	o.t.Helper()
	h := o.createHook(rcv.url(), items...)
	var got hookObj
	if resp := o.do(http.MethodPost, "/api/v1/eventHooks/"+h.ID+"/lifecycle/verify", nil, &got); resp.StatusCode != http.StatusOK {
		o.t.Fatalf("verify hook: %d", resp.StatusCode)
	}
	if got.VerificationStatus != simokta.HookVerified {
		o.t.Fatalf("verificationStatus = %q", got.VerificationStatus)
	}
	return got
}

// received is one POST a receiver got.
type received struct {
	header http.Header
	body   []byte
	env    envelope
}

type envelope struct {
	EventType          string `json:"eventType"`
	EventTypeVersion   string `json:"eventTypeVersion"`
	CloudEventsVersion string `json:"cloudEventsVersion"`
	Source             string `json:"source"`
	EventID            string `json:"eventId"`
	EventTime          string `json:"eventTime"`
	ContentType        string `json:"contentType"`
	Data               struct {
		Events []logEvent `json:"events"`
	} `json:"data"`
}

type logEvent struct {
	UUID      string `json:"uuid"`
	Published string `json:"published"`
	EventType string `json:"eventType"`
	Version   string `json:"version"`
	Severity  string `json:"severity"`
	Actor     struct {
		ID   string `json:"id"`
		Type string `json:"type"`
	} `json:"actor"`
	Outcome struct {
		Result string `json:"result"`
	} `json:"outcome"`
	Target []struct {
		ID          string `json:"id"`
		Type        string `json:"type"`
		AlternateID string `json:"alternateId"`
		DisplayName string `json:"displayName"`
	} `json:"target"`
	DebugContext struct {
		DebugData map[string]string `json:"debugData"`
	} `json:"debugContext"`
}

// receiver is an event hook endpoint: it answers verification challenges
// and records POSTs, answering each with respond(n) (n counts POSTs from 0).
type receiver struct {
	t       *testing.T
	ts      *httptest.Server
	mu      sync.Mutex
	posts   []received
	gets    []http.Header
	respond func(n int) (status int, delay time.Duration)
	verify  func(challenge string) (status int, body string)
	posted  chan struct{}
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{t: t, posted: make(chan struct{}, 100),
		respond: func(int) (int, time.Duration) { return http.StatusOK, 0 }}
	r.verify = func(ch string) (int, string) {
		raw, _ := json.Marshal(map[string]string{"verification": ch})
		return http.StatusOK, string(raw)
	}
	r.ts = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.ts.Close)
	return r
}

func (r *receiver) url() string { return r.ts.URL + "/okta/hook" }

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	switch req.Method {
	case http.MethodGet:
		r.gets = append(r.gets, req.Header.Clone())
		verify := r.verify
		r.mu.Unlock()
		status, body := verify(req.Header.Get("x-okta-verification-challenge"))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
		return
	case http.MethodPost:
		raw, _ := io.ReadAll(req.Body)
		rec := received{header: req.Header.Clone(), body: raw}
		if err := json.Unmarshal(raw, &rec.env); err != nil {
			r.t.Errorf("receiver: decode delivery: %v", err)
		}
		n := len(r.posts)
		r.posts = append(r.posts, rec)
		respond := r.respond
		r.mu.Unlock()
		status, delay := respond(n)
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-req.Context().Done():
				r.posted <- struct{}{}
				return
			}
		}
		w.WriteHeader(status)
		r.posted <- struct{}{}
		return
	}
	r.mu.Unlock()
	w.WriteHeader(http.StatusMethodNotAllowed)
}

func (r *receiver) deliveries() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.posts...)
}

func (r *receiver) verifications() []http.Header {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]http.Header(nil), r.gets...)
}

// attempts returns the server's records of delivery calls (not
// verifications).
func attempts(srv *simokta.Server) []simokta.DeliveryAttempt {
	var out []simokta.DeliveryAttempt
	for _, a := range srv.Deliveries() {
		if a.Kind == simokta.KindDelivery {
			out = append(out, a)
		}
	}
	return out
}

func decodeJSON(resp *http.Response, v any) error {
	return json.NewDecoder(resp.Body).Decode(v)
}
