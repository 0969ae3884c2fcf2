namespace EdgeGate.Mqtt;

/// <summary>The broker accepted the connection. <see cref="SessionPresent"/>: it still had this client's session.</summary>
public sealed class MqttConnectedEventArgs(bool sessionPresent) : EventArgs
{
    public bool SessionPresent { get; } = sessionPresent;
}

/// <summary>
/// The connection ended. <see cref="ReasonCode"/> is a libmosquitto rc: 0 after <see cref="MosquittoClient.Dispose"/>
/// (a requested disconnect), 7 "connection lost" when the broker or network went away, 5 when the broker refused
/// the connection (see <see cref="Reason"/> for its CONNACK text), and so on.
/// </summary>
public sealed class MqttDisconnectedEventArgs(int reasonCode, string reason) : EventArgs
{
    public int ReasonCode { get; } = reasonCode;
    public string Reason { get; } = reason;
}

/// <summary>
/// The broker acknowledged a QoS 1 publish (PUBACK) or completed a QoS 2 one (PUBCOMP). It only means the broker took
/// the message, not that any subscriber got it. <see cref="ReasonCode"/> is 0 under MQTT 3.1.1; under MQTT 5 a value
/// of 0x80 or more means the broker refused the message (e.g. 0x87 not authorised) and will not deliver it.
/// </summary>
public sealed class MqttPublishAcknowledgedEventArgs(int messageId, int reasonCode) : EventArgs
{
    public int MessageId { get; } = messageId;
    public int ReasonCode { get; } = reasonCode;
}

/// <summary>The broker answered a SUBSCRIBE. <see cref="GrantedQos"/> 0..2, or 0x80 when it refused the filter.</summary>
public sealed class MqttSubscribedEventArgs(string filter, int grantedQos) : EventArgs
{
    public string Filter { get; } = filter;
    public int GrantedQos { get; } = grantedQos;
    public bool Succeeded => GrantedQos < 0x80;
}

/// <summary>A message from a subscription. Every field is a managed copy, safe to keep after the handler returns.</summary>
public sealed class MqttMessageReceivedEventArgs(
    string topic, byte[] payload, int qos, bool retain, string? responseTopic, byte[]? correlationData) : EventArgs
{
    public string Topic { get; } = topic;
    public byte[] Payload { get; } = payload;
    public int Qos { get; } = qos;

    /// <summary>True when the broker sent a stored retained message (e.g. on subscribing), not a live publish.</summary>
    public bool Retain { get; } = retain;

    /// <summary>MQTT 5 response topic of a request, else null.</summary>
    public string? ResponseTopic { get; } = responseTopic;

    /// <summary>MQTT 5 correlation data of a request, else null; echo it in the reply.</summary>
    public byte[]? CorrelationData { get; } = correlationData;
}

/// <summary>MQTT 5 request/response properties of an outgoing message (e.g. a command's reply).</summary>
public sealed record MqttPublishProperties(string? ResponseTopic = null, byte[]? CorrelationData = null);
