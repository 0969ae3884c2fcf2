using EdgeGate.Core.Access;
using EdgeGate.Core.Faces;

namespace EdgeGate.Core.Tests.Access;

public class FaceTrackerTests
{
    private static FaceBox Box(float x, float y, float size) => new(x, y, x + size, y + size, 0.9f);
    private static TimeSpan Ms(int ms) => TimeSpan.FromMilliseconds(ms);

    [Fact]
    public void AFaceWalkingUp_KeepsOneTrack()
    {
        var tracker = new FaceTracker();
        var ended = new List<FaceTrack>();
        long id = 0;
        for (var i = 0; i < 20; i++)
        {
            // Grows 5 % and drifts 4 px per frame: what a person approaching the camera looks like at 10 fps.
            var size = 60 * MathF.Pow(1.05f, i);
            var tracks = tracker.Update([Box(100 + 4 * i, 80, size)], Ms(100 * i), 0, ended);
            if (i == 0) id = tracks[0].Id;
            Assert.Equal(id, tracks[0].Id);
        }
        Assert.Empty(ended);
        Assert.Equal(20, tracker.Active[0].Frames);
    }

    [Fact]
    public void TwoPeople_KeepTheirOwnTracks_EvenWhenListedInTheOtherOrder()
    {
        var tracker = new FaceTracker();
        var ended = new List<FaceTrack>();
        var first = tracker.Update([Box(10, 10, 50), Box(200, 10, 50)], Ms(0), 0, ended);
        var second = tracker.Update([Box(203, 12, 50), Box(12, 11, 50)], Ms(100), 0, ended);
        Assert.Equal(first[0].Id, second[1].Id);
        Assert.Equal(first[1].Id, second[0].Id);
        Assert.NotEqual(first[0].Id, first[1].Id);
    }

    [Fact]
    public void AFaceFarAway_StartsANewTrack()
    {
        var tracker = new FaceTracker();
        var ended = new List<FaceTrack>();
        var a = tracker.Update([Box(10, 10, 50)], Ms(0), 0, ended);
        var b = tracker.Update([Box(300, 200, 50)], Ms(100), 0, ended);
        Assert.NotEqual(a[0].Id, b[0].Id);
        Assert.Equal(2, tracker.Active.Count);
    }

    [Fact]
    public void ATrackUnseenLongerThanTheLimit_Ends_AndABriefGapDoesNot()
    {
        var tracker = new FaceTracker(new TrackerOptions { MaxUnseen = TimeSpan.FromSeconds(1) });
        var ended = new List<FaceTrack>();
        var t = tracker.Update([Box(10, 10, 50)], Ms(0), 0, ended)[0];
        tracker.Update([], Ms(900), 0, ended);
        Assert.Empty(ended);
        Assert.Equal(t.Id, tracker.Update([Box(11, 10, 50)], Ms(950), 0, ended)[0].Id);
        tracker.Update([], Ms(2000), 0, ended);
        Assert.Equal(t.Id, Assert.Single(ended).Id);
        Assert.Empty(tracker.Active);
    }

    [Fact]
    public void TrackRemembersWhenAndWhereItStarted()
    {
        var tracker = new FaceTracker();
        var ended = new List<FaceTrack>();
        tracker.Update([Box(10, 10, 50)], Ms(500), 1234, ended);
        var t = tracker.Update([Box(12, 10, 50)], Ms(700), 9999, ended)[0];
        Assert.Equal(Ms(500), t.FirstSeen);
        Assert.Equal(1234, t.FirstArrivedTimestamp);
        Assert.Equal(Ms(200), t.Age);
    }

    [Fact]
    public void EndAll_EndsEveryTrack()
    {
        var tracker = new FaceTracker();
        var ended = new List<FaceTrack>();
        tracker.Update([Box(10, 10, 50), Box(200, 10, 50)], Ms(0), 0, ended);
        tracker.EndAll(ended);
        Assert.Equal(2, ended.Count);
        Assert.Empty(tracker.Active);
    }
}
