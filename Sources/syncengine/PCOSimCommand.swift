import ArgumentParser
import Foundation
import Logging
import PCOSimulator

/// `syncengine pco-sim`: the local Planning Center API simulator.
///
/// Every knob of ``FaultSettings`` has a flag here and can also be changed at run time through
/// `POST /__sim/faults`. Prints `pco-sim listening on http://HOST:PORT` once it serves.
struct PCOSimCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pco-sim",
        abstract: "Run the local Planning Center API simulator."
    )

    @Option(help: "Address to listen on, HOST:PORT (port 0 picks a free port). Loopback only is recommended.")
    var listen = "127.0.0.1:8765"

    @Option(help: "Number of simulated organizations.")
    var orgs = 1

    @Option(help: "People per organization (other records follow by realistic ratios).")
    var people = 200

    @Option(help: "Seed for data, credentials, faults and random mutations.")
    var seed: UInt64 = 1

    @Option(name: .customLong("reference-time"), help: "Generated timestamps lie in the 3 years before this UTC time (YYYY-MM-DDTHH:MM:SSZ).")
    var referenceTime = "2026-01-01T00:00:00Z"

    @Option(name: .customLong("rate-limit"), help: "Requests per period per credential, LIMIT/SECONDS (PCO: 100/20), or 'off'.")
    var rateLimit = "100/20"

    @Option(name: .customLong("deep-offset-limit"), help: "Limit for requests with offset above 30000 (PCO: 75).")
    var deepOffsetLimit = 75

    @Option(name: .customLong("period-format"), help: "X-PCO-API-Request-Rate-Period as 'seconds' (\"20 seconds\") or 'bare' (\"20\").")
    var periodFormat = "seconds"

    @Flag(name: .customLong("omit-retry-after"), help: "Leave Retry-After off 429 responses.")
    var omitRetryAfter = false

    @Option(name: .customLong("force-429"), help: "Answer the first N API requests with 429.")
    var force429 = 0

    @Option(name: .customLong("fault-5xx"), help: "Probability of a 500/502/503/504 per API request.")
    var fault5xx = 0.0

    @Option(name: .customLong("latency-ms"), help: "Fixed latency added to every API request.")
    var latencyMs = 0.0

    @Option(name: .customLong("latency-jitter-ms"), help: "Uniform random extra latency, 0...N ms.")
    var latencyJitterMs = 0.0

    @Option(name: .customLong("malformed-rate"), help: "Probability that a 200 body is invalid JSON.")
    var malformedRate = 0.0

    @Option(name: .customLong("truncated-rate"), help: "Probability that a 200 body is cut short.")
    var truncatedRate = 0.0

    @Option(name: .customLong("token-lifetime"), help: "OAuth access-token lifetime in seconds (PCO: 7200).")
    var tokenLifetime = 7200

    @Option(name: .customLong("mutations-per-second"), help: "Background random creates/updates/deletes/merges per second.")
    var mutationsPerSecond = 0.0

    @Option(name: .customLong("webhook-delay-ms"), help: "Delay before each webhook delivery.")
    var webhookDelayMs = 0.0

    @Option(name: .customLong("webhook-duplicate-rate"), help: "Probability that a delivery is sent twice.")
    var webhookDuplicateRate = 0.0

    @Option(name: .customLong("webhook-wrong-signature-rate"), help: "Probability that a delivery is signed with a wrong secret.")
    var webhookWrongSignatureRate = 0.0

    @Option(name: .customLong("webhook-drop-rate"), help: "Probability that a delivery is silently dropped.")
    var webhookDropRate = 0.0

    @Option(name: .customLong("webhook-retry-base-ms"), help: "First retry delay after a failed delivery, doubling (PCO: 30000).")
    var webhookRetryBaseMs = 30_000.0

    @Option(name: .customLong("per-page-overflow"), help: "per_page above 100: 'reject' (400) or 'clamp'.")
    var perPageOverflow = "reject"

    @Option(name: .customLong("request-log-capacity"), help: "Entries kept in the /__sim/requests log.")
    var requestLogCapacity = 100_000

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel = "info"

    func run() async throws {
        let configuration = try makeConfiguration()
        var logger = Logger(label: "pco-sim")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        let simulator = PCOSimulator(configuration: configuration, logger: logger)
        let baseURL = try await simulator.start()
        // Written straight to the file descriptor so the ready line is never stuck in a buffer.
        FileHandle.standardOutput.write(Data("pco-sim listening on \(baseURL)\n".utf8))
        try await simulator.run()
    }

    func makeConfiguration() throws -> SimulatorConfiguration {
        var c = SimulatorConfiguration()
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]), (0 ... 65535).contains(port) else {
            throw ValidationError("--listen must be HOST:PORT, e.g. 127.0.0.1:8765")
        }
        c.host = String(listen[..<colon])
        c.port = port
        guard orgs >= 1, people >= 0 else { throw ValidationError("--orgs must be at least 1 and --people at least 0") }
        c.orgs = orgs
        c.peoplePerOrg = people
        c.seed = seed
        guard let reference = Self.parseTimestamp(referenceTime) else {
            throw ValidationError("--reference-time must look like 2026-01-01T00:00:00Z")
        }
        c.referenceTime = reference
        if rateLimit.lowercased() == "off" {
            c.faults.rateLimit.enabled = false
        } else {
            let parts = rateLimit.split(separator: "/")
            guard parts.count == 2, let limit = Int(parts[0]), let period = Int(parts[1]), limit >= 1, period >= 1 else {
                throw ValidationError("--rate-limit must be LIMIT/SECONDS (e.g. 100/20) or off")
            }
            c.faults.rateLimit.limit = limit
            c.faults.rateLimit.periodSeconds = period
        }
        c.faults.rateLimit.deepOffsetLimit = deepOffsetLimit
        guard let format = FaultSettings.PeriodFormat(rawValue: periodFormat) else {
            throw ValidationError("--period-format must be 'seconds' or 'bare'")
        }
        c.faults.periodFormat = format
        c.faults.omitRetryAfter = omitRetryAfter
        c.faults.force429Count = force429
        for (name, rate) in [("--fault-5xx", fault5xx), ("--malformed-rate", malformedRate), ("--truncated-rate", truncatedRate),
                             ("--webhook-duplicate-rate", webhookDuplicateRate), ("--webhook-wrong-signature-rate", webhookWrongSignatureRate),
                             ("--webhook-drop-rate", webhookDropRate)] where !(0 ... 1).contains(rate) {
            throw ValidationError("\(name) must be a probability between 0 and 1")
        }
        c.faults.errorRate5xx = fault5xx
        c.faults.latencyMs = latencyMs
        c.faults.latencyJitterMs = latencyJitterMs
        c.faults.malformedRate = malformedRate
        c.faults.truncatedRate = truncatedRate
        guard tokenLifetime >= 1 else { throw ValidationError("--token-lifetime must be at least 1 second") }
        c.faults.accessTokenLifetimeSeconds = tokenLifetime
        c.faults.mutationsPerSecond = mutationsPerSecond
        c.faults.webhookDelayMs = webhookDelayMs
        c.faults.webhookDuplicateRate = webhookDuplicateRate
        c.faults.webhookWrongSignatureRate = webhookWrongSignatureRate
        c.faults.webhookDropRate = webhookDropRate
        c.faults.webhookRetryBaseMs = webhookRetryBaseMs
        guard let overflow = PerPageOverflow(rawValue: perPageOverflow) else {
            throw ValidationError("--per-page-overflow must be 'reject' or 'clamp'")
        }
        c.perPageOverflow = overflow
        c.requestLogCapacity = requestLogCapacity
        return c
    }

    private static func parseTimestamp(_ text: String) -> Int64? {
        let formatter = ISO8601DateFormatter()
        return formatter.date(from: text).map { Int64($0.timeIntervalSince1970) }
    }
}
