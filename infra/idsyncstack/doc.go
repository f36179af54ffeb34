// Package idsyncstack is idsync's AWS deployment as one CDK stack: the
// DynamoDB state and ledger tables (built from store.StateTableSpec and
// store.LedgerTableSpec, so deployed and local tables share one schema), an
// SQS FIFO queue and dead-letter queue per target, the four Lambda
// functions (cmd/oktahook behind a Function URL with reserved concurrency,
// cmd/idcsnapshot on an EventBridge schedule, and cmd/consumer twice, as
// the WorkMail and the Connect consumer on their queues, chosen by
// IDSYNC_TARGET), each with a role that holds only the grants its code
// uses, the environment internal/settings reads, the hook secret, the alarms (every
// one notifying one SNS topic) and dashboard, and the ledger's archive (its
// stream piped through Firehose into an S3 bucket with Object Lock in
// compliance mode).
//
// New validates the properties (and, for a configuration file, the
// configuration document itself with domain.ParseConfig) before it adds
// anything, so a bad deployment fails at synth rather than at runtime.
package idsyncstack
