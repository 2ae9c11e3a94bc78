import Glibc

/// Names the calling thread in the kernel, for `top -H`, `ps -L`, perf and
/// `/proc/PID/task/*/comm`: the relay's threads call it first thing.
///
/// Not through Foundation: on Linux `Thread.name` reaches the kernel only when the thread sets it
/// on itself, and then not every time (seen: 2 of 3 starts in one check left a thread with its
/// creator's name). Not through `pthread_setname_np`, which Swift's Glibc module does not export.
/// Linux keeps the first 15 bytes. A failure leaves the old name: names are for people and for
/// `bench audio`'s per-thread figures; nothing in the relay depends on them.
public func nameCurrentThread(_ name: String) {
    let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
    guard fd >= 0 else { return }
    defer { close(fd) }
    let bytes = Array(name.utf8.prefix(15))
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
}
