namespace LSeg.MLNet.Runtime;

/// <summary>
/// The last step of every path (low-level API and ML.NET pipeline): the label map and winning scores computed at the
/// model input size go back to the original image size by nearest neighbour, and pixels are counted per label.
/// </summary>
internal static class LabelMapToOriginalSize
{
    /// <summary>
    /// Maps a <paramref name="mapWidth"/> × <paramref name="mapHeight"/> result to <paramref name="width"/> ×
    /// <paramref name="height"/>. <paramref name="countsAtMapSize"/>, when the caller already counted the map's pixels
    /// per label, is used only when the map is already at the original size (where they are the result's counts).
    /// </summary>
    public static (int[] Mask, float[] Scores, long[] PixelCounts) Map(int[] labelMap, float[] scores, int mapWidth, int mapHeight, int width, int height, int labelCount,
        long[]? countsAtMapSize = null)
    {
        if (width == mapWidth && height == mapHeight)
            return (labelMap, scores, countsAtMapSize ?? CountLabels(labelMap, labelCount));
        var result = (Mask: new int[width * height], Scores: new float[width * height], PixelCounts: new long[labelCount]);
        MapInto(labelMap, scores, mapWidth, mapHeight, width, height, labelCount, null, result.Mask, result.Scores, result.PixelCounts);
        return result;
    }

    /// <summary>
    /// <see cref="Map"/> into caller-owned buffers of exactly <paramref name="width"/> × <paramref name="height"/>
    /// elements (and <paramref name="labelCount"/> counts), for callers that segment the same image many times.
    /// </summary>
    /// <remarks>An empty <paramref name="fullScores"/> maps the mask and counts only (a caller that does not read scores).</remarks>
    public static void MapInto(ReadOnlySpan<int> labelMap, ReadOnlySpan<float> scores, int mapWidth, int mapHeight, int width, int height, int labelCount,
        long[]? countsAtMapSize, Span<int> mask, Span<float> fullScores, Span<long> pixelCounts)
    {
        int pixels = width * height;
        bool sameSize = width == mapWidth && height == mapHeight;
        bool withScores = !fullScores.IsEmpty;
        if (sameSize)
        {
            labelMap[..pixels].CopyTo(mask);
            if (withScores)
                scores[..pixels].CopyTo(fullScores);
        }
        else
        {
            LabelMapResampler.ResampleInto<int, int>(labelMap, mapWidth, 0, 0, mapWidth, mapHeight, mask, width, height, static v => v);
            if (withScores)
                LabelMapResampler.ResampleInto<float, float>(scores, mapWidth, 0, 0, mapWidth, mapHeight, fullScores, width, height, static v => v);
        }
        if (sameSize && countsAtMapSize is not null)
            countsAtMapSize.AsSpan(0, labelCount).CopyTo(pixelCounts);
        else
            CountLabels(mask[..pixels], pixelCounts[..labelCount]);
    }

    // Compiled fully optimised at once: a label change calls it a few dozen times, too few for tiered compilation.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static long[] CountLabels(int[] mask, int labelCount)
    {
        var counts = new long[labelCount];
        CountLabels(mask, counts);
        return counts;
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static void CountLabels(ReadOnlySpan<int> mask, Span<long> counts)
    {
        counts.Clear();
        foreach (int label in mask)
            counts[label]++;
    }
}
