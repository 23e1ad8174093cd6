namespace LSeg.MLNet.Runtime;

/// <summary>
/// Maps a per-pixel result computed at the model's input size back to the original image size by nearest
/// neighbour (pixel centres, <see cref="Imaging.Resampling.Nearest"/>), so every original pixel gets the label of the model pixel that covers it.
/// </summary>
internal static class LabelMapResampler
{
    /// <summary>
    /// Resamples the region (<paramref name="left"/>, <paramref name="top"/>, <paramref name="regionWidth"/> ×
    /// <paramref name="regionHeight"/>) of a <paramref name="sourceWidth"/>-wide row-major map to
    /// <paramref name="width"/> × <paramref name="height"/>.
    /// </summary>
    public static TOut[] Resample<TIn, TOut>(ReadOnlySpan<TIn> source, int sourceWidth, int left, int top, int regionWidth, int regionHeight,
        int width, int height, Func<TIn, TOut> convert)
    {
        var columns = Imaging.Resampling.Nearest(regionWidth, width);
        var rows = Imaging.Resampling.Nearest(regionHeight, height);
        var output = new TOut[(long)width * height];
        for (int y = 0; y < height; y++)
        {
            int row = (top + rows[y]) * sourceWidth + left;
            int o = y * width;
            for (int x = 0; x < width; x++)
                output[o + x] = convert(source[row + columns[x]]);
        }
        return output;
    }
}
