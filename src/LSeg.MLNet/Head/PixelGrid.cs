using System.Numerics;
using System.Runtime.InteropServices;

namespace LSeg.MLNet.Head;

/// <summary>
/// An encoded image's dense pixel embeddings in the form the word-pixel correlation reads fastest: one unit-length
/// C-vector per grid pixel, pixel-major ([h·w, C]), plus each pixel's original L2 norm. Normalising once at encode
/// time means a label change only computes dot products.
/// </summary>
internal sealed class PixelEmbeddingGrid
{
    /// <summary>The eps of the L2 normalisation, as torch's <c>F.normalize</c> (and the exported head graph).</summary>
    internal const float NormEps = 1e-12f;

    private const int PixelBlock = 64;

    private PixelEmbeddingGrid(float[] unitVectors, float[] norms, int channels, int height, int width)
    {
        UnitVectors = unitVectors;
        Norms = norms;
        Channels = channels;
        Height = height;
        Width = width;
    }

    /// <summary>Row-major [Height·Width, Channels] unit vectors (x / max(‖x‖, eps)).</summary>
    public float[] UnitVectors { get; }

    /// <summary>‖x‖ of every grid pixel, row-major [Height, Width].</summary>
    public float[] Norms { get; }

    public int Channels { get; }

    public int Height { get; }

    public int Width { get; }

    public int PixelCount => Height * Width;

    /// <summary>Normalises and transposes planar [C, h, w] embeddings (the image encoder's output).</summary>
    public static PixelEmbeddingGrid FromPlanar(ReadOnlySpan<float> planar, int channels, int height, int width)
    {
        int pixels = height * width;
        if (planar.Length != (long)channels * pixels)
            throw new ArgumentException($"Expected {channels}×{height}×{width} embeddings, got {planar.Length} values.", nameof(planar));
        var squares = new float[pixels];
        for (int c = 0; c < channels; c++)
        {
            var row = planar.Slice(c * pixels, pixels);
            AddSquares(row, squares);
        }
        var norms = new float[pixels];
        var inverse = new float[pixels];
        for (int p = 0; p < pixels; p++)
        {
            norms[p] = MathF.Sqrt(squares[p]);
            inverse[p] = 1f / MathF.Max(norms[p], NormEps);
        }

        // Blocked transpose with scaling: each block of pixels reads a short contiguous run of every channel plane
        // and writes whole pixel rows, so both sides stay in cache.
        var unit = new float[(long)channels * pixels];
        for (int p0 = 0; p0 < pixels; p0 += PixelBlock)
        {
            int p1 = Math.Min(pixels, p0 + PixelBlock);
            for (int c = 0; c < channels; c++)
            {
                var plane = planar.Slice(c * pixels, pixels);
                for (int p = p0; p < p1; p++)
                    unit[p * channels + c] = plane[p] * inverse[p];
            }
        }
        return new PixelEmbeddingGrid(unit, norms, channels, height, width);
    }

    /// <summary>The embeddings back in the encoder's planar [C, h, w] layout (x = unit · ‖x‖, equal to the encoder output within float rounding).</summary>
    public float[] ToPlanar()
    {
        int pixels = PixelCount;
        var planar = new float[(long)Channels * pixels];
        for (int p = 0; p < pixels; p++)
        {
            var unit = UnitVectors.AsSpan(p * Channels, Channels);
            float norm = Norms[p];
            for (int c = 0; c < Channels; c++)
                planar[(long)c * pixels + p] = unit[c] * norm;
        }
        return planar;
    }

    private static void AddSquares(ReadOnlySpan<float> values, Span<float> squares)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var source = MemoryMarshal.Cast<float, Vector<float>>(values);
            var target = MemoryMarshal.Cast<float, Vector<float>>(squares);
            for (int v = 0; v < source.Length; v++)
                target[v] += source[v] * source[v];
            i = source.Length * Vector<float>.Count;
        }
        for (; i < values.Length; i++)
            squares[i] += values[i] * values[i];
    }
}
