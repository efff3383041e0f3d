import Foundation
import Logging
import PlanningCenter
import PostgresNIO
import SyncCore
import SyncPostgres

/// Decode + transform + store rate of People pages with their emails, phone numbers and addresses,
/// in canonical rows per second, each page in its own transaction, next to the bare unnest upsert
/// of the same rows (``BareUpsertBaseline``) measured in the same run.
public struct StoreBenchmark: Sendable {
    public struct Configuration: Sendable {
        public var runs: Int = 5
        /// People pages read from the simulator once (100 people each), then stored in every run.
        public var pages: Int = 50
        public var perPage: Int = 100
        public var include: String = "emails,phone_numbers,addresses"
        public var seed: UInt64 = 1

        public init() {}
    }

    public var configuration: Configuration
    public var logger: Logger

    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    static let orgID = "bench"

    public func run(database: BenchmarkDatabase, machine: MachineDescription) async throws -> BenchmarkTable {
        let configuration = configuration
        let logger = logger
        logger.info("store benchmark: reading pages from the simulator", metadata: ["sync.pages": "\(configuration.pages)"])
        let bodies = try await SimulatorPeoplePages(pages: configuration.pages, perPage: configuration.perPage,
                                                    include: configuration.include, seed: configuration.seed).fetch(logger: logger)
        let transformer = PCOTransformer()
        guard let person = transformer.manifest.entity(named: "Person") else { preconditionFailure("the PCO manifest has no Person") }
        // Transformed once outside the timing, only to give the baseline the very same rows.
        let batches = try Self.transformAll(bodies, entity: person, transformer: transformer)
        let baseline = BareUpsertBaseline(batches: batches, logger: logger)
        var rowsPerTable: [String: Int] = [:]
        for batch in batches {
            for (kind, records) in batch.recordsByKind { rowsPerTable[kind.table, default: 0] += records.count }
        }

        let samples = try await database.withFreshDatabase(purpose: "store") { url in
            try await BenchmarkDatabase.withClient(to: url, connections: 2, logger: logger) { client in
                for statement in baseline.setupStatements { try await client.query(PostgresQuery(unsafeSQL: statement), logger: logger) }
                let ours = AlternatingRuns<Throughput>.Side(name: "ours") {
                    try await Self.prepare(client: client, truncate: Self.canonicalTruncate, logger: logger)
                    return try await Self.storePages(bodies, entity: person, transformer: transformer, client: client, logger: logger)
                }
                let bare = AlternatingRuns<Throughput>.Side(name: "bare") {
                    try await Self.prepare(client: client, truncate: baseline.truncateStatement, logger: logger)
                    let clock = ContinuousClock()
                    let started = clock.now
                    let rows = try await baseline.write(client: client, orgID: Self.orgID)
                    return Throughput(rows: rows, elapsed: clock.now - started, decodeAndTransform: .zero)
                }
                return try await AlternatingRuns(runs: configuration.runs, warmUp: true).measure([ours, bare]) { progress in
                    logger.info("store benchmark", metadata: ["sync.bench": "\(progress)"])
                }
            }
        }
        return table(ours: samples["ours"] ?? [], bare: samples["bare"] ?? [], rowsPerTable: rowsPerTable,
                     baselineRows: baseline.rowCount, bodies: bodies, machine: machine)
    }

    /// Synchronous and never inlined into `run`: with this loop inlined, the Swift 6.3.1 optimizer
    /// crashed splitting `run`'s coroutine (signal 11 in LLVM's CoroSplit) in release builds.
    @inline(never)
    static func transformAll(_ bodies: [Data], entity: EntityDefinition, transformer: PCOTransformer) throws -> [CanonicalBatch] {
        try bodies.map { try transformer.transform(JSONAPIDocument.decode($0), entity: entity, orgID: orgID) }
    }

    /// Rows written in one run and how long they took.
    struct Throughput: Sendable {
        var rows: Int
        var elapsed: Duration
        /// The part of `elapsed` spent decoding JSON and transforming (ours only).
        var decodeAndTransform: Duration
        var rowsPerSecond: Double { Double(rows) / elapsed.seconds }
    }

    /// Every run starts from empty tables and a fresh checkpoint, so each inserts the same rows
    /// (not updates) and no run pays for the previous one's dirty pages.
    private static func prepare(client: PostgresClient, truncate: String, logger: Logger) async throws {
        try await client.query(PostgresQuery(unsafeSQL: truncate), logger: logger)
        try await client.query("CHECKPOINT", logger: logger)
    }

