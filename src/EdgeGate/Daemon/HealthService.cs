using System.Buffers;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeGate.Daemon;

/// <summary>
/// Tells systemd how the daemon is: READY=1 once models, door and camera are up (a frame has arrived), WATCHDOG=1 only
/// while frames flow (so a camera the daemon cannot recover gets the service restarted), STATUS= lines a technician
/// sees in <c>systemctl status</c>; and publishes MQTT telemetry every <see cref="DaemonOptions.TelemetrySeconds"/>.
/// </summary>
public sealed class HealthService(
    DaemonState state,
    ISystemdNotifier notifier,
    MqttService mqtt,
    IOptions<DaemonOptions> options,
    ILogger<HealthService> logger) : BackgroundService
{
    private readonly DaemonOptions _o = options.Value;
    private bool _ready;
    private string? _lastStatus;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var tick = TimeSpan.FromMilliseconds(250);
        var lastWatchdog = DateTime.MinValue;
        var lastTelemetry = DateTime.UtcNow;
        var frameTimeout = TimeSpan.FromSeconds(_o.Camera.WatchdogSeconds);
        using var timer = new PeriodicTimer(tick);
        do
        {
            var now = DateTime.UtcNow;
            var framesFlowing = state.SinceLastFrame is { } since && since < frameTimeout;
            if (!_ready && state.DoorReady && state.ModelsReady && state.SinceLastFrame is not null)
            {
                _ready = true;
                notifier.Notify("READY=1\nSTATUS=ready: door locked, watching");
                logger.LogInformation("ready: models loaded, door locked, camera streaming ({Camera})", state.CameraDescription);
            }
            if (_ready && notifier.WatchdogInterval is { } wd && framesFlowing && now - lastWatchdog >= wd / 2)
            {
                notifier.Notify("WATCHDOG=1");
                lastWatchdog = now;
            }
            var status = StatusLine(framesFlowing);
            if (status != _lastStatus)
            {
                notifier.Notify("STATUS=" + status);
                _lastStatus = status;
            }
            if (_o.TelemetrySeconds > 0 && now - lastTelemetry >= TimeSpan.FromSeconds(_o.TelemetrySeconds))
            {
                lastTelemetry = now;
                mqtt.PublishTelemetry(Telemetry());
            }
        } while (await WaitAsync(timer, stoppingToken));
        notifier.Notify("STOPPING=1\nSTATUS=stopping: door locked");
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken ct)
    {
        try { return await timer.WaitForNextTickAsync(ct); }
        catch (OperationCanceledException) { return false; }
    }

    private string StatusLine(bool framesFlowing)
    {
        if (!_ready)
            return $"starting: models {(state.ModelsReady ? "ok" : "loading")}, door {(state.DoorReady ? "ok" : "opening")}, camera {state.CameraState}";
        var camera = framesFlowing ? "streaming" : $"{state.CameraState}{(state.CameraError is { } e ? $" ({e})" : "")}";
        return $"camera {camera}; mqtt {(mqtt.Enabled ? state.MqttConnected ? "connected" : "disconnected" : "off")}; " +
               $"{state.Decisions} decisions ({state.Granted} granted); gallery {state.GallerySize}";
    }

    /// <summary>The telemetry JSON: what an operator graphs to see a door degrade before anyone complains.</summary>
    public byte[] Telemetry()
    {
        var (p50, p95, f50, f95) = state.Percentiles();
        var uptime = state.Uptime.TotalSeconds;
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("ts", DateTimeOffset.UtcNow.ToString("O"));
            w.WriteString("device", _o.DeviceId);
            w.WriteNumber("uptime_s", Math.Round(uptime, 1));
            w.WriteNumber("frames", state.Frames);
            w.WriteNumber("fps", uptime > 0 ? Math.Round(FpsSinceLast(), 2) : 0);
            w.WriteNumber("frames_dropped", Interlocked.Read(ref state.FramesDropped));
            w.WriteString("camera", state.CameraState);
            w.WriteNumber("camera_restarts", Interlocked.Read(ref state.CameraRestarts));
            WriteNumberOrNull(w, "latency_p50_ms", p50);
            WriteNumberOrNull(w, "latency_p95_ms", p95);
            WriteNumberOrNull(w, "frame_p50_ms", f50);
            WriteNumberOrNull(w, "frame_p95_ms", f95);
            w.WriteNumber("decisions", Interlocked.Read(ref state.Decisions));
            w.WriteNumber("granted", Interlocked.Read(ref state.Granted));
            w.WriteNumber("gallery_size", state.GallerySize);
            w.WriteNumber("outbox_pending", mqtt.OutboxPending);
            w.WriteNumber("outbox_evicted", mqtt.OutboxEvicted);
            if (CpuTemperature() is { } t) w.WriteNumber("cpu_temp_c", t); else w.WriteNull("cpu_temp_c");
            w.WriteNumber("rss_mb", Math.Round(Environment.WorkingSet / 1048576.0, 1));
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    private long _telemetryFrames;
    private DateTime _telemetryAt = DateTime.UtcNow;

    private double FpsSinceLast()
    {
        var now = DateTime.UtcNow;
        var frames = state.Frames;
        var fps = (frames - _telemetryFrames) / Math.Max(0.001, (now - _telemetryAt).TotalSeconds);
        _telemetryFrames = frames;
        _telemetryAt = now;
        return fps;
    }

    private static void WriteNumberOrNull(Utf8JsonWriter w, string name, double v)
    {
        if (double.IsFinite(v)) w.WriteNumber(name, Math.Round(v, 1)); else w.WriteNull(name);
    }

    /// <summary>The SoC temperature where the kernel exposes it (Pi and Jetson do: millidegrees in thermal_zone0).</summary>
    public static double? CpuTemperature()
    {
        try
        {
            var text = File.ReadAllText("/sys/class/thermal/thermal_zone0/temp").Trim();
            return long.TryParse(text, out var milli) ? Math.Round(milli / 1000.0, 1) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
