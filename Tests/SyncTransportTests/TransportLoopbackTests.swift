import ClusterProtocol
import NIOCore
import Synchronization
import SyncTransport
import Testing

/// The transport over real TCP on 127.0.0.1 with ephemeral ports. Every wait is bounded and every
/// transport and socket is closed before the test returns.
@Suite("Transport over loopback TCP")
struct TransportLoopbackTests {
    @Test("a call round trip delivers progress frames in order, then the completion")
    func roundTripWithProgress() async throws {
        let seen = Recorder<(EntitySyncRequest, String)>()
        let server = Loopback.transport(Loopback.configuration(node: "server")) { request, peer, reporter in
            seen.record((request, peer))
            reporter.accepted()
            reporter.progress(pages: 1, rows: 10)
            reporter.progress(pages: 2, rows: 25)
            reporter.finish(.completed(.completed(pages: 2, rows: 25)))
        }
        let client = Loopback.transport(Loopback.configuration(node: "client"))
        let port = try await server.start()

        let progress = Recorder<[Int64]>()
        let request = Loopback.request("Person")
        let reply = try await withTimeout(.seconds(10), "the call") {
            try await client.call(request, to: Loopback.peer("server", port: port)) { pages, rows in progress.record([pages, rows]) }
        }
        #expect(reply == .completed(.completed(pages: 2, rows: 25)))
        #expect(progress.all == [[1, 10], [2, 25]])
        let (received, from) = try #require(seen.all.first)
        #expect(from == "client")
        #expect(received.idempotencyKey == request.idempotencyKey)
        #expect(received.runID == request.runID && received.orgID == request.orgID && received.entity == request.entity)
        #expect(received.leaderTerm == request.leaderTerm)

        // The second call reuses the pooled connection.
        _ = try await withTimeout(.seconds(10), "the second call") {
            try await client.call(Loopback.request("Email"), to: Loopback.peer("server", port: port)) { _, _ in }
        }
        #expect(client.counters.connectionsOpened == 1)
        #expect(client.counters.framesSent >= 3) // hello + 2 requests
        #expect(client.counters.framesReceived >= 9) // accept + 2 × (accepted, 2 progress, completed)
        #expect(server.counters.handshakesAccepted == 1)
        #expect(server.counters.handshakeRejects == 0)
        await client.shutdown()
        await server.shutdown()
    }

    @Test("concurrent calls on one connection each get their own reply; refusals and silent handlers come back as refusals")
    func multiplexedCalls() async throws {
        let server = Loopback.transport(Loopback.configuration(node: "server")) { request, _, reporter in
            switch request.entity {
            case "refuse":
                reporter.finish(.refused(.notOwner, detail: "shard 3 is not here"))
            case "forget":
                return // returns without a reply
            default:
                try? await Task.sleep(for: .milliseconds(Int.random(in: 0...30)))
                reporter.finish(.completed(.completed(pages: 1, rows: Int64(request.entity.count))))
            }
        }
        let client = Loopback.transport(Loopback.configuration(node: "client"))
        let port = try await server.start()
        let peer = Loopback.peer("server", port: port)

        let entities = (1...20).map { String(repeating: "x", count: $0) }
        let replies = try await withTimeout(.seconds(15), "20 concurrent calls") {
            try await withThrowingTaskGroup(of: (String, EntitySyncReply).self) { group in
                for entity in entities {
                    group.addTask { (entity, try await client.call(Loopback.request(entity), to: peer) { _, _ in }) }
                }
                var replies: [String: EntitySyncReply] = [:]
                for try await (entity, reply) in group { replies[entity] = reply }
                return replies
            }
        }
        for entity in entities {
            #expect(replies[entity] == .completed(.completed(pages: 1, rows: Int64(entity.count))))
        }
        #expect(client.counters.connectionsOpened == 1)

        let refused = try await withTimeout(.seconds(10), "a refused call") {
            try await client.call(Loopback.request("refuse"), to: peer) { _, _ in }
        }
        #expect(refused == .refused(.notOwner, detail: "shard 3 is not here"))
        let forgotten = try await withTimeout(.seconds(10), "a call whose handler forgot to reply") {
            try await client.call(Loopback.request("forget"), to: peer) { _, _ in }
        }
        guard case .refused(.interrupted, _) = forgotten else {
            Issue.record("handler without a reply gave \(forgotten)")
            return
        }
        await client.shutdown()
        await server.shutdown()
    }

