import Foundation

/// The structure of a JSON document: for every path (`data[].attributes.first_name`), the set of
/// JSON types found there. Arrays contribute the union of their elements' structures.
struct JSONShape: Equatable {
    var types: [String: Set<String>] = [:]

    init(_ value: Any) {
        walk(value, path: "$")
    }

    private mutating func walk(_ value: Any, path: String) {
        let type = Self.typeName(value)
        types[path, default: []].insert(type)
        if let object = value as? [String: Any] {
            for (key, child) in object { walk(child, path: path + "." + key) }
        } else if let array = value as? [Any] {
            for child in array { walk(child, path: path + "[]") }
        }
    }

    static func typeName(_ value: Any) -> String {
        if value is NSNull { return "null" }
        if let number = value as? NSNumber {
            // Foundation boxes JSON booleans as NSNumber too; their Objective-C type code tells them apart.
            return String(cString: number.objCType) == "c" ? "bool" : "number"
        }
        if value is String { return "string" }
        if value is [Any] { return "array" }
        if value is [String: Any] { return "object" }
        return "unknown"
    }

    /// Differences between a recorded document (`self`) and the simulator's (`other`):
    /// - every recorded path must exist in the simulator's answer, and vice versa;
    /// - where the recording has only `null`, the simulator may have any type (and anything below it);
    /// - elsewhere the simulator's non-null types must be among the recording's, and it may be null
    ///   only where the recording is null somewhere.
    func differences(from simulated: JSONShape) -> [String] {
        var problems: [String] = []
        func underNullOnly(_ path: String, in shape: JSONShape) -> Bool {
            var prefix = path
            while let cut = prefix.lastIndex(where: { $0 == "." || $0 == "[" }) {
                prefix = String(prefix[..<cut])
                if let t = shape.types[prefix], t == ["null"] { return true }
            }
            return false
        }
        for (path, recorded) in types.sorted(by: { $0.key < $1.key }) {
            guard let simulatedTypes = simulated.types[path] else {
                problems.append("missing \(path) (recorded \(recorded.sorted()))")
                continue
            }
            if recorded == ["null"] { continue }
            let extra = simulatedTypes.subtracting(recorded).subtracting(["null"])
            if !extra.isEmpty { problems.append("\(path): simulator has \(extra.sorted()), recorded \(recorded.sorted())") }
            if simulatedTypes.contains("null"), !recorded.contains("null") {
                problems.append("\(path): simulator has null, recorded \(recorded.sorted())")
            }
        }
        for path in simulated.types.keys.sorted() where types[path] == nil && !underNullOnly(path, in: self) {
            problems.append("unexpected \(path)")
        }
        return problems
    }
}
