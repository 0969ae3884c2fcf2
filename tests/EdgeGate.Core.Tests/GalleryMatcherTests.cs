using EdgeGate.Core.Gallery;

namespace EdgeGate.Core.Tests;

public class GalleryMatcherTests
{
    private const string Model = "model-a";
    private static readonly ScoreCalibration Calibration = new(10, -4);

    // The probe is e0; a template (c, √(1−c²), 0, 0) is a unit vector whose cosine with the probe is c.
    private static readonly float[] Probe = [1, 0, 0, 0];

    private static float[] At(float cosine, int axis = 1)
    {
        var v = new float[4];
        v[0] = cosine;
        v[axis] = MathF.Sqrt(1 - cosine * cosine);
        return v;
    }

    private static long _nextId;

    private static FaceTemplate T(string person, float cosine, string model = Model) =>
        new(Interlocked.Increment(ref _nextId), person, model, At(cosine), 1, DateTimeOffset.UnixEpoch);

    private static GalleryMatcher Matcher(params FaceTemplate[] templates)
    {
        var m = new GalleryMatcher(Model, new MatchOptions { VerifyThreshold = 0.4f, IdentifyThreshold = 0.45f, IdentifyMargin = 0.05f }, Calibration);
        m.Load(templates);
        return m;
    }

    private static float Sigmoid(double x) => (float)(1 / (1 + Math.Exp(-x)));

    [Fact]
    public void Verify_UsesTheClaimedPersonsBestTemplate()
    {
        var m = Matcher(T("alice", 0.6f), T("alice", 0.3f), T("bob", 0.95f));
        var r = m.Verify(Probe, "alice");
        Assert.True(r.Match);
        Assert.Equal(0.6f, r.Similarity, 5);
        Assert.Equal(2, r.TemplatesCompared);
        Assert.Equal(Sigmoid(10 * 0.6 - 4), r.PSame, 4);
    }

    [Fact]
    public void Verify_BelowThreshold_IsNoMatch_EvenIfAnotherPersonMatches()
    {
        var r = Matcher(T("alice", 0.39f), T("bob", 0.95f)).Verify(Probe, "alice");
        Assert.False(r.Match);
        Assert.Equal(0.39f, r.Similarity, 5);
    }

    [Fact]
    public void Verify_UnknownPerson_IsNoMatchWithNoTemplates()
    {
        var r = Matcher(T("alice", 0.9f)).Verify(Probe, "carol");
        Assert.False(r.Match);
        Assert.Equal(0, r.TemplatesCompared);
        Assert.True(float.IsNaN(r.Similarity));
    }

    [Fact]
    public void Identify_ClearBest_IsRecognised_WithRunnerUp()
    {
        var r = Matcher(T("alice", 0.80f), T("bob", 0.50f), T("carol", 0.60f)).Identify(Probe);
        Assert.Equal(IdentifyOutcome.Recognised, r.Outcome);
        Assert.Equal("alice", r.PersonId);
        Assert.Equal(0.80f, r.Best!.Similarity, 5);
        Assert.Equal("carol", r.Runner!.PersonId);
        Assert.Equal(Sigmoid(10 * 0.8 - 4), r.Best.PSame, 4);
    }

    [Fact]
    public void Identify_BestIsPersonsBestTemplate_RegardlessOfOrder()
    {
        var r = Matcher(T("bob", 0.7f), T("alice", 0.2f), T("alice", 0.9f), T("bob", 0.1f)).Identify(Probe);
        Assert.Equal("alice", r.PersonId);
        Assert.Equal(0.9f, r.Best!.Similarity, 5);
        Assert.Equal(0.7f, r.Runner!.Similarity, 5);
    }

