# Reads `go test -bench` lines (name iterations value unit value unit ...)
# and prints each benchmark's figure against its target (make bench).
/^Benchmark/ {
	name = $1; sub(/-[0-9]+$/, "", name)
	for (i = 3; i < NF; i += 2) v[name, $(i + 1)] = $i
	seen[name] = 1
}
function check(name, unit, op, target, label,   x, ok) {
	if (!((name, unit) in v)) { printf "%-28s %-24s not measured\n", name, label; return }
	x = v[name, unit]
	ok = (op == "<=") ? (x <= target) : (x >= target)
	printf "%-28s %-24s %10.3f  target %s %s  %s\n", name, label, x, op, target, ok ? "met" : "MISSED"
}
END {
	print ""
	print "targets:"
	check("BenchmarkHook/events=1", "ratio", ">=", 0.8, "held ÷ raw rate")
	check("BenchmarkHook/events=20", "ratio", ">=", 0.8, "held ÷ raw rate")
	check("BenchmarkBackfill", "ratio", "<=", 1.15, "wall ÷ quota minimum")
	check("BenchmarkBackfill", "dlq", "<=", 0, "dead letters")
	check("BenchmarkSnapshot", "peak-RSS-MiB", "<=", 256, "peak RSS MiB")
	check("BenchmarkSnapshot", "requests/min", "<=", 1.05, "requests ÷ minimum")
	check("BenchmarkSnapshot1MResumable", "requests/min", "<=", 1.05, "1M: requests ÷ minimum")
	check("BenchmarkConsumer", "roundtrips/event", "<=", 4, "DynamoDB round trips")
	check("BenchmarkConsumer", "joiner-roundtrips/event", "<=", 4, "joiner round trips")
	check("BenchmarkChaos", "dlq", "<=", 0, "dead letters")
}
