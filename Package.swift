// swift-tools-version:6.1
import PackageDescription

// Swift 6 language mode everywhere; strict concurrency is complete by default in that mode,
// the flag below keeps it explicit for readers and for older 5.x consumers of the modules.
let strictConcurrency: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .unsafeFlags(["-strict-concurrency=complete", "-enforce-exclusivity=checked"]),
]

let package = Package(
    name: "syncengine",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "syncengine", targets: ["syncengine"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        // Pure logic: manifest, dependency graph, canonical model, rate-limit planning. No I/O, no Foundation.
        .target(name: "SyncCore", swiftSettings: strictConcurrency),
        // The Planning Center adapter: manifest, JSON:API documents, canonical transformation, HTTP client.
        .target(
            name: "PlanningCenter",
            dependencies: [
                "SyncCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictConcurrency
        ),
        // Postgres: migrations runner, canonical bulk store, token store.
        .target(
            name: "SyncPostgres",
            dependencies: [
                "SyncCore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictConcurrency
        ),
        // hiredis, the C Redis client (apt: libhiredis-dev); blocking, so SyncRedis runs it off the
        // cooperative pool.
        .systemLibrary(
            name: "CHiredis",
            pkgConfig: "hiredis",
            providers: [.apt(["libhiredis-dev"])]
        ),
        // Redis over hiredis on dedicated threads: commands, scripts, pub/sub, reconnection.
        .target(
            name: "SyncRedis",
            dependencies: [
                "CHiredis",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strictConcurrency
        ),
        // The node-to-node protocol without sockets: frames, messages, the handshake's proof (pure code
        // over ByteBuffer, so every parsing path is testable and fuzzable without I/O).
        .target(
            name: "ClusterProtocol",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictConcurrency
        ),
        // Node-to-node messages over TCP (SwiftNIO): handshake, calls with replies, ping/pong, reconnection.
        .target(
            name: "SyncTransport",
            dependencies: [
                "ClusterProtocol",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictConcurrency
        ),
        // The faithful local PCO API (Hummingbird).
        .target(
            name: "PCOSimulator",
            dependencies: [
                "SyncCore",
                "PlanningCenter",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictConcurrency
        ),
        // The node: workflow runners, orchestrator, services, admin HTTP.
        .target(
            name: "SyncNode",
            dependencies: [
                "SyncCore",
                "PlanningCenter",
                "SyncPostgres",
                "SyncRedis",
                "ClusterProtocol",
                "SyncTransport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: strictConcurrency
        ),
        // Benchmarks run by `syncengine bench` and cluster/bench: figures printed next to a baseline
        // measured in the same run.
        .target(
            name: "SyncBenchmarks",
            dependencies: [
                "SyncCore",
                "PlanningCenter",
                "SyncPostgres",
                "SyncNode",
                "PCOSimulator",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strictConcurrency
        ),
        .executableTarget(
            name: "syncengine",
            dependencies: [
                "SyncCore",
                "PlanningCenter",
                "SyncPostgres",
                "SyncNode",
                "SyncBenchmarks",
                "PCOSimulator",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            swiftSettings: strictConcurrency
        ),
        // Shared by the test targets: where the real services are, throwaway databases.
        .target(
            name: "SyncTestSupport",
            dependencies: [
                "SyncPostgres",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/SyncTestSupport",
            swiftSettings: strictConcurrency
        ),
        .testTarget(name: "SyncCoreTests", dependencies: ["SyncCore"], swiftSettings: strictConcurrency),
        .testTarget(
            name: "PlanningCenterTests",
            dependencies: ["PlanningCenter", "SyncCore", "SyncTestSupport", "PCOSimulator", "SyncPostgres"],
            swiftSettings: strictConcurrency
        ),
        .testTarget(
            name: "SyncPostgresTests",
            dependencies: ["SyncPostgres", "SyncCore", "SyncTestSupport"],
            swiftSettings: strictConcurrency
        ),
        .testTarget(
            name: "PCOSimulatorTests",
            dependencies: [
                "PCOSimulator", "PlanningCenter", "SyncCore", "SyncTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strictConcurrency
        ),
        .testTarget(
            name: "SyncNodeTests",
            dependencies: [
                "SyncNode", "SyncCore", "PlanningCenter", "SyncPostgres", "PCOSimulator", "SyncTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: strictConcurrency
        ),
        .testTarget(
            name: "SyncRedisTests",
            dependencies: ["SyncRedis", "SyncTestSupport"],
            swiftSettings: strictConcurrency
        ),
        .testTarget(
            name: "SyncTransportTests",
            dependencies: [
                "SyncTransport",
                "ClusterProtocol",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            swiftSettings: strictConcurrency
        ),
        .testTarget(
            name: "SyncEngineCLITests",
            dependencies: ["SyncTestSupport", "SyncPostgres", "SyncCore"],
            swiftSettings: strictConcurrency
        ),
    ]
)
