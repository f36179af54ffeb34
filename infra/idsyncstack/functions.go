package idsyncstack

import (
	"github.com/idsync/idsync/domain"
	"github.com/idsync/idsync/internal/emf"
)

// Function names, used in construct ids, outputs and alarm names, and as
// the keys of Stack.Targets.
const (
	FnOktaHook    = "oktahook"
	FnIdCSnapshot = "idcsnapshot"
	FnWorkMail    = string(domain.TargetWorkMail)
	FnConnect     = string(domain.TargetConnect)
)

// modulePath is the import path of the module the functions are built
// from.
const modulePath = "github.com/idsync/idsync"

// Function is one function the stack can deploy.
type Function struct {
	// Name is one of FnOktaHook, FnIdCSnapshot, FnWorkMail, FnConnect.
	Name string
	// Asset is the directory under Props.CodeDir holding its bootstrap
	// (make build writes dist/<asset>/bootstrap for each of the Makefile's
	// LAMBDAS).
	Asset string
	// Main is the Go command built into that bootstrap; the grants test
	// analyses it to find the AWS calls the function makes.
	Main string
	// Component is the EMF component its metrics are published under.
	Component string
	// Target is the target a consumer applies ("" for the producers): its
	// IDSYNC_TARGET (settings.EnvTarget), and the entry of internal/app's
	// target registry its code runs.
	Target domain.Target
}

// Functions lists every function the stack can deploy; a deployment
// leaves out the consumers of targets its configuration does not have.
func Functions() []Function {
	return []Function{
		{Name: FnOktaHook, Asset: "oktahook", Main: modulePath + "/cmd/oktahook", Component: emf.ComponentOktaHook},
		{Name: FnIdCSnapshot, Asset: "idcsnapshot", Main: modulePath + "/cmd/idcsnapshot", Component: emf.ComponentIdCSnapshot},
		consumer(domain.TargetWorkMail),
		consumer(domain.TargetConnect),
	}
}

// consumer describes the consumer function of target t: the one consumer
// command (cmd/consumer, dist/consumer) serves every target, chosen by
// IDSYNC_TARGET.
func consumer(t domain.Target) Function {
	return Function{
		Name:      string(t),
		Asset:     "consumer",
		Main:      modulePath + "/cmd/consumer",
		Component: emf.ConsumerComponent(string(t)),
		Target:    t,
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
