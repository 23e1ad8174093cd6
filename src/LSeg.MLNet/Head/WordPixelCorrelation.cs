using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace LSeg.MLNet.Head;

/// <summary>
/// Word–pixel correlation (paper Figure 2) for the interactive path: logits[p, k] = unit(pixel embedding p) · unit(label
/// k) / t + the label's logit offset (0 unless the package calibrates that label), the same function as the head graph's correlation, computed in C# on a <see cref="PixelGrid"/> so that a
/// label change costs only h·w·N·D multiply-adds (no ONNX Runtime call, no copy of the grid).
/// </summary>
/// <remarks>
/// With e = W·f + b (the pixel projection) the logit is (f · Wᵀu + b · u) / ‖e‖ with u = unit(label) / t: the
/// projection folds into each label once (<see cref="PrepareLabels"/>), and the grid keeps the shorter f and 1 / ‖e‖.
/// </remarks>
internal static class WordPixelCorrelation
{
    // Pixels per parallel work item: large enough to amortise scheduling, small enough to balance two or more cores.
    private const int PixelsPerTask = 1024;

    /// <summary>
    /// The right-hand side of every dot product: per label, a D-vector (row-major [N, D]) and an offset, such that
    /// logit = (grid vector · vector + offset) × the pixel's inverse norm + logit offset. Without <paramref name="projection"/>
    /// the vector is unit(label) / t and the offset 0; with it, Wᵀ(unit(label) / t) and b · unit(label) / t. The logit
    /// offsets are <paramref name="logitOffsets"/> (empty: all 0).
    /// </summary>
    public static (float[] Vectors, float[] Offsets, float[] LogitOffsets) PrepareLabels(ReadOnlySpan<float> labelEmbeddings, int labelCount, int channels, float temperature, PixelProjection? projection,
        ReadOnlySpan<float> logitOffsets = default)
    {
        if (!logitOffsets.IsEmpty && logitOffsets.Length != labelCount)
            throw new ArgumentException($"{logitOffsets.Length} logit offsets for {labelCount} labels.", nameof(logitOffsets));
        if (projection is not null && projection.EmbeddingSize != channels)
            throw new ArgumentException($"The pixel projection gives {projection.EmbeddingSize}-d embeddings; the labels are {channels}-d.", nameof(projection));
        int width = projection?.FeatureSize ?? channels;
        var vectors = new float[labelCount * width];
        var offsets = new float[labelCount];
        float[] logitOffsetArray = logitOffsets.IsEmpty ? new float[labelCount] : logitOffsets.ToArray();
        var unit = new double[channels];
        for (int k = 0; k < labelCount; k++)
        {
            var label = labelEmbeddings.Slice(k * channels, channels);
            double norm = 0;
            for (int c = 0; c < channels; c++)
                norm += (double)label[c] * label[c];
            double factor = 1.0 / (Math.Max((float)Math.Sqrt(norm), PixelGrid.NormEps) * (double)temperature);
            for (int c = 0; c < channels; c++)
                unit[c] = label[c] * factor;
            var target = vectors.AsSpan(k * width, width);
            if (projection is null)
            {
                for (int c = 0; c < channels; c++)
                    target[c] = (float)unit[c];
                continue;
            }
            // Accumulated in double: the fold is done once per label, and its rounding adds to every pixel's logit.
            var folded = new double[width];
            double offset = 0;
            for (int c = 0; c < channels; c++)
            {
                AddScaled(folded, projection.Weight.AsSpan(c * width, width), unit[c]);
                offset += projection.Bias[c] * unit[c];
            }
            for (int f = 0; f < width; f++)
                target[f] = (float)folded[f];
            offsets[k] = (float)offset;
        }
        return (vectors, offsets, logitOffsetArray);
    }

