import SyncCore

/// Where each canonical column of a kind comes from in a PCO resource.
///
/// By default a column is the attribute of the same name, and a reference column `x_id` is the
/// to-one relationship `x`; the exceptions are listed here.
enum PCOFieldSource: Sendable, Hashable {
    case attribute(String)
    case relationship(String)

    static let overrides: [CanonicalKind: [String: PCOFieldSource]] = [
        .address: ["is_primary": .attribute("primary")],
        .email: ["is_primary": .attribute("primary")],
        .phoneNumber: ["is_primary": .attribute("primary")],
    ]

    static func source(of column: CanonicalColumn, in kind: CanonicalKind) -> PCOFieldSource {
        if let override = overrides[kind]?[column.name] { return override }
        if case .reference = column.type, column.name.hasSuffix("_id") {
            return .relationship(String(column.name.dropLast(3)))
        }
        return .attribute(column.name)
    }
}
