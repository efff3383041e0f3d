import PostgresNIO

/// A `text[]` parameter whose elements may be NULL.
///
/// PostgresNIO encodes arrays of non-optional elements only; canonical columns are nullable, and the
/// bulk store sends each column as one text array that SQL casts to the column's type.
public struct NullableTextArray: PostgresNonThrowingEncodable, Sendable {
    public var elements: [String?]

    public init(elements: [String?]) { self.elements = elements }

    public static var psqlType: PostgresDataType { .textArray }
    public static var psqlFormat: PostgresFormat { .binary }

    public func encode<JSONEncoder: PostgresJSONEncoder>(into buffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>) {
        // Binary array format: ndim, has-null flag, element type, then per dimension (length, lower bound),
        // then each element as int32 length (-1 for NULL) and bytes.
        buffer.writeInteger(elements.isEmpty ? 0 : 1, as: Int32.self)
        buffer.writeInteger(elements.contains(where: { $0 == nil }) ? 1 : 0, as: Int32.self)
        buffer.writeInteger(PostgresDataType.text.rawValue)
        guard !elements.isEmpty else { return }
        buffer.writeInteger(Int32(elements.count), as: Int32.self)
        buffer.writeInteger(1, as: Int32.self)
        for element in elements {
            if let element {
                buffer.writeInteger(Int32(element.utf8.count), as: Int32.self)
                buffer.writeString(element)
            } else {
                buffer.writeInteger(-1, as: Int32.self)
            }
        }
    }
}
