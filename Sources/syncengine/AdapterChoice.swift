import ArgumentParser
import PlanningCenter
import SyncCore

/// The adapters this build knows, as a command-line value (`--adapter pco`).
enum AdapterChoice: String, CaseIterable, ExpressibleByArgument {
    case pco

    var manifest: EntityManifest {
        switch self {
        case .pco: PCOManifest.manifest
        }
    }
}
