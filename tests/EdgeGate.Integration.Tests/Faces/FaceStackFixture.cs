using EdgeGate.Composition;

namespace EdgeGate.Integration.Tests.Faces;

/// <summary>One real face stack (ORT + models + GStreamer) per test class; building it loads three models.</summary>
public sealed class FaceStackFixture : IDisposable
{
    private readonly Lazy<FaceStack> _stack = new(() => FaceStack.Create(new FaceStackOptions { IntraOpThreads = 2 }));

    /// <summary>Not thread-safe (one engine): xunit runs a class's tests one after another.</summary>
    public FaceStack Stack => _stack.Value;

    public void Dispose()
    {
        if (_stack.IsValueCreated) _stack.Value.Dispose();
    }
}
