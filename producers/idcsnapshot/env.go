package idcsnapshot

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/idsync/idsync/domain"
)

// Environment variables read by LoadEnv.
const (
	EnvConfig                = "CONFIG"       // the JSON configuration document, or a path to it
	EnvStateTable            = "STATE_TABLE"  // state table name
	EnvLedgerTable           = "LEDGER_TABLE" // ledger table name
	EnvQueueURLs             = "QUEUE_URLS"   // comma-separated SQS FIFO queue URLs, one per target
	EnvRate                  = "IDC_RATE"     // optional: Identity Store requests per second (default 20)
	EnvDynamoDBEndpoint      = "DYNAMODB_ENDPOINT"
	EnvSQSEndpoint           = "SQS_ENDPOINT"
	EnvIdentityStoreEndpoint = "IDENTITYSTORE_ENDPOINT"
)

// ErrEnv is matched by every problem LoadEnv reports.
var ErrEnv = errors.New("invalid environment")

// Env is the Lambda's configuration, read from the environment.
type Env struct {
	Config                  domain.Config
	StateTable, LedgerTable string
	QueueURLs               []string
	// Rate is the Identity Store request limit (0: DefaultRate).
	Rate float64
	// Endpoint overrides ("" for AWS's), for the local stand-ins.
	DynamoDBEndpoint, SQSEndpoint, IdentityStoreEndpoint string
}

// Local reports whether any endpoint is overridden, i.e. the function runs
// against the local stand-ins (static credentials).
func (e Env) Local() bool {
	return e.DynamoDBEndpoint != "" || e.SQSEndpoint != "" || e.IdentityStoreEndpoint != ""
}

// LoadEnv reads the configuration from getenv (os.Getenv). CONFIG is the
// JSON document itself when it starts with "{", else a path read with
// readFile (os.ReadFile). It has no other side effects.
//
// Errors: every problem at once (missing variables, an unreadable or
// invalid configuration with each of its problems, a configuration the
// snapshot cannot use, a bad rate), joined; each matches ErrEnv, and
// configuration problems also match domain.ErrInvalidConfig.
func LoadEnv(getenv func(string) string, readFile func(string) ([]byte, error)) (Env, error) {
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: %s: %s", ErrEnv, name, fmt.Sprintf(format, args...)))
	}
	get := func(name string) string { return strings.TrimSpace(getenv(name)) }
	required := func(name string) string {
		v := get(name)
		if v == "" {
			bad(name, "is required")
		}
		return v
	}

	e := Env{
		StateTable:            required(EnvStateTable),
		LedgerTable:           required(EnvLedgerTable),
		DynamoDBEndpoint:      get(EnvDynamoDBEndpoint),
		SQSEndpoint:           get(EnvSQSEndpoint),
		IdentityStoreEndpoint: get(EnvIdentityStoreEndpoint),
	}
	if urls := required(EnvQueueURLs); urls != "" {
		for _, u := range strings.Split(urls, ",") {
			if u = strings.TrimSpace(u); u != "" {
				e.QueueURLs = append(e.QueueURLs, u)
			}
		}
		if len(e.QueueURLs) == 0 {
			bad(EnvQueueURLs, "lists no queue URL")
		}
	}
	if v := get(EnvRate); v != "" {
		r, err := strconv.ParseFloat(v, 64)
		if err != nil || !(r > 0) {
			bad(EnvRate, "%q is not a positive number", v)
		}
		e.Rate = r
	}

	if doc := required(EnvConfig); doc != "" {
		b := []byte(doc)
		if !strings.HasPrefix(doc, "{") {
			var err error
			if b, err = readFile(doc); err != nil {
				bad(EnvConfig, "read %s: %v", doc, err)
				b = nil
			}
		}
		if b != nil {
			cfg, err := domain.ParseConfig(b)
			if err != nil {
				errs = append(errs, fmt.Errorf("%w: %s: %w", ErrEnv, EnvConfig, err))
			}
			e.Config = cfg
			if err == nil && !hasIdCGroup(cfg) {
				bad(EnvConfig, "no configured group has an idcId: the snapshot has nothing to read")
			}
		}
	}
	return e, errors.Join(errs...)
}

func hasIdCGroup(cfg domain.Config) bool {
	for _, g := range cfg.MappedGroups() {
		if g.IdCID != "" {
			return true
		}
	}
	return false
}
