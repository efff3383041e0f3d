import Foundation
import Logging
import PostgresNIO
import SyncCore

/// Writes canonical batches to Postgres: links, rows and edges of one page in one statement
/// (``CanonicalPageStatement``), never one per row.
///
/// A page step commits the same statement together with its journal row
/// (``JournalStore/commit(workflowID:step:kind:runID:fence:page:conflictKey:record:)``, merged with
/// the other pages of its group commit); `apply` runs the same statement on its own, on a connection (inside a
/// transaction the caller owns, if any) and returns what it wrote. Applying the same batch twice
/// changes nothing but bookkeeping (`synced_at`). Rows never go backwards: an update whose
/// `source_updated_at` is older than the stored one is ignored, and so are that record's edges, so a
/// late page or webhook cannot undo a newer change.
public struct CanonicalStore: Sendable {
    public struct Outcome: Sendable, Hashable {
        /// Rows inserted or updated, by kind.
        public var rowsWritten: [CanonicalKind: Int] = [:]
        /// Placeholder links created for referenced records not stored yet.
        public var placeholdersCreated: Int = 0

        public var totalRows: Int { rowsWritten.values.reduce(0, +) }
    }

    public var logger: Logger
    /// Pages of one entity share their statement's text: after the first few it runs prepared.
    private let statements: PreparedStatements

    public init(logger: Logger) {
        self.logger = logger
        self.statements = PreparedStatements(logger: logger)
    }

    public func apply(_ batch: CanonicalBatch, on connection: PostgresConnection) async throws -> Outcome {
        var outcome = Outcome()
        guard !batch.isEmpty else { return outcome }
        let statement = CanonicalPageStatement(batch: batch)
        let rows = try await statements.query(statement.standaloneQuery, on: connection)
        for (resolved, placeholders, written) in try rows.decode((Int, Int, [Int]).self) {
            precondition(resolved == statement.keyCount, "external_links resolved \(resolved) of \(statement.keyCount) keys")
            outcome.placeholdersCreated = placeholders
            for (kind, count) in zip(statement.kinds, written) { outcome.rowsWritten[kind] = count }
        }
        return outcome
    }
}

/// Bindings from values of mixed types, in order, for queries built with `PostgresQuery(unsafeSQL:binds:)`.
public func postgresBindings(_ values: any PostgresThrowingDynamicTypeEncodable...) throws -> PostgresBindings {
    var binds = PostgresBindings(capacity: values.count)
    for value in values { try binds.append(value) }
    return binds
}
