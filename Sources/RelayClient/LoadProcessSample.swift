import Foundation
import Glibc

/// CPU time and resident memory of a process, read from Linux's /proc, to charge a run's cost to
/// the server.
public struct ProcessSample: Sendable, Equatable {
    /// User plus system time of all the process's threads, in clock ticks.
    public var cpuTicks: UInt64
    /// `VmRSS`, in bytes.
    public var residentBytes: UInt64
    /// User plus system time of the threads alive now, summed by thread name (the relay names its
    /// own: `wr-service`, `wr-recorder`, ...), in clock ticks.
    public var threadTicks: [String: UInt64]

    public init(cpuTicks: UInt64, residentBytes: UInt64, threadTicks: [String: UInt64] = [:]) {
        self.cpuTicks = cpuTicks
        self.residentBytes = residentBytes
        self.threadTicks = threadTicks
    }

    /// Why a process could not be sampled.
    public enum Failure: Error, Equatable, CustomStringConvertible {
        case unreadable(path: String)
        case malformed(String)

        public var description: String {
            switch self {
            case .unreadable(let path): "cannot read \(path): is the process running, and is this Linux?"
            case .malformed(let what): "unexpected /proc format: \(what)"
            }
        }
    }

    /// Clock ticks a second (`sysconf(_SC_CLK_TCK)`, 100 on Linux).
    public static var ticksPerSecond: Int { Int(sysconf(Int32(_SC_CLK_TCK))) }

    /// Samples process `pid` now (`/proc/self` when nil).
    public static func read(pid: Int32?) throws(Failure) -> ProcessSample {
        let base = pid.map { "/proc/\($0)" } ?? "/proc/self"
        guard let stat = try? String(contentsOfFile: base + "/stat", encoding: .utf8) else {
            throw .unreadable(path: base + "/stat")
        }
        guard let status = try? String(contentsOfFile: base + "/status", encoding: .utf8) else {
            throw .unreadable(path: base + "/status")
        }
        let times = try parseStat(stat)
        guard let resident = parseResidentBytes(status: status) else { throw .malformed("no VmRSS in \(base)/status") }
        var threads: [String: UInt64] = [:]
        // A thread that ends between listing and reading is skipped: the whole-process total stands.
        for task in (try? FileManager.default.contentsOfDirectory(atPath: base + "/task")) ?? [] {
            guard let line = try? String(contentsOfFile: "\(base)/task/\(task)/stat", encoding: .utf8),
                let name = commandName(stat: line), let t = try? parseStat(line)
            else { continue }
            threads[name, default: 0] += t.user + t.system
        }
        return ProcessSample(cpuTicks: times.user + times.system, residentBytes: resident, threadTicks: threads)
    }

    /// The command (or thread) name of a `/proc/PID/stat` line: field 2, between the first `(` and
    /// the last `)`.
    public static func commandName(stat line: String) -> String? {
        guard let open = line.firstIndex(of: "("), let close = line.lastIndex(of: ")"), open < close else { return nil }
        return String(line[line.index(after: open)..<close])
    }

    /// `utime` and `stime` (fields 14 and 15) of a `/proc/PID/stat` line. The command name (field
    /// 2) is in parentheses and may itself hold spaces and parentheses: fields are counted after
    /// the last `)`.
    public static func parseStat(_ line: String) throws(Failure) -> (user: UInt64, system: UInt64) {
        guard let close = line.lastIndex(of: ")") else { throw .malformed("no `)` after the command name") }
        // After ")": field 3 (state) onwards; utime is field 14, so the 12th of these.
        let fields = line[line.index(after: close)...].split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count >= 13, let user = UInt64(fields[11]), let system = UInt64(fields[12]) else {
            throw .malformed("fields 14 and 15 are not counts in \(line.prefix(80))")
        }
        return (user, system)
    }

    /// `VmRSS` of a `/proc/PID/status` text, in bytes (the kernel writes it in kB).
    public static func parseResidentBytes(status: String) -> UInt64? {
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let parts = line.dropFirst("VmRSS:".count).split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let kilobytes = parts.first.flatMap({ UInt64($0) }) else { return nil }
            return kilobytes * 1024
        }
        return nil
    }

    /// CPU seconds spent between `earlier` and this sample.
    public func cpuSeconds(since earlier: ProcessSample) -> Double {
        Double(cpuTicks &- earlier.cpuTicks) / Double(Self.ticksPerSecond)
    }

    /// CPU seconds each thread name spent between `earlier` and this sample, for the names in both
    /// samples (a thread that started or ended in between is left out).
    public func threadCPUSeconds(since earlier: ProcessSample) -> [String: Double] {
        var seconds: [String: Double] = [:]
        for (name, ticks) in threadTicks {
            guard let before = earlier.threadTicks[name], ticks >= before else { continue }
            seconds[name] = Double(ticks - before) / Double(Self.ticksPerSecond)
        }
        return seconds
    }
}
