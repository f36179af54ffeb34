package idsyncstack

import "github.com/idsync/idsync/internal/emf"

// Function names, used in construct ids, outputs and alarm names, and as
// the keys of Stack.Targets.
const (
	FnOktaHook    = "oktahook"
	FnIdCSnapshot = "idcsnapshot"
	FnWorkMail    = "workmail"
	FnConnect     = "connect"
)

// modulePath is the import path of the module the functions are built
// from.
const modulePath = "github.com/idsync/idsync"

// Function is one function the stack can deploy.
type Function struct {
	// Name is one of FnOktaHook, FnIdCSnapshot, FnWorkMail, FnConnect.
	Name string
	// Asset is the directory under Props.CodeDir holding its bootstrap
	// (make build writes dist/<asset>/bootstrap).
	Asset string
	// Main is the Go command built into that bootstrap; the grants test
	// analyses it to find the AWS calls the function makes.
	Main string
	// Component is the EMF component its metrics are published under.
	Component string
	// Target is the target a consumer applies ("" for the producers).
	Target string
}

// Functions lists every function the stack can deploy; a deployment
// leaves out the consumers of targets its configuration does not have.
func Functions() []Function {
	return []Function{
		{Name: FnOktaHook, Asset: "oktahook", Main: modulePath + "/producers/cmd/oktahook", Component: emf.ComponentOktaHook},
		{Name: FnIdCSnapshot, Asset: "idcsnapshot", Main: modulePath + "/producers/cmd/idcsnapshot", Component: emf.ComponentIdCSnapshot},
		consumer(FnWorkMail),
		consumer(FnConnect),
	}
}

// consumer describes the consumer of target: today one command and one
// bootstrap per target (consumers/cmd/<target>, dist/<target>).
func consumer(target string) Function {
	return Function{
		Name:      target,
		Asset:     target,
		Main:      modulePath + "/consumers/cmd/" + target,
		Component: emf.ConsumerComponent(target),
		Target:    target,
	}
}

// function returns the Function named name.
func function(name string) Function {
	for _, fn := range Functions() {
		if fn.Name == name {
			return fn
		}
	}
	panic("idsyncstack: no function " + name)
}

// Environment variables the functions read (internal/lambdaenv and the
// commands in producers/cmd and consumers/cmd).
const (
	envConfig         = "IDSYNC_CONFIG"
	envStateTable     = "STATE_TABLE"
	envLedgerTable    = "LEDGER_TABLE"
	envLogLevel       = "LOG_LEVEL"
	envQueueURLs      = "QUEUE_URLS"
	envHookSecretID   = "HOOK_SECRET_ID"
	envHookAuthHeader = "HOOK_AUTH_HEADER"
	envHookSecretTTL  = "HOOK_SECRET_TTL"
	envIdCRate        = "IDC_RATE"
	envDLQURL         = "DLQ_URL"
	envWorkMailRate   = "WORKMAIL_RATE"
	envConnectRate    = "CONNECT_RATE"
)
