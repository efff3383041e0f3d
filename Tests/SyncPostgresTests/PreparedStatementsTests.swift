import Foundation
import Logging
import PostgresNIO
import SyncTestSupport
import Testing
@testable import SyncPostgres

/// `PreparedStatements` against a real Postgres: recurring texts run as named prepared statements,
/// with the same rows and errors as when sent unnamed.
@Suite("Prepared statements against a real Postgres")
struct PreparedStatementsTests {
    static func withConnection(_ body: @Sendable (PostgresClient, PostgresConnection) async throws -> Void) async throws {
        try await FencedJournalTests.withClient { client, _ in
            try await client.withConnection { connection in try await body(client, connection) }
        }
    }

    static func prepared(on connection: PostgresConnection) async throws -> [String] {
        try await connection.query("SELECT name FROM pg_prepared_statements ORDER BY prepare_time", logger: TestServices.logger)
            .collect().map { try $0.decode(String.self) }
    }

    static func planCacheMode(on connection: PostgresConnection) async throws -> String? {
        try await connection.query("SHOW plan_cache_mode", logger: TestServices.logger).collect().first?.decode(String.self)
    }

    /// A text bound as text but used as jsonb, an array, and a NULL: `EXECUTE` would refuse the
    /// first without the cast to the inferred type.
    static func echo(_ value: Int, note: String?) -> PostgresQuery {
        "SELECT ($1::jsonb ->> 'n')::int8, cardinality($2::text[]), $3::text IS NULL".withBinds(
            "{\"n\": \(value)}", ["a", "b"], note
        )
    }

    @Test("a text asked for three times is prepared on that connection and returns the same rows")
    func recurringText() async throws {
        try await Self.withConnection { _, connection in
            let statements = PreparedStatements(logger: TestServices.logger)
            for value in 1...5 {
                let rows = try await statements.query(Self.echo(value, note: value.isMultiple(of: 2) ? nil : "x"), on: connection)
                let answers = try rows.decode((Int64, Int, Bool).self)
                #expect(answers.count == 1)
                #expect(answers.first?.0 == Int64(value))
                #expect(answers.first?.1 == 2)
                #expect(answers.first?.2 == value.isMultiple(of: 2))
                #expect(statements.preparedCount(on: connection) == (value >= 3 ? 1 : 0))
            }
            #expect(try await Self.prepared(on: connection).count == 1)
            #expect(try await Self.planCacheMode(on: connection) == "force_generic_plan")
        }
    }

