using System.Text.Json;
using System.Text.Json.Serialization;

namespace LSeg.Cli.Common;

/// <summary>
/// How <c>bench segment</c>, <c>bench runtime</c> and <c>bench serve</c> print their results with <c>--json</c> (<c>bench
/// export</c> builds its JSON by hand): camelCase names, indented, and a figure that was not
/// measured (a median of no requests, a ratio to it: NaN or infinity in the result) as <c>null</c>, which every JSON
/// reader takes, rather than the string "NaN" in a field that is otherwise a number.
/// </summary>
internal static class BenchmarkJson
{
    /// <summary>The serializer settings.</summary>
    public static JsonSerializerOptions Options { get; } = new()
    {
        WriteIndented = true,
        Encoder = CliJson.Indented.Encoder,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Converters = { new FiniteOrNull() },
    };

    private sealed class FiniteOrNull : JsonConverter<double>
    {
        public override bool HandleNull => true;

        public override double Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            reader.TokenType == JsonTokenType.Null ? double.NaN : reader.GetDouble();

        public override void Write(Utf8JsonWriter writer, double value, JsonSerializerOptions options)
        {
            if (double.IsFinite(value))
                writer.WriteNumberValue(value);
            else
                writer.WriteNullValue();
        }
    }
}
