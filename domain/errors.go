package domain

import "errors"

// ErrorKind classifies a failure by what the pipeline should do about it.
// Adapters classify once, where the failure is first understood (an SDK
// error, a decode failure); everything above only asks KindOf.
type ErrorKind int

// Error kinds. ErrorNone is what KindOf reports for a nil error; every
// non-nil error that was never classified is ErrorRetryable.
const (
	// ErrorNone: there is no error.
	ErrorNone ErrorKind = iota
	// ErrorRetryable: throttling, 5xx, timeouts, anything unknown. Leave the
	// message on the queue so that SQS redelivers it.
	ErrorRetryable
	// ErrorPermanent: invalid payload, unknown schema version, client faults,
	// quota LimitExceeded. Record the reason in the ledger and let the message
	// go to the DLQ; retrying cannot help.
	ErrorPermanent
	// ErrorStale: a duplicate or out-of-date fact. Acknowledge it as a no-op
	// with a ledger row.
	ErrorStale
)

// String returns the kind's lower-case name, as written to the ledger.
func (k ErrorKind) String() string {
	switch k {
	case ErrorNone:
		return "none"
	case ErrorRetryable:
		return "retryable"
	case ErrorPermanent:
		return "permanent"
	case ErrorStale:
		return "stale"
	default:
		return "unknown"
	}
}

// classified marks an error with a kind. It adds nothing to the message and
// unwraps to the error it marks, so errors.Is and errors.As see through it.
type classified struct {
	kind ErrorKind
	err  error
}

func (c *classified) Error() string { return c.err.Error() }
func (c *classified) Unwrap() error { return c.err }

func classify(kind ErrorKind, err error) error {
	if err == nil {
		return nil
	}
	return &classified{kind: kind, err: err}
}

// Permanent marks err as permanent: retrying the same input cannot succeed.
// It returns nil for a nil err. The message is unchanged and errors.Is/As see
// through the mark.
func Permanent(err error) error { return classify(ErrorPermanent, err) }

// Stale marks err as stale: the input is a duplicate or out of date and is to
// be acknowledged as a no-op. It returns nil for a nil err.
func Stale(err error) error { return classify(ErrorStale, err) }

// Retryable marks err as retryable explicitly, overriding any kind an inner
// error was marked with. It returns nil for a nil err.
func Retryable(err error) error { return classify(ErrorRetryable, err) }

// KindOf reports how err is classified: ErrorNone for nil, the outermost
// mark set by Permanent, Stale or Retryable anywhere in err's chain (also
// inside fmt.Errorf("%w") wrapping and errors.Join, first match in
// errors.As order), and ErrorRetryable for an error never marked.
func KindOf(err error) ErrorKind {
	if err == nil {
		return ErrorNone
	}
	var c *classified
	if errors.As(err, &c) {
		return c.kind
	}
	return ErrorRetryable
}
