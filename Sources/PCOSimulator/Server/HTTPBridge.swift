import Hummingbird

/// Adapts Hummingbird requests to the simulator's handlers and back. The only file that knows the
/// HTTP library.
struct HTTPBridge: Sendable {
    let core: SimulatorCore

    func respond(to request: Request) async throws -> Response {
        var headers: [String: String] = [:]
        for field in request.headers {
            headers[field.name.canonicalName] = field.value
        }
        var body: [UInt8] = []
        if request.method != .get {
            var buffer = try await request.body.collect(upTo: 4 << 20)
            body = buffer.readBytes(length: buffer.readableBytes) ?? []
        }
        let simRequest = SimRequest(
            method: request.method.rawValue,
            path: request.uri.path,
            query: request.uri.query ?? "",
            headers: headers,
            body: body
        )
        let response: SimResponse
        if simRequest.path.hasPrefix("/__sim/") {
            response = await ControlAPIHandler(core: core).handle(simRequest)
        } else {
            response = await APIHandler(core: core).handle(simRequest)
        }
        var fields = HTTPFields()
        for (name, value) in response.headers {
            if let fieldName = HTTPFields.Element.Name(name) { fields.append(HTTPFields.Element(name: fieldName, value: value)) }
        }
        return Response(
            status: HTTPResponse.Status(code: response.status),
            headers: fields,
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: response.body))
        )
    }
}
