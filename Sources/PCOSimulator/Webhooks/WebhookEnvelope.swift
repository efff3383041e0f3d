/// PCO's delivery envelope: one `EventDelivery` whose `payload` is the resource document as a string.
///
/// Recorded shape: `{"data":[{"id","type":"EventDelivery","attributes":{"name","attempt","payload"},
/// "relationships":{"organization":{"data":{"type":"Organization","id"}}}}]}`.
enum WebhookEnvelope {
    static func body(deliveryID: String, name: String, attempt: Int, payload: [UInt8], orgID: String) -> [UInt8] {
        var w = JSONWriter(capacity: payload.count + 512)
        w.raw("{\"data\":[{\"id\":")
        w.string(deliveryID)
        w.raw(",\"type\":\"EventDelivery\",\"attributes\":{\"name\":")
        w.string(name)
        w.raw(",\"attempt\":")
        w.int(attempt)
        w.raw(",\"payload\":")
        w.string(String(decoding: payload, as: UTF8.self))
        w.raw("},\"relationships\":{\"organization\":{\"data\":{\"type\":\"Organization\",\"id\":")
        w.string(orgID)
        w.raw("}}}}]}")
        return w.bytes
    }
}
