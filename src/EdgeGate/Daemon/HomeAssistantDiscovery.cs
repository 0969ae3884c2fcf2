using System.Buffers;
using System.Text.Json;

namespace EdgeGate.Daemon;

/// <summary>
/// Home Assistant MQTT discovery: retained configs under <c>&lt;discovery prefix&gt;/&lt;component&gt;/edgegate_&lt;device&gt;/&lt;object&gt;/config</c>
/// that point HA at the topics EdgeGate already publishes, so nothing is sent twice. Every entity uses the device's
/// <c>status</c> topic for availability (HA's convention: online/offline, with the Last Will covering a crash).
/// The lock entity is only offered when <see cref="MqttSettings.HomeAssistantAllowUnlock"/> says so: HA cannot sign
/// commands, and its unsigned unlock topic lets anyone who can publish there open the door.
/// </summary>
public static class HomeAssistantDiscovery
{
    public sealed record Config(string Topic, byte[] Payload);

    public static IReadOnlyList<Config> Build(string discoveryPrefix, Topics topics, string deviceId, string version, bool hasDoorContact,
        bool allowUnlock = false)
    {
        var node = $"edgegate_{Sanitise(deviceId)}";
        var list = new List<Config>
        {
            Entity(discoveryPrefix, "binary_sensor", node, "online", topics, deviceId, version, w =>
            {
                w.WriteString("name", "Online");
                w.WriteString("state_topic", topics.Status);
                w.WriteString("payload_on", "online");
                w.WriteString("payload_off", "offline");
                w.WriteString("device_class", "connectivity");
                w.WriteString("entity_category", "diagnostic");
            }, withAvailability: false),
            Entity(discoveryPrefix, "sensor", node, "last_decision", topics, deviceId, version, w =>
            {
                w.WriteString("name", "Last decision");
                w.WriteString("state_topic", topics.AccessEvents);
                w.WriteString("value_template", "{{ value_json.decision }}{% if value_json.reason %}: {{ value_json.reason }}{% endif %}");
                w.WriteString("json_attributes_topic", topics.AccessEvents);
                w.WriteString("icon", "mdi:door-closed-lock");
            }),
            Entity(discoveryPrefix, "sensor", node, "last_person", topics, deviceId, version, w =>
            {
                w.WriteString("name", "Last person");
                w.WriteString("state_topic", topics.AccessEvents);
                w.WriteString("value_template", "{{ value_json.person.name if value_json.person is defined else 'not recognised' }}");
                w.WriteString("icon", "mdi:account");
            }),
            Entity(discoveryPrefix, "sensor", node, "gallery_size", topics, deviceId, version, w =>
            {
                w.WriteString("name", "Enrolled people");
                w.WriteString("state_topic", topics.Telemetry);
                w.WriteString("value_template", "{{ value_json.gallery_size }}");
                w.WriteString("state_class", "measurement");
                w.WriteString("icon", "mdi:account-group");
            }),
            Entity(discoveryPrefix, "sensor", node, "latency_p95", topics, deviceId, version, w =>
            {
                w.WriteString("name", "Decision latency p95");
                w.WriteString("state_topic", topics.Telemetry);
                w.WriteString("value_template", "{{ value_json.latency_p95_ms }}");
                w.WriteString("unit_of_measurement", "ms");
                w.WriteString("state_class", "measurement");
                w.WriteString("entity_category", "diagnostic");
            }),
            Entity(discoveryPrefix, "binary_sensor", node, "relay", topics, deviceId, version, w =>
            {
                w.WriteString("name", "Lock relay");
                w.WriteString("state_topic", topics.DoorEvents);
                // Only relay events change this sensor: other door events render empty, which HA ignores.
                w.WriteString("value_template",
                    "{% if value_json.event == 'relay_energised' %}ON{% elif value_json.event == 'relay_released' %}OFF{% endif %}");
                // HA's lock class: on = unlocked, which is exactly "relay energised".
                w.WriteString("device_class", "lock");
            }),
        };
        if (hasDoorContact)
            list.Add(DoorEntity(discoveryPrefix, node, topics, deviceId, version));
        if (allowUnlock)
            list.Add(Entity(discoveryPrefix, "lock", node, "lock", topics, deviceId, version, w =>
            {
                w.WriteString("name", "Door lock");
                w.WriteString("command_topic", topics.HomeAssistantLockCommand);
                w.WriteString("payload_unlock", "UNLOCK");
                w.WriteString("payload_lock", "LOCK");
                w.WriteString("state_topic", topics.DoorEvents);
                w.WriteString("value_template",
                    "{% if value_json.event == 'relay_energised' %}UNLOCKED{% elif value_json.event == 'relay_released' %}LOCKED{% endif %}");
                w.WriteString("state_locked", "LOCKED");
                w.WriteString("state_unlocked", "UNLOCKED");
            }));
        return list;
    }

    private static Config DoorEntity(string discoveryPrefix, string node, Topics topics, string deviceId, string version) =>
        Entity(discoveryPrefix, "binary_sensor", node, "door", topics, deviceId, version, w =>
        {
            w.WriteString("name", "Door");
            w.WriteString("state_topic", topics.DoorEvents);
            w.WriteString("value_template",
                "{% if value_json.event in ['opened', 'forced_open', 'held_open'] %}ON{% elif value_json.event == 'closed' %}OFF{% endif %}");
            w.WriteString("device_class", "door");
        });

    private static Config Entity(string prefix, string component, string node, string objectId, Topics topics, string deviceId, string version,
        Action<Utf8JsonWriter> body, bool withAvailability = true)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("unique_id", $"{node}_{objectId}");
            w.WriteString("object_id", $"{node}_{objectId}");
            body(w);
            if (withAvailability)
            {
                w.WriteString("availability_topic", topics.Status);
                w.WriteString("payload_available", "online");
                w.WriteString("payload_not_available", "offline");
            }
            w.WriteStartObject("device");
            w.WriteStartArray("identifiers");
            w.WriteStringValue(node);
            w.WriteEndArray();
            w.WriteString("name", $"EdgeGate {deviceId}");
            w.WriteString("manufacturer", "EdgeGate");
            w.WriteString("model", "face-recognition door controller");
            w.WriteString("sw_version", version);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return new Config($"{prefix}/{component}/{node}/{objectId}/config", buffer.WrittenSpan.ToArray());
    }

    /// <summary>HA node ids allow [a-zA-Z0-9_-] only.</summary>
    private static string Sanitise(string id) => new(id.Select(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' ? c : '_').ToArray());
}
