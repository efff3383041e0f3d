import Testing
@testable import SyncPostgres

@Suite("SQL statement splitter")
struct SQLStatementSplitterTests {
    @Test("splits on semicolons and drops empty and comment-only statements")
    func basic() {
        #expect(SQLStatementSplitter.split("CREATE TABLE a (x int);\n-- note\nCREATE TABLE b (y int);\n;\n-- trailing") ==
                ["CREATE TABLE a (x int)", "-- note\nCREATE TABLE b (y int)"])
    }

    @Test("semicolons in literals, identifiers, comments and dollar quotes do not split")
    func quoted() {
        let script = """
            INSERT INTO t VALUES ('a;b', 'it''s; fine');
            CREATE TABLE "odd;name" (x int); /* a; comment */
            CREATE FUNCTION f() RETURNS int AS $body$ BEGIN RETURN 1; END; $body$ LANGUAGE plpgsql;
            DO $$ BEGIN PERFORM 1; END $$;
            SELECT $1::int -- a parameter, not a dollar quote; still one statement
            """
        let statements = SQLStatementSplitter.split(script)
        #expect(statements.count == 5)
        #expect(statements[0] == "INSERT INTO t VALUES ('a;b', 'it''s; fine')")
        #expect(statements[1] == "CREATE TABLE \"odd;name\" (x int)")
        #expect(statements[2].hasPrefix("/* a; comment */\nCREATE FUNCTION"))
        #expect(statements[2].hasSuffix("$body$ LANGUAGE plpgsql"))
        #expect(statements[3] == "DO $$ BEGIN PERFORM 1; END $$")
    }
}
