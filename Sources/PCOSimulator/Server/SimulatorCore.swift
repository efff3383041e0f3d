import Foundation
import Logging

/// The state of a running simulator, shared by its HTTP handlers: the orgs' data, credentials,
/// OAuth, rate limiter, faults, request log and webhooks. Each piece has one owner (a lock).
final class SimulatorCore: Sendable {
    let configuration: SimulatorConfiguration
    let clock: any SimulatorClock
    let logger: Logger
    let stores: [OrgStore]
    let storesByID: [String: OrgStore]
    /// PAT app id -> (secret, org id).
    let personalAccessTokens: [String: (secret: String, orgID: String)]
    let oauth: Locked<OAuthServer>
    let limiter = Locked(RateLimiter())
    let faults: Locked<FaultState>
    let requestLog: Locked<RequestLog>
    let webhooks: WebhookDispatcher
    /// `http://host:port`, known once the server is bound.
    let baseURL = Locked("http://127.0.0.1")

    struct FaultState: Sendable {
        var settings: FaultSettings
        var injector: FaultInjector
        var forced429Remaining: Int
    }

    init(configuration: SimulatorConfiguration, clock: any SimulatorClock, logger: Logger) {
        self.configuration = configuration
        self.clock = clock
        self.logger = logger
        var stores: [OrgStore] = []
        var pats: [String: (secret: String, orgID: String)] = [:]
        var oauth = OAuthServer(seed: configuration.seed)
        let now = clock.wallSeconds()
        for index in 0 ..< max(0, configuration.orgs) {
            let spec = DatasetSpec(orgIndex: index, people: configuration.peoplePerOrg, seed: configuration.seed, referenceTime: configuration.referenceTime)
            let org = DatasetGenerator.organization(spec)
            let data = DatasetGenerator.data(spec, timeZone: org.timeZone)
            stores.append(OrgStore(org: org, data: data, mutationSeed: configuration.seed &+ UInt64(index) &* 31 &+ 7,
                                   referenceTime: configuration.referenceTime, clock: clock))
            pats[org.patAppID] = (org.patSecret, org.id)
            oauth.register(clientID: org.oauthClientID, secret: org.oauthClientSecret, orgID: org.id)
            _ = oauth.issue(orgID: org.id, clientID: org.oauthClientID, scope: configuration.oauthScope, now: now,
                            lifetime: configuration.faults.accessTokenLifetimeSeconds)
        }
        self.stores = stores
        self.storesByID = Dictionary(uniqueKeysWithValues: stores.map { ($0.org.id, $0) })
        self.personalAccessTokens = pats
        self.oauth = Locked(oauth)
        self.faults = Locked(FaultState(
            settings: configuration.faults,
            injector: FaultInjector(seed: configuration.seed),
            forced429Remaining: configuration.faults.force429Count
        ))
        self.requestLog = Locked(RequestLog(capacity: configuration.requestLogCapacity))
        let faults = self.faults
        self.webhooks = WebhookDispatcher(seed: configuration.seed, settings: { faults.withLock { $0.settings } }, logger: logger)
    }

    var settings: FaultSettings { faults.withLock { $0.settings } }

    /// Applies mutations to an org and queues their webhooks.
    func mutate(orgID: String, requests: [MutationRequest]) throws(MutationError) -> [MutationChange] {
        guard let store = storesByID[orgID] else { throw MutationError(org: orgID, detail: "no such org") }
        let applied = try store.mutate(requests, renderPayloads: true)
        webhooks.publish(orgID: orgID, org: store.org, mutations: applied)
        return applied.map(\.change)
    }

    func mutateRandomly(orgID: String, count: Int, seed: UInt64?) throws(MutationError) -> [MutationChange] {
        guard let store = storesByID[orgID] else { throw MutationError(org: orgID, detail: "no such org") }
        let applied = store.randomMutations(count: count, seed: seed, renderPayloads: true)
        webhooks.publish(orgID: orgID, org: store.org, mutations: applied)
        return applied.map(\.change)
    }

    /// Background mutations at `mutations_per_second`, spread round-robin over the orgs, until cancelled.
    func runBackgroundMutations() async {
        var next = 0
        while !Task.isCancelled {
            let rate = settings.mutationsPerSecond
            guard rate > 0, !stores.isEmpty else {
                try? await Task.sleep(nanoseconds: 200_000_000)
                continue
            }
            let store = stores[next % stores.count]
            next += 1
            let applied = store.randomMutations(count: 1, seed: nil, renderPayloads: true)
            webhooks.publish(orgID: store.org.id, org: store.org, mutations: applied)
            try? await Task.sleep(nanoseconds: UInt64(1_000_000_000 / rate))
        }
    }
}
