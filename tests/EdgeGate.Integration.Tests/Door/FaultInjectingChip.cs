using EdgeGate.Door.Gpio;

namespace EdgeGate.Integration.Tests.Door;

/// <summary>
/// A simulated chip whose lines can be made to fail the way a real one does when the device goes away
/// (ENODEV from every call), to check what the door does when its hardware breaks under it.
/// </summary>
public sealed class FaultInjectingChip(SimulatedGpioChip inner) : GpioChip
{
    private volatile bool _inputsBroken;
    private volatile bool _outputWritesBroken;

    public override string Name => inner.Name;
    public override string Label => inner.Label;
    public override int LineCount => inner.LineCount;

    public void BreakInputs() => _inputsBroken = true;

    public void BreakOutputWrites() => _outputWritesBroken = true;

    private static IOException Gone(string operation, int offset) =>
        new GpioIOException($"{operation} on line {offset} failed: No such device (errno 19)", 19, operation, "fault-injecting", offset);

    protected override GpioLineInfo GetLineInfoCore(int offset) => inner.GetLineInfo(offset);

    protected override IGpioOutputLine RequestOutputCore(int offset, string consumer, bool activeLow, bool initialActive) =>
        new Output(this, inner.RequestOutput(offset, consumer, activeLow, initialActive));

    protected override IGpioInputLine RequestInputCore(int offset, string consumer, bool activeLow, GpioBias bias, GpioEdges edges, TimeSpan debounce) =>
        new Input(this, inner.RequestInput(offset, consumer, activeLow, bias, edges, debounce));

    private sealed class Output(FaultInjectingChip chip, IGpioOutputLine line) : IGpioOutputLine
    {
        public int Offset => line.Offset;
        public bool IsActive => line.IsActive;

        public void SetActive(bool active)
        {
            if (chip._outputWritesBroken) throw Gone("SET_VALUES", Offset);
            line.SetActive(active);
        }

        public void Dispose() => line.Dispose();
    }

    private sealed class Input(FaultInjectingChip chip, IGpioInputLine line) : IGpioInputLine
    {
        public int Offset => line.Offset;

        public bool ReadActive() => chip._inputsBroken ? throw Gone("GET_VALUES", Offset) : line.ReadActive();

        public bool TryReadEdge(TimeSpan timeout, out GpioEdgeEvent edgeEvent)
        {
            if (chip._inputsBroken) throw Gone("poll", Offset);
            return line.TryReadEdge(timeout, out edgeEvent);
        }

        public void Dispose() => line.Dispose();
    }
}