    [Fact]
    public void Identify_SecondPersonWithinMargin_IsAmbiguous()
    {
        var r = Matcher(T("alice", 0.80f), T("bob", 0.78f)).Identify(Probe);
        Assert.Equal(IdentifyOutcome.Ambiguous, r.Outcome);
        Assert.Null(r.PersonId);
        Assert.Equal("alice", r.Best!.PersonId);
        Assert.Equal("bob", r.Runner!.PersonId);
    }

    [Fact]
    public void Identify_SecondTemplateOfSamePerson_IsNotAmbiguous()
    {
        var r = Matcher(T("alice", 0.80f), T("alice", 0.79f), T("bob", 0.5f)).Identify(Probe);
        Assert.Equal(IdentifyOutcome.Recognised, r.Outcome);
        Assert.Equal("alice", r.PersonId);
        Assert.Equal("bob", r.Runner!.PersonId);
    }

    [Fact]
    public void Identify_OnlyOnePersonEnrolled_IsRecognisedWithoutRunner()
    {
        var r = Matcher(T("alice", 0.80f), T("alice", 0.79f)).Identify(Probe);
        Assert.Equal(IdentifyOutcome.Recognised, r.Outcome);
        Assert.Null(r.Runner);
    }

    [Fact]
    public void Identify_BestBelowThreshold_IsBelowThreshold()
    {
        var r = Matcher(T("alice", 0.44f), T("bob", 0.1f)).Identify(Probe);
        Assert.Equal(IdentifyOutcome.BelowThreshold, r.Outcome);
        Assert.Null(r.PersonId);
        Assert.Equal("alice", r.Best!.PersonId);
    }

    [Fact]
    public void Identify_EmptyGallery()
    {
        var r = Matcher().Identify(Probe);
        Assert.Equal(IdentifyOutcome.EmptyGallery, r.Outcome);
        Assert.Null(r.Best);
    }

    [Fact]
    public void Load_RefusesTemplateOfAnotherModel_AndKeepsOldIndex()
    {
        var m = Matcher(T("alice", 0.9f));
        Assert.Throws<ArgumentException>(() => m.Load([T("bob", 0.9f), T("carol", 0.9f, model: "model-b")]));
        Assert.Equal(1, m.TemplateCount);
        Assert.Equal("alice", m.Identify(Probe).PersonId);
    }

    [Fact]
    public void Load_RefusesTemplatesOfDifferentDimensions()
    {
        var m = Matcher();
        var odd = new FaceTemplate(99, "bob", Model, [1, 0, 0], 1, DateTimeOffset.UnixEpoch);
        Assert.Throws<ArgumentException>(() => m.Load([T("alice", 0.9f), odd]));
    }

    [Fact]
    public void Load_CountsPersonsAndTemplates()
    {
        var m = Matcher(T("alice", 0.1f), T("bob", 0.2f), T("alice", 0.3f));
        Assert.Equal(3, m.TemplateCount);
        Assert.Equal(2, m.PersonCount);
    }

    [Fact]
    public void ProbeOfWrongDimension_Throws()
    {
        var m = Matcher(T("alice", 0.9f));
        Assert.Throws<ArgumentException>(() => m.Identify([1f, 0f, 0f]));
        Assert.Throws<ArgumentException>(() => m.Verify([1f, 0f, 0f], "alice"));
    }

    [Fact]
    public void Compare_AppliesVerifyThreshold()
    {
        var m = Matcher();
        var (match, s, p) = m.Compare(Probe, At(0.41f));
        Assert.True(match);
        Assert.Equal(0.41f, s, 5);
        Assert.Equal(Sigmoid(10 * 0.41 - 4), p, 4);
        Assert.False(m.Compare(Probe, At(0.39f)).Match);
    }

    [Fact]
    public void Options_Validate_RejectsNonCosineThresholds()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new GalleryMatcher(Model, new MatchOptions { IdentifyThreshold = 1.5f }, Calibration));
        Assert.Throws<ArgumentOutOfRangeException>(() => new GalleryMatcher(Model, new MatchOptions { IdentifyMargin = -0.1f }, Calibration));
    }
}
