import AsyncHTTPClient
import Foundation

/// The admin URLs a command may talk to: `--node`, else `$SYNC_ADMIN_URL` or `$SYNC_ADMIN_URLS`
/// (comma-separated, as `cluster/up` writes them), else the default single node. In a cluster any
/// node answers for all, so a command uses the first one that is up.
enum AdminEndpoints {
    static func candidates(explicit: String?) -> [String] {
        if let explicit { return [explicit] }
        let environment = ProcessInfo.processInfo.environment
        let listed = (environment["SYNC_ADMIN_URL"] ?? environment["SYNC_ADMIN_URLS"] ?? "")
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return listed.isEmpty ? ["http://127.0.0.1:8081"] : listed
    }

    /// The first candidate whose `/healthz` answers; the first candidate when none does (so the
    /// error names it).
    static func firstReachable(explicit: String?) async -> String {
        let all = candidates(explicit: explicit)
        guard all.count > 1 else { return all[0] }
        for url in all {
            if let response = try? await HTTPClient.shared.execute(HTTPClientRequest(url: "\(url)/healthz"), timeout: .seconds(2)),
               response.status == .ok {
                return url
            }
        }
        return all[0]
    }
}
