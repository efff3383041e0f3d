# Sourced by the benchmarks: `bench_result METRIC MEASURED GOAL PEER COMPARISON VERDICT` appends one
# tab-separated row to $SYNC_BENCH_RESULTS, the file cluster/bench/all gathers into one table. Without
# the variable (a benchmark run on its own) it does nothing.
bench_result() {
    [ -n "${SYNC_BENCH_RESULTS:-}" ] || return 0
    local IFS=$'\t'
    printf '%s\n' "$*" >> "$SYNC_BENCH_RESULTS"
}

# met or MISSED: whether MEASURED >= GOAL (both numbers).
at_least() { python3 -c "import sys; print('met' if float(sys.argv[1]) >= float(sys.argv[2]) else 'MISSED')" "$1" "$2"; }
