// swift-tools-version:6.0
import PackageDescription

// The product is one shared library, libShardExt.so, that SQLite loads by file name.
// It links the Swift runtime statically so it loads on machines without a toolchain,
// and it reaches SQLite only through the sqlite3_api_routines pointer (no -lsqlite3).
// The cursor and insert paths run per row; Swift's run-time exclusivity checks
// showed up in their profiles, and the code does not rely on them.
let hotPath: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let package = Package(
    name: "shards",
    products: [
        .library(name: "ShardExt", type: .dynamic, targets: ["ShardExt"]),
        .executable(name: "shards-node", targets: ["ShardNode"]),
    ],
    targets: [
        // sqlite3ext.h, the vtab/cursor structs that carry a Swift object, variadic calls,
        // and zstd loaded at run time (dlopen), so the build needs no zstd headers.
        .target(name: "CShardShim"),
        // Pure Swift: options, time, keys, paths, query compiler, routing plans.
        .target(name: "ShardCore", swiftSettings: hotPath),
        // The SQLite layer: entry point, API wrapper, virtual tables, functions.
        .target(
            name: "ShardExt",
            dependencies: ["ShardCore", "CShardShim"],
            swiftSettings: hotPath,
            linkerSettings: [.unsafeFlags(["-static-stdlib"])]
        ),
        // dqlite's node calls, loaded from libdqlite.so.0 when the node starts (so the
        // build needs no dqlite headers), and the system libsqlite3, for the cluster node.
        .target(name: "CDqlite", linkerSettings: [.linkedLibrary("sqlite3"), .linkedLibrary("dl")]),
        // shards-node: a dqlite node with the extension linked in (the ShardExt target's
        // code, built in the same run, so the node never loads a stale library).
        .executableTarget(name: "ShardNode", dependencies: ["ShardExt", "CDqlite"]),
        // Tests open databases with the system libsqlite3 and load the built library.
        .systemLibrary(name: "CSQLite", path: "Tests/CSQLite"),
        .testTarget(name: "ShardCoreTests", dependencies: ["ShardCore"]),
        .testTarget(name: "ShardExtTests", dependencies: ["CSQLite"]),
    ],
    swiftLanguageModes: [.v5]
)
