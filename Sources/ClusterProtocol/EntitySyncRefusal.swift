/// Why a node did not finish a request. Every case means "the workflow has not reached a terminal
/// state through me; re-send (elsewhere or later)". A raw value the receiver does not know is a
/// malformed payload, not a guess.
public enum EntitySyncRefusal: UInt8, Sendable, Hashable, CaseIterable {
    /// This node does not hold the shard of the request's org.
    case notOwner = 1
    /// The workflow stopped part-way (handoff, drain, cancellation); its journal lets the next
    /// owner resume.
    case interrupted = 2
    /// The node cannot run it now (storage down, run unknown yet).
    case unavailable = 3
    /// The request's leader term is older than one this node has seen.
    case staleLeader = 4
}
