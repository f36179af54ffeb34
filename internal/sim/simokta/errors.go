package simokta

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Sentinel errors the Go seeding methods return wrapped in an *APIError;
// test them with errors.Is.
var (
	// ErrNotFound: no user, group or event hook has that id (or login).
	ErrNotFound = errors.New("okta: not found")
	// ErrInvalid: the input fails Okta's validation (missing or malformed
	// profile attributes, a login or group name already taken).
	ErrInvalid = errors.New("okta: invalid input")
	// ErrLifecycle: the user's status does not allow that lifecycle
	// operation.
	ErrLifecycle = errors.New("okta: lifecycle transition not allowed")
	// ErrVerification: an event hook's endpoint did not answer the
	// verification challenge.
	ErrVerification = errors.New("okta: event hook verification failed")
	// ErrClosed: the server was closed (or its context cancelled) before
	// the work could finish.
	ErrClosed = errors.New("okta: server closed")
)

// Okta error codes used by the stand-in (developer.okta.com/docs/reference/error-codes).
const (
	codeValidation   = "E0000001" // 400 API validation exception
	codeReader       = "E0000003" // 400 body not well-formed
	codeNotFound     = "E0000007" // 404 Not found: {0}
	codeInternal     = "E0000009" // 500 Internal Server Error
	codeNoPermission = "E0000006" // 403 You do not have permission to perform the requested action
	codeInvalidToken = "E0000011" // 401 Invalid token provided
	codeActivation   = "E0000016" // 403 Activation failed because the user is already active
	codeSearch       = "E0000031" // 400 Invalid search criteria
	codeTooMany      = "E0000047" // 429 API call exceeded rate limit
)

// APIError is an error answer in Okta's terms: the HTTP status, the error
// code (E00000xx), the summary and the causes. It wraps one of the sentinel
// errors above.
type APIError struct {
	Status  int
	Code    string
	Summary string
	Causes  []string
	kind    error
}

// Error implements error.
func (e *APIError) Error() string {
	msg := e.Code + ": " + e.Summary
	if len(e.Causes) > 0 {
		msg += " (" + strings.Join(e.Causes, "; ") + ")"
	}
	return msg
}

// Unwrap returns the sentinel error the APIError stands for.
func (e *APIError) Unwrap() error { return e.kind }

func notFound(format string, args ...any) *APIError {
	return &APIError{Status: http.StatusNotFound, Code: codeNotFound,
		Summary: "Not found: " + fmt.Sprintf(format, args...), kind: ErrNotFound}
}

func userNotFound(id string) *APIError {
	return notFound("Resource not found: %s (User)", id)
}

func groupNotFound(id string) *APIError {
	return notFound("Resource not found: %s (UserGroup)", id)
}

func hookNotFound(id string) *APIError {
	return notFound("Resource not found: %s (EventHook)", id)
}

// invalid is Okta's E0000001 with one cause per problem, each
// "<field>: <message>"; the summary names the first field.
func invalid(causes ...string) *APIError {
	field, _, _ := strings.Cut(causes[0], ":")
	return &APIError{Status: http.StatusBadRequest, Code: codeValidation,
		Summary: "Api validation failed: " + field, Causes: causes, kind: ErrInvalid}
}

// lifecycleErr is E0000001 for a status that does not allow the operation,
// as Okta answers e.g. "Cannot suspend a user that is not active".
func lifecycleErr(summary string) *APIError {
	return &APIError{Status: http.StatusBadRequest, Code: codeValidation,
		Summary: "Api validation failed: " + summary, Causes: []string{summary}, kind: ErrLifecycle}
}

func alreadyActive() *APIError {
	return &APIError{Status: http.StatusForbidden, Code: codeActivation,
		Summary: "Activation failed because the user is already active", kind: ErrLifecycle}
}

type errorCause struct {
	ErrorSummary string `json:"errorSummary"`
}

type errorBody struct {
	ErrorCode    string       `json:"errorCode"`
	ErrorSummary string       `json:"errorSummary"`
	ErrorLink    string       `json:"errorLink"`
	ErrorID      string       `json:"errorId"`
	ErrorCauses  []errorCause `json:"errorCauses"`
}

// writeError answers with Okta's error object.
func (s *Server) writeError(w http.ResponseWriter, e *APIError) {
	body := errorBody{ErrorCode: e.Code, ErrorSummary: e.Summary, ErrorLink: e.Code,
		ErrorID: "oae" + opaque(22), ErrorCauses: []errorCause{}}
	for _, c := range e.Causes {
		body.ErrorCauses = append(body.ErrorCauses, errorCause{ErrorSummary: c})
	}
	s.writeJSON(w, e.Status, body)
}

// writeJSON answers status with v as JSON, with the headers Okta sends.
func (s *Server) writeJSON(w http.ResponseWriter, status int, v any) {
	raw, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		raw = []byte(`{"errorCode":"E0000009","errorSummary":"Internal Server Error","errorLink":"E0000009","errorId":"oaeencode","errorCauses":[]}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Okta-Request-Id", opaque(20))
	w.WriteHeader(status)
	_, _ = w.Write(raw)
}

// asAPIError turns any error from a core operation into an APIError.
func asAPIError(err error) *APIError {
	var e *APIError
	if errors.As(err, &e) {
		return e
	}
	return &APIError{Status: http.StatusInternalServerError, Code: codeInternal, Summary: "Internal Server Error",
		Causes: []string{err.Error()}}
}
