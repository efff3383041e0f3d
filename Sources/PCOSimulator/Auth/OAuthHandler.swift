import Foundation

/// The OAuth endpoints over HTTP: `GET /oauth/authorize`, `POST /oauth/token`, `POST /oauth/revoke`.
struct OAuthHandler: Sendable {
    let core: SimulatorCore

    func handle(_ request: SimRequest) -> SimResponse {
        let now = core.clock.wallSeconds()
        switch (request.method, request.path) {
        case ("GET", "/oauth/authorize"):
            let q = Dictionary(QueryString.parse(request.query).map { ($0.key, $0.value) }, uniquingKeysWith: { $1 })
            guard let redirect = q["redirect_uri"], let clientID = q["client_id"] else {
                return oauthError(OAuthError(status: 400, code: "invalid_request", detail: "client_id and redirect_uri are required"))
            }
            do {
                let code = try core.oauth.withLock { (o) throws(OAuthError) -> String in
                    try o.authorize(clientID: clientID, redirectURI: redirect, scope: q["scope"] ?? core.configuration.oauthScope, orgID: q["org"], now: now)
                }
                var location = redirect + (redirect.contains("?") ? "&" : "?") + "code=" + QueryString.encodeValue(code)
                if let state = q["state"] { location += "&state=" + QueryString.encodeValue(state) }
                return SimResponse(status: 302, headers: [("Location", location)], body: [])
            } catch {
                return oauthError(error)
            }
        case ("POST", "/oauth/token"):
            let params = parameters(request)
            var clientID = params["client_id"] ?? ""
            var clientSecret = params["client_secret"] ?? ""
            if clientID.isEmpty, let basic = basicCredentials(request.headers["authorization"]) {
                (clientID, clientSecret) = basic
            }
            let lifetime = core.settings.accessTokenLifetimeSeconds
            do {
                let pair: OAuthTokenPair
                switch params["grant_type"] {
                case "authorization_code":
                    pair = try core.oauth.withLock { (o) throws(OAuthError) -> OAuthTokenPair in
                        try o.exchange(code: params["code"] ?? "", clientID: clientID, clientSecret: clientSecret,
                                       redirectURI: params["redirect_uri"], now: now, lifetime: lifetime)
                    }
                case "refresh_token":
                    pair = try core.oauth.withLock { (o) throws(OAuthError) -> OAuthTokenPair in
                        try o.refresh(refreshToken: params["refresh_token"] ?? "", clientID: clientID, clientSecret: clientSecret, now: now, lifetime: lifetime)
                    }
                default:
                    throw OAuthError(status: 400, code: "unsupported_grant_type", detail: "grant_type must be authorization_code or refresh_token")
                }
                let body = (try? JSONEncoder().encode(pair)).map { Array($0) } ?? []
                return SimResponse.json(200, body)
            } catch let error as OAuthError {
                return oauthError(error)
            } catch {
                return oauthError(OAuthError(status: 500, code: "server_error", detail: "\(error)"))
            }
        case ("POST", "/oauth/revoke"):
            let params = parameters(request)
            core.oauth.withLock { $0.revoke(token: params["token"] ?? "") }
            return SimResponse.json(200, Array("{}".utf8))
        default:
            return .error(.notFound)
        }
    }

    /// Form-encoded or JSON body parameters, plus the query string.
    private func parameters(_ request: SimRequest) -> [String: String] {
        var params: [String: String] = [:]
        for (k, v) in QueryString.parse(request.query) { params[k] = v }
        if let json = JSONValue.parse(request.body), case .object(let object) = json {
            for (k, v) in object { if let s = v.stringValue { params[k] = s } }
        } else {
            for (k, v) in QueryString.parse(String(decoding: request.body, as: UTF8.self)) { params[k] = v }
        }
        return params
    }

    private func basicCredentials(_ header: String?) -> (String, String)? {
        guard let header, header.lowercased().hasPrefix("basic "),
              let data = Data(base64Encoded: String(header.dropFirst(6))), let text = String(data: data, encoding: .utf8),
              let colon = text.firstIndex(of: ":") else { return nil }
        return (String(text[..<colon]), String(text[text.index(after: colon)...]))
    }

    private func oauthError(_ error: OAuthError) -> SimResponse {
        var w = JSONWriter(capacity: 256)
        w.raw("{\"error\":")
        w.string(error.code)
        w.raw(",\"error_description\":")
        w.string(error.detail)
        w.byte("}")
        return .json(error.status, w.bytes)
    }
}
