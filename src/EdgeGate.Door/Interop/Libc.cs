using System.Runtime.InteropServices;
using EdgeGate.Door.Gpio;

namespace EdgeGate.Door.Interop;

/// <summary>
/// The glibc calls the GPIO driver and the simulator's lock files need. Constants are the Linux generic ABI values,
/// identical on x86_64 and arm64 (checked with a C compiler against the system headers).
/// </summary>
internal static unsafe partial class Libc
{
    // "libc" is mapped by the .NET loader to the platform C library (libc.so.6 on glibc), not to the libc.so linker script.
    private const string Library = "libc";

    public const int ORdOnly = 0;
    public const int ORdWr = 2;
    public const int OCreat = 0x40;
    // Without it a child process (e.g. a helper the daemon starts) would inherit the descriptor and keep a line or lock held.
    public const int OCloExec = 0x80000;

    public const short PollIn = 0x1;
    public const short PollErr = 0x8;
    public const short PollHup = 0x10;
    public const short PollNval = 0x20;

    public const int LockShared = 1;
    public const int LockExclusive = 2;
    public const int LockNonBlocking = 4;

    public const int ENOENT = 2;
    public const int EINTR = 4;
    public const int EAGAIN = 11;
    public const int EWOULDBLOCK = EAGAIN;
    public const int EBUSY = 16;
    public const int ENODEV = 19;
    public const int ENOTTY = 25;

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    // Descriptors cross as C int, not as SafeHandle: a SafeHandle return is read as a full register, so open()'s -1
    // would arrive as 4294967295 and look valid. The wrappers below hold a SafeHandle reference around each call.

    [LibraryImport(Library, EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int OpenNative(string path, int flags, uint mode);

    [LibraryImport(Library, EntryPoint = "close")]
    private static partial int CloseNative(int fd);

    [LibraryImport(Library, EntryPoint = "ioctl", SetLastError = true)]
    private static partial int IoctlNative(int fd, nuint request, void* argument);

    [LibraryImport(Library, EntryPoint = "poll", SetLastError = true)]
    private static partial int PollNative(PollFd* fds, nuint count, int timeoutMilliseconds);

    [LibraryImport(Library, EntryPoint = "read", SetLastError = true)]
    private static partial nint ReadNative(int fd, void* buffer, nuint count);

    [LibraryImport(Library, EntryPoint = "flock", SetLastError = true)]
    private static partial int FlockNative(int fd, int operation);

    /// <summary>open(2). Returns the errno instead of throwing so callers can name what they were opening.</summary>
    public static FileDescriptorHandle Open(string path, int flags, uint mode, out int errno)
    {
        var fd = OpenNative(path, flags | OCloExec, mode);
        errno = fd < 0 ? Marshal.GetLastPInvokeError() : 0;
        return new FileDescriptorHandle(fd < 0 ? -1 : fd);
    }

    public static void Close(int fd) => CloseNative(fd);

    /// <summary>ioctl(2), retried on EINTR. Returns 0 or the errno.</summary>
    public static int Ioctl(FileDescriptorHandle fd, nuint request, void* argument)
    {
        using var lease = fd.Borrow();
        while (true)
        {
            if (IoctlNative(lease.Fd, request, argument) >= 0) return 0;
            var errno = Marshal.GetLastPInvokeError();
            if (errno != EINTR) return errno;
        }
    }

    /// <summary>
    /// poll(2) on one descriptor for POLLIN. Returns the revents (0 on timeout) or throws through <paramref name="fail"/>.
    /// A negative timeout waits forever. Signals (the runtime uses them to suspend threads) restart the wait with
    /// the time that is left, so a caller never sees a spurious early timeout.
    /// </summary>
    public static short WaitReadable(FileDescriptorHandle fd, int timeoutMilliseconds, Func<int, Exception> fail)
    {
        using var lease = fd.Borrow();
        var deadline = timeoutMilliseconds < 0 ? long.MaxValue : Environment.TickCount64 + timeoutMilliseconds;
        var pollFd = new PollFd { Fd = lease.Fd, Events = PollIn };
        while (true)
        {
            var wait = timeoutMilliseconds < 0 ? -1 : (int)Math.Max(0, deadline - Environment.TickCount64);
            pollFd.Revents = 0;
            var ready = PollNative(&pollFd, 1, wait);
            if (ready >= 0) return ready == 0 ? (short)0 : pollFd.Revents;
            var errno = Marshal.GetLastPInvokeError();
            if (errno != EINTR) throw fail(errno);
        }
    }

    /// <summary>read(2), retried on EINTR. Returns the byte count or throws through <paramref name="fail"/>.</summary>
    public static int Read(FileDescriptorHandle fd, Span<byte> buffer, Func<int, Exception> fail)
    {
        using var lease = fd.Borrow();
        fixed (byte* p = buffer)
        {
            while (true)
            {
                var n = ReadNative(lease.Fd, p, (nuint)buffer.Length);
                if (n >= 0) return (int)n;
                var errno = Marshal.GetLastPInvokeError();
                if (errno != EINTR) throw fail(errno);
            }
        }
    }

    /// <summary>flock(2), retried on EINTR. Returns 0 or the errno (EWOULDBLOCK when held elsewhere with LOCK_NB).</summary>
    public static int Flock(FileDescriptorHandle fd, int operation)
    {
        using var lease = fd.Borrow();
        while (true)
        {
            if (FlockNative(lease.Fd, operation) == 0) return 0;
            var errno = Marshal.GetLastPInvokeError();
            if (errno != EINTR) return errno;
        }
    }

    /// <summary>
    /// The one place where an errno becomes an exception: the operation, the device (chip path or name) and line,
    /// and the C library's own text for the error. EBUSY on a line becomes <see cref="GpioLineBusyException"/>.
    /// </summary>
    public static GpioIOException Error(int errno, string operation, string device, int? offset = null, string? consumer = null)
    {
        var text = Marshal.GetPInvokeErrorMessage(errno);
        if (errno == EBUSY && offset is int line)
            return new GpioLineBusyException(device, line, consumer, operation, text);
        var where = offset is int o ? $"{device} line {o}" : device;
        return new GpioIOException($"{operation} on {where} failed: {text} (errno {errno})", errno, operation, device, offset);
    }
}
