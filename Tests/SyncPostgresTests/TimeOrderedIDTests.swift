import Foundation
import PostgresNIO
import SyncCore
import SyncTestSupport
import Testing
@testable import SyncPostgres

/// Migration 0005: internal ids in the layout of UUID version 7 (creation time first).
@Suite("Time-ordered internal ids against a real Postgres")
struct TimeOrderedIDTests {
    @Test("sync_new_id: version 7, RFC variant, the creation time in milliseconds first, no repeats")
    func layout() async throws {
        try await TemporaryDatabase.withMigrated(prefix: "ids") { database in
            let connection = try await database.connect()
            defer { Task { try? await connection.close() } }
            let before = UInt64(Date().timeIntervalSince1970 * 1_000)
            var ids: [UUID] = []
            for try await id in try await connection.query("SELECT sync_new_id() FROM generate_series(1, 2000)",
                                                            logger: TestServices.logger).decode(UUID.self) {
                ids.append(id)
            }
            let after = UInt64(Date().timeIntervalSince1970 * 1_000)
            #expect(ids.count == 2_000 && Set(ids).count == 2_000)
            var previous: UInt64 = 0
            for id in ids {
                let bytes = withUnsafeBytes(of: id.uuid) { Array($0) }
                let milliseconds = bytes[0..<6].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                #expect(bytes[6] >> 4 == 7, "version 7")
                #expect(bytes[8] >> 6 == 0b10, "RFC 4122 variant")
                #expect(milliseconds >= before - 1 && milliseconds <= after + 1, "created between the calls")
                #expect(milliseconds >= previous, "never earlier than the id before")
                previous = milliseconds
            }
        }
    }

    @Test("a stored page's links get such ids")
    func linksUseIt() async throws {
        try await TemporaryDatabase.withMigrated(prefix: "ids") { database in
            let connection = try await database.connect()
            defer { Task { try? await connection.close() } }
            let page = CanonicalBatch(orgID: "o", adapter: "pco", records: [CanonicalRecord(
                key: ExternalKey(kind: .person, externalType: "Person", externalID: "1"), values: [:], raw: "{}")])
            _ = try await connection.withTransaction(logger: TestServices.logger) {
                try await CanonicalStore(logger: TestServices.logger).apply(page, on: $0)
            }
            var versions: [UInt8] = []
            for try await id in try await connection.query("SELECT internal_id FROM external_links", logger: TestServices.logger).decode(UUID.self) {
                versions.append(withUnsafeBytes(of: id.uuid) { $0[6] >> 4 })
            }
            #expect(versions == [7])
        }
    }
}
