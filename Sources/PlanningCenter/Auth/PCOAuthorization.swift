import Foundation
import SyncCore

/// The credentials PCO accepts: a personal access token or OAuth tokens (see ``StoredCredential``).
public typealias PCOCredential = StoredCredential

/// The `Authorization` header for one request, and which access token it carries.
public struct PCOAuthorization: Sendable, Hashable {
    public var headerValue: String
    /// The OAuth access token, nil for a personal access token.
    public var accessToken: String?

    public static func basic(appID: String, secret: String) -> PCOAuthorization {
        PCOAuthorization(headerValue: "Basic " + Data("\(appID):\(secret)".utf8).base64EncodedString(), accessToken: nil)
    }

    public static func bearer(_ accessToken: String) -> PCOAuthorization {
        PCOAuthorization(headerValue: "Bearer " + accessToken, accessToken: accessToken)
    }

    public var isOAuth: Bool { accessToken != nil }
}
