import SyncCore

/// How one entity's workflow of a run ended, wherever it ran: what the orchestrator journals.
public enum EntityRunOutcome: Sendable, Hashable {
    case completed(pages: Int64, rows: Int64)
    case failed(reason: String)

    init(_ workflow: EntityWorkflow) {
        switch workflow.status {
        case .completed: self = .completed(pages: Int64(workflow.pages), rows: Int64(workflow.rowsWritten))
        case .failed(let reason): self = .failed(reason: reason)
        case .notStarted, .running: preconditionFailure("entity workflow returned in state \(workflow.status)")
        }
    }
}
