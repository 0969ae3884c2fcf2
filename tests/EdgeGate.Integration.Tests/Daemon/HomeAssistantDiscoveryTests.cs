using System.Text.Json;
using EdgeGate.Daemon;

namespace EdgeGate.Integration.Tests.Daemon;

public sealed class HomeAssistantDiscoveryTests
{
    private static readonly Topics Topics = new("edgegate", "front door");

    [Fact]
    public void EveryEntity_HasAUniqueId_TheDevice_AndPointsAtTopicsTheDaemonPublishes()
    {
        var configs = HomeAssistantDiscovery.Build("homeassistant", Topics, "front door", "1.2.3", hasDoorContact: true);
        var published = new[] { Topics.Status, Topics.AccessEvents, Topics.DoorEvents, Topics.Telemetry };
        var ids = new HashSet<string>();
        foreach (var c in configs)
        {
            // Node ids may only hold [a-zA-Z0-9_-]: the space in the device id must not reach the topic.
            Assert.Matches(@"^homeassistant/(sensor|binary_sensor)/edgegate_front_door/[a-z0-9_]+/config$", c.Topic);
            var json = JsonDocument.Parse(c.Payload).RootElement;
            Assert.True(ids.Add(json.GetProperty("unique_id").GetString()!), "unique_id repeated");
            Assert.Contains(json.GetProperty("state_topic").GetString(), published);
            Assert.Equal("edgegate_front_door", json.GetProperty("device").GetProperty("identifiers")[0].GetString());
            Assert.Equal("1.2.3", json.GetProperty("device").GetProperty("sw_version").GetString());
            if (json.TryGetProperty("availability_topic", out var availability))
                Assert.Equal(Topics.Status, availability.GetString());
        }
        Assert.Contains(configs, c => c.Topic.EndsWith("/door/config"));
        Assert.Contains(configs, c => c.Topic.EndsWith("/last_person/config"));
        Assert.Contains(configs, c => c.Topic.EndsWith("/gallery_size/config"));
    }

    [Fact]
    public void NoLockEntity_BecauseHomeAssistantCannotSign_AndNoDoorSensorWithoutAContact()
    {
        var configs = HomeAssistantDiscovery.Build("ha", Topics, "gate-1", "1", hasDoorContact: false);
        Assert.DoesNotContain(configs, c => c.Topic.StartsWith("ha/lock/"));
        Assert.DoesNotContain(configs, c => JsonDocument.Parse(c.Payload).RootElement.TryGetProperty("command_topic", out _));
        Assert.DoesNotContain(configs, c => c.Topic.EndsWith("/door/config"));
        Assert.All(configs, c => Assert.StartsWith("ha/", c.Topic));
    }

    [Fact]
    public void LockEntity_OnlyWhenUnlockIsExplicitlyAllowed()
    {
        var configs = HomeAssistantDiscovery.Build("ha", Topics, "gate-1", "1", hasDoorContact: false, allowUnlock: true);
        var lockConfig = Assert.Single(configs, c => c.Topic.StartsWith("ha/lock/"));
        var json = JsonDocument.Parse(lockConfig.Payload).RootElement;
        Assert.Equal(Topics.HomeAssistantLockCommand, json.GetProperty("command_topic").GetString());
        Assert.Equal(Topics.Status, json.GetProperty("availability_topic").GetString());
    }
}
