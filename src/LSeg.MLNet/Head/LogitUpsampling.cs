using System.Buffers;
using System.Runtime.CompilerServices;

namespace LSeg.MLNet.Head;

/// <summary>
/// The head's last step for the interactive path: ×2 bilinear upsampling of the logits (align_corners, as the
/// paper's <c>Interpolate(scale_factor=2, mode="bilinear", align_corners=True)</c> and the head graph) followed by
/// the argmax (first label on ties) and the winning logit, without materialising the N upsampled maps.
/// </summary>
/// <remarks>
/// Exact shortcut: an upsampled logit is a convex combination of its four grid neighbours. When the same label k
/// wins at all four, k also wins the combination (it is ≥ every other label at each corner and strictly above every
/// label before it), so only pixels whose neighbours disagree — the region boundaries — interpolate all N labels.
/// </remarks>
internal static class LogitUpsampling
{
    private const int RowsPerTask = 16;

    /// <summary>
    /// From logits [h·w, N] on an h × w grid: the label map and the winning logit at 2h × 2w, row-major.
    /// </summary>
    public static (int[] LabelMap, float[] Scores) ArgMaxAtTwiceTheSize(float[] logits, int height, int width, int labelCount)
    {
        var labelMap = new int[4 * height * width];
        var scores = new float[4 * height * width];
        ArgMaxAtTwiceTheSize(logits, height, width, labelCount, labelMap, scores);
        return (labelMap, scores);
    }

    /// <summary>
    /// The same, written to the first 2h × 2w elements of <paramref name="labelMap"/> and <paramref name="scores"/>
    /// (which may be longer: rented arrays).
    /// </summary>
    public static void ArgMaxAtTwiceTheSize(float[] logits, int height, int width, int labelCount, int[] labelMap, float[] scores)
    {
        int outHeight = 2 * height, outWidth = 2 * width;
        if (labelMap.Length < outHeight * outWidth || scores.Length < outHeight * outWidth)
            throw new ArgumentException($"A {outWidth}×{outHeight} map needs {outHeight * outWidth} labels and scores; the arrays hold {labelMap.Length} and {scores.Length}.");
        // Rented: a label change would otherwise allocate this and the logits afresh each time, and at a few MB per call
        // those large-object-heap allocations set off a full garbage collection every few label changes.
        var gridWinner = ArrayPool<int>.Shared.Rent(height * width);
        try
        {
            GridWinners(logits, height * width, labelCount, gridWinner);
            var columns = Axis(width, outWidth);
            var rows = Axis(height, outHeight);
            int tasks = (outHeight + RowsPerTask - 1) / RowsPerTask;
            Parallel.For(0, tasks, task => UpsampleRows(logits, width, labelCount, gridWinner, rows, columns, labelMap, scores,
                task * RowsPerTask, Math.Min(outHeight, (task + 1) * RowsPerTask)));
        }
        finally
        {
            ArrayPool<int>.Shared.Return(gridWinner);
        }
    }

    /// <summary>
    /// Output rows [<paramref name="y0"/>, <paramref name="y1"/>): the grid winner where the four neighbours agree, else
    /// the argmax of the interpolated logits. Compiled fully optimised at once (a label change calls it a few dozen times).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void UpsampleRows(float[] logits, int width, int labelCount, int[] gridWinner, (int Low, int High, float Weight)[] rows,
        (int Low, int High, float Weight)[] columns, int[] labelMap, float[] scores, int y0, int y1)
    {
        int outWidth = columns.Length;
        Span<float> interpolated = labelCount <= 256 ? stackalloc float[labelCount] : new float[labelCount];
        for (int y = y0; y < y1; y++)
        {
            var (top, bottom, dy) = rows[y];
            for (int x = 0; x < outWidth; x++)
            {
                var (left, right, dx) = columns[x];
                int p00 = top * width + left, p01 = top * width + right, p10 = bottom * width + left, p11 = bottom * width + right;
                float w00 = (1 - dy) * (1 - dx), w01 = (1 - dy) * dx, w10 = dy * (1 - dx), w11 = dy * dx;
                int k = gridWinner[p00];
                int o = y * outWidth + x;
                if (gridWinner[p01] == k && gridWinner[p10] == k && gridWinner[p11] == k)
                {
                    labelMap[o] = k;
                    scores[o] = w00 * logits[p00 * labelCount + k] + w01 * logits[p01 * labelCount + k]
                              + w10 * logits[p10 * labelCount + k] + w11 * logits[p11 * labelCount + k];
                    continue;
                }
                for (int label = 0; label < labelCount; label++)
                {
                    interpolated[label] = w00 * logits[p00 * labelCount + label] + w01 * logits[p01 * labelCount + label]
                                        + w10 * logits[p10 * labelCount + label] + w11 * logits[p11 * labelCount + label];
                }
                int winner = ArgMax(interpolated);
                labelMap[o] = winner;
                scores[o] = interpolated[winner];
            }
        }
    }

    /// <summary>For each output coordinate: the two source coordinates and the weight of the second (align_corners).</summary>
    private static (int Low, int High, float Weight)[] Axis(int sourceLength, int outputLength)
    {
        var axis = new (int, int, float)[outputLength];
        float scale = outputLength > 1 ? (float)(sourceLength - 1) / (outputLength - 1) : 0f;
        for (int i = 0; i < outputLength; i++)
        {
            float source = i * scale;
            int low = Math.Min((int)source, sourceLength - 1);
            int high = Math.Min(low + 1, sourceLength - 1);
            axis[i] = (low, high, source - low);
        }
        return axis;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void GridWinners(float[] logits, int pixels, int labelCount, int[] winners)
    {
        for (int p = 0; p < pixels; p++)
            winners[p] = ArgMax(logits.AsSpan(p * labelCount, labelCount));
    }

    private static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++)
        {
            if (values[i] > values[best])
                best = i;
        }
        return best;
    }
}
