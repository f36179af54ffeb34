package simokta

// Okta's org-wide rate limits: per endpoint, per minute, reported on every
// response by X-Rate-Limit-Limit ("the rate limit ceiling that is
// applicable for the current request"), X-Rate-Limit-Remaining ("the number
// of requests left for the current rate-limit window") and
// X-Rate-Limit-Reset ("the time at which the rate limit resets, specified
// in UTC epoch time (in seconds)"); a request over the limit answers 429
// E0000047 (developer.okta.com/docs/reference/rl-best-practices/,
// rl-global-mgmt/). The stand-in keeps a fixed one-minute window per
// operation (Okta SDK operation names, as Control uses) aligned to the
// minute, and for requests made with a service app's access token a second
// window holding the app's share of the limit (RateLimitPercent, default
// 50 %: "By default, each new application sets this percentage at 50%",
// implement-oauth-for-okta-serviceapp); such requests report the app's
// window in the headers. Operations without a limit send no headers.
//
// GetUser (GET /api/v1/users/{id}) is limited by default to
// DefaultGetUserRateLimit, the smallest figure Okta publishes for the
// endpoint's bucket; a limit per operation is set with Options.RateLimits,
// SetRateLimit or POST /_sim/rate-limits. Okta's concurrent-request limit
// is not modelled. Simkit's quotas and injected throttles
// (Control().SetQuota / SetFaults, /_sim/quotas, /_sim/faults) also answer
// 429 E0000047 with the same headers, Remaining 0.

import (
	"maps"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// DefaultGetUserRateLimit is GetUser's default limit per minute.
const DefaultGetUserRateLimit = 600

type rateWindow struct {
	start time.Time
	used  int
}

type rateLimits struct {
	mu      sync.Mutex
	limits  map[string]int         // operation → requests per minute
	windows map[string]*rateWindow // operation, or operation + " " + client id
}

func newRateLimits(o Options) *rateLimits {
	rl := &rateLimits{limits: map[string]int{}, windows: map[string]*rateWindow{}}
	if !o.NoRateLimits {
		rl.limits["GetUser"] = DefaultGetUserRateLimit
	}
	for op, n := range o.RateLimits {
		if n > 0 {
			rl.limits[op] = n
		} else {
			delete(rl.limits, op)
		}
	}
	return rl
}

// SetRateLimit sets an operation's limit per minute (e.g. "GetUser", 100);
// zero or less removes it. The operation's windows restart.
func (s *Server) SetRateLimit(op string, perMinute int) {
	rl := s.rates
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if perMinute > 0 {
		rl.limits[op] = perMinute
	} else {
		delete(rl.limits, op)
	}
	for k := range rl.windows {
		if k == op || len(k) > len(op) && k[:len(op)+1] == op+" " {
			delete(rl.windows, k)
		}
	}
}

// RateLimits returns the per-minute limit of every limited operation.
func (s *Server) RateLimits() map[string]int {
	s.rates.mu.Lock()
	defer s.rates.mu.Unlock()
	return maps.Clone(s.rates.limits)
}

// rateLimit counts one request for op in its windows and writes the
// X-Rate-Limit-* headers; over the limit it answers 429 E0000047 and
// returns false.
func (s *Server) rateLimit(w http.ResponseWriter, op string, p principal) bool {
	rl := s.rates
	now := s.now()
	start := now.Truncate(time.Minute)
	rl.mu.Lock()
	limit := rl.limits[op]
	if limit <= 0 {
		rl.mu.Unlock()
		return true
	}
	win := rl.window(op, start)
	shown, used := limit, win.used
	ok := win.used < limit
	var appWin *rateWindow
	if p.app != nil {
		pct := p.app.RateLimitPercent
		if pct <= 0 {
			pct = DefaultAppRateLimitPercent
		}
		appLimit := max(1, limit*min(pct, 100)/100)
		appWin = rl.window(op+" "+p.app.ClientID, start)
		shown, used = appLimit, appWin.used
		ok = ok && appWin.used < appLimit
	}
	if ok {
		win.used++
		used++
		if appWin != nil {
			appWin.used++
		}
	}
	rl.mu.Unlock()
	setRateHeaders(w, shown, max(shown-used, 0), start.Add(time.Minute))
	if !ok {
		s.writeError(w, &APIError{Status: http.StatusTooManyRequests, Code: codeTooMany,
			Summary: "API call exceeded rate limit due to too many requests."})
	}
	return ok
}

// window returns the window of key for the minute starting at start; rl.mu
// must be held.
func (rl *rateLimits) window(key string, start time.Time) *rateWindow {
	w := rl.windows[key]
	if w == nil || !w.start.Equal(start) {
		w = &rateWindow{start: start}
		rl.windows[key] = w
	}
	return w
}

// limitOf is op's limit per minute, or fallback when it has none.
func (s *Server) limitOf(op string, fallback int) int {
	s.rates.mu.Lock()
	defer s.rates.mu.Unlock()
	if n := s.rates.limits[op]; n > 0 {
		return n
	}
	return fallback
}

func setRateHeaders(w http.ResponseWriter, limit, remaining int, reset time.Time) {
	w.Header().Set("X-Rate-Limit-Limit", strconv.Itoa(limit))
	w.Header().Set("X-Rate-Limit-Remaining", strconv.Itoa(remaining))
	w.Header().Set("X-Rate-Limit-Reset", strconv.FormatInt(reset.Unix(), 10))
}

// serveRateLimits serves GET /_sim/rate-limits (operation → per minute) and
// POST /_sim/rate-limits {"op":"GetUser","perMinute":N} (0 removes).
func (s *Server) serveRateLimits(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet {
		s.writeJSON(w, http.StatusOK, s.RateLimits())
		return
	}
	var req struct {
		Op        string `json:"op"`
		PerMinute int    `json:"perMinute"`
	}
	if err := decodeBody(r, &req); err != nil {
		s.writeError(w, err)
		return
	}
	if req.Op == "" {
		s.writeError(w, invalid("op: required"))
		return
	}
	s.SetRateLimit(req.Op, req.PerMinute)
	w.WriteHeader(http.StatusNoContent)
}
