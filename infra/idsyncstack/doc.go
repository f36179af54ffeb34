// Package idsyncstack is idsync's AWS deployment as one CDK stack: the
// DynamoDB state and ledger tables (built from store.StateTableSpec and
// store.LedgerTableSpec, so deployed and local tables share one schema), an
// SQS FIFO queue and dead-letter queue per target, and the four Lambda
// functions (producers/cmd/oktahook behind a Function URL,
// producers/cmd/idcsnapshot on an EventBridge schedule, and the WorkMail
// and Connect consumers on their queues), each with a role that holds only
// the grants its code uses.
//
// New validates the properties (and, for a configuration file, the
// configuration document itself with domain.ParseConfig) before it adds
// anything, so a bad deployment fails at synth rather than at runtime.
package idsyncstack
