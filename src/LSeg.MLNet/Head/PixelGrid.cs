using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace LSeg.MLNet.Head;

/// <summary>
/// What a label change reads of an encoded image, in the layout the word–pixel correlation reads fastest: the grid's
/// D-vectors in blocks of <see cref="BlockPixels"/> consecutive pixels, each block channel by channel
/// ([⌈h·w / B⌉, D, B], the last block padded with zeros), and each pixel's inverse embedding norm 1 / max(‖e‖, eps).
/// The vectors are the pixel embeddings themselves (D = C), or, when the package has a pixel projection, the decoder
/// features before it (D = F, fewer values; the projection is folded into the labels instead).
/// </summary>
/// <remarks>
/// Blocked, not pixel-major: the correlation multiplies B pixels' values of one channel (two SIMD registers)
/// by each label's weight for that channel, so each SIMD lane accumulates one pixel's dot product and no horizontal
/// sum is needed; a block's D × B values are contiguous and stay in the first-level cache while every label is scored.
/// </remarks>
internal sealed class PixelGrid
{
    /// <summary>The eps of the L2 normalisation, as torch's <c>F.normalize</c> (and the exported head graph).</summary>
    internal const float NormEps = 1e-12f;

    /// <summary>B, the pixels of one block: two SIMD registers of floats (16 with AVX2).</summary>
    internal static readonly int BlockPixels = 2 * Vector<float>.Count;

    private PixelGrid(float[] vectors, float[] inverseNorms, int channels, int height, int width)
    {
        Vectors = vectors;
        InverseNorms = inverseNorms;
        Channels = channels;
        Height = height;
        Width = width;
    }

    /// <summary>[⌈Height·Width / B⌉, Channels, B]: the embeddings or the pre-projection features of each pixel, in blocks of B = <see cref="BlockPixels"/> pixels.</summary>
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
        new(Blocked(planarEmbeddings, channels, height, width), InverseNormsOf(planarEmbeddings, channels, height * width), channels, height, width);

    /// <summary>
    /// A grid of the features before the pixel projection (planar [F, h, w]), with the norms of the embeddings the
    /// projection makes of them (planar [C, h, w], the image encoder's other output).
    /// </summary>
    public static PixelGrid FromFeatures(ReadOnlySpan<float> planarFeatures, int featureSize, ReadOnlySpan<float> planarEmbeddings, int embeddingSize, int height, int width) =>
        new(Blocked(planarFeatures, featureSize, height, width), InverseNormsOf(planarEmbeddings, embeddingSize, height * width), featureSize, height, width);

    /// <summary>The number of blocks of <see cref="BlockPixels"/> pixels.</summary>
    public int BlockCount => (PixelCount + BlockPixels - 1) / BlockPixels;

    /// <summary>The vectors back in the planar [D, h, w] layout (exactly the values they were built from).</summary>
    public float[] ToPlanar()
    {
        int pixels = PixelCount, block = BlockPixels;
        var planar = new float[(long)Channels * pixels];
        for (int p0 = 0; p0 < pixels; p0 += block)
        {
            int count = Math.Min(block, pixels - p0);
            var source = Vectors.AsSpan(p0 * Channels, block * Channels);
            for (int c = 0; c < Channels; c++)
                source.Slice(c * block, count).CopyTo(planar.AsSpan(c * pixels + p0, count));
        }
        return planar;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float[] Blocked(ReadOnlySpan<float> planar, int channels, int height, int width)
    {
        int pixels = height * width, block = BlockPixels;
        if (planar.Length != (long)channels * pixels)
            throw new ArgumentException($"Expected {channels}×{height}×{width} values, got {planar.Length}.", nameof(planar));
        // Each block copies a short contiguous run of every channel plane: the reads stream through the planes block by
        // block and the writes are sequential.
        int blocks = (pixels + block - 1) / block;
        var vectors = new float[(long)blocks * block * channels];
        for (int p0 = 0; p0 < pixels; p0 += block)
        {
            int count = Math.Min(block, pixels - p0);
            var target = vectors.AsSpan(p0 * channels, block * channels);
            for (int c = 0; c < channels; c++)
                planar.Slice(c * pixels + p0, count).CopyTo(target.Slice(c * block, count));
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
