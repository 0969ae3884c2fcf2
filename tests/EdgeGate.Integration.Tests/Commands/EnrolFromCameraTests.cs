using System.Text;
using System.Text.Json.Nodes;
using EdgeGate.Core.Commands;
using EdgeGate.Integration.Tests.Mqtt;
using Xunit.Abstractions;

namespace EdgeGate.Integration.Tests.Commands;

/// <summary>
/// <c>enrol_from_camera</c> against the daemon as a process whose camera is a GRID clip of one speaker (looped, real
/// time): the speaker is enrolled from the next good frames, and the door then recognises them in the same stream.
/// </summary>
public sealed class EnrolFromCameraTests(ITestOutputHelper output) : IDisposable
{
    private CommandDaemon? _d;

    public void Dispose() => _d?.Dispose();

    [Fact]
    public void EnrolFromCamera_CollectsTheFrames_WithProgress_AndTheDoorThenKnowsTheSpeaker()
    {
        if (TestData.FacesOrSkip(output) is not { } faces) return;
        _d = new CommandDaemon { CameraSource = Path.Combine(faces, "video", "grid_pwij3p.mpg") };
        _d.EnsureStarted(output);
        _d.WaitUntilRecognising();

        var reply = _d.Call("enrol_from_camera", new JsonObject { ["id"] = "cam-grid", ["name"] = "GRID speaker", ["frames"] = 5, ["timeout_s"] = 30 },
            TimeSpan.FromSeconds(60));
        output.WriteLine(reply.ToJsonString());
        Assert.True((bool)reply["ok"]!, reply.ToJsonString());
        Assert.Equal((true, 5, 5), ((bool)reply["result"]!["created"]!, (int)reply["result"]!["templates_added"]!, (int)reply["result"]!["templates_total"]!));

        var progress = _d.Messages.Where(m => m.Topic == $"{_d.Base}/event/enrol_progress")
            .Select(m => JsonNode.Parse(m.Payload)!.AsObject()).Where(p => (string?)p["id"] == "cam-grid").ToList();
        Assert.Equal([0, 1, 2, 3, 4, 5], progress.Select(p => (int)p["collected"]!).Distinct().Order());
        Assert.All(progress, p => Assert.Equal(5, (int)p["needed"]!));

        Assert.Equal(5, (int)_d.Call("get", new JsonObject { ["id"] = "cam-grid" })["result"]!["templates"]!);
        Assert.Equal(CommandErrors.AlreadyExists, (string?)_d.Call("enrol_from_camera", new JsonObject { ["id"] = "cam-grid", ["name"] = "again" })["error"]!["code"]);
        // The same face under another id is someone else's (force would override).
        var twin = _d.Call("enrol_from_camera", new JsonObject { ["id"] = "cam-twin", ["name"] = "Twin", ["frames"] = 2, ["timeout_s"] = 30 }, TimeSpan.FromSeconds(60));
        Assert.Equal((CommandErrors.AlreadyEnrolledAs, "cam-grid"), ((string?)twin["error"]!["code"], (string?)twin["error"]!["person_id"]));
        Assert.Equal(CommandErrors.NotFound, (string?)_d.Call("get", new JsonObject { ["id"] = "cam-twin" })["error"]!["code"]);

        // The recognition thread picks the new person up from the gallery and grants them on the looping clip.
        Wait.Until(() => _d.Messages.Any(m => m.Topic == $"{_d.Base}/event/access"
                                             && Encoding.UTF8.GetString(m.Payload) is var json && json.Contains("\"granted\"") && json.Contains("cam-grid")),
            "a grant for the speaker enrolled from the camera", TimeSpan.FromSeconds(60));
    }
}
