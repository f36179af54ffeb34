package domain_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"testing"

	"github.com/idsync/idsync/domain"
)

type throttled struct{ retryAfter int }

func (e *throttled) Error() string { return fmt.Sprintf("throttled, retry after %ds", e.retryAfter) }

func TestKindOf(t *testing.T) {
	base := errors.New("boom")
	tests := []struct {
		name string
		err  error
		want domain.ErrorKind
	}{
		{"nil", nil, domain.ErrorNone},
		{"unmarked defaults to retryable", base, domain.ErrorRetryable},
		{"context deadline is retryable", context.DeadlineExceeded, domain.ErrorRetryable},
		{"permanent", domain.Permanent(base), domain.ErrorPermanent},
		{"stale", domain.Stale(base), domain.ErrorStale},
		{"explicit retryable", domain.Retryable(base), domain.ErrorRetryable},
		{"permanent under %w", fmt.Errorf("apply: %w", domain.Permanent(base)), domain.ErrorPermanent},
		{"stale under two %w", fmt.Errorf("a: %w", fmt.Errorf("b: %w", domain.Stale(base))), domain.ErrorStale},
		{"outermost mark wins", domain.Retryable(fmt.Errorf("x: %w", domain.Permanent(base))), domain.ErrorRetryable},
		{"outermost mark wins 2", domain.Permanent(domain.Stale(base)), domain.ErrorPermanent},
		{"inside errors.Join", errors.Join(errors.New("other"), domain.Permanent(base)), domain.ErrorPermanent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := domain.KindOf(tt.err); got != tt.want {
				t.Errorf("KindOf(%v) = %s, want %s", tt.err, got, tt.want)
			}
		})
	}
}

func TestClassifySeesThrough(t *testing.T) {
	inner := &throttled{retryAfter: 3}
	wrapped := fmt.Errorf("connect CreateUser: %w", inner)
	for name, mark := range map[string]func(error) error{
		"Permanent": domain.Permanent, "Stale": domain.Stale, "Retryable": domain.Retryable,
	} {
		err := mark(wrapped)
		if err.Error() != wrapped.Error() {
			t.Errorf("%s changed the message: %q", name, err)
		}
		var th *throttled
		if !errors.As(err, &th) || th.retryAfter != 3 {
			t.Errorf("%s hides the wrapped error from errors.As", name)
		}
		if !errors.Is(mark(fs.ErrNotExist), fs.ErrNotExist) {
			t.Errorf("%s hides the wrapped error from errors.Is", name)
		}
		if mark(nil) != nil {
			t.Errorf("%s(nil) != nil", name)
		}
	}
}

func TestErrorKindString(t *testing.T) {
	want := map[domain.ErrorKind]string{
		domain.ErrorNone: "none", domain.ErrorRetryable: "retryable", domain.ErrorPermanent: "permanent",
		domain.ErrorStale: "stale", domain.ErrorKind(99): "unknown",
	}
	for k, s := range want {
		if k.String() != s {
			t.Errorf("ErrorKind(%d).String() = %q, want %q", int(k), k.String(), s)
		}
	}
}
