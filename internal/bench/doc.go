// Package bench holds idsync's end-to-end benchmarks against the limits
// that bind it, each measured side by side with its limit in one run (see
// README.md, "Performance", and `make bench`): the hook against the local
// engines, a backfill into both targets at the stand-ins' quotas, the
// snapshot binary's memory and Identity Store calls, and the consumer's
// DynamoDB round trips. Each benchmark reports `name value unit` pairs on
// one `go test -bench` line. There is no product code here: the package
// is its tests.
package bench
