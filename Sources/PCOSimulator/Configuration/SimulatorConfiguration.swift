/// How a simulator instance is set up. Flag parsing lives in the `syncengine pco-sim` command.
public struct SimulatorConfiguration: Sendable {
    /// Address to listen on; loopback by default. Port 0 picks a free port (tests run many simulators).
    public var host: String = "127.0.0.1"
    public var port: Int = 0
    /// Number of organizations (churches). Org ids are "1", "2", ...
    public var orgs: Int = 1
    /// People per organization; every other kind follows from it by realistic ratios.
    public var peoplePerOrg: Int = 200
    /// Seed of everything random: the dataset, credentials, tokens, fault dice, random mutations.
    public var seed: UInt64 = 1
    /// Generated timestamps lie in the three years before this instant (seconds since 1970);
    /// fixed by default so a seed always yields the same data. Default 2026-01-01T00:00:00Z.
    public var referenceTime: Int64 = 1_767_225_600
    /// Faults, rate limit, token lifetime, mutation rate and webhook knobs (see ``FaultSettings``).
    public var faults = FaultSettings()
    /// `per_page` above 100: 400 (default) or clamp to 100.
    public var perPageOverflow: PerPageOverflow = .reject
    /// Request-log entries kept for `/__sim/requests`.
    public var requestLogCapacity: Int = 100_000
    /// OAuth scope granted to issued tokens.
    public var oauthScope: String = "people groups webhooks"

    public init() {}
}
