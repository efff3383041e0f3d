import Foundation
import Testing

/// ClusterProtocol must stay free of sockets so every parsing and handshake path is testable
/// without I/O (STYLE rule 1).
@Suite("ClusterProtocol purity")
struct ClusterProtocolIsPureTests {
    static let allowedImports: Set<String> = ["NIOCore", "Crypto", "Synchronization", "_Concurrency"]

    @Test("no source file of ClusterProtocol imports a module that does I/O")
    func importsAreAllowed() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let sources = root.appendingPathComponent("Sources/ClusterProtocol")
        let files = FileManager.default.enumerator(atPath: sources.path)?.compactMap { $0 as? String }.filter { $0.hasSuffix(".swift") } ?? []
        #expect(files.count > 5, "found too few ClusterProtocol sources under \(sources.path)")
        for file in files {
            let text = try String(contentsOf: sources.appendingPathComponent(file), encoding: .utf8)
            for line in text.split(separator: "\n") {
                let words = line.split(separator: " ").map(String.init)
                guard let importIndex = words.firstIndex(of: "import"), importIndex + 1 < words.count,
                      words[..<importIndex].allSatisfy({ $0.hasPrefix("@") || $0 == "public" || $0 == "internal" })
                else { continue }
                let module = words[importIndex + 1].split(separator: ".").first.map(String.init) ?? ""
                #expect(Self.allowedImports.contains(module), "\(file) imports \(module)")
            }
        }
    }
}
