using EdgeGate.Core.Faces;

namespace EdgeGate.Core.Tests;

public class NmsTests
{
    [Fact]
    public void IoU_OfKnownBoxes_MatchesHandComputation()
    {
        var a = new FaceBox(0, 0, 10, 10, 1);
        var b = new FaceBox(5, 5, 15, 15, 1);
        Assert.Equal(25f / 175f, a.IoU(b), 6); // overlap 5×5, union 100+100−25
        Assert.Equal(1f, a.IoU(a), 6);
        Assert.Equal(0f, a.IoU(new FaceBox(10, 0, 20, 10, 1))); // touching edges
    }

    [Fact]
    public void OverlappingPair_KeepsHigherScore()
    {
        var low = new FaceBox(0, 0, 10, 10, 0.8f);
        var high = new FaceBox(0, 2.5f, 10, 12.5f, 0.9f);
        Assert.Equal(0.6f, low.IoU(high), 5); // 75 / 125
        var kept = NonMaxSuppression.Apply([low, high], 0.4f);
        Assert.Equal(high, Assert.Single(kept));
    }

    [Fact]
    public void OverlapBelowThreshold_KeepsBoth()
    {
        var kept = NonMaxSuppression.Apply([new FaceBox(0, 0, 10, 10, 0.8f), new FaceBox(0, 2.5f, 10, 12.5f, 0.9f)], 0.7f);
        Assert.Equal(2, kept.Count);
    }

    [Fact]
    public void DisjointBoxes_AreAllKept_InDescendingScore()
    {
        var kept = NonMaxSuppression.Apply([new FaceBox(0, 0, 10, 10, 0.5f), new FaceBox(50, 50, 60, 60, 0.9f)], 0.3f);
        Assert.Equal([0.9f, 0.5f], kept.Select(b => b.Score));
    }

    [Fact]
    public void Chain_SuppressedBoxDoesNotSuppressOthers()
    {
        var a = new FaceBox(0, 0, 10, 10, 0.9f);
        var b = new FaceBox(5, 0, 15, 10, 0.8f);  // IoU(a,b) = 50/150
        var c = new FaceBox(10, 0, 20, 10, 0.7f); // IoU(b,c) = 1/3, IoU(a,c) = 0
        var kept = NonMaxSuppression.Apply([c, b, a], 0.3f);
        Assert.Equal([a, c], kept);
    }

    [Fact]
    public void MaxKeep_LimitsResult()
    {
        var boxes = Enumerable.Range(0, 5).Select(i => new FaceBox(i * 20, 0, i * 20 + 10, 10, i / 10f)).ToList();
        var kept = NonMaxSuppression.Apply(boxes, 0.3f, maxKeep: 2);
        Assert.Equal([0.4f, 0.3f], kept.Select(b => b.Score));
    }

    [Fact]
    public void VisibleArea_ClipsToFrame()
    {
        var box = new FaceBox(-10, -5, 30, 20, 1); // 40×25 box, visible 30×20 of a 100×100 frame
        Assert.Equal(1000f, box.Area);
        Assert.Equal(600f, box.VisibleArea(100, 100));
        Assert.Equal(20f * 15f, box.VisibleArea(20, 15));
        Assert.Equal(0f, new FaceBox(120, 0, 130, 10, 1).VisibleArea(100, 100));
    }

    [Fact]
    public void InvertedBox_HasZeroArea()
    {
        Assert.Equal(0f, new FaceBox(10, 10, 0, 0, 1).Area);
    }
}
