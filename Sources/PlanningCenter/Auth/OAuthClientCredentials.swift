/// The OAuth application's id and secret, sent with every refresh.
public struct OAuthClientCredentials: Sendable, Hashable, CustomStringConvertible {
    public var clientID: String
    public var clientSecret: String

    public init(clientID: String, clientSecret: String) {
        self.clientID = clientID
        self.clientSecret = clientSecret
    }

    public var description: String { "OAuthClientCredentials(clientID: \(clientID))" }
}
