using EdgeGate.Core.Evaluation;
using EdgeGate.Core.Faces;
using EdgeGate.Core.Frames;
using EdgeGate.Core.Ports;
using EdgeGate.Core.Tests.Fakes;

namespace EdgeGate.Core.Tests;

/// <summary>Bugs found by review, each pinned by the test that exposed it.</summary>
public sealed class RegressionTests
{
    [Fact]
    public void TarAtFar_NeverAcceptsAFailedGenuinePair_EvenWithNoImpostors()
    {
        var r = VerificationMetrics.Compute([new ScoredPair(0.9f, true), new ScoredPair(null, true)], 0.5f);
        Assert.Equal(0.5, r.TarAtFar1e2);
        Assert.Equal(0.5, VerificationMetrics.TarAtFar([float.NegativeInfinity, 0.9f], [0.1f, 0.2f], 1.0));
    }

    [Fact]
    public void BestAccuracy_ConsidersAcceptingNothing()
    {
        var r = VerificationMetrics.Compute([new ScoredPair(0.1f, true), new ScoredPair(0.8f, false), new ScoredPair(0.9f, false)], 0.5f);
        Assert.Equal(2.0 / 3, r.BestAccuracy, 9);
    }

    [Fact]
    public void ASmallBoxInsideAFace_DoesNotSuppressTheFace()
    {
        // Region 100x100 at the origin: a 30x30 face at 0.8 holding a 20x20 box at 0.95 (IoU 0.44 > 0.4).
        var detector = new UltraFaceDetector(new NoModel(), new DetectorOptions { MinFaceSize = 24, ScoreThreshold = 0.5f });
        float[] scores = [0.2f, 0.8f, 0.05f, 0.95f];
        float[] boxes = [0.10f, 0.10f, 0.40f, 0.40f, 0.15f, 0.15f, 0.35f, 0.35f];

        var kept = detector.Decode(scores, boxes, 0, 0, 100, 100);

        var face = Assert.Single(kept);
        Assert.Equal(30, face.Height, 3);
    }

    [Fact]
    public void MirroringWithoutAWidth_IsAnArgumentError()
    {
        var bgr = new byte[12];
        var dst = new float[12];
        Assert.Throws<ArgumentException>(() => TensorWriter.Planar(bgr, 4, dst, rgb: false, mean: 0, scale: 1, mirror: true));
    }

    private sealed class NoModel : IInferenceModel
    {
        public Span<float> Input(int index = 0) => throw new NotSupportedException();
        public ReadOnlySpan<float> Output(int index = 0) => throw new NotSupportedException();
        public void Run() => throw new NotSupportedException();
        public void Dispose() { }
    }
}
