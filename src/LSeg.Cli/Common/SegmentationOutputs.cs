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
    public static SegmentationOutputs Write(string directory, string name, MLImage photo, SegmentationResult result)
    {
        if (photo.Width != result.Width || photo.Height != result.Height)
            throw new InvalidOperationException($"The mask is {result.Width}×{result.Height} but the decoded photo is {photo.Width}×{photo.Height}.");
        string maskPath = Path.Combine(directory, name + ".mask.png");
        string overlayPath = Path.Combine(directory, name + ".overlay.png");
        byte[] overlay = SegmentationOverlay.RenderPng(photo, result);
        AtomicFile.WriteAll(
        [
            (maskPath, temporary => MaskPng.Write(temporary, result.Width, result.Height, result.Mask)),
            (overlayPath, temporary => File.WriteAllBytes(temporary, overlay)),
        ]);
        return new SegmentationOutputs(maskPath, overlayPath, SharesOf(result));
    }

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
