using LSeg.MLNet;

namespace LSeg.Serving.Api;

/// <summary>
/// The JSON answer of a segmentation (<c>POST /v1/segment</c>, <c>POST /v1/images/{id}/segment</c>).
/// </summary>
/// <param name="Width">Width of the image and the mask, in pixels.</param>
/// <param name="Height">Height of the image and the mask, in pixels.</param>
/// <param name="Labels">The labels, in the order of the mask's pixel values (0 = the first label).</param>
/// <param name="Shares">Each label's share of the pixels, 0 to 1, in the order of <paramref name="Labels"/>.</param>
/// <param name="Mask">The mask as a base64 8-bit greyscale PNG whose pixel values are label indices.</param>
/// <param name="Colours">
/// Each label's overlay colour (<c>#rrggbb</c>), in the order of <paramref name="Labels"/>: the colours
/// <c>lseg segment</c> draws, so that a client (the service's own page) draws the same.
/// </param>
internal sealed record SegmentationResponse(int Width, int Height, IReadOnlyList<string> Labels, double[] Shares, string Mask, IReadOnlyList<string> Colours)
{
    public static SegmentationResponse From(SegmentationResult result)
    {
        double pixels = (double)result.Width * result.Height;
        var shares = result.PixelCounts.Select(count => count / pixels).ToArray();
        var colours = result.Labels.Select((_, i) => LSeg.MLNet.Rendering.LabelPalette.ColorOf(i)).Select(c => $"#{c.R:x2}{c.G:x2}{c.B:x2}").ToArray();
        return new SegmentationResponse(result.Width, result.Height, result.Labels, shares, Convert.ToBase64String(result.ToMaskPng()), colours);
    }
}

/// <summary>The JSON answer of <c>POST /v1/images</c> and <c>GET /v1/images/{id}</c>.</summary>
/// <param name="Id">The id to segment the encoded image with (<c>POST /v1/images/{id}/segment</c>).</param>
/// <param name="Width">Width of the uploaded image, in pixels.</param>
/// <param name="Height">Height of the uploaded image, in pixels.</param>
/// <param name="ExpiresAt">When the encoded image is dropped unless it is used again (each use moves this on).</param>
internal sealed record EncodedImageResponse(string Id, int Width, int Height, DateTimeOffset ExpiresAt);
