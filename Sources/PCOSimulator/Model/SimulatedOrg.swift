/// The identity of one simulated church: how clients authenticate as it and how it is described.
public struct SimulatedOrg: Sendable, Hashable, Codable {
    /// The organization id (a numeric string), also the `parent.id` of top-level collections.
    public var id: String
    public var name: String
    /// IANA time zone; date-only `where` values are interpreted in it, as PCO does.
    public var timeZone: String
    /// Personal Access Token: HTTP Basic `appID:secret`.
    public var patAppID: String
    public var patSecret: String
    /// OAuth client of the integration registered with this org.
    public var oauthClientID: String
    public var oauthClientSecret: String

    public init(
        id: String, name: String, timeZone: String, patAppID: String, patSecret: String,
        oauthClientID: String, oauthClientSecret: String
    ) {
        self.id = id
        self.name = name
        self.timeZone = timeZone
        self.patAppID = patAppID
        self.patSecret = patSecret
        self.oauthClientID = oauthClientID
        self.oauthClientSecret = oauthClientSecret
    }
}
