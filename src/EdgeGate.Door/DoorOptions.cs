using System.Text;
using EdgeGate.Door.Gpio;

namespace EdgeGate.Door;

/// <summary>
/// The door's wiring and timing, bound from the configuration section <c>EdgeGate:Door</c>. Line numbers are offsets
/// on <see cref="Chip"/> (on a Raspberry Pi: the BCM GPIO number, e.g. 17 for header pin 11). The defaults match
/// the wiring in hardware/README.md: relay input driven high to unlock, door contact and exit button switching to
/// ground against the internal pull-up.
/// </summary>
public sealed class DoorOptions
{
    public const string SectionName = "EdgeGate:Door";

    /// <summary>Consumer labels get "-relay", "-contact" or "-exit" appended and must fit the kernel's 31 bytes.</summary>
    public const int MaxConsumerBytes = GpioChip.MaxConsumerBytes - 8;

    /// <summary>"gpiochip0", "/dev/gpiochip0" or a chip label such as "pinctrl-rp1" (the stable choice).</summary>
    public string Chip { get; set; } = "gpiochip0";

    /// <summary>Drive a <see cref="SimulatedGpioChip"/> instead of the kernel's device (demo, tests, bench).</summary>
    public bool Simulated { get; set; }

    /// <summary>
    /// With <see cref="Simulated"/>: where the simulated chip publishes line ownership and levels for other processes
    /// (see <see cref="SimulatedGpioChip"/>). Null keeps the simulation in memory.
    /// </summary>
    public string? SimulationStateDirectory { get; set; }

    /// <summary>Prefix of the consumer labels that gpioinfo shows for our lines.</summary>
    public string Consumer { get; set; } = "edgegate";

    /// <summary>The line whose active level energises the lock relay (unlocks). Required.</summary>
    public int? RelayLine { get; set; }

    /// <summary>True for relay boards that switch on a low input (most opto-isolated modules).</summary>
    public bool RelayActiveLow { get; set; }

    /// <summary>How long one grant keeps the relay energised.</summary>
    public TimeSpan PulseLength { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>The door contact (reed switch) line; null when the door has none.</summary>
    public int? ContactLine { get; set; }

    public bool ContactActiveLow { get; set; }

    /// <summary>Whether an active contact line means the door is open (true) or closed (false).</summary>
    public bool ContactOpenWhenActive { get; set; } = true;

    public GpioBias ContactBias { get; set; } = GpioBias.PullUp;

    public TimeSpan ContactDebounce { get; set; } = TimeSpan.FromMilliseconds(20);

    /// <summary>An open door is reported as held_open (once per opening) after this long.</summary>
    public TimeSpan HeldOpenLimit { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// After the relay is released, an opening within this time still counts as the granted one (the person was already
    /// pulling the handle); later, an opening with the relay released is forced_open.
    /// </summary>
    public TimeSpan RelockGrace { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>The request-to-exit button line; null when there is none.</summary>
    public int? ExitButtonLine { get; set; }

    /// <summary>True for the usual push button to ground with a pull-up.</summary>
    public bool ExitButtonActiveLow { get; set; } = true;

    public GpioBias ExitButtonBias { get; set; } = GpioBias.PullUp;

    public TimeSpan ExitButtonDebounce { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Whether a press energises the relay (false: only report exit_button, e.g. when the button is wired to the lock).</summary>
    public bool ExitButtonOpensDoor { get; set; } = true;

    /// <summary>Every problem, each naming its configuration key; empty when the options are usable.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        void Error(string property, string message) => errors.Add($"{SectionName}:{property} {message}");

        if (!Simulated && string.IsNullOrWhiteSpace(Chip))
            Error(nameof(Chip), "is required: a chip name (gpiochip0), device path (/dev/gpiochip0) or label (pinctrl-rp1)");
        if (Simulated && !string.IsNullOrWhiteSpace(Chip) && Chip.TrimEnd('/').Split('/')[^1] is "" or "." or "..")
            Error(nameof(Chip), $"'{Chip}' cannot name a simulated chip");
        if (!Simulated && SimulationStateDirectory is not null)
            Error(nameof(SimulationStateDirectory), $"is set but {SectionName}:{nameof(Simulated)} is false");
        if (string.IsNullOrWhiteSpace(Consumer))
            Error(nameof(Consumer), "is required");
        else if (Encoding.UTF8.GetByteCount(Consumer) > MaxConsumerBytes)
            Error(nameof(Consumer), $"'{Consumer}' is longer than {MaxConsumerBytes} bytes");

        if (RelayLine is null)
            Error(nameof(RelayLine), "is required: the GPIO line offset that energises the lock relay");
        else if (RelayLine < 0)
            Error(nameof(RelayLine), $"must be a line offset (0 or more), not {RelayLine}");
        if (PulseLength <= TimeSpan.Zero || PulseLength > TimeSpan.FromMinutes(10))
            Error(nameof(PulseLength), $"must be more than 0 and at most 10 minutes, not {PulseLength}");

        if (ContactLine is { } contact)
        {
            if (contact < 0) Error(nameof(ContactLine), $"must be a line offset (0 or more), not {contact}");
            if (contact == RelayLine) Error(nameof(ContactLine), $"is the same line as {SectionName}:{nameof(RelayLine)} ({contact})");
            if (!Enum.IsDefined(ContactBias)) Error(nameof(ContactBias), $"'{ContactBias}' is not one of {string.Join(", ", Enum.GetNames<GpioBias>())}");
            CheckDebounce(nameof(ContactDebounce), ContactDebounce);
            if (HeldOpenLimit <= TimeSpan.Zero) Error(nameof(HeldOpenLimit), $"must be more than 0, not {HeldOpenLimit}");
            if (RelockGrace < TimeSpan.Zero || RelockGrace > TimeSpan.FromMinutes(1))
                Error(nameof(RelockGrace), $"must be between 0 and 1 minute, not {RelockGrace}");
        }

        if (ExitButtonLine is { } button)
        {
            if (button < 0) Error(nameof(ExitButtonLine), $"must be a line offset (0 or more), not {button}");
            if (button == RelayLine) Error(nameof(ExitButtonLine), $"is the same line as {SectionName}:{nameof(RelayLine)} ({button})");
            if (button == ContactLine) Error(nameof(ExitButtonLine), $"is the same line as {SectionName}:{nameof(ContactLine)} ({button})");
            if (!Enum.IsDefined(ExitButtonBias)) Error(nameof(ExitButtonBias), $"'{ExitButtonBias}' is not one of {string.Join(", ", Enum.GetNames<GpioBias>())}");
            CheckDebounce(nameof(ExitButtonDebounce), ExitButtonDebounce);
        }
        return errors;

        void CheckDebounce(string property, TimeSpan value)
        {
            if (value < TimeSpan.Zero || value > TimeSpan.FromSeconds(1))
                Error(property, $"must be between 0 and 1 second, not {value}");
        }
    }

    /// <summary>The name the simulated chip goes by (and its directory under the state directory): the last part of <see cref="Chip"/>.</summary>
    internal string SimulatedChipName => string.IsNullOrWhiteSpace(Chip) ? "gpiochip0" : Chip.TrimEnd('/').Split('/')[^1];

    internal DoorOptions Clone() => (DoorOptions)MemberwiseClone();
}
