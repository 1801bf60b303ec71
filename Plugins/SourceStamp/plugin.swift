import Foundation
import PackagePlugin

/// Stamps the library with a fingerprint of every file under Sources/, so the tests
/// (which load the built library as a user would, and do not build it) can tell a
/// stale build from a current one by content, not by file times.
@main
struct SourceStamp: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let sources = context.package.directoryURL.appendingPathComponent("Sources")
        var files: [String] = []
        if let walk = FileManager.default.enumerator(at: sources, includingPropertiesForKeys: [.isRegularFileKey]) {
            for case let url as URL in walk where (try? url.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true {
                files.append(String(url.standardizedFileURL.path.dropFirst(sources.standardizedFileURL.path.count + 1)))
            }
        }
        files.sort()
        let output = context.pluginWorkDirectoryURL.appendingPathComponent("SourceStamp.swift")
        return [.buildCommand(
            displayName: "Stamping \(target.name) with the fingerprint of Sources/",
            executable: try context.tool(named: "SourceStampTool").url,
            arguments: [output.path, sources.path] + files,
            inputFiles: files.map { sources.appendingPathComponent($0) },
            outputFiles: [output])]
    }
}
