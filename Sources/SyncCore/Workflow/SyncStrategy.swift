/// What a sync run does (DESIGN §3).
public enum SyncStrategy: String, Sendable, Hashable, Codable, CaseIterable {
    /// Every page, then a catch-up delta from the run's start (offset paging is no snapshot), then
    /// delete detection against the completed pass.
    case full
    /// What changed since each entity's watermark, minus an overlap window.
    case delta
    /// A full pass used only to find and soft-delete records that disappeared at the source.
    case reconcile
}

/// The life of a sync run: pending -> running -> completed | failed.
public enum RunState: String, Sendable, Hashable, Codable {
    case pending, running, completed, failed

    public var isTerminal: Bool { self == .completed || self == .failed }
}