    /// <summary>
    /// sum[f] += row[f] × factor in double, vectorised: the fold runs on every label change (C·F products per label, 0.4 ms
    /// for 8 labels of the default model when done one at a time, a tenth of the rest of a label change). Each element gets
    /// the same multiply and add as the scalar loop, so the result is bit for bit the same.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AddScaled(double[] sum, ReadOnlySpan<float> row, double factor)
    {
        int f = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var scale = new Vector<double>(factor);
            for (; f + Vector<float>.Count <= row.Length; f += Vector<float>.Count)
            {
                Vector.Widen(new Vector<float>(row[f..]), out var low, out var high);
                var lowSum = sum.AsSpan(f, Vector<double>.Count);
                (new Vector<double>(lowSum) + low * scale).CopyTo(lowSum);
                var highSum = sum.AsSpan(f + Vector<double>.Count, Vector<double>.Count);
                (new Vector<double>(highSum) + high * scale).CopyTo(highSum);
            }
        }
        for (; f < row.Length; f++)
            sum[f] += row[f] * factor;
    }

    /// <summary>h·w·N, the logits of <paramref name="labelCount"/> labels on <paramref name="grid"/>, refused when one array cannot hold them.</summary>
    /// <exception cref="ArgumentException">More than <see cref="Array.MaxLength"/> logits: names the label count and the grid.</exception>
    public static int LogitCount(PixelGrid grid, int labelCount)
    {
        long count = (long)grid.PixelCount * labelCount;
        if (count > Array.MaxLength)
            throw new ArgumentException(
                $"{labelCount} scored labels on a {grid.Width}×{grid.Height} embedding grid need {count:N0} logits, more than one array holds ({Array.MaxLength:N0}); offer fewer labels or segment at a smaller input size.", "labels");
        return (int)count;
    }

    /// <summary>Logits of every grid pixel against every label, row-major [h·w, N]; the labels come from <see cref="PrepareLabels"/>.</summary>
    public static float[] Logits(PixelGrid grid, (float[] Vectors, float[] Offsets, float[] LogitOffsets) labels)
    {
        var logits = new float[LogitCount(grid, labels.Offsets.Length)];
        Logits(grid, labels, logits);
        return logits;
    }

    /// <summary>
    /// The same logits written to the first h·w·N elements of <paramref name="logits"/> (which may be longer: a rented
    /// array), and, when <paramref name="winners"/> is given, each grid pixel's argmax (first label on ties) to its first
    /// h·w elements: computed while the pixel's logits are still in cache, for <see cref="LogitUpsampling"/>.
    /// </summary>
    public static void Logits(PixelGrid grid, (float[] Vectors, float[] Offsets, float[] LogitOffsets) labels, float[] logits, int[]? winners = null)
    {
        int pixels = grid.PixelCount, labelCount = labels.Offsets.Length;
        if (labels.Vectors.Length != labelCount * grid.Channels)
            throw new ArgumentException($"The labels are {labels.Vectors.Length / Math.Max(1, labelCount)}-d; the grid's vectors are {grid.Channels}-d.", nameof(labels));
        if (logits.Length < (long)pixels * labelCount)
            throw new ArgumentException($"{pixels} pixels × {labelCount} labels need {(long)pixels * labelCount} logits; the array holds {logits.Length}.", nameof(logits));
        if (winners is not null && winners.Length < pixels)
            throw new ArgumentException($"{pixels} pixels need {pixels} winners; the array holds {winners.Length}.", nameof(winners));
        int tasks = (pixels + PixelsPerTask - 1) / PixelsPerTask;
        Parallel.For(0, tasks, task =>
        {
            int p0 = task * PixelsPerTask;
            int p1 = Math.Min(pixels, p0 + PixelsPerTask);
            LogitsOfRange(grid.Vectors, grid.Channels, labels.Vectors, labelCount, logits, p0, p1);
            OffsetAndScale(logits, labelCount, labels.Offsets, labels.LogitOffsets, grid.InverseNorms, p0, p1);
            if (winners is not null)
                LogitUpsampling.GridWinners(logits, labelCount, winners, p0, p1);
        });
    }

    /// <summary>logit = (vector · label + offset) / ‖e‖ + logit offset, applied to a block of pixels while it is still in cache.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void OffsetAndScale(float[] logits, int labelCount, float[] offsets, float[] logitOffsets, float[] inverseNorms, int p0, int p1)
    {
        for (int p = p0; p < p1; p++)
        {
            float inverseNorm = inverseNorms[p];
            var row = logits.AsSpan(p * labelCount, labelCount);
            for (int k = 0; k < row.Length; k++)
                row[k] = (row[k] + offsets[k]) * inverseNorm + logitOffsets[k];
        }
    }

    /// <summary>
    /// Two pixels × four labels per inner loop: each pixel vector loaded is used four times and each label vector
    /// twice, which keeps the loop on the multiply-add units rather than on memory. Compiled fully optimised at once:
    /// a label change calls it a few dozen times, too few for tiered compilation to replace its slow first version.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void LogitsOfRange(float[] unitPixels, int channels, float[] labels, int labelCount, float[] logits, int p0, int p1)
    {
        int lanes = Vector<float>.Count;
        int vectorEnd = channels - channels % lanes;
        ref float x = ref MemoryMarshal.GetArrayDataReference(unitPixels);
        ref float t = ref MemoryMarshal.GetArrayDataReference(labels);
        int p = p0;
        for (; p + 1 < p1; p += 2)
        {
            nuint a = (nuint)p * (nuint)channels, b = a + (nuint)channels;
            int k = 0;
            for (; k + 3 < labelCount; k += 4)
            {
                nuint t0 = (nuint)k * (nuint)channels, t1 = t0 + (nuint)channels, t2 = t1 + (nuint)channels, t3 = t2 + (nuint)channels;
                Vector<float> a0 = default, a1 = default, a2 = default, a3 = default, b0 = default, b1 = default, b2 = default, b3 = default;
                for (nuint i = 0; i < (nuint)vectorEnd; i += (nuint)lanes)
                {
                    var xa = Vector.LoadUnsafe(ref x, a + i);
                    var xb = Vector.LoadUnsafe(ref x, b + i);
                    var v = Vector.LoadUnsafe(ref t, t0 + i);
                    a0 = Vector.FusedMultiplyAdd(xa, v, a0);
                    b0 = Vector.FusedMultiplyAdd(xb, v, b0);
                    v = Vector.LoadUnsafe(ref t, t1 + i);
                    a1 = Vector.FusedMultiplyAdd(xa, v, a1);
                    b1 = Vector.FusedMultiplyAdd(xb, v, b1);
                    v = Vector.LoadUnsafe(ref t, t2 + i);
                    a2 = Vector.FusedMultiplyAdd(xa, v, a2);
                    b2 = Vector.FusedMultiplyAdd(xb, v, b2);
                    v = Vector.LoadUnsafe(ref t, t3 + i);
                    a3 = Vector.FusedMultiplyAdd(xa, v, a3);
                    b3 = Vector.FusedMultiplyAdd(xb, v, b3);
                }
                int ra = p * labelCount + k, rb = ra + labelCount;
                logits[ra] = Vector.Sum(a0) + Tail(ref x, a, ref t, t0, vectorEnd, channels);
                logits[ra + 1] = Vector.Sum(a1) + Tail(ref x, a, ref t, t1, vectorEnd, channels);
                logits[ra + 2] = Vector.Sum(a2) + Tail(ref x, a, ref t, t2, vectorEnd, channels);
                logits[ra + 3] = Vector.Sum(a3) + Tail(ref x, a, ref t, t3, vectorEnd, channels);
                logits[rb] = Vector.Sum(b0) + Tail(ref x, b, ref t, t0, vectorEnd, channels);
                logits[rb + 1] = Vector.Sum(b1) + Tail(ref x, b, ref t, t1, vectorEnd, channels);
                logits[rb + 2] = Vector.Sum(b2) + Tail(ref x, b, ref t, t2, vectorEnd, channels);
                logits[rb + 3] = Vector.Sum(b3) + Tail(ref x, b, ref t, t3, vectorEnd, channels);
            }
            for (; k < labelCount; k++)
            {
                nuint tk = (nuint)k * (nuint)channels;
                logits[p * labelCount + k] = DotAt(ref x, a, ref t, tk, vectorEnd, channels);
                logits[(p + 1) * labelCount + k] = DotAt(ref x, b, ref t, tk, vectorEnd, channels);
            }
        }
        for (; p < p1; p++)
        {
            nuint a = (nuint)p * (nuint)channels;
            for (int k = 0; k < labelCount; k++)
                logits[p * labelCount + k] = DotAt(ref x, a, ref t, (nuint)k * (nuint)channels, vectorEnd, channels);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float DotAt(ref float x, nuint xOffset, ref float t, nuint tOffset, int vectorEnd, int channels)
    {
        Vector<float> sum = default;
        for (nuint i = 0; i < (nuint)vectorEnd; i += (nuint)Vector<float>.Count)
            sum = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref x, xOffset + i), Vector.LoadUnsafe(ref t, tOffset + i), sum);
        return Vector.Sum(sum) + Tail(ref x, xOffset, ref t, tOffset, vectorEnd, channels);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Tail(ref float x, nuint xOffset, ref float t, nuint tOffset, int from, int channels)
    {
        float sum = 0;
        for (int i = from; i < channels; i++)
            sum += Unsafe.Add(ref x, xOffset + (nuint)i) * Unsafe.Add(ref t, tOffset + (nuint)i);
        return sum;
    }
}
