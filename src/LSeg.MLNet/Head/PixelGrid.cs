using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace LSeg.MLNet.Head;

/// <summary>
/// What a label change reads of an encoded image, in the layout the word–pixel correlation reads fastest: one
/// D-vector per grid pixel, pixel-major ([h·w, D]), and each pixel's inverse embedding norm 1 / max(‖e‖, eps).
/// The vectors are the pixel embeddings themselves (D = C), or, when the package has a pixel projection, the decoder
/// features before it (D = F, fewer values; the projection is folded into the labels instead).
/// </summary>
internal sealed class PixelGrid
{
    /// <summary>The eps of the L2 normalisation, as torch's <c>F.normalize</c> (and the exported head graph).</summary>
    internal const float NormEps = 1e-12f;

    private const int PixelBlock = 64;

    private PixelGrid(float[] vectors, float[] inverseNorms, int channels, int height, int width)
    {
        Vectors = vectors;
        InverseNorms = inverseNorms;
        Channels = channels;
        Height = height;
        Width = width;
    }

    /// <summary>Row-major [Height·Width, Channels]: the embeddings or the pre-projection features of each pixel.</summary>
    public float[] Vectors { get; }

    /// <summary>1 / max(‖e‖, eps) of each pixel's embedding e, row-major [Height, Width].</summary>
    public float[] InverseNorms { get; }

    /// <summary>D, the length of each vector.</summary>
    public int Channels { get; }

    public int Height { get; }

    public int Width { get; }

    public int PixelCount => Height * Width;

    /// <summary>A grid of the embeddings themselves, from the image encoder's planar [C, h, w] output.</summary>
    public static PixelGrid FromEmbeddings(ReadOnlySpan<float> planarEmbeddings, int channels, int height, int width) =>
        new(PixelMajor(planarEmbeddings, channels, height, width), InverseNormsOf(planarEmbeddings, channels, height * width), channels, height, width);

    /// <summary>
    /// A grid of the features before the pixel projection (planar [F, h, w]), with the norms of the embeddings the
    /// projection makes of them (planar [C, h, w], the image encoder's other output).
    /// </summary>
    public static PixelGrid FromFeatures(ReadOnlySpan<float> planarFeatures, int featureSize, ReadOnlySpan<float> planarEmbeddings, int embeddingSize, int height, int width) =>
        new(PixelMajor(planarFeatures, featureSize, height, width), InverseNormsOf(planarEmbeddings, embeddingSize, height * width), featureSize, height, width);

    /// <summary>The vectors back in the planar [D, h, w] layout (exactly the values they were built from).</summary>
    public float[] ToPlanar()
    {
        int pixels = PixelCount;
        var planar = new float[(long)Channels * pixels];
        for (int p = 0; p < pixels; p++)
        {
            var vector = Vectors.AsSpan(p * Channels, Channels);
            for (int c = 0; c < Channels; c++)
                planar[(long)c * pixels + p] = vector[c];
        }
        return planar;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float[] PixelMajor(ReadOnlySpan<float> planar, int channels, int height, int width)
    {
        int pixels = height * width;
        if (planar.Length != (long)channels * pixels)
            throw new ArgumentException($"Expected {channels}×{height}×{width} values, got {planar.Length}.", nameof(planar));
        // Blocked transpose: each block of pixels reads a short contiguous run of every channel plane and writes whole
        // pixel rows, so both sides stay in cache.
        var vectors = new float[(long)channels * pixels];
        for (int p0 = 0; p0 < pixels; p0 += PixelBlock)
        {
            int p1 = Math.Min(pixels, p0 + PixelBlock);
            for (int c = 0; c < channels; c++)
            {
                var plane = planar.Slice(c * pixels, pixels);
                for (int p = p0; p < p1; p++)
                    vectors[p * channels + c] = plane[p];
            }
        }
        return vectors;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float[] InverseNormsOf(ReadOnlySpan<float> planar, int channels, int pixels)
    {
        if (planar.Length != (long)channels * pixels)
            throw new ArgumentException($"Expected {channels}×{pixels} embedding values, got {planar.Length}.", nameof(planar));
        var squares = new float[pixels];
        for (int c = 0; c < channels; c++)
            AddSquares(planar.Slice(c * pixels, pixels), squares);
        for (int p = 0; p < pixels; p++)
            squares[p] = 1f / MathF.Max(MathF.Sqrt(squares[p]), NormEps);
        return squares;
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