    @Test("a text Postgres refuses fails with its own error every time and is never prepared")
    func refusedText() async throws {
        try await Self.withConnection { _, connection in
            let statements = PreparedStatements(logger: TestServices.logger, configuration: .init(admitAfterUses: 2))
            for _ in 1...4 {
                await #expect {
                    try await statements.query("SELECT no_such_column FROM organizations WHERE id = $1".withBinds("o1"), on: connection)
                } throws: { error in
                    postgresSQLState(error) == "42703"
                }
            }
            #expect(statements.preparedCount(on: connection) == 0)
            #expect(statements.preparations == 1, "a text refused once is not offered again")
        }
    }

    @Test("each connection keeps at most its bound: the least recently used statement is deallocated")
    func perConnectionBound() async throws {
        try await Self.withConnection { _, connection in
            let statements = PreparedStatements(
                logger: TestServices.logger,
                configuration: .init(admitAfterUses: 1, statementsPerConnection: 2, texts: 16, connections: 4)
            )
            for text in ["SELECT 1 + $1::int8", "SELECT 2 + $1::int8", "SELECT 1 + $1::int8", "SELECT 3 + $1::int8"] {
                _ = try await statements.query(text.withBinds(Int64(10)), on: connection)
            }
            // Texts 1 and 2 prepared, 1 used again, so 2 made room for 3.
            #expect(statements.preparedCount(on: connection) == 2)
            #expect(try await Self.prepared(on: connection).count == 2)
            let rows = try await statements.query("SELECT 2 + $1::int8".withBinds(Int64(10)), on: connection)
            #expect(try rows.decode(Int64.self) == [12])
        }
    }

    @Test("a statement that fails on its values at its first prepared execution keeps its SQLSTATE and stays prepared")
    func errorsKeepTheirState() async throws {
        try await Self.withConnection { client, connection in
            let statements = PreparedStatements(logger: TestServices.logger, configuration: .init(admitAfterUses: 1))
            let insert = "INSERT INTO organizations (id, name, adapter, api_base_url) VALUES ($1::text, 'P', 'pco', 'http://x')"
            await #expect {
                try await statements.query(insert.withBinds("o1"), on: connection)
            } throws: { error in
                postgresSQLState(error) == "23505"
            }
            #expect(statements.preparedCount(on: connection) == 1)
            _ = try await statements.query(insert.withBinds("o2"), on: connection)
            #expect(statements.preparations == 1, "executed by the name prepared before the failure")
            let prepared = try await Self.prepared(on: connection)
            #expect(prepared.count == 1)
            let ids = try await client.query("SELECT id FROM organizations ORDER BY id").collect().map { try $0.decode(String.self) }
            #expect(ids == ["o1", "o2"])
        }
    }

    @Test("two instances preparing on one connection never run each other's statements")
    func twoInstances() async throws {
        try await Self.withConnection { _, connection in
            let first = PreparedStatements(logger: TestServices.logger, configuration: .init(admitAfterUses: 1))
            let second = PreparedStatements(logger: TestServices.logger, configuration: .init(admitAfterUses: 1))
            for value in [Int64(1), 2, 3] {
                let fromFirst: [Int64] = try await first.query("SELECT 100 + $1::int8".withBinds(value), on: connection).decode(Int64.self)
                let fromSecond: [(Int64, String)] = try await second.query("SELECT 200 + $1::int8, $2::text".withBinds(value, "x"), on: connection)
                    .decode((Int64, String).self)
                #expect(fromFirst == [100 + value])
                #expect(fromSecond.first?.0 == 200 + value)
            }
            let prepared = try await Self.prepared(on: connection)
            #expect(prepared.count == 2)
        }
    }

    @Test("connections are told apart by identity, not by their ids: each prepares its own, generic plans set")
    func connectionsWithOneID() async throws {
        try await FencedJournalTests.withClient { _, database in
            let one = try await database.connect()
            let two = try await database.connect()
            defer { Task { try? await one.close(); try? await two.close() } }
            #expect(one.id == two.id, "connections opened outside a pool share an id: the case this test is about")
            let statements = PreparedStatements(logger: TestServices.logger, configuration: .init(admitAfterUses: 1))
            for connection in [one, two, one, two] {
                let answer: [Int64] = try await statements.query("SELECT 40 + $1::int8".withBinds(Int64(2)), on: connection).decode(Int64.self)
                #expect(answer == [42])
            }
            #expect(statements.preparations == 2)
            for connection in [one, two] {
                let prepared = try await Self.prepared(on: connection)
                #expect(prepared.count == 1)
                let mode = try await Self.planCacheMode(on: connection)
                #expect(mode == "force_generic_plan")
            }
        }
    }

    @Test("a session that lost its statements fails once, then prepares them again")
    func lostStatements() async throws {
        try await Self.withConnection { _, connection in
            let statements = PreparedStatements(logger: TestServices.logger, configuration: .init(admitAfterUses: 1))
            let query = "SELECT 40 + $1::int8".withBinds(Int64(2))
            _ = try await statements.query(query, on: connection)
            try await connection.query("DEALLOCATE ALL", logger: TestServices.logger)
            await #expect {
                try await statements.query(query, on: connection)
            } throws: { error in
                postgresSQLState(error) == "26000"
            }
            #expect(try await statements.query(query, on: connection).decode(Int64.self) == [42])
            #expect(try await Self.prepared(on: connection).count == 1)
        }
    }
}

extension String {
    /// The text as a query with these bindings (`$1`, `$2`, … in order).
    func withBinds(_ values: (any PostgresThrowingDynamicTypeEncodable)?...) -> PostgresQuery {
        var binds = PostgresBindings(capacity: values.count)
        for value in values {
            if let value { try! binds.append(value) } else { binds.appendNull() }
        }
        return PostgresQuery(unsafeSQL: self, binds: binds)
    }
}
