using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Vec.Internals;

namespace Vec.Cli.Output;

/// <summary><c>--json FILE</c>: the printed figures as JSON, written atomically (never a half-written file).</summary>
internal static class CliJson
{
    /// <summary>Serializer settings of every <c>--json</c> file: camelCase, indented, NaN and infinities as strings.</summary>
    public static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter() },
    };

    /// <summary>Writes <paramref name="value"/> to <paramref name="path"/> atomically and says so on the output.</summary>
    public static void Write<T>(CliContext context, string path, T value)
    {
        string text = JsonSerializer.Serialize(value, Options);
        AtomicFile.Write(path, s => s.Write(Encoding.UTF8.GetBytes(text + "\n")), "--json");
        context.Output.WriteLine($"wrote {Path.GetFullPath(path)}");
    }
}
