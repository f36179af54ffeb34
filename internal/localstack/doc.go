// Package localstack runs the whole idsync pipeline on one machine, on the
// embedded stand-ins: DynamoDB Local and fauxqs (started by
// scripts/localaws), the WorkMail, Connect, IdentityStore and Okta
// stand-ins, the Okta hook handler over HTTP, both consumers behind
// Poller (which behaves as Lambda's SQS event source mapping), and the IdC
// snapshotter on a ticker. `idsync local` (and so `make run`) uses it, and
// its end-to-end test drives it through the Okta stand-in's API.
package localstack
