using EdgeGate.Core.Diagnostics;
using EdgeGate.Daemon;
using EdgeGate.Door;
using EdgeGate.Door.Gpio;

namespace EdgeGate.Cli.SelfTest;

/// <summary>
/// The GPIO chip opens and the relay, contact and exit-button lines can be requested as the daemon requests them (the
/// relay already inactive). Lines held by the running daemon (EBUSY with its "edgegate-…" consumer label) are a
/// warning, not a failure: the daemon got them, so the wiring is in use and the door is held locked by it; the self-test
/// does not test them (stop the daemon for that, or ask the daemon with the signed <c>selftest</c> command). A line
/// held by anything else fails: the daemon could not start.
/// </summary>
public sealed class GpioCheck : ISelfTestCheck
{
    public string Name => "gpio";
    public bool IsRequired(SelfTestContext context) => true;

    public static DoorOptions DoorOptionsFor(DaemonOptions o)
    {
        var options = DoorService.ToDoorOptions(o, o.Storage.Path);
        options.Consumer = SelfTestContext.GpioConsumer;
        return options;
    }

    public CheckOutcome Run(SelfTestContext context)
    {
        if (!context.ConfigValid) return CheckOutcome.Skip("the configuration is invalid: the door is not touched");
        var o = context.RequireOptions();
        var door = DoorOptionsFor(o);
        var chip = DoorController.OpenChip(door);
        context.Chip = chip;
        var requested = new List<string>();
        try
        {
            context.Relay = chip.RequestOutput(door.RelayLine!.Value, $"{door.Consumer}-relay", door.RelayActiveLow, initialActive: false);
            requested.Add($"relay {door.RelayLine} (inactive{(door.RelayActiveLow ? ", active-low" : "")})");
            if (door.ContactLine is { } contact)
            {
                context.Contact = chip.RequestInput(contact, $"{door.Consumer}-contact", door.ContactActiveLow, door.ContactBias, debounce: door.ContactDebounce);
                requested.Add($"contact {contact}");
            }
            if (door.ExitButtonLine is { } button)
            {
                context.ExitButton = chip.RequestInput(button, $"{door.Consumer}-exit", door.ExitButtonActiveLow, door.ExitButtonBias, debounce: door.ExitButtonDebounce);
                requested.Add($"exit button {button}");
            }
        }
        catch (GpioLineBusyException e)
        {
            context.ReleaseDoor();
            if (e.Consumer is { } holder && holder.StartsWith(SelfTestContext.DaemonConsumerPrefix, StringComparison.Ordinal)
                && !holder.StartsWith(SelfTestContext.GpioConsumer, StringComparison.Ordinal))
            {
                context.DaemonHoldsDoor = holder;
                return CheckOutcome.Warn($"in use by the running daemon: {e.Chip} line {e.Offset} is held by '{holder}', so the door is held (locked) by it and its lines were not tested here; stop the daemon for a full test, or send it the signed selftest command");
            }
            return CheckOutcome.Fail($"{e.Chip} line {e.Offset} is held by '{e.Consumer ?? "an unknown consumer"}': the daemon could not request it (gpioinfo shows who has it)");
        }
        catch (GpioIOException e)
        {
            context.ReleaseDoor();
            return CheckOutcome.Fail($"{e.Message} (gpiodetect lists the chips; check Door:Chip and the line offsets in hardware/README.md)");
        }
        if (context.Relay.IsActive)
            return CheckOutcome.Fail($"relay line {door.RelayLine} reads active right after being requested inactive");
        return CheckOutcome.Pass($"{chip}: requested {string.Join(", ", requested)}{(door.Simulated ? $"; simulated chip in {door.SimulationStateDirectory}" : "")}");
    }
}

/// <summary>The door contact's level, read through the line the gpio check requested.</summary>
public sealed class DoorContactCheck : ISelfTestCheck
{
    public string Name => "door_contact";
    public bool IsRequired(SelfTestContext context) => context.Options?.Door.ContactLine is not null;

