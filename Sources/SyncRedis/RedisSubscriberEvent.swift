/// What a `RedisSubscriber` reports.
public enum RedisSubscriberEvent: Sendable, Equatable {
    /// (Re)subscribed to every channel: after a reconnect messages may have been missed, so consumers
    /// resynchronise their state.
    case subscribed
    case message(channel: String, payload: String)
    /// The subscription is down (reported once per outage, not per failed attempt); reconnection continues.
    case disconnected(reason: String)
}
