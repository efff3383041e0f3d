/// The API version a response is rendered in, chosen by the `X-PCO-API-Version` request header.
///
/// The recordings were made against version 2018-08-01, whose Person, Email, PhoneNumber and Address
/// carry fewer attributes (and Address a single `street`). Clients that send that version get exactly
/// that shape; everyone else gets the current one (People 2025-03-20, Groups 2023-07-10).
enum APIVersion: Sendable, Hashable {
    case legacy2018
    case current

    static let legacyName = "2018-08-01"

    init(header: String?) {
        self = header == Self.legacyName ? .legacy2018 : .current
    }

    /// `X-PCO-API-Processed-As-Version` for an app.
    func processedAs(app: String) -> String {
        switch self {
        case .legacy2018: return Self.legacyName
        case .current: return app == "groups" ? "2023-07-10" : app == "webhooks" ? "2022-10-20" : "2025-03-20"
        }
    }
}
