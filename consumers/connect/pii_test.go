package connect_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/smithy-go"

	"github.com/idsync/idsync/consumers"
	"github.com/idsync/idsync/consumers/connect"
	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/sim/simkit"
)

// serviceSays is the service-message text the answers below carry: it
// echoes a username and email, as Connect's messages can.
const serviceSays = "service says: user jane.doe@example.com (Jane Doe)"

// answerError answers the requests match selects with the Connect error
// code at status and a message holding serviceSays, and passes the others
// to next.
func answerError(match func(r *http.Request) bool, status int, code string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !match(r) {
				next.ServeHTTP(w, r)
				return
			}
			_, _ = io.Copy(io.Discard, r.Body)
			simkit.RESTJSON1.WriteError(w, simkit.Errorf(status, code, "%s", serviceSays))
		})
	}
}

// isCreateUser matches CreateUser: PUT /users/{InstanceId}.
func isCreateUser(r *http.Request) bool {
	return r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, "/users/") && strings.Count(r.URL.Path, "/") == 2
}

// isUpdate matches the update of user's suffix, e.g. "/routing-profile".
func isUpdate(suffix string) func(r *http.Request) bool {
	return func(r *http.Request) bool {
		return r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/users/") && strings.HasSuffix(r.URL.Path, suffix)
	}
}

