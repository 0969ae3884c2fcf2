using EdgeGate.Core.Faces;
using EdgeGate.Core.Gallery;

namespace EdgeGate.Daemon;

/// <summary>
/// Hands the camera's frames to an <c>enrol_from_camera</c> command. The command worker opens a <see cref="Session"/>;
/// the recognition thread, which owns the camera's frames and a face engine that is not thread-safe, analyses each new
/// frame for the session with that engine and posts what it found. One session at a time.
/// </summary>
/// <remarks>
/// Access decisions go on as usual while a session collects: the person in front of the camera is a stranger or
/// somebody already enrolled, and either way the door answers them as it would at any other moment.
/// </remarks>
public sealed class CameraEnrolment
{
    private Session? _active;

    /// <summary>One frame's outcome: a template, or why the frame was not used.</summary>
    public readonly record struct FrameResult(NewTemplate? Template, FaceRejection? Rejection, string? Detail, int FacesFound);

    public sealed class Session(int needed)
    {
        private readonly System.Threading.Channels.Channel<FrameResult> _results =
            System.Threading.Channels.Channel.CreateBounded<FrameResult>(new System.Threading.Channels.BoundedChannelOptions(256)
            {
                SingleReader = true, SingleWriter = true, FullMode = System.Threading.Channels.BoundedChannelFullMode.DropOldest,
            });
        private int _collected;

        public int Needed { get; } = needed;

        /// <summary>Good frames so far (the recognition thread stops analysing once there are <see cref="Needed"/>).</summary>
        public int Collected => Volatile.Read(ref _collected);

        public System.Threading.Channels.ChannelReader<FrameResult> Results => _results.Reader;

        internal bool Wants => Collected < Needed;

        internal void Post(FrameResult result)
        {
            if (result.Template is not null) Interlocked.Increment(ref _collected);
            _results.Writer.TryWrite(result);
        }
    }

    /// <summary>True while a session wants frames: the recognition thread checks this before analysing anything.</summary>
    public bool Wanted => Volatile.Read(ref _active) is { Wants: true };

    /// <summary>Opens a session for <paramref name="needed"/> good frames; null when another one is open.</summary>
    public Session? Begin(int needed)
    {
        var session = new Session(needed);
        return Interlocked.CompareExchange(ref _active, session, null) is null ? session : null;
    }

    public void End(Session session) => Interlocked.CompareExchange(ref _active, null, session);

    /// <summary>On the recognition thread: one frame for the open session, if it still wants frames.</summary>
    public void Offer(Core.Frames.BgrFrame frame, FaceEngine engine)
    {
        if (Volatile.Read(ref _active) is not { Wants: true } session) return;
        var r = engine.AnalyzeSingle(frame);
        session.Post(r.Ok
            ? new FrameResult(new NewTemplate(engine.ModelId, r.Embedding!, r.QualityScore), null, null, r.FacesFound)
            : new FrameResult(null, r.Rejection, r.Detail, r.FacesFound));
    }
}
