namespace LSeg.MLNet.Imaging;

/// <summary>
/// The one resampling rule of the project, shared by training crops, evaluation and inference so that all three
/// see the same pixels for the same photo: images are resized bilinearly with half-pixel centres (torch's
/// <c>align_corners=False</c>, clamped at the borders), label maps and results by nearest neighbour on pixel centres.
/// </summary>
internal static class Resampling
{
    /// <summary>For each destination index: the lower and upper source index and the weight of the upper one.</summary>
    /// <param name="Lower">Lower source index per destination index.</param>
    /// <param name="Upper">Upper source index per destination index (equal to the lower one at the border).</param>
    /// <param name="Weight">Weight of the upper source index, in [0, 1).</param>
    internal readonly record struct BilinearTaps(int[] Lower, int[] Upper, float[] Weight);

    /// <summary>The bilinear taps from a <paramref name="source"/>-long axis to a <paramref name="destination"/>-long one.</summary>
    public static BilinearTaps Bilinear(int source, int destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(source);
        ArgumentOutOfRangeException.ThrowIfNegative(destination);
        var lower = new int[destination];
        var upper = new int[destination];
        var weight = new float[destination];
        double scale = (double)source / destination;
        for (int i = 0; i < destination; i++)
        {
            double position = Math.Clamp((i + 0.5) * scale - 0.5, 0, source - 1);
            int l = (int)position;
            lower[i] = l;
            upper[i] = Math.Min(l + 1, source - 1);
            weight[i] = (float)(position - l);
        }
        return new BilinearTaps(lower, upper, weight);
    }

    /// <summary>For each destination index, the source index whose pixel covers its centre.</summary>
    public static int[] Nearest(int source, int destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(source);
        ArgumentOutOfRangeException.ThrowIfNegative(destination);
        var indices = new int[destination];
        for (int i = 0; i < destination; i++)
            indices[i] = Math.Min(source - 1, (int)((i + 0.5) * source / destination));
        return indices;
    }

    /// <summary>The bilinear blend of four neighbours: first along x, then along y (one formula for every caller).</summary>
    public static float Blend(float topLeft, float topRight, float bottomLeft, float bottomRight, float fx, float fy)
    {
        float top = topLeft + (topRight - topLeft) * fx;
        float bottom = bottomLeft + (bottomRight - bottomLeft) * fx;
        return top + (bottom - top) * fy;
    }

    /// <summary>
    /// Resizes interleaved 8-bit pixels (<paramref name="bytesPerPixel"/> per pixel, rows packed) to planar float RGB
    /// [3, <paramref name="height"/>, <paramref name="width"/>] in 0–255, reading the channels at
    /// <paramref name="red"/>, <paramref name="green"/> and <paramref name="blue"/> within a pixel.
    /// </summary>
    public static void ToPlanarRgb(ReadOnlySpan<byte> pixels, int sourceWidth, int sourceHeight, int bytesPerPixel, int red, int green, int blue,
        int width, int height, Span<float> output)
    {
        if (pixels.Length < (long)sourceWidth * sourceHeight * bytesPerPixel)
            throw new ArgumentException($"A {sourceWidth}×{sourceHeight} image needs {(long)sourceWidth * sourceHeight * bytesPerPixel} bytes; got {pixels.Length}.", nameof(pixels));
        if (output.Length < 3L * width * height)
            throw new ArgumentException($"The output holds {output.Length} values; 3×{width}×{height} are needed.", nameof(output));
        var columns = Bilinear(sourceWidth, width);
        var rows = Bilinear(sourceHeight, height);
        int stride = sourceWidth * bytesPerPixel, plane = width * height;
        for (int y = 0; y < height; y++)
        {
            int rowA = rows.Lower[y] * stride, rowB = rows.Upper[y] * stride;
            float fy = rows.Weight[y];
            for (int x = 0; x < width; x++)
            {
                int a = columns.Lower[x] * bytesPerPixel, b = columns.Upper[x] * bytesPerPixel;
                float fx = columns.Weight[x];
                int o = y * width + x;
                output[o] = Sample(pixels, rowA, rowB, a, b, red, fx, fy);
                output[plane + o] = Sample(pixels, rowA, rowB, a, b, green, fx, fy);
                output[2 * plane + o] = Sample(pixels, rowA, rowB, a, b, blue, fx, fy);
            }
        }
    }

    private static float Sample(ReadOnlySpan<byte> p, int rowA, int rowB, int a, int b, int channel, float fx, float fy) =>
        Blend(p[rowA + a + channel], p[rowA + b + channel], p[rowB + a + channel], p[rowB + b + channel], fx, fy);
}