// searchFindsNothing answers every SearchUsers with no users (a search
// index lagging behind writes).
func searchFindsNothing(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/search-users" {
			next.ServeHTTP(w, r)
			return
		}
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"Users":[],"ApproximateTotalCount":0}`)
	})
}

// TestErrorsCarryNoServiceMessage: Connect's error messages can echo
// usernames and email addresses. The applier's errors (and so results'
// reasons, ledger rows and dead-letter attributes) and its log lines name
// the operation, the error code and HTTP status and idsync's own words
// with ids, never the service's message; the SDK's error stays in the
// chain for errors.As.
func TestErrorsCarryNoServiceMessage(t *testing.T) {
	tests := []struct {
		name     string
		attempts int
		wrap     func(http.Handler) http.Handler
		// setup returns jane, her last state and, for updates, her agent's id.
		setup   func(t *testing.T, e *env, a *connect.Applier) (domain.Person, domain.TargetState)
		kind    domain.ErrorKind
		is      error
		want    []string // substrings of the error's text
		message string   // what the SDK error's own message must hold
	}{
		{
			name: "duplicate whose user the search cannot find (the stand-in echoes the username)",
			wrap: searchFindsNothing,
			setup: func(t *testing.T, e *env, _ *connect.Applier) (domain.Person, domain.TargetState) {
				if _, err := e.sim.SeedUser(e.instance, "jane.doe@example.com"); err != nil {
					t.Fatal(err)
				}
				return member(jane(t), agents, true, 1), domain.TargetState{}
			},
			kind: domain.ErrorRetryable, is: connect.ErrDuplicateNotFound,
			want:    []string{"connect CreateUser: DuplicateResourceException (HTTP 409)"},
			message: "jane.doe@example.com",
		},
		{
			name: "invalid parameter on create",
			wrap: answerError(isCreateUser, http.StatusBadRequest, "InvalidParameterException"),
			setup: func(t *testing.T, e *env, _ *connect.Applier) (domain.Person, domain.TargetState) {
				return member(jane(t), agents, true, 1), domain.TargetState{}
			},
			kind:    domain.ErrorPermanent,
			want:    []string{"connect CreateUser: InvalidParameterException (HTTP 400)"},
			message: serviceSays,
		},
		{
			name: "sustained throttling of create", attempts: 2,
			wrap: answerError(isCreateUser, http.StatusTooManyRequests, "ThrottlingException"),
			setup: func(t *testing.T, e *env, _ *connect.Applier) (domain.Person, domain.TargetState) {
				return member(jane(t), agents, true, 1), domain.TargetState{}
			},
			kind:    domain.ErrorRetryable,
			want:    []string{"connect CreateUser: ThrottlingException (HTTP 429)"},
			message: serviceSays,
		},
		{
			name: "server error on create", attempts: 2,
			wrap: answerError(isCreateUser, http.StatusInternalServerError, "InternalServiceException"),
			setup: func(t *testing.T, e *env, _ *connect.Applier) (domain.Person, domain.TargetState) {
				return member(jane(t), agents, true, 1), domain.TargetState{}
			},
			kind:    domain.ErrorRetryable,
			want:    []string{"connect CreateUser: InternalServiceException (HTTP 500)"},
			message: serviceSays,
		},
		{
			name: "a routing profile not found",
			wrap: answerError(isUpdate("/routing-profile"), http.StatusNotFound, "ResourceNotFoundException"),
			setup: func(t *testing.T, e *env, a *connect.Applier) (domain.Person, domain.TargetState) {
				p, st := e.joined(t, a)
				return member(p, supervisors, true, 2), st
			},
			kind:    domain.ErrorPermanent,
			want:    []string{"connect UpdateUserRoutingProfile: ResourceNotFoundException (HTTP 404); user ", " exists, so a profile or group"},
			message: serviceSays,
		},
		{
			name: "an agent deleted outside idsync",
			wrap: answerError(isUpdate("/security-profiles"), http.StatusNotFound, "ResourceNotFoundException"),
			setup: func(t *testing.T, e *env, a *connect.Applier) (domain.Person, domain.TargetState) {
				p, st := e.joined(t, a)
				e.deleteOutside(t, st.RemoteID)
				return member(p, supervisors, true, 2), st
			},
			kind: domain.ErrorPermanent, is: connect.ErrAccountMissing,
			want:    []string{"account missing: Connect user ", "connect UpdateUserSecurityProfiles: ResourceNotFoundException (HTTP 404)"},
			message: serviceSays,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			attempts := tt.attempts
			if attempts == 0 {
				attempts = 10
			}
			e := newEnv(t, withAttempts(attempts), withHandler(tt.wrap))
			var logs bytes.Buffer
			a := e.applier(t, e.config(t, "config-delete.json"), connect.Options{
				Logger: slog.New(slog.NewJSONHandler(&logs, nil)),
			})
			p, last := tt.setup(t, e, a)
			logs.Reset()

			ctx := context.Background()
			plan, err := a.Plan(ctx, p, last, e.now)
			if err != nil {
				t.Fatal(err)
			}
			_, rs, err := consumers.Execute(ctx, a, p, last, plan, nil)
			if err == nil {
				t.Fatal("Apply succeeded, want an error")
			}
			if got := domain.KindOf(err); got != tt.kind {
				t.Errorf("kind %s, want %s (%v)", got, tt.kind, err)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
			var apiErr smithy.APIError
			if !errors.As(err, &apiErr) || !strings.Contains(apiErr.ErrorMessage(), tt.message) {
				t.Fatalf("error chain of %v lacks the service's error with message %q", err, tt.message)
			}
			text := err.Error()
			if strings.Contains(text, apiErr.ErrorMessage()) {
				t.Errorf("error text %q holds the service's message %q", text, apiErr.ErrorMessage())
			}
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("error text %q, want it to hold %q", text, w)
				}
			}
			if len(rs) == 0 || rs[len(rs)-1].Reason != text {
				t.Errorf("results %+v, want the last one's reason to be the error text", rs)
			}
			surfaces := map[string]string{"error": text, "log": logs.String()}
			if logs.Len() == 0 {
				t.Error("no log line")
			}
			for where, s := range surfaces {
				for _, pii := range []string{"@", "example.com", "jane", "Jane", "Doe", "service says"} {
					if strings.Contains(s, pii) {
						t.Errorf("%s holds %q: %s", where, pii, s)
					}
				}
			}
		})
	}
}
