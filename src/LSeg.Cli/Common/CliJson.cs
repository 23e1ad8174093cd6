using System.Text.Encodings.Web;
using System.Text.Json;

namespace LSeg.Cli.Common;

/// <summary>How every <c>--json</c> output of the tool is written, so that they agree with each other and with a batch job's <c>index.jsonl</c>.</summary>
internal static class CliJson
{
    /// <summary>
    /// Indented, with text as written ("café", "\"dog\"" rather than "caf\u00E9", "\u0022dog\u0022"): the output is
    /// data read by programs and people, never embedded in HTML, where the default encoder's escaping would matter. The
    /// same encoder as <c>index.jsonl</c>'s.
    /// </summary>
    public static JsonSerializerOptions Indented { get; } = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The device a model ran on, as every JSON output spells it (and a batch job's <c>devicePerSilo</c>): <c>gpu</c> or <c>cpu</c>.</summary>
    public static string Device(bool usesGpu) => usesGpu ? "gpu" : "cpu";
}