    public CheckOutcome Run(SelfTestContext context)
    {
        var d = context.RequireOptions().Door;
        if (d.ContactLine is not { } line) return CheckOutcome.Skip("no door contact configured (Door:ContactLine)");
        if (context.Contact is not { } contact)
            return context.DaemonHoldsDoor is not null
                ? CheckOutcome.Skip($"line {line} is held by the running daemon")
                : CheckOutcome.Fail($"line {line} was not requested (see the gpio check)");
        var active = contact.ReadActive();
        var open = active == d.ContactOpenWhenActive;
        var text = $"line {line} reads {(active ? "active" : "inactive")}: door {(open ? "OPEN" : "closed")}";
        return open
            ? CheckOutcome.Warn($"{text}; if the door is shut, check the reed switch, its wire (a cut wire reads open) and Door:ContactActiveLow / ContactOpenWhenActive")
            : CheckOutcome.Pass(text);
    }
}

/// <summary>The exit button's level: released unless someone is pressing it.</summary>
public sealed class ExitButtonCheck : ISelfTestCheck
{
    public string Name => "exit_button";
    public bool IsRequired(SelfTestContext context) => context.Options?.Door.ExitButtonLine is not null;

    public CheckOutcome Run(SelfTestContext context)
    {
        var d = context.RequireOptions().Door;
        if (d.ExitButtonLine is not { } line) return CheckOutcome.Skip("no exit button configured (Door:ExitButtonLine)");
        if (context.ExitButton is not { } button)
            return context.DaemonHoldsDoor is not null
                ? CheckOutcome.Skip($"line {line} is held by the running daemon")
                : CheckOutcome.Fail($"line {line} was not requested (see the gpio check)");
        var pressed = button.ReadActive();
        var text = $"line {line} reads {(pressed ? "active: PRESSED" : "inactive: released")}";
        return pressed
            ? CheckOutcome.Warn($"{text}; unless someone is pressing it: a stuck button, or Door:ExitButtonActiveLow does not match the wiring")
            : CheckOutcome.Pass(text);
    }
}

/// <summary>
/// --click-relay: after the operator confirms (or --yes), energises the relay for Door:PulseMs and releases it, reading
/// the line back both times; an operator at the terminal is then asked whether the relay clicked.
/// </summary>
public sealed class RelayClickCheck : ISelfTestCheck
{
    public string Name => "relay_click";
    public bool IsRequired(SelfTestContext context) => context.ClickRelay;

    public CheckOutcome Run(SelfTestContext context)
    {
        if (!context.ClickRelay) return CheckOutcome.Skip("not asked for (--click-relay)");
        var d = context.RequireOptions().Door;
        if (context.Relay is not { } relay)
            return CheckOutcome.Fail(context.DaemonHoldsDoor is not null
                ? $"relay line {d.RelayLine} is held by the running daemon: stop it to click the relay (or send the signed unlock command)"
                : $"relay line {d.RelayLine} was not requested (see the gpio check)");
        if (!context.Confirm($"Energise the lock relay (line {d.RelayLine}) for {d.PulseMs} ms? The door will UNLOCK."))
            return CheckOutcome.Skip("the operator did not confirm (interactive y/N, or --yes)");
        bool readBackActive;
        try
        {
            relay.SetActive(true);
            readBackActive = relay.IsActive;
            Thread.Sleep(d.PulseMs);
        }
        finally
        {
            relay.SetActive(false);
        }
        if (!readBackActive) return CheckOutcome.Fail($"line {d.RelayLine} did not read back active while energised");
        if (relay.IsActive) return CheckOutcome.Fail($"line {d.RelayLine} still reads active after the release");
        var text = $"relay line {d.RelayLine} energised for {d.PulseMs} ms and released (read back active, then inactive)";
        if (!context.Interactive) return CheckOutcome.Pass($"{text}; the click was not confirmed by ear (--yes)");
        return context.Confirm("Did the relay click (and the lock release)?")
            ? CheckOutcome.Pass($"{text}; the operator heard it")
            : CheckOutcome.Fail($"{text}, but the operator heard nothing: check the relay board's supply, its input level (Door:RelayActiveLow) and the wiring (hardware/README.md)");
    }
}
