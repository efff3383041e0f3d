import Foundation

/// The pages of a list, in order, from a starting offset to the last page.
///
/// The next URL is built from `meta.next.offset` (or, failing that, the `offset` in `links.next`) on our
/// own base URL: `links.next` is absolute and would point at the real PCO, not the host configured.
/// As soon as a page is handed out the next one is requested, so it downloads while the caller stores
/// the current one; never more than one page ahead. Cancelling the consuming task, or dropping the
/// iterator, cancels the prefetch. An offset that does not advance ends the stream with
/// `.paginationStalled` instead of looping forever.
public struct PCOPageSequence: AsyncSequence, Sendable {
    public typealias Element = PCOPage

    public let client: PCOClient
    public let request: PCOListRequest
    public let startOffset: Int

    public init(client: PCOClient, request: PCOListRequest, startOffset: Int = 0) {
        self.client = client
        self.request = request
        self.startOffset = startOffset
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(client: client, request: request, nextOffset: startOffset)
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let client: PCOClient
        let request: PCOListRequest
        var nextOffset: Int?
        let prefetch = PrefetchSlot()

        init(client: PCOClient, request: PCOListRequest, nextOffset: Int?) {
            self.client = client
            self.request = request
            self.nextOffset = nextOffset
        }

        public mutating func next() async throws -> PCOPage? {
            guard let offset = nextOffset else { return nil }
            let task = prefetch.take() ?? Self.fetch(client: client, request: request, offset: offset)
            let page: PCOPage
            do {
                page = try await withTaskCancellationHandler {
                    try await task.value
                } onCancel: {
                    task.cancel()
                }
            } catch {
                nextOffset = nil
                throw error
            }
            nextOffset = page.nextOffset
            if let following = page.nextOffset {
                prefetch.store(Self.fetch(client: client, request: request, offset: following))
            }
            return page
        }

        static func fetch(client: PCOClient, request: PCOListRequest, offset: Int) -> Task<PCOPage, any Error> {
            Task {
                let (response, document) = try await client.getDocument(path: request.path, query: request.query(offset: offset))
                let next = try nextOffset(of: document, after: offset, url: response.url, orgID: client.configuration.orgID)
                return PCOPage(url: response.url, offset: offset, nextOffset: next, document: document, rawBody: response.body, fetchedAt: Date())
            }
        }

        static func nextOffset(of document: JSONAPIDocument, after offset: Int, url: String, orgID: String) throws -> Int? {
            let next: Int? = document.meta?.next?.offset ?? document.links?.next.flatMap(offsetParameter)
            guard let next else { return nil }
            guard next > offset else {
                throw PCORequestError(code: .paginationStalled, orgID: orgID, url: url, status: 200,
                                      detail: "meta.next.offset \(next) does not advance past offset \(offset)", attempts: 1)
            }
            return next
        }

        static func offsetParameter(_ link: String) -> Int? {
            guard let components = URLComponents(string: link) else { return nil }
            return components.queryItems?.first { $0.name == "offset" }?.value.flatMap { Int($0) }
        }
    }

    /// Holds the prefetched page's task; cancels it when the iterator goes away unused.
    final class PrefetchSlot: @unchecked Sendable {
        private let lock = NSLock()
        private var task: Task<PCOPage, any Error>?

        func take() -> Task<PCOPage, any Error>? {
            lock.withLock {
                defer { task = nil }
                return task
            }
        }

        func store(_ task: Task<PCOPage, any Error>) {
            lock.withLock { self.task = task }
        }

        deinit {
            task?.cancel()
        }
    }
}
