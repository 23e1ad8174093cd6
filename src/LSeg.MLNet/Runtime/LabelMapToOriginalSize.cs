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
        bool sameSize = width == mapWidth && height == mapHeight;
        int[] mask = sameSize ? labelMap : LabelMapResampler.Resample<int, int>(labelMap, mapWidth, 0, 0, mapWidth, mapHeight, width, height, static v => v);
        float[] fullScores = sameSize ? scores : LabelMapResampler.Resample<float, float>(scores, mapWidth, 0, 0, mapWidth, mapHeight, width, height, static v => v);
        return (mask, fullScores, sameSize && countsAtMapSize is not null ? countsAtMapSize : CountLabels(mask, labelCount));
    }

    // Compiled fully optimised at once: a label change calls it a few dozen times, too few for tiered compilation.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static long[] CountLabels(int[] mask, int labelCount)
    {
        var counts = new long[labelCount];
        foreach (int label in mask)
            counts[label]++;
        return counts;
    }
}
