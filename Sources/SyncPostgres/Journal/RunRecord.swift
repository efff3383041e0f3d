import Foundation
import SyncCore

/// A row of `sync_runs`.
public struct RunRecord: Sendable, Hashable, Codable {
    public var id: UUID
    public var orgID: String
    public var strategy: SyncStrategy
    public var state: RunState
    public var failureReason: String?
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
}
