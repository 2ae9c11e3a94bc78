import Foundation
import RelayMedia
import Testing

/// End-to-end checks of written files with opus-tools (`opusinfo`, `opusdec`).
@Suite struct OpusFileTests {
    struct ToolRun {
        var status: Int32
        var output: String
    }

    static func run(_ tool: String, _ arguments: [String]) throws -> ToolRun {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return ToolRun(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self))
    }

    /// Seconds from opusinfo's "Playback length: 0m:03.000s".
    static func playbackSeconds(_ output: String) -> Double? {
        guard let line = output.split(separator: "\n").first(where: { $0.contains("Playback length:") }),
            let colon = line.range(of: "Playback length:")
        else { return nil }
        let value = line[colon.upperBound...].trimmingCharacters(in: .whitespaces)  // "0m:03.000s"
        let parts = value.dropLast().split(separator: ":")
        guard parts.count == 2, let minutes = Double(parts[0].dropLast()), let seconds = Double(parts[1]) else {
            return nil
        }
        return minutes * 60 + seconds
    }

    /// Writes `seconds` of a 440 Hz sine as Ogg Opus to a new temporary file.
    static func writeSineFile(seconds: Int, gapAt gap: Int? = nil) throws -> String {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("relaymedia-\(UUID().uuidString).opus").path
        let encoder = try OpusEncoder()
        var writer = OggOpusWriter(serial: 0x5EED, preSkip: UInt16(encoder.lookahead))
        var bytes = writer.header()
        var timestamp: UInt32 = 123_456
        for i in 0..<(seconds * 50) {
            let packet = try encoder.encode(pcm: OpusEncoder.sine(frequency: 440, start: i * 960))
            if i == gap { timestamp &+= 960 * 5 }
            bytes += writer.append(packet: packet, timestamp: timestamp)
            timestamp &+= 960
        }
        bytes += writer.finish()
        #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        return path
    }

    @Test func threeSecondsPassOpusinfo() throws {
        let path = try Self.writeSineFile(seconds: 3)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let info = try Self.run("/usr/bin/opusinfo", [path])
        #expect(info.status == 0, "\(info.output)")
        #expect(!info.output.contains("WARNING"), "\(info.output)")
        let seconds = try #require(Self.playbackSeconds(info.output), "\(info.output)")
        #expect(abs(seconds - 3.0) < 0.05)
        let decoded = try Self.run("/usr/bin/opusdec", ["--quiet", path, "/dev/null"])
        #expect(decoded.status == 0, "\(decoded.output)")
    }

    @Test func gapFromLostPacketsKeepsTime() throws {
        let path = try Self.writeSineFile(seconds: 2, gapAt: 30)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let info = try Self.run("/usr/bin/opusinfo", [path])
        #expect(info.status == 0, "\(info.output)")
        #expect(!info.output.contains("WARNING"), "\(info.output)")
        // The 100 ms gap is filled with lost-frame packets: granules, opusinfo and opusdec agree.
        #expect(try OggRepair.inspect(fileAt: path).durationSamples == Int64(2 * 48_000 + 5 * 960))
        let seconds = try #require(Self.playbackSeconds(info.output), "\(info.output)")
        #expect(abs(seconds - 2.1) < 0.05)
        let wav = path + ".wav"
        defer { try? FileManager.default.removeItem(atPath: wav) }
        let decoded = try Self.run("/usr/bin/opusdec", ["--quiet", "--rate", "48000", path, wav])
        #expect(decoded.status == 0, "\(decoded.output)")
        let size = try #require(try FileManager.default.attributesOfItem(atPath: wav)[.size] as? Int)
        #expect((size - 44) / 2 == 2 * 48_000 + 5 * 960 - 312)  // 16-bit mono WAV less pre-skip
    }

    @Test func repairAfterCutTail() throws {
        let path = try Self.writeSineFile(seconds: 3)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let whole = try #require(FileManager.default.contents(atPath: path))
        try Data(whole.dropLast(100)).write(to: URL(fileURLWithPath: path))
        let broken = try OggRepair.inspect(fileAt: path)
        #expect(!broken.endsWithEOS)
        #expect(broken.validLength < broken.fileLength)

        let length = try OggRepair.truncateToLastCompletePage(fileAt: path)
        let repaired = try OggRepair.inspect(fileAt: path)
        #expect(repaired.endsWithEOS)
        #expect(repaired.validLength == length && repaired.fileLength == length)
        #expect(repaired.lastGranule == broken.lastGranule)
        let duration = try #require(repaired.durationSamples)
        #expect(duration > 0 && duration < 3 * 48_000 && duration % 960 == 0)
        let info = try Self.run("/usr/bin/opusinfo", [path])
        #expect(info.status == 0, "\(info.output)")
        #expect(!info.output.contains("WARNING"), "\(info.output)")
        #expect(try Self.run("/usr/bin/opusdec", ["--quiet", path, "/dev/null"]).status == 0)
        #expect(try OggRepair.truncateToLastCompletePage(fileAt: path) == length)  // already whole
    }

    @Test func repairOfFlippedByteKeepsPagesBeforeIt() throws {
        let path = try Self.writeSineFile(seconds: 3)
        defer { try? FileManager.default.removeItem(atPath: path) }
        var bytes = try #require(FileManager.default.contents(atPath: path))
        let whole = try OggRepair.inspect(fileAt: path)
        #expect(whole.endsWithEOS && whole.validLength == whole.fileLength)
        #expect(whole.durationSamples == Int64(3 * 48_000))
        bytes[bytes.count / 2] ^= 0x40  // inside an audio page in the middle
        try bytes.write(to: URL(fileURLWithPath: path))
        let broken = try OggRepair.inspect(fileAt: path)
        #expect(broken.pages >= 3 && broken.pages < whole.pages - 1)

        try OggRepair.truncateToLastCompletePage(fileAt: path)
        let repaired = try OggRepair.inspect(fileAt: path)
        #expect(repaired.pages == broken.pages + 1)  // the pages before the flipped byte and an EOS page
        #expect(repaired.endsWithEOS)
        let duration = try #require(repaired.durationSamples)
        #expect(duration > 0 && duration < 3 * 48_000 && duration % 960 == 0)
        #expect(try Self.run("/usr/bin/opusinfo", [path]).status == 0)
    }

    @Test func repairOfHeaderOnlyStubEmptiesIt() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("stub-\(UUID()).opus").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        var writer = OggOpusWriter(serial: 1)
        let header = writer.header()
        try Data(header.prefix(40)).write(to: URL(fileURLWithPath: path))
        #expect(try OggRepair.truncateToLastCompletePage(fileAt: path) == 0)
        #expect(throws: OggFileError.self) { try OggRepair.inspect(fileAt: path + ".missing") }
    }
}
