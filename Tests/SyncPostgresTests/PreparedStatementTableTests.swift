import Testing
@testable import SyncPostgres

/// The decisions of `PreparedStatementTable`, without a database.
@Suite("Prepared statement table")
struct PreparedStatementTableTests {
    /// Asks for `sql` on `connection` and, when told to prepare, reports success: the table's view
    /// of one `PreparedStatements.query` that worked.
    static func use(_ table: inout PreparedStatementTable<Int>, _ sql: String, on connection: Int) -> PreparedStatementTable<Int>.Action {
        let action = table.statementRequested(sql, on: connection)
        if case .prepare(let name, _) = action { table.prepared(sql, on: connection, name: name) }
        return action
    }

    @Test("a text runs unnamed until its third use, is prepared then, and executed by name after")
    func admission() {
        var table = PreparedStatementTable<Int>(namePrefix: "t_")
        #expect(Self.use(&table, "A", on: 1) == .runUnnamed)
        #expect(Self.use(&table, "A", on: 1) == .runUnnamed)
        guard case .prepare(let name, let deallocating) = Self.use(&table, "A", on: 1) else {
            Issue.record("the third use should prepare"); return
        }
        #expect(deallocating.isEmpty)
        #expect(Self.use(&table, "A", on: 1) == .execute(name: name))
        #expect(Self.use(&table, "A", on: 1) == .execute(name: name))
    }

    @Test("uses count across connections; each connection prepares the text under a name of its own")
    func perConnection() {
        var table = PreparedStatementTable<Int>(namePrefix: "t_")
        _ = Self.use(&table, "A", on: 1)
        _ = Self.use(&table, "A", on: 2)
        guard case .prepare(let first, _) = Self.use(&table, "A", on: 3),
              case .prepare(let second, _) = Self.use(&table, "A", on: 1)
        else { Issue.record("an admitted text should be prepared on each connection that asks for it"); return }
        #expect(first != second)
        #expect(Self.use(&table, "A", on: 3) == .execute(name: first))
        #expect(Self.use(&table, "A", on: 1) == .execute(name: second))
        #expect(table.preparedCount(on: 2) == 0)
    }

    @Test("past the per-connection bound the least recently used statement is deallocated")
    func boundPerConnection() {
        var table = PreparedStatementTable<Int>(configuration: .init(admitAfterUses: 1, statementsPerConnection: 2), namePrefix: "t_")
        guard case .prepare(let a, _) = Self.use(&table, "A", on: 1) else { Issue.record("A not prepared"); return }
        guard case .prepare(let b, _) = Self.use(&table, "B", on: 1) else { Issue.record("B not prepared"); return }
        #expect(Self.use(&table, "A", on: 1) == .execute(name: a))
        guard case .prepare(_, let deallocating) = Self.use(&table, "C", on: 1) else { Issue.record("C not prepared"); return }
        #expect(deallocating == [b])
        #expect(table.preparedCount(on: 1) == 2)
        #expect(Self.use(&table, "A", on: 1) == .execute(name: a))
    }

    @Test("a failed preparation is retried under a new name; a refused text is never prepared again")
    func failures() {
        var table = PreparedStatementTable<Int>(configuration: .init(admitAfterUses: 1), namePrefix: "t_")
        guard case .prepare(let first, _) = table.statementRequested("A", on: 1) else { Issue.record("A not prepared"); return }
        table.preparationFailed("A", permanently: false)
        guard case .prepare(let second, _) = table.statementRequested("A", on: 1) else { Issue.record("A not prepared again"); return }
        #expect(first != second)
        table.preparationFailed("A", permanently: true)
        #expect(table.statementRequested("A", on: 1) == .runUnnamed)
        #expect(table.statementRequested("A", on: 2) == .runUnnamed)
    }

    @Test("a lost connection's statements are prepared again, under new names")
    func lostConnection() {
        var table = PreparedStatementTable<Int>(configuration: .init(admitAfterUses: 1), namePrefix: "t_")
        guard case .prepare(let first, _) = Self.use(&table, "A", on: 1) else { Issue.record("A not prepared"); return }
        table.connectionLost(1)
        #expect(table.preparedCount(on: 1) == 0)
        guard case .prepare(let second, let deallocating) = Self.use(&table, "A", on: 1) else { Issue.record("A not prepared again"); return }
        #expect(second != first)
        #expect(deallocating.isEmpty, "a lost session's statements are gone with it")
    }

    @Test("remembered texts are bounded: a forgotten text counts its uses from zero again")
    func boundedTexts() {
        var table = PreparedStatementTable<Int>(configuration: .init(admitAfterUses: 2, texts: 4), namePrefix: "t_")
        _ = Self.use(&table, "A", on: 1)
        for text in ["B", "C", "D", "E"] { _ = Self.use(&table, text, on: 1) }
        // Five texts in a table of four: the coldest half went, A with them.
        #expect(Self.use(&table, "A", on: 1) == .runUnnamed)
        guard case .prepare = Self.use(&table, "E", on: 1) else { Issue.record("E, still remembered, should be admitted"); return }
    }

    @Test("a text longer than the bound always runs unnamed")
    func longText() {
        var table = PreparedStatementTable<Int>(configuration: .init(admitAfterUses: 1, maximumTextLength: 10), namePrefix: "t_")
        #expect(Self.use(&table, "SELECT 1234", on: 1) == .runUnnamed)
        #expect(Self.use(&table, "SELECT 1234", on: 1) == .runUnnamed)
        guard case .prepare = Self.use(&table, "SELECT 123", on: 1) else { Issue.record("a text at the bound should be prepared"); return }
    }
}
