import Foundation
import SyncTestSupport
import Testing

/// The `syncengine` executable as a user runs it.
@Suite("syncengine CLI")
struct CLITests {
    let binary: URL

    init() throws { binary = try TestServices.engineBinary() }

    @Test("graph --format json prints the PCO levels and edges")
    func graphJSON() async throws {
        let result = try await ProcessRunner.run(binary, ["graph", "--adapter", "pco", "--format", "json"])
        #expect(result.status == 0, "\(result.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let levels = try #require(object["levels"] as? [[String]])
        #expect(levels.first == ["Campus", "Household", "GroupType"])
        #expect(levels.count == 3)
        let edges = try #require(object["edges"] as? [[String: String]])
        #expect(edges.contains(["from": "Person", "to": "Address", "kind": "hard"]))
        #expect(edges.contains(["from": "Campus", "to": "Person", "kind": "soft"]))
        #expect(result.stderr.contains("warning: dropped soft edge"))
    }

    @Test("graph in text and dot formats", arguments: [("text", "level 0: Campus"), ("dot", "digraph \"pco\"")])
    func graphFormats(format: String, expected: String) async throws {
        let result = try await ProcessRunner.run(binary, ["graph", "--format", format])
        #expect(result.status == 0)
        #expect(result.stdout.contains(expected))
    }

    @Test("an unknown format or adapter is a usage error listing the valid values",
          arguments: [["graph", "--format", "yaml"], ["graph", "--adapter", "ccb"]])
    func badValues(arguments: [String]) async throws {
        let result = try await ProcessRunner.run(binary, arguments)
        #expect(result.status != 0)
        let valid = arguments[1] == "--format" ? ["text", "dot", "json"] : ["pco"]
        for value in valid { #expect(result.stderr.contains("'\(value)'"), "\(result.stderr)") }
    }

    @Test("node settings out of range or not integers are clear errors naming the option or variable, before anything starts",
          arguments: [
              (["--listing-partitions", "0"], [:], "--listing-partitions (SYNC_LISTING_PARTITIONS) must be 1 to 16, got 0"),
              ([], ["SYNC_LISTING_PARTITIONS": "four"], "SYNC_LISTING_PARTITIONS must be an integer, got 'four'"),
              (["--nested-partitions", "65"], [:], "--nested-partitions (SYNC_NESTED_PARTITIONS) must be 1 to 64, got 65"),
              ([], ["SYNC_SHARDS": "0"], "--shards (SYNC_SHARDS) must be at least 1, got 0"),
          ] as [([String], [String: String], String)])
    func badNodeSettings(arguments: [String], environment: [String: String], message: String) async throws {
        // Port 1 on loopback: nothing listens there, and the settings are checked before connecting.
        var settings = environment
        settings["SYNC_TOKEN_KEY"] = Data(repeating: 7, count: 32).base64EncodedString()
        let result = try await ProcessRunner.run(binary, ["node", "--postgres", "postgres://sync@127.0.0.1:1/engine"] + arguments,
                                                 environment: settings)
        #expect(result.status != 0)
        #expect(result.stderr.contains(message), "\(result.stderr)")
    }

    @Test("an unreachable Postgres is one clear line naming the URL without its password")
    func unreachablePostgres() async throws {
        // Port 1 on loopback: nothing listens there.
        let result = try await ProcessRunner.run(binary, ["migrate", "--postgres", "postgres://sync:hunter2@127.0.0.1:1/engine"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("postgres://sync:***@127.0.0.1:1/engine"), "\(result.stderr)")
        #expect(!result.stderr.contains("hunter2"))
        #expect(!result.stderr.contains("Stack dump"))
        #expect(result.stderr.split(separator: "\n").count <= 2)
    }
}
