import Foundation
import SyncPostgres

extension PostgresURL {
    /// The URL as libpq and SQLAlchemy take it (`postgresql://user:password@host:port/database`),
    /// for the peers that are not Swift programs.
    var libpqURL: String {
        let user = username.addingPercentEncoding(withAllowedCharacters: .urlUserAllowed) ?? username
        let secret = password.map { ":" + ($0.addingPercentEncoding(withAllowedCharacters: .urlPasswordAllowed) ?? $0) } ?? ""
        return "postgresql://\(user)\(secret)@\(host):\(port)/\(database)"
    }
}
