using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Google.Protobuf;
using OnnxProto = global::Onnx;

namespace EdgeGate.ModelPrep;

/// <summary>Reading, checking and writing ONNX models through the protobuf classes generated from onnx.proto.</summary>
internal static class OnnxGraphs
{
    public const int FloatType = (int)OnnxProto.TensorProto.Types.DataType.Float;

    /// <summary>Parses an ONNX model file.</summary>
    /// <exception cref="FileNotFoundException">no such file.</exception>
    /// <exception cref="InvalidDataException">the file is not an ONNX model with a graph.</exception>
    public static OnnxProto.ModelProto Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"model not found: {path}", path);
        return Parse(File.ReadAllBytes(path), path);
    }

    public static OnnxProto.ModelProto Parse(byte[] bytes, string what)
    {
        OnnxProto.ModelProto model;
        try { model = OnnxProto.ModelProto.Parser.ParseFrom(bytes); }
        catch (InvalidProtocolBufferException e) { throw new InvalidDataException($"{what} is not an ONNX model: {e.Message}", e); }
        // Protobuf accepts many byte strings (unknown fields are kept), so also require what every ONNX model has.
        if (model.IrVersion <= 0 || model.Graph is null || model.Graph.Node.Count == 0 || model.OpsetImport.Count == 0)
            throw new InvalidDataException($"{what} is not an ONNX model: no IR version, opset or graph nodes");
        return model;
    }

    /// <summary>The opset of the default (ai.onnx) domain.</summary>
    public static long DefaultOpset(OnnxProto.ModelProto model) =>
        model.OpsetImport.FirstOrDefault(o => o.Domain is "" or "ai.onnx")?.Version
        ?? throw new InvalidDataException("the model imports no ai.onnx opset");

    public static string Sha256(string path)
    {
        using var s = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(s));
    }

    /// <summary>The values of a float tensor, from float_data or little-endian raw_data.</summary>
    public static float[] Floats(OnnxProto.TensorProto t)
    {
        if (t.DataType != FloatType) throw new InvalidDataException($"tensor '{t.Name}' is not float (data type {t.DataType})");
        if (t.HasDataLocation && t.DataLocation == OnnxProto.TensorProto.Types.DataLocation.External)
            throw new InvalidDataException($"tensor '{t.Name}' is stored outside the model file; not supported");
        var count = checked((int)t.Dims.Aggregate(1L, (a, b) => a * b));
        float[] values;
        if (!t.RawData.IsEmpty)
        {
            if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("raw ONNX tensors are little-endian");
            values = MemoryMarshal.Cast<byte, float>(t.RawData.Span).ToArray();
        }
        else values = t.FloatData.ToArray();
        if (values.Length != count)
            throw new InvalidDataException($"tensor '{t.Name}' has {values.Length} values for shape [{string.Join(',', t.Dims)}]");
        return values;
    }

    public static OnnxProto.TensorProto FloatTensor(string name, long[] dims, float[] values)
    {
        var t = new OnnxProto.TensorProto { Name = name, DataType = FloatType, RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan())) };
        t.Dims.AddRange(dims);
        return t;
    }

    public static OnnxProto.AttributeProto Ints(string name, params long[] values)
    {
        var a = new OnnxProto.AttributeProto { Name = name, Type = OnnxProto.AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }

    public static OnnxProto.AttributeProto Int(string name, long value) =>
        new() { Name = name, Type = OnnxProto.AttributeProto.Types.AttributeType.Int, I = value };

    public static int CountOps(OnnxProto.ModelProto model, string opType) => model.Graph.Node.Count(n => n.OpType == opType);

    /// <summary>Writes atomically: a partial file never carries the final name.</summary>
    public static void Write(OnnxProto.ModelProto model, string path)
    {
        var tmp = path + ".part";
        File.WriteAllBytes(tmp, model.ToByteArray());
        File.Move(tmp, path, overwrite: true);
    }
}
