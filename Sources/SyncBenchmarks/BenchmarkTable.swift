/// One benchmark's printed result: each figure next to its goal and the baseline or peer measured in
/// the same run, under a description of the machine, with notes saying how the figures were taken.
public struct BenchmarkTable: Sendable {
    public struct Row: Sendable {
        public var metric: String
        public var ours: String
        public var goal: String
        public var peer: String
        /// Ours relative to the peer, or to the goal, as the metric reads it ("0.62 of bare", "2.1×").
        public var comparison: String
        /// "met", "MISSED", or "n/a" when the figure could not be measured.
        public var verdict: String

        public init(metric: String, ours: String, goal: String = "", peer: String = "", comparison: String = "", verdict: String = "") {
            self.metric = metric
            self.ours = ours
            self.goal = goal
            self.peer = peer
            self.comparison = comparison
            self.verdict = verdict
        }
    }

    public var title: String
    public var machine: MachineDescription
    public var rows: [Row] = []
    public var notes: [String] = []

    public init(title: String, machine: MachineDescription) {
        self.title = title
        self.machine = machine
    }

    /// The rows as tab-separated lines (metric, ours, goal, peer, comparison, verdict), the format
    /// `cluster/bench/all` collects from every benchmark (`SYNC_BENCH_RESULTS`) into one table.
    /// Metrics are prefixed with the title's first word ("store: canonical rows/s"), which names the
    /// benchmark once the rows leave their table.
    public func tabSeparatedRows() -> String {
        let scope = title.split(separator: ":").first.map { "\($0): " } ?? ""
        return rows.map { row in
            [scope + row.metric, row.ours, row.goal, row.peer, row.comparison, row.verdict]
                .map { cell in String(cell.map { $0 == "\t" || $0 == "\n" ? " " : $0 }) }
                .joined(separator: "\t") + "\n"
        }.joined()
    }

    /// Fixed-width text, one line per row, ready for a terminal or a Markdown code block.
    public func rendered() -> String {
        let header = Row(metric: "metric", ours: "ours", goal: "goal", peer: "baseline / peer (same run)",
                         comparison: "comparison", verdict: "verdict")
        let all = [header] + rows
        let cells: (Row) -> [String] = { [$0.metric, $0.ours, $0.goal, $0.peer, $0.comparison, $0.verdict] }
        var widths = Array(repeating: 0, count: 6)
        for row in all {
            for (index, cell) in cells(row).enumerated() { widths[index] = max(widths[index], cell.count) }
        }
        func line(_ row: Row) -> String {
            cells(row).enumerated().map { index, cell in
                cell + String(repeating: " ", count: widths[index] - cell.count)
            }.joined(separator: " | ").trimmingTrailingSpaces()
        }
        var lines = ["== \(title) ==", machine.summary, ""]
        lines.append(line(header))
        lines.append(widths.map { String(repeating: "-", count: $0) }.joined(separator: "-+-"))
        lines += rows.map(line)
        if !notes.isEmpty {
            lines.append("")
            lines += notes.map { "- \($0)" }
        }
        return lines.joined(separator: "\n")
    }
}

extension String {
    fileprivate func trimmingTrailingSpaces() -> String {
        var copy = self
        while copy.last == " " { copy.removeLast() }
        return copy
    }
}

/// Number formatting for tables, without Foundation's locale-dependent formatters.
enum Figure {
    /// `value` with `decimals` digits after the point and thousands separated by commas.
    static func format(_ value: Double, decimals: Int = 0) -> String {
        guard value.isFinite else { return "\(value)" }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = Int64((abs(value) * scale).rounded())
        let whole = scaled / Int64(scale)
        let fraction = scaled % Int64(scale)
        var digits = String(whole)
        var grouped = ""
        while digits.count > 3 {
            grouped = "," + digits.suffix(3) + grouped
            digits.removeLast(3)
        }
        grouped = digits + grouped
        if decimals > 0 {
            let fractionText = String(fraction)
            grouped += "." + String(repeating: "0", count: decimals - fractionText.count) + fractionText
        }
        return (value < 0 && scaled != 0 ? "-" : "") + grouped
    }

    static func milliseconds(_ value: Double) -> String { format(value, decimals: value < 10 ? 2 : 1) + " ms" }
    static func perSecond(_ value: Double, unit: String) -> String { format(value) + " \(unit)/s" }
    static func ratio(_ value: Double) -> String { format(value, decimals: 2) }
    static func verdict(_ met: Bool) -> String { met ? "met" : "MISSED" }
}
