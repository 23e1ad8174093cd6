using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace LSeg.MLNet.Head;

/// <summary>
/// Word–pixel correlation (paper Figure 2) for the interactive path: logits[p, k] = unit(pixel p) · unit(label k) / t,
/// the same function as the head graph's correlation, computed in C# on the pre-normalised grid so that a label
/// change costs only h·w·N·C multiply-adds (no ONNX Runtime call, no copy of the embedding grid).
/// </summary>
internal static class WordPixelCorrelation
{
    // Pixels per parallel work item: large enough to amortise scheduling, small enough to balance two or more cores.
    private const int PixelsPerTask = 1024;

    /// <summary>Unit label embeddings divided by the temperature, row-major [N, C]: the right-hand side of every dot product.</summary>
    public static float[] ScaledUnitLabels(ReadOnlySpan<float> labelEmbeddings, int labelCount, int channels, float temperature)
    {
        var scaled = new float[labelCount * channels];
        for (int k = 0; k < labelCount; k++)
        {
            var label = labelEmbeddings.Slice(k * channels, channels);
            float norm = MathF.Sqrt(Dot(label, label));
            float factor = 1f / (MathF.Max(norm, PixelEmbeddingGrid.NormEps) * temperature);
            for (int c = 0; c < channels; c++)
                scaled[k * channels + c] = label[c] * factor;
        }
        return scaled;
    }

    /// <summary>Logits of every grid pixel against every label, row-major [h·w, N].</summary>
    public static float[] Logits(PixelEmbeddingGrid grid, float[] scaledLabels, int labelCount)
    {
        int pixels = grid.PixelCount;
        var logits = new float[pixels * labelCount];
        int tasks = (pixels + PixelsPerTask - 1) / PixelsPerTask;
        Parallel.For(0, tasks, task =>
        {
            int p0 = task * PixelsPerTask;
            LogitsOfRange(grid.UnitVectors, grid.Channels, scaledLabels, labelCount, logits, p0, Math.Min(pixels, p0 + PixelsPerTask));
        });
        return logits;
    }

    /// <summary>
    /// Two pixels × four labels per inner loop: each pixel vector loaded is used four times and each label vector
    /// twice, which keeps the loop on the multiply-add units rather than on memory.
    /// </summary>
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

    private static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        float sum = 0;
        for (int i = 0; i < a.Length; i++)
            sum += a[i] * b[i];
        return sum;
    }
}
