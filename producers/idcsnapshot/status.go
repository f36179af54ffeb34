package idcsnapshot

import (
	"context"
	"errors"
	"time"

	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/oktaapi"
)

// OktaUsers is the part of *oktaapi.Client the status reconciliation
// uses: Okta's list-users API with a filter, and one user by id.
type OktaUsers interface {
	ListUsers(ctx context.Context, filter string, page func([]oktaapi.User) error) (int, error)
	GetUser(ctx context.Context, id string) (oktaapi.User, error)
}

// DefaultStatusConfirmMax bounds the users a run reads one by one to
// confirm a reactivation or a deletion (domain.StatusToConfirm); the rest
// wait for the next run.
const DefaultStatusConfirmMax = 50

// readStatus reads Okta's user statuses for the status reconciliation
// (domain.OktaStatus): the users Okta lists with oktaapi.NonActiveFilter,
// then, one by one and at most statusConfirmMax of them, the people prev
// holds as suspended or deactivated (stamped no later than settled) whom
// the list leaves out. Any failed request makes the result incomplete, so
// that it gives no status facts at all. It fills in sum's status figures
// and logs ids only. Without Okta API access it returns nil.
func (s *Snapshotter) readStatus(ctx context.Context, sum *Summary, prev []domain.Person, settled time.Time) *domain.OktaStatus {
	if s.okta == nil {
		return nil
	}
	sum.StatusRead = true
	st := &domain.OktaStatus{Users: map[string]domain.Status{}}
	pages, err := s.okta.ListUsers(ctx, oktaapi.NonActiveFilter, func(us []oktaapi.User) error {
		for _, u := range us {
			if v, ok := oktaStatus(u.Status); ok && v != domain.StatusActive {
				st.Users[u.ID] = v
			}
		}
		return nil
	})
	sum.StatusPages += pages
	if err != nil {
		return s.statusFailed(ctx, sum, st, "list", err)
	}
	confirm := domain.StatusToConfirm(prev, st.Users, settled)
	if len(confirm) > s.statusConfirmMax {
		s.log.Info("status confirmations deferred to later runs", "runId", sum.RunID,
			"toConfirm", len(confirm), "max", s.statusConfirmMax)
		confirm = confirm[:s.statusConfirmMax]
	}
	for _, id := range confirm {
		u, err := s.okta.GetUser(ctx, id)
		sum.StatusPages++
		switch {
		case errors.Is(err, oktaapi.ErrNotFound):
			st.Users[id] = domain.StatusDeleted
		case err != nil:
			return s.statusFailed(ctx, sum, st, "get", err)
		default:
			if v, ok := oktaStatus(u.Status); ok {
				st.Users[id] = v
			}
		}
	}
	st.Complete = true
	return st
}

// statusFailed records a failed status read: no status facts this run.
func (s *Snapshotter) statusFailed(ctx context.Context, sum *Summary, st *domain.OktaStatus, what string, err error) *domain.OktaStatus {
	sum.StatusReadFailed = true
	// oktaapi's errors carry ids, codes and statuses, never profile values.
	s.log.WarnContext(ctx, "okta status read failed; no status facts this run", "runId", sum.RunID,
		"read", what, "pages", sum.StatusPages, "error", truncate(err.Error()))
	st.Complete = false
	return st
}

// oktaStatus names an Okta user status as idsync does: SUSPENDED is
// suspended, DEPROVISIONED deactivated, every other known status (staged,
// provisioned, active, recovery, locked out, password expired) active.
// An unknown status is not mapped (ok false).
func oktaStatus(v string) (domain.Status, bool) {
	switch v {
	case oktaapi.StatusSuspended:
		return domain.StatusSuspended, true
	case oktaapi.StatusDeprovisioned:
		return domain.StatusDeactivated, true
	case oktaapi.StatusStaged, oktaapi.StatusProvisioned, oktaapi.StatusActive, oktaapi.StatusRecovery,
		oktaapi.StatusLockedOut, oktaapi.StatusPasswordExpired:
		return domain.StatusActive, true
	}
	return "", false
}
