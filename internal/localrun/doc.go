// Package localrun runs the whole idsync pipeline on one machine, on the
// embedded stand-ins: DynamoDB Local and fauxqs (started by
// scripts/localaws), the WorkMail, Connect, IdentityStore, SSO Admin and
// Okta stand-ins, and idsync's own components built by internal/app
// exactly as the Lambda mains build them: the Okta hook over HTTP, each
// target's consumer behind a Poller (which behaves as Lambda's SQS event
// source mapping), and the IdC snapshotter on a ticker.
//
// It only supplies what differs locally: endpoints, static credentials, the
// seeded demo organisation and a schedule. `idsync local` (built with the
// `local` tag; `make run`) uses it, and its end-to-end test drives it
// through the Okta stand-in's management API.
package localrun
