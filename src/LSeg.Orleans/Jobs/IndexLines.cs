using System.Text.Json.Nodes;
using LSeg.Orleans.Workers;

namespace LSeg.Orleans.Jobs;

/// <summary>
/// The lines of <c>index.jsonl</c>, one JSON object per image: <c>image</c> (full path), <c>mask</c> (relative to the
/// output folder; null when failed), <c>status</c> (<c>ok</c> or <c>failed</c>), <c>width</c>, <c>height</c>,
/// <c>labels</c>, <c>shares</c> (per label: <c>label</c>, <c>index</c>, <c>pixels</c>, <c>share</c> in percent, as
/// <c>lseg segment --json</c> prints them), <c>error</c> (failed only), <c>silo</c> and <c>seconds</c>.
/// </summary>
internal static class IndexLines
{
    /// <summary>The status of an image whose mask was written.</summary>
    public const string Succeeded = "ok";

    /// <summary>The status of an image that could not be segmented.</summary>
    public const string Failed = "failed";

    /// <summary>The line of an image a silo finished (successfully or not).</summary>
    public static string For(ImageWorkItem item, ImageOutcome outcome, IReadOnlyList<string> labels, string silo)
    {
        var line = new JsonObject
        {
            ["image"] = item.ImagePath,
            ["mask"] = outcome.Succeeded ? item.MaskPath : null,
            ["status"] = outcome.Succeeded ? Succeeded : Failed,
        };
        if (outcome.Succeeded)
        {
            long total = (long)outcome.Width * outcome.Height;
            line["width"] = outcome.Width;
            line["height"] = outcome.Height;
            line["labels"] = LabelArray(labels);
            line["shares"] = new JsonArray(labels.Select((label, i) => (JsonNode)new JsonObject
            {
                ["label"] = label,
                ["index"] = i,
                ["pixels"] = outcome.PixelCounts![i],
                ["share"] = Math.Round(100.0 * outcome.PixelCounts[i] / total, 3),
            }).ToArray());
        }
        else
        {
            line["labels"] = LabelArray(labels);
            line["error"] = outcome.Error;
        }
        line["silo"] = silo;
        line["seconds"] = Math.Round(outcome.Seconds, 4);
        return line.ToJsonString(LineOptions);
    }

    /// <summary>The line of an image given up on because every silo that took it stopped while segmenting it.</summary>
    public static string Lost(ImageWorkItem item, IReadOnlyList<string> labels, int attempts) => new JsonObject
    {
        ["image"] = item.ImagePath,
        ["mask"] = null,
        ["status"] = Failed,
        ["labels"] = LabelArray(labels),
        ["error"] = $"the silo segmenting it stopped {attempts} times (the image may crash the decoder or exhaust the silo's memory); given up.",
        // No silo answered for it: present and null, so that a reader of failed lines finds the keys of the others.
        ["silo"] = null,
        ["seconds"] = null,
    }.ToJsonString(LineOptions);

    // Paths and labels as written ("café", not "caf\u00E9"), so that grep finds them: the index is a data file, never
    // embedded in HTML, where the default encoder's escaping of every non-ASCII character would matter.
    private static readonly System.Text.Json.JsonSerializerOptions LineOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static JsonArray LabelArray(IReadOnlyList<string> labels) => new(labels.Select(l => (JsonNode)JsonValue.Create(l)).ToArray());
}
