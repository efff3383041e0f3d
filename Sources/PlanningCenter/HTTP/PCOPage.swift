import Foundation

/// One page of a list, decoded, with where it came from and where the next one starts.
public struct PCOPage: Sendable {
    /// The URL this page was fetched from.
    public var url: String
    /// The `offset` this page was asked for (the durable workflow saves the next one as its cursor).
    public var offset: Int
    /// Where the next page starts, nil on the last page.
    public var nextOffset: Int?
    public var document: JSONAPIDocument
    /// The body as PCO sent it, for storing raw or re-parsing.
    public var rawBody: Data
    /// When the response arrived (wall clock, for logs and freshness; not used for ordering).
    public var fetchedAt: Date

    public init(url: String, offset: Int, nextOffset: Int?, document: JSONAPIDocument, rawBody: Data, fetchedAt: Date) {
        self.url = url
        self.offset = offset
        self.nextOffset = nextOffset
        self.document = document
        self.rawBody = rawBody
        self.fetchedAt = fetchedAt
    }

    public var isLast: Bool { nextOffset == nil }
}