    @Test("an idle connection outlives several peer timeouts because both sides ping and answer pongs")
    func idleConnectionStaysUp() async throws {
        let fast: (inout ClusterTransportConfiguration) -> Void = {
            $0.pingInterval = .milliseconds(50)
            $0.peerTimeout = .milliseconds(400)
        }
        let server = Loopback.transport(Loopback.configuration(node: "server", fast)) { _, _, reporter in
            reporter.finish(.completed(.completed(pages: 0, rows: 0)))
        }
        let client = Loopback.transport(Loopback.configuration(node: "client", fast))
        let port = try await server.start()
        let peer = Loopback.peer("server", port: port)
        _ = try await withTimeout(.seconds(10), "the first call") { try await client.call(Loopback.request(), to: peer) { _, _ in } }
        try await Task.sleep(for: .milliseconds(1_200))
        #expect(client.isConnected(to: peer))
        _ = try await withTimeout(.seconds(10), "the call after idling") { try await client.call(Loopback.request(), to: peer) { _, _ in } }
        #expect(client.counters.connectionsOpened == 1)
        #expect(client.counters.peersTimedOut == 0)
        #expect(server.counters.peersTimedOut == 0)
        // Pings went both ways and were answered.
        #expect(client.counters.framesReceived > 6)
        #expect(server.counters.framesReceived > 6)
        await client.shutdown()
        await server.shutdown()
    }

    @Test("a wrong secret: the client gets handshakeRejected, the server counts and logs the reject")
    func wrongSecret() async throws {
        let logs = CapturingLogHandler.Store()
        let server = Loopback.transport(Loopback.configuration(node: "server"), logs: logs)
        let intruder = Loopback.transport(Loopback.configuration(node: "intruder", secret: Array("not-the-secret-at-all".utf8)))
        let port = try await server.start()

        do {
            _ = try await withTimeout(.seconds(10), "the rejected call") {
                try await intruder.call(Loopback.request(), to: Loopback.peer("server", port: port)) { _, _ in }
            }
            Issue.record("a call with the wrong secret succeeded")
        } catch let error as TransportError {
            #expect(error.code == .handshakeRejected)
            #expect(error.detail.contains("badProof"), "\(error)")
        }
        #expect(server.counters.handshakeRejects == 1)
        #expect(server.counters.handshakesAccepted == 0)
        #expect(intruder.counters.reconnects == 0, "a rejected handshake must not be retried")
        let warning = try #require(logs.all.first { $0.level == .warning && $0.message == "handshake rejected" })
        #expect(warning.metadata["sync.peer.address"]?.description.contains("127.0.0.1") == true)
        #expect(warning.metadata["sync.reject.code"]?.description == "badProof")
        await intruder.shutdown()
        await server.shutdown()
    }

