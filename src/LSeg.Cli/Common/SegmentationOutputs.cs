using System.Text.Json.Nodes;
using LSeg.Cli.Rendering;
using LSeg.MLNet;
using LSeg.MLNet.IO;
using LSeg.MLNet.Rendering;
using Microsoft.ML.Data;

namespace LSeg.Cli.Common;

/// <summary>The files written for one segmented image and the per-label pixel shares.</summary>
internal sealed record SegmentationOutputs(string? MaskPath, string? OverlayPath, IReadOnlyList<LabelShare> Shares)
{
    /// <summary>
    /// Writes <c>NAME.mask.png</c> (8-bit label indices) and <c>NAME.overlay.png</c> into <paramref name="directory"/>,
    /// both or neither, and computes each label's share of the pixels.
    /// </summary>
    /// <exception cref="CommandFailure">The files cannot be written (a full disk, a folder in the way): the message names them.</exception>
    public static SegmentationOutputs Write(string directory, string name, MLImage photo, SegmentationResult result)
    {
        if (photo.Width != result.Width || photo.Height != result.Height)
            throw new InvalidOperationException($"The mask is {result.Width}×{result.Height} but the decoded photo is {photo.Width}×{photo.Height}.");
        string maskPath = Path.Combine(directory, name + Suffixes[0]);
        string overlayPath = Path.Combine(directory, name + Suffixes[1]);
        byte[] overlay = SegmentationOverlay.RenderPng(photo, result);
        try
        {
            AtomicFile.WriteAll(
            [
                (maskPath, temporary => MaskPng.Write(temporary, result.Width, result.Height, result.Mask)),
                (overlayPath, temporary => File.WriteAllBytes(temporary, overlay)),
            ]);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The runtime's text ("No space left on device : '/out/.dog.mask.png.1f….tmp'") names a hidden temporary file.
            throw new CommandFailure($"Cannot write '{maskPath}' and '{overlayPath}': {Reason(e)}.");
        }
        return new SegmentationOutputs(maskPath, overlayPath, SharesOf(result));
    }

    /// <summary>
    /// Refuses a folder (or a link to one) where <c>NAME.mask.png</c> or <c>NAME.overlay.png</c> would be written in
    /// <paramref name="directory"/>: the file could not replace it. Any other existing entry is replaced by the rename.
    /// </summary>
    /// <param name="directory">The output folder.</param>
    /// <param name="name">The outputs' base name.</param>
    /// <param name="source">What the outputs are of (an image path), for the message.</param>
    /// <exception cref="CommandFailure">A folder is in the way.</exception>
    public static void RequireFileTargets(string directory, string name, string source)
    {
        foreach (string suffix in Suffixes)
        {
            string target = Path.Combine(directory, name + suffix);
            if (Directory.Exists(target))
                throw new CommandFailure($"'{target}', where the {(suffix == MaskSuffix ? "mask" : "overlay")} of '{source}' would be written, is a folder: remove or rename it, or give --out another folder.");
        }
    }

    private const string MaskSuffix = ".mask.png";

    /// <summary>The files written per image, after its base name.</summary>
    public static IReadOnlyList<string> Suffixes { get; } = [MaskSuffix, ".overlay.png"];

    /// <summary>An I/O failure's reason without the path the runtime appends (" : '/path'"), which the caller names better.</summary>
    private static string Reason(Exception e) =>
        System.Text.RegularExpressions.Regex.Replace(e.Message.Trim(), @"\s*:\s*'[^']*'\.?$", "").TrimEnd('.') is { Length: > 0 } reason ? reason : e.GetType().Name;

    /// <summary>Each label's pixel count and percentage, in label order.</summary>
    public static IReadOnlyList<LabelShare> SharesOf(SegmentationResult result)
    {
        long total = (long)result.Width * result.Height;
        return result.Labels.Select((label, i) => new LabelShare(label, i, result.PixelCounts[i], total == 0 ? 0 : 100.0 * result.PixelCounts[i] / total)).ToList();
    }

    /// <summary>Writes the share table, largest first, indented.</summary>
    public static void PrintShares(TextWriter output, IReadOnlyList<LabelShare> shares)
    {
        var printable = shares.ToDictionary(s => s.Index, s => TerminalText.Escape(s.Label));
        int width = Math.Max(5, printable.Values.Max(l => l.Length));
        foreach (var share in shares.OrderByDescending(s => s.Pixels).ThenBy(s => s.Index))
            output.WriteLine($"  {printable[share.Index].PadRight(width)}  {share.Percent,6:0.0}%  {share.Pixels,10:N0} px");
    }

    /// <summary>The shares as a JSON array of <c>{label, index, pixels, share}</c>.</summary>
    public static JsonArray SharesJson(IReadOnlyList<LabelShare> shares) => new(shares.Select(s => (JsonNode)new JsonObject
    {
        ["label"] = s.Label, ["index"] = s.Index, ["pixels"] = s.Pixels, ["share"] = Math.Round(s.Percent, 3),
    }).ToArray());
}

/// <summary>One label's pixel count and percentage in a mask.</summary>
internal sealed record LabelShare(string Label, int Index, long Pixels, double Percent);
