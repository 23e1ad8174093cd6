using System.Runtime.CompilerServices;
using LSeg.MLNet.Runtime;

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

    // Grid pixels per parallel work item of the argmax when the correlation did not compute it.
    private const int PixelsPerTask = 1024;

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
        // Rented: a label change would otherwise allocate this and the logits afresh each time, and at a few MB per call
        // those large-object-heap allocations set off a full garbage collection every few label changes.
        var gridWinners = ScratchArrays.Rent<int>(height * width);
        try
        {
            int pixels = height * width, tasks = (pixels + PixelsPerTask - 1) / PixelsPerTask;
            Parallel.For(0, tasks, task => GridWinners(logits, labelCount, gridWinners, task * PixelsPerTask, Math.Min(pixels, (task + 1) * PixelsPerTask)));
            _ = ArgMaxAtTwiceTheSize(logits, gridWinners, height, width, labelCount, labelMap, scores);
        }
        finally
        {
            ScratchArrays.Return(gridWinners);
        }
    }

    /// <summary>
    /// The same, with each grid pixel's argmax already in <paramref name="gridWinners"/> (see
    /// <see cref="WordPixelCorrelation.Logits(PixelGrid, ValueTuple{float[], float[], float[]}, float[], int[])"/>); also
    /// returns the number of pixels of the 2h × 2w map given to each label, counted while the map is written.
    /// </summary>
    public static long[] ArgMaxAtTwiceTheSize(float[] logits, int[] gridWinners, int height, int width, int labelCount, int[] labelMap, float[] scores)
    {
        int outHeight = 2 * height, outWidth = 2 * width;
        if (labelMap.Length < outHeight * outWidth || scores.Length < outHeight * outWidth)
            throw new ArgumentException($"A {outWidth}×{outHeight} map needs {outHeight * outWidth} labels and scores; the arrays hold {labelMap.Length} and {scores.Length}.");
        if (gridWinners.Length < height * width)
            throw new ArgumentException($"A {width}×{height} grid needs {height * width} winners; the array holds {gridWinners.Length}.", nameof(gridWinners));
        var columns = Axis(width, outWidth);
        var rows = Axis(height, outHeight);
        int tasks = (outHeight + RowsPerTask - 1) / RowsPerTask;
        var counts = new long[labelCount];
        Parallel.For(0, tasks, () => new long[labelCount],
            (task, _, taskCounts) =>
            {
                UpsampleRows(logits, width, labelCount, gridWinners, rows, columns, labelMap, scores, taskCounts,
                    task * RowsPerTask, Math.Min(outHeight, (task + 1) * RowsPerTask));
                return taskCounts;
            },
            taskCounts =>
            {
                for (int k = 0; k < labelCount; k++)
                    Interlocked.Add(ref counts[k], taskCounts[k]);
            });
        return counts;
    }

    /// <summary>The argmax (first label on ties) of grid pixels [<paramref name="p0"/>, <paramref name="p1"/>) of logits [h·w, N].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void GridWinners(float[] logits, int labelCount, int[] winners, int p0, int p1)
    {
        for (int p = p0; p < p1; p++)
            winners[p] = ArgMax(logits.AsSpan(p * labelCount, labelCount));
    }

    /// <summary>
    /// Output rows [<paramref name="y0"/>, <paramref name="y1"/>): the grid winner where a cell's four corners agree, else
    /// the argmax of the interpolated logits. Compiled fully optimised at once (a label change calls it a few dozen times).
    /// </summary>
    /// <remarks>
    /// A row's cells are classified once per pair of grid rows. Across a boundary the N logits are blended vertically once
    /// per grid column and output row (each column serves about four output pixels of the row), then horizontally per pixel.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void UpsampleRows(float[] logits, int width, int labelCount, int[] gridWinners, (int Low, int High, float Weight)[] rows,
        (int Low, int High, float Weight)[] columns, int[] labelMap, float[] scores, long[] counts, int y0, int y1)
    {
        int outWidth = columns.Length;
        var cellWinners = new int[width];
        var blended = new float[width * labelCount];
        var blendedInRow = new int[width];
        int classifiedTop = -1, classifiedBottom = -1;
        for (int y = y0; y < y1; y++)
        {
            var (top, bottom, dy) = rows[y];
            if (top != classifiedTop || bottom != classifiedBottom)
            {
                ClassifyCells(gridWinners, width, top, bottom, cellWinners);
                (classifiedTop, classifiedBottom) = (top, bottom);
            }
            int rowStamp = y + 1;
            int topRow = top * width, bottomRow = bottom * width;
            for (int x = 0; x < outWidth; x++)
            {
                var (left, right, dx) = columns[x];
                int o = y * outWidth + x;
                int k = cellWinners[left];
                if (k >= 0)
                {
                    float w00 = (1 - dy) * (1 - dx), w01 = (1 - dy) * dx, w10 = dy * (1 - dx), w11 = dy * dx;
                    labelMap[o] = k;
                    counts[k]++;
                    scores[o] = w00 * logits[(topRow + left) * labelCount + k] + w01 * logits[(topRow + right) * labelCount + k]
                              + w10 * logits[(bottomRow + left) * labelCount + k] + w11 * logits[(bottomRow + right) * labelCount + k];
                    continue;
                }
                var leftColumn = BlendedColumn(left);
                var rightColumn = BlendedColumn(right);
                int winner = 0;
                float best = (1 - dx) * leftColumn[0] + dx * rightColumn[0];
                for (int label = 1; label < labelCount; label++)
                {
                    float value = (1 - dx) * leftColumn[label] + dx * rightColumn[label];
                    if (value > best)
                        (best, winner) = (value, label);
                }
                labelMap[o] = winner;
                counts[winner]++;
                scores[o] = best;
            }

            // The N logits of grid column c blended between the row pair at dy, computed at most once per output row.
            [MethodImpl(MethodImplOptions.AggressiveOptimization)]
            ReadOnlySpan<float> BlendedColumn(int c)
            {
                var column = blended.AsSpan(c * labelCount, labelCount);
                if (blendedInRow[c] != rowStamp)
                {
                    var upper = logits.AsSpan((topRow + c) * labelCount, labelCount);
                    var lower = logits.AsSpan((bottomRow + c) * labelCount, labelCount);
                    for (int label = 0; label < labelCount; label++)
                        column[label] = (1 - dy) * upper[label] + dy * lower[label];
                    blendedInRow[c] = rowStamp;
                }
                return column;
            }
        }
    }

    /// <summary>Per cell (grid column c to c + 1, clamped at the edge, between two grid rows): the label that wins at all four corners, or -1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ClassifyCells(int[] gridWinners, int width, int top, int bottom, int[] cellWinners)
    {
        int topRow = top * width, bottomRow = bottom * width;
        for (int c = 0; c < width; c++)
        {
            int right = Math.Min(c + 1, width - 1);
            int k = gridWinners[topRow + c];
            cellWinners[c] = gridWinners[topRow + right] == k && gridWinners[bottomRow + c] == k && gridWinners[bottomRow + right] == k ? k : -1;
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