    @Test("the client refuses a server that does not know the secret")
    func impostorServer() async throws {
        let impostor = Loopback.transport(Loopback.configuration(node: "server", secret: Array("impostor-secret-xyz".utf8)))
        let client = Loopback.transport(Loopback.configuration(node: "client"))
        let port = try await impostor.start()
        await #expect(throws: TransportError.self) {
            _ = try await withTimeout(.seconds(10), "the call") {
                try await client.call(Loopback.request(), to: Loopback.peer("server", port: port)) { _, _ in }
            }
        }
        // The impostor rejected the client's hello already; either way nothing was accepted.
        #expect(impostor.counters.handshakesAccepted == 0)
        await client.shutdown()
        await impostor.shutdown()
    }

    @Test("a raw socket sending garbage gets a reject frame and is closed")
    func garbage() async throws {
        let logs = CapturingLogHandler.Store()
        let server = Loopback.transport(Loopback.configuration(node: "server"), logs: logs)
        let port = try await server.start()

        let raw = try await RawClient.connect(port: port)
        let reply = try await raw.exchange(ByteBuffer(string: "GET / HTTP/1.1\r\nHost: node\r\n\r\n"))
        let messages = try decodeAll(reply)
        guard case .helloReject(let reject)? = messages.first, messages.count == 1 else {
            Issue.record("expected one reject frame, got \(messages)")
            await server.shutdown()
            return
        }
        #expect(reject.code == .malformedHello)
        #expect(server.counters.handshakeRejects == 1)
        #expect(server.counters.frameErrors == 1)
        #expect(logs.all.contains { $0.level == .warning && $0.metadata["sync.reject.code"]?.description == "malformedHello" })

        // A well-formed frame that is not a hello is refused as well.
        let second = try await RawClient.connect(port: port)
        let secondReply = try decodeAll(try await second.exchange(try frame(.ping(1))))
        guard case .helloReject(let required)? = secondReply.first else {
            Issue.record("expected a reject, got \(secondReply)")
            await server.shutdown()
            return
        }
        #expect(required.code == .handshakeRequired)
        await server.shutdown()
    }

    @Test("a silent socket is rejected at the handshake timeout")
    func handshakeTimeout() async throws {
        let server = Loopback.transport(Loopback.configuration(node: "server") { $0.handshakeTimeout = .milliseconds(300) })
        let port = try await server.start()
        let raw = try await RawClient.connect(port: port)
        let started = ContinuousClock.now
        let reply = try decodeAll(try await raw.exchange(ByteBuffer(), limit: .seconds(5)))
        #expect(ContinuousClock.now - started >= .milliseconds(250))
        guard case .helloReject(let reject)? = reply.first else {
            Issue.record("expected a reject, got \(reply)")
            await server.shutdown()
            return
        }
        #expect(reject.code == .handshakeTimeout)
        await server.shutdown()
    }

    @Test("the server shut down mid-call: the caller gets connectionLost promptly and the handler is cancelled")
    func serverShutdownMidCall() async throws {
        let handlerEvents = Recorder<String>()
        let server = Loopback.transport(Loopback.configuration(node: "server")) { _, _, reporter in
            handlerEvents.record("started")
            reporter.accepted()
            try? await Task.sleep(for: .seconds(30))
            handlerEvents.record(Task.isCancelled ? "cancelled" : "finished")
            reporter.finish(.refused(.interrupted, detail: "stopped"))
        }
        // A long peer timeout, so only the closed connection can explain a prompt failure.
        let client = Loopback.transport(Loopback.configuration(node: "client") { $0.peerTimeout = .seconds(20) })
        let port = try await server.start()

        let call = Task {
            try await client.call(Loopback.request(), to: Loopback.peer("server", port: port)) { _, _ in }
        }
        try await handlerEvents.waitFor("the handler to start") { $0 == "started" }
        let shutdownStarted = ContinuousClock.now
        await withTimeoutOrRecord(.seconds(10), "server shutdown") { await server.shutdown() }
        do {
            let reply = try await withTimeout(.seconds(3), "the call to fail") { try await call.value }
            Issue.record("the call returned \(reply) although its server shut down")
        } catch let error as TransportError {
            #expect(error.code == .connectionLost, "\(error)")
        }
        #expect(ContinuousClock.now - shutdownStarted < .seconds(3))
        #expect(handlerEvents.all.contains("cancelled"))
        call.cancel()
        await client.shutdown()
    }

    @Test("a peer that completes the handshake and then goes silent is declared unresponsive within about peerTimeout")
    func silentPeer() async throws {
        let peerTimeout = Duration.milliseconds(800)
        let silent = try await SilentPeerServer.start(handshake: ClusterHandshake(clusterID: Loopback.cluster, nodeID: "stopped",
                                                                                    secret: Loopback.secret))
        let client = Loopback.transport(Loopback.configuration(node: "client") {
            $0.pingInterval = .milliseconds(100)
            $0.peerTimeout = peerTimeout
        })
        let started = ContinuousClock.now
        do {
            let reply = try await withTimeout(.seconds(10), "the call to fail") {
                try await client.call(Loopback.request(), to: Loopback.peer("stopped", port: silent.port)) { _, _ in }
            }
            Issue.record("a silent peer answered \(reply)")
        } catch let error as TransportError {
            #expect(error.code == .peerUnresponsive, "\(error)")
        }
        let elapsed = ContinuousClock.now - started
        #expect(elapsed >= peerTimeout - .milliseconds(50), "declared dead after only \(elapsed)")
        #expect(elapsed < peerTimeout + .seconds(2), "took \(elapsed) to notice")
        #expect(client.counters.peersTimedOut == 1)
        // The request went out and the client kept pinging the silent peer before giving up.
        #expect(silent.messages.contains { if case .entitySyncRequest = $0 { true } else { false } })
        #expect(silent.messages.contains { if case .ping = $0 { true } else { false } })
        await client.shutdown()
        await silent.stop()
    }

    @Test("a server that accepts TCP but never answers the hello: unreachable after the attempts; a waiting caller can cancel")
    func helloNeverAnswered() async throws {
        let mute = try await SilentPeerServer.start(handshake: ClusterHandshake(clusterID: Loopback.cluster, nodeID: "mute", secret: Loopback.secret),
                                                    answersHello: false)
        let client = Loopback.transport(Loopback.configuration(node: "client") {
            $0.handshakeTimeout = .milliseconds(200)
            $0.connectAttempts = 2
        })
        let peer = Loopback.peer("mute", port: mute.port)
        let started = ContinuousClock.now
        do {
            let reply = try await withTimeout(.seconds(10), "the call to fail") { try await client.call(Loopback.request(), to: peer) { _, _ in } }
            Issue.record("a mute server answered \(reply)")
        } catch let error as TransportError {
            #expect(error.code == .unreachable, "\(error)")
            #expect(error.detail.contains("2 connect attempts"), "\(error)")
        }
        #expect(ContinuousClock.now - started >= .milliseconds(350))
        #expect(mute.messages.filter { if case .hello = $0 { true } else { false } }.count == 2)

        let patient = Loopback.transport(Loopback.configuration(node: "patient") { $0.handshakeTimeout = .seconds(30) })
        let call = Task { try await patient.call(Loopback.request(), to: peer) { _, _ in } }
        _ = try await eventually("the hello to arrive") { mute.messages.count >= 3 ? true : nil }
        call.cancel()
        do {
            let reply = try await withTimeout(.seconds(2), "the cancelled call to return") { try await call.value }
            Issue.record("a cancelled call returned \(reply)")
        } catch {
            #expect(error is CancellationError, "\(error)")
        }
        await withTimeoutOrRecord(.seconds(5), "shutdown with a dial in progress") { await patient.shutdown() }
        await client.shutdown()
        await mute.stop()
    }

    @Test("the accepting side drops a client that handshakes and then goes silent")
    func serverDropsSilentClient() async throws {
        let server = Loopback.transport(Loopback.configuration(node: "server") {
            $0.pingInterval = .milliseconds(100)
            $0.peerTimeout = .milliseconds(600)
        })
        let port = try await server.start()
        let handshake = ClusterHandshake(clusterID: Loopback.cluster, nodeID: "frozen", secret: Loopback.secret)
        var generator = SystemRandomNumberGenerator()
        let hello = handshake.makeHello(timestampMilliseconds: wallClockMilliseconds(), using: &generator)
        let raw = try await RawClient.connect(port: port)
        let reply = try decodeAll(try await raw.exchange(try frame(.hello(hello)), limit: .seconds(5)))
        guard case .helloAccept(let accept)? = reply.first else {
            Issue.record("expected an accept, got \(reply)")
            await server.shutdown()
            return
        }
        #expect(handshake.verify(accept, answering: hello))
        #expect(reply.dropFirst().contains { if case .ping = $0 { true } else { false } }, "the server never pinged: \(reply)")
        #expect(server.counters.peersTimedOut == 1)
        await server.shutdown()
    }

    @Test("a cancelled call sends cancel and the handler's task is cancelled; the connection stays usable")
    func cancelledCall() async throws {
        let handlerEvents = Recorder<String>()
        let server = Loopback.transport(Loopback.configuration(node: "server")) { request, _, reporter in
            guard request.entity == "slow" else {
                reporter.finish(.completed(.completed(pages: 0, rows: 0)))
                return
            }
            handlerEvents.record("started")
            try? await Task.sleep(for: .seconds(30))
            handlerEvents.record(Task.isCancelled ? "cancelled" : "finished")
        }
        let client = Loopback.transport(Loopback.configuration(node: "client"))
        let port = try await server.start()
        let peer = Loopback.peer("server", port: port)

        let call = Task { try await client.call(Loopback.request("slow"), to: peer) { _, _ in } }
        try await handlerEvents.waitFor("the handler to start") { $0 == "started" }
        let framesBefore = client.counters.framesSent
        call.cancel()
        do {
            let reply = try await withTimeout(.seconds(3), "the cancelled call to return") { try await call.value }
            Issue.record("a cancelled call returned \(reply)")
        } catch {
            #expect(error is CancellationError, "\(error)")
        }
        try await handlerEvents.waitFor("the handler to be cancelled", within: .seconds(3)) { $0 == "cancelled" }
        #expect(client.counters.framesSent > framesBefore)

        let next = try await withTimeout(.seconds(10), "a call after the cancellation") {
            try await client.call(Loopback.request("fast"), to: peer) { _, _ in }
        }
        #expect(next == .completed(.completed(pages: 0, rows: 0)))
        #expect(client.counters.connectionsOpened == 1)
        await client.shutdown()
        await server.shutdown()
    }

    @Test("after the server restarts on the same port, the next call reconnects; while it is down calls fail as unreachable")
    func reconnectAfterRestart() async throws {
        let handler: @Sendable (EntitySyncRequest, String, EntitySyncReporter) async -> Void = { request, _, reporter in
            reporter.finish(.completed(.completed(pages: 1, rows: Int64(request.leaderTerm))))
        }
        let first = Loopback.transport(Loopback.configuration(node: "server"), handler: handler)
        let port = try await first.start()
        let client = Loopback.transport(Loopback.configuration(node: "client"))
        let peer = Loopback.peer("server", port: port)

        #expect(try await withTimeout(.seconds(10), "the first call") { try await client.call(Loopback.request(), to: peer) { _, _ in } }
            == .completed(.completed(pages: 1, rows: 1)))
        await first.shutdown()
        _ = try await eventually("the client to notice the closed connection") { client.isConnected(to: peer) ? nil : true }

        // Down: connection refused on every attempt, then unreachable.
        do {
            _ = try await withTimeout(.seconds(10), "the call to a stopped server") { try await client.call(Loopback.request(), to: peer) { _, _ in } }
            Issue.record("a call to a stopped server succeeded")
        } catch let error as TransportError {
            #expect(error.code == .unreachable, "\(error)")
        }
        let reconnectsWhileDown = client.counters.reconnects
        #expect(reconnectsWhileDown >= 3, "every attempt after the lost connection counts as a reconnect")

        let second = Loopback.transport(Loopback.configuration(node: "server", port: port), handler: handler)
        #expect(try await second.start() == port)
        #expect(try await withTimeout(.seconds(10), "the call after the restart") { try await client.call(Loopback.request(), to: peer) { _, _ in } }
            == .completed(.completed(pages: 1, rows: 1)))
        #expect(client.counters.reconnects == reconnectsWhileDown + 1)
        #expect(client.counters.connectionsOpened == 2)
        await client.shutdown()
        await second.shutdown()
    }

    @Test("after shutdown, calls fail with shutDown and start refuses")
    func afterShutdown() async throws {
        let transport = Loopback.transport(Loopback.configuration(node: "solo"))
        _ = try await transport.start()
        await transport.shutdown()
        await transport.shutdown()
        await #expect(throws: TransportError(code: .shutDown, peer: "solo@127.0.0.1:1", detail: "the transport is shutting down")) {
            _ = try await transport.call(Loopback.request(), to: Loopback.peer("solo", port: 1)) { _, _ in }
        }
        await #expect(throws: TransportError.self) { _ = try await transport.start() }
    }
}

/// Waits for `body`, recording an issue (instead of hanging) if it takes longer than `limit`.
func withTimeoutOrRecord(_ limit: Duration, _ what: String, _ body: @escaping @Sendable () async -> Void) async {
    do {
        try await withTimeout(limit, what) { await body() }
    } catch {
        Issue.record("\(error)")
    }
}
