using Microsoft.ML.Data;

namespace LSeg.MLNet.Runtime;

/// <summary>
/// Turns an <see cref="MLImage"/> into the image encoder's input: planar RGB floats in 0–255 (what ML.NET's
/// ExtractPixels produces), bilinearly resized with half-pixel centres (as torch's <c>align_corners=False</c>).
/// </summary>
internal static class ImagePixels
{
    /// <summary>Planar [3, <paramref name="height"/>, <paramref name="width"/>] RGB 0–255 floats of the resized image.</summary>
    public static float[] ToPlanarRgb(MLImage image, int width, int height)
    {
        var output = new float[3 * width * height];
        ToPlanarRgb(image, width, height, output);
        return output;
    }

    /// <summary>Writes the planar [3, <paramref name="height"/>, <paramref name="width"/>] pixels into the start of <paramref name="output"/>.</summary>
    public static void ToPlanarRgb(MLImage image, int width, int height, Span<float> output)
    {
        var (pixelArray, bgra) = ImagePixelAccess.Read(image);
        ReadOnlySpan<byte> pixels = pixelArray;
        int sourceWidth = image.Width, sourceHeight = image.Height;
        const int bytesPerPixel = 4;
        int red = bgra ? 2 : 0, blue = bgra ? 0 : 2;
        int stride = sourceWidth * bytesPerPixel;

        var (x0, x1, wx) = Taps(sourceWidth, width);
        var (y0, y1, wy) = Taps(sourceHeight, height);
        int plane = width * height;
        for (int y = 0; y < height; y++)
        {
            int rowA = y0[y] * stride, rowB = y1[y] * stride;
            float fy = wy[y];
            for (int x = 0; x < width; x++)
            {
                int a = x0[x] * bytesPerPixel, b = x1[x] * bytesPerPixel;
                float fx = wx[x];
                int o = y * width + x;
                output[o] = Blend(pixels, rowA, rowB, a, b, red, fx, fy);
                output[plane + o] = Blend(pixels, rowA, rowB, a, b, 1, fx, fy);
                output[2 * plane + o] = Blend(pixels, rowA, rowB, a, b, blue, fx, fy);
            }
        }
    }

    private static float Blend(ReadOnlySpan<byte> p, int rowA, int rowB, int a, int b, int channel, float fx, float fy)
    {
        float top = p[rowA + a + channel] + (p[rowA + b + channel] - p[rowA + a + channel]) * fx;
        float bottom = p[rowB + a + channel] + (p[rowB + b + channel] - p[rowB + a + channel]) * fx;
        return top + (bottom - top) * fy;
    }

    // Source taps and weights for each destination index (half-pixel centres, clamped at the borders).
    private static (int[] Lower, int[] Upper, float[] Weight) Taps(int source, int destination)
    {
        var lower = new int[destination];
        var upper = new int[destination];
        var weight = new float[destination];
        double scale = (double)source / destination;
        for (int i = 0; i < destination; i++)
        {
            double position = Math.Clamp((i + 0.5) * scale - 0.5, 0, source - 1);
            int l = (int)Math.Floor(position);
            lower[i] = l;
            upper[i] = Math.Min(l + 1, source - 1);
            weight[i] = (float)(position - l);
        }
        return (lower, upper, weight);
    }
}
