import ArgumentParser
import Foundation
import SyncCore

/// `syncengine graph`: print an adapter's dependency graph.
struct GraphCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "graph",
        abstract: "Print the dependency graph derived from an adapter's entity manifest."
    )

    enum Format: String, CaseIterable, ExpressibleByArgument {
        case text, dot, json
    }

    @Option(help: "The adapter whose manifest to use.")
    var adapter: AdapterChoice = .pco

    @Option(help: "Output format.")
    var format: Format = .text

    func run() throws {
        let graph: DependencyGraph
        do {
            graph = try DependencyGraph.build(from: adapter.manifest)
        } catch {
            throw CLIError(error.description)
        }
        // Dropped soft edges are warnings: on stderr, so the JSON and DOT on stdout stay parseable.
        if format != .text {
            for drop in graph.dropped { printError("warning: \(drop)") }
        }
        switch format {
        case .text:
            print(graph.renderText())
        case .dot:
            print(graph.renderDOT(name: adapter.rawValue))
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let data = try encoder.encode(graph.document)
            print(String(decoding: data, as: UTF8.self))
        }
    }
}
