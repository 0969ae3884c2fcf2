using System.Runtime.InteropServices;

namespace EdgeGate.Door.Interop;

/// <summary>
/// An owned Linux file descriptor (GPIO chip, GPIO line request, simulator lock file). Closing a line request's
/// descriptor is what releases the line, so the descriptor must be closed exactly once, even on exceptions;
/// SafeHandle reference counting also keeps it open while another thread is blocked in poll/read on it.
/// </summary>
internal sealed class FileDescriptorHandle : SafeHandle
{
    // fd 0 is a valid descriptor, so only -1 means "none" (SafeHandleZeroOrMinusOneIsInvalid would be wrong here).
    public FileDescriptorHandle() : base(-1, ownsHandle: true)
    {
    }

    public FileDescriptorHandle(int fd) : this() => SetHandle(fd);

    public override bool IsInvalid => handle == -1;

    /// <summary>
    /// The raw number for a native call, with a reference held until the lease is disposed, so a concurrent Dispose
    /// cannot close the descriptor (and let the kernel hand its number to someone else) mid-call.
    /// </summary>
    public Lease Borrow()
    {
        var added = false;
        DangerousAddRef(ref added);
        return new Lease(this, (int)handle);
    }

    public readonly ref struct Lease(FileDescriptorHandle owner, int fd)
    {
        public int Fd { get; } = fd;

        public void Dispose() => owner.DangerousRelease();
    }

    protected override bool ReleaseHandle()
    {
        // Linux frees the descriptor even when close() reports EINTR or EIO, so retrying would close a stranger's fd.
        Libc.Close((int)handle);
        return true;
    }
}
