using System.Text.Json;
using System.Text.Json.Nodes;
using Spectre.Console;

namespace EdgeGate.Cli;

/// <summary>A failure the CLI reports with a stable code (in JSON) and a human message, then exits non-zero.</summary>
public sealed class CliError(string code, string message) : Exception(message)
{
    public string Code { get; } = code;
}

/// <summary>Writes a verb's result as one JSON object (--json) or as text for a person.</summary>
public static class CliOutput
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = false };

    public static void WriteJson(JsonObject obj) => Console.Out.WriteLine(obj.ToJsonString(Json));

    public static int Fail(bool json, string code, string message)
    {
        if (json) WriteJson(new JsonObject { ["error"] = new JsonObject { ["code"] = code, ["message"] = message } });
        else AnsiConsole.Console.MarkupLine($"[red]error[/] ({Markup.Escape(code)}): {Markup.Escape(message)}");
        return 1;
    }

    public static double Round(double v, int digits = 6) => Math.Round(v, digits);
}