    private static var canonicalTruncate: String {
        "TRUNCATE external_links, edges, " + CanonicalKind.allCases.map(\.table).joined(separator: ", ")
    }

    /// The measured path: decode, transform and store each page in its own transaction.
    private static func storePages(
        _ bodies: [Data], entity: EntityDefinition, transformer: PCOTransformer, client: PostgresClient, logger: Logger
    ) async throws -> Throughput {
        let store = CanonicalStore(logger: logger)
        let clock = ContinuousClock()
        var decodeAndTransform = Duration.zero
        var rows = 0
        let started = clock.now
        for body in bodies {
            let before = clock.now
            let batch = try transformer.transform(JSONAPIDocument.decode(body), entity: entity, orgID: orgID)
            decodeAndTransform += clock.now - before
            rows += try await client.withTransaction(logger: logger) { connection in
                try await store.apply(batch, on: connection).totalRows
            }
        }
        return Throughput(rows: rows, elapsed: clock.now - started, decodeAndTransform: decodeAndTransform)
    }

    private func table(
        ours: [Throughput], bare: [Throughput], rowsPerTable: [String: Int], baselineRows: Int, bodies: [Data],
        machine: MachineDescription
    ) -> BenchmarkTable {
        var table = BenchmarkTable(title: "store: decode + transform + CanonicalStore.apply, People pages with included emails, phone numbers, addresses", machine: machine)
        guard let oursRate = Statistics.median(ours.map(\.rowsPerSecond)),
              let bareRate = Statistics.median(bare.map(\.rowsPerSecond)),
              let oursRows = ours.first?.rows
        else {
            table.notes.append("no figures: the benchmark produced no runs")
            return table
        }
        let ratio = oursRate / bareRate
        let transformShare = Statistics.median(ours.map { $0.decodeAndTransform.seconds / $0.elapsed.seconds }) ?? .nan
        let pageMilliseconds = Statistics.median(ours.map { $0.elapsed.milliseconds / Double(bodies.count) }) ?? .nan
        table.rows.append(.init(metric: "canonical rows/s", ours: Figure.perSecond(oursRate, unit: "rows"), goal: "≥ 20,000 rows/s",
                                peer: "bare unnest upsert: \(Figure.perSecond(bareRate, unit: "rows"))",
                                comparison: "\(Figure.ratio(ratio)) of bare", verdict: Figure.verdict(oursRate >= 20_000)))
        table.rows.append(.init(metric: "ratio to bare upsert", ours: Figure.ratio(ratio), goal: "≥ 0.5 of bare",
                                peer: "same rows, same columns, raw jsonb", comparison: "", verdict: Figure.verdict(ratio >= 0.5)))
        let transformMilliseconds = Statistics.median(ours.map { $0.decodeAndTransform.milliseconds / Double(bodies.count) }) ?? .nan
        table.rows.append(.init(metric: "time per page (ours)", ours: Figure.milliseconds(pageMilliseconds),
                                peer: "decode + transform: \(Figure.milliseconds(transformMilliseconds)) (\(Figure.format(transformShare * 100, decimals: 0))% of it)"))

        let megabytes = Double(bodies.reduce(0) { $0 + $1.count }) / 1_048_576
        let tables = rowsPerTable.sorted { $0.key < $1.key }.map { "\($0.key) \(Figure.format(Double($0.value)))" }.joined(separator: ", ")
        table.notes = [
            "medians of \(configuration.runs) runs per side, ours and bare alternating after one untimed run of each; every run starts from truncated tables after a CHECKPOINT",
            "\(bodies.count) pages (per_page=\(configuration.perPage), include=\(configuration.include)) read once from an in-process pco-sim (seed \(configuration.seed)), \(Figure.format(megabytes, decimals: 1)) MB of JSON; HTTP is not timed",
            "rows per run: \(Figure.format(Double(oursRows))) canonical (\(tables)); bare writes \(Figure.format(Double(baselineRows))) rows into LIKE-copies of the same tables",
            "ours per page, in one transaction: JSON decode, PCOTransformer, external_links upsert, one unnest upsert per table, edges replace",
            "bare per page, in one transaction: one unnest upsert per table from prebuilt arrays (no decode, no links, no edges)",
        ]
        if oursRows != baselineRows {
            table.notes.append("WARNING: ours wrote \(oursRows) rows per run but the baseline \(baselineRows)")
        }
        return table
    }
}
