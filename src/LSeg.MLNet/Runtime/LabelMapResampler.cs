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
        var output = new TOut[(long)width * height];
        ResampleInto(source, sourceWidth, left, top, regionWidth, regionHeight, output, width, height, convert);
        return output;
    }

    /// <summary>
    /// <see cref="Resample{TIn, TOut}"/> into the first <paramref name="width"/> × <paramref name="height"/> elements of
    /// <paramref name="output"/>.
    /// </summary>
    public static void ResampleInto<TIn, TOut>(ReadOnlySpan<TIn> source, int sourceWidth, int left, int top, int regionWidth, int regionHeight,
        Span<TOut> output, int width, int height, Func<TIn, TOut> convert)
    {
        var columns = Imaging.Resampling.Nearest(regionWidth, width);
        var rows = Imaging.Resampling.Nearest(regionHeight, height);
        for (int y = 0; y < height; y++)
        {
            int row = (top + rows[y]) * sourceWidth + left;
            int o = y * width;
            for (int x = 0; x < width; x++)
                output[o + x] = convert(source[row + columns[x]]);
        }
    }
}
