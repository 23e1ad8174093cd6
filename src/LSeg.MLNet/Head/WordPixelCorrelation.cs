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
        int block = PixelGrid.BlockPixels, blocksPerTask = PixelsPerTask / block;
        int tasks = (grid.BlockCount + blocksPerTask - 1) / blocksPerTask;
        Parallel.For(0, tasks, () => new float[block * LabelsPerPass], (task, _, scratch) =>
        {
            int b1 = Math.Min(grid.BlockCount, (task + 1) * blocksPerTask);
            for (int b = task * blocksPerTask; b < b1; b++)
            {
                int p0 = b * block, count = Math.Min(block, pixels - p0);
                LogitsOfBlock(grid, b, labels, logits, scratch, p0, count, winners);
            }
            return scratch;
        }, _ => { });
    }

    // Labels scored per sweep over a block's channels: 2 × 4 accumulators, two pixel registers and a weight fit the
    // 16 SIMD registers of AVX2 without spilling.
    private const int LabelsPerPass = 4;

    /// <summary>
    /// The logits of one block of B pixels against every label, written pixel-major to <paramref name="logits"/>:
    /// for each channel, the B pixels' values (two SIMD registers) times each label's weight for that channel are
    /// added to that label's two accumulators, so each lane sums one pixel's dot product in channel order; then
    /// logit = (sum + offset) × the pixel's inverse norm + logit offset, for the whole register at once.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void LogitsOfBlock(PixelGrid grid, int blockIndex, (float[] Vectors, float[] Offsets, float[] LogitOffsets) labels, float[] logits, float[] scratch, int p0, int count, int[]? winners)
    {
        int lanes = Vector<float>.Count, block = PixelGrid.BlockPixels, channels = grid.Channels, labelCount = labels.Offsets.Length;
        ref float x = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(grid.Vectors), (nuint)blockIndex * (nuint)block * (nuint)channels);
        ref float t = ref MemoryMarshal.GetArrayDataReference(labels.Vectors);
        // The last block may be short: its missing pixels get norm 0 (their lanes are never written out).
        Vector<float> norm0, norm1;
        if (count == block)
        {
            norm0 = new Vector<float>(grid.InverseNorms.AsSpan(p0, lanes));
            norm1 = new Vector<float>(grid.InverseNorms.AsSpan(p0 + lanes, lanes));
        }
        else
        {
            Span<float> norms = stackalloc float[block];
            norms.Clear();
            grid.InverseNorms.AsSpan(p0, count).CopyTo(norms);
            norm0 = new Vector<float>(norms[..lanes]);
            norm1 = new Vector<float>(norms[lanes..]);
        }
        var best = new BlockWinners();
        for (int k0 = 0; k0 < labelCount; k0 += LabelsPerPass)
        {
            int passLabels = Math.Min(LabelsPerPass, labelCount - k0);
            var scaled = scratch.AsSpan(0, block * LabelsPerPass);
            nuint w0 = (nuint)k0 * (nuint)channels;
            if (passLabels == LabelsPerPass)
            {
                nuint w1 = w0 + (nuint)channels, w2 = w1 + (nuint)channels, w3 = w2 + (nuint)channels;
                Vector<float> a0 = default, a1 = default, a2 = default, a3 = default, b0 = default, b1 = default, b2 = default, b3 = default;
                for (nuint c = 0, o = 0; c < (nuint)channels; c++, o += (nuint)block)
                {
                    var x0 = Vector.LoadUnsafe(ref x, o);
                    var x1 = Vector.LoadUnsafe(ref x, o + (nuint)lanes);
                    var v = new Vector<float>(Unsafe.Add(ref t, w0 + c));
                    a0 = Vector.FusedMultiplyAdd(x0, v, a0);
                    b0 = Vector.FusedMultiplyAdd(x1, v, b0);
                    v = new Vector<float>(Unsafe.Add(ref t, w1 + c));
                    a1 = Vector.FusedMultiplyAdd(x0, v, a1);
                    b1 = Vector.FusedMultiplyAdd(x1, v, b1);
                    v = new Vector<float>(Unsafe.Add(ref t, w2 + c));
                    a2 = Vector.FusedMultiplyAdd(x0, v, a2);
                    b2 = Vector.FusedMultiplyAdd(x1, v, b2);
                    v = new Vector<float>(Unsafe.Add(ref t, w3 + c));
                    a3 = Vector.FusedMultiplyAdd(x0, v, a3);
                    b3 = Vector.FusedMultiplyAdd(x1, v, b3);
                }
                Finish(a0, b0, norm0, norm1, labels.Offsets[k0], labels.LogitOffsets[k0], k0, ref best, scaled[..block]);
                Finish(a1, b1, norm0, norm1, labels.Offsets[k0 + 1], labels.LogitOffsets[k0 + 1], k0 + 1, ref best, scaled.Slice(block, block));
                Finish(a2, b2, norm0, norm1, labels.Offsets[k0 + 2], labels.LogitOffsets[k0 + 2], k0 + 2, ref best, scaled.Slice(2 * block, block));
                Finish(a3, b3, norm0, norm1, labels.Offsets[k0 + 3], labels.LogitOffsets[k0 + 3], k0 + 3, ref best, scaled.Slice(3 * block, block));
            }
            else
            {
                // The last one to three labels, one at a time (each pass re-reads the block, from cache).
                for (int j = 0; j < passLabels; j++)
                {
                    nuint w = w0 + (nuint)j * (nuint)channels;
                    Vector<float> low = default, high = default;
                    for (nuint c = 0, o = 0; c < (nuint)channels; c++, o += (nuint)block)
                    {
                        var v = new Vector<float>(Unsafe.Add(ref t, w + c));
                        low = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref x, o), v, low);
                        high = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref x, o + (nuint)lanes), v, high);
                    }
                    Finish(low, high, norm0, norm1, labels.Offsets[k0 + j], labels.LogitOffsets[k0 + j], k0 + j, ref best, scaled.Slice(j * block, block));
                }
            }
            // Pixel-major out: each pixel's logits of this pass's labels are contiguous in the output.
            for (int i = 0; i < count; i++)
            {
                var row = logits.AsSpan((p0 + i) * labelCount + k0, passLabels);
                for (int j = 0; j < row.Length; j++)
                    row[j] = scaled[j * block + i];
            }
        }
        if (winners is not null)
            best.CopyTo(winners.AsSpan(p0, count));
    }

    /// <summary>
    /// (sum + offset) × inverse norm + logit offset for label <paramref name="k"/>'s two registers, stored to
    /// <paramref name="target"/> and kept in <paramref name="best"/> where it beats the labels before it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Finish(Vector<float> low, Vector<float> high, Vector<float> norm0, Vector<float> norm1, float offset, float logitOffset, int k, ref BlockWinners best, Span<float> target)
    {
        var offsetVector = new Vector<float>(offset);
        var logitOffsetVector = new Vector<float>(logitOffset);
        low = (low + offsetVector) * norm0 + logitOffsetVector;
        high = (high + offsetVector) * norm1 + logitOffsetVector;
        low.CopyTo(target);
        high.CopyTo(target[Vector<float>.Count..]);
        best.Offer(low, high, k);
    }

    /// <summary>
    /// Each lane's best logit so far and its label: the argmax over the labels in order, first label on ties (a later
    /// label must be strictly greater), as a scalar loop starting from label 0 (so a NaN at label 0 keeps label 0 too).
    /// </summary>
    private struct BlockWinners
    {
        private Vector<float> _best0, _best1;
        private Vector<int> _label0, _label1;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Offer(Vector<float> low, Vector<float> high, int k)
        {
            if (k == 0)
            {
                (_best0, _best1) = (low, high);
                return;
            }
            var label = new Vector<int>(k);
            var better0 = Vector.GreaterThan(low, _best0);
            var better1 = Vector.GreaterThan(high, _best1);
            _best0 = Vector.ConditionalSelect(better0, low, _best0);
            _best1 = Vector.ConditionalSelect(better1, high, _best1);
            _label0 = Vector.ConditionalSelect(better0, label, _label0);
            _label1 = Vector.ConditionalSelect(better1, label, _label1);
        }

        /// <summary>The first <paramref name="target"/>.Length lanes' labels.</summary>
        public readonly void CopyTo(Span<int> target)
        {
            Span<int> all = stackalloc int[2 * Vector<int>.Count];
            _label0.CopyTo(all);
            _label1.CopyTo(all[Vector<int>.Count..]);
            all[..target.Length].CopyTo(target);
        }
    }
}
