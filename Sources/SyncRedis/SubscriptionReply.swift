/// What a reply on a subscribed connection means (RESP2 push messages are plain arrays).
enum SubscriptionReply: Sendable, Equatable {
    /// `["subscribe", channel, count]`: the server confirmed one channel.
    case confirmed(channel: String)
    /// `["message", channel, payload]`.
    case message(channel: String, payload: String)
    /// The answer to a liveness `PING` (`["pong", ""]` while subscribed).
    case pong
    /// Anything else, described for the log.
    case unexpected(String)

    init(_ value: RedisValue) {
        guard case .array(let parts) = value, let kind = parts.first?.string?.lowercased() else {
            self = value.string?.uppercased() == "PONG" ? .pong : .unexpected("\(value)")
            return
        }
        switch (kind, parts.count) {
        case ("subscribe", 3):
            if let channel = parts[1].string {
                self = .confirmed(channel: channel)
                return
            }
        case ("message", 3):
            if let channel = parts[1].string, let payload = parts[2].string {
                self = .message(channel: channel, payload: payload)
                return
            }
        case ("pong", _):
            self = .pong
            return
        default:
            break
        }
        self = .unexpected("\(value)")
    }
}
