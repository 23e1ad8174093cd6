using System.Globalization;
using LSeg.MLNet.Runtime;
using SkiaSharp;

namespace LSeg.MLNet.Rendering;

/// <summary>
/// Draws the overlay picture: the photo with each pixel tinted by its label's colour, label boundaries outlined,
/// and below it a legend giving each label's colour, name and share of the image's pixels.
/// </summary>
internal static class OverlayRenderer
{
    /// <summary>How much of the label colour is mixed into each photo pixel.</summary>
    public const double TintOpacity = 0.5;

    private static readonly Rgb LegendBackground = new(24, 24, 24);
    private static readonly Rgb LegendText = new(245, 245, 245);
    private static readonly Rgb Boundary = new(0, 0, 0);

    /// <summary>Legend scale for an image of this width: readable on small photos, not huge on large ones.</summary>
    public static int FontScale(int imageWidth) => Math.Clamp(imageWidth / 200, 2, 8);

    /// <summary>Legend text size in pixels at a scale.</summary>
    private static float TextSize(int scale) => 8f * scale;

    /// <summary>Renders the overlay of <paramref name="mask"/> on <paramref name="photo"/> (both the same size).</summary>
    /// <param name="photo">The original image, RGBA 8-bit.</param>
    /// <param name="mask">Row-major label indices, one per photo pixel.</param>
    /// <param name="labels">Label names in index order.</param>
    public static SKBitmap Render(SKBitmap photo, ReadOnlySpan<int> mask, IReadOnlyList<string> labels)
    {
        int width = photo.Width, height = photo.Height;
        if (mask.Length != width * height)
            throw new ArgumentException($"Mask has {mask.Length} values; the {width}×{height} photo needs {width * height}.", nameof(mask));
        if (photo.ColorType != SKColorType.Rgba8888)
            throw new ArgumentException($"Photo must be RGBA 8888; got {photo.ColorType}.", nameof(photo));

        long[] counts = CountPixels(mask, labels.Count);
        int scale = FontScale(width);
        long total = mask.Length;
        var entries = labels.Select((label, i) => string.Create(CultureInfo.InvariantCulture, $"{label} {Share(counts[i], total):0.0}%")).ToArray();
        var layout = LegendLayout.Compute(entries, width, scale);

        // The legend adds rows to an image that may already be near the largest array: refuse rather than overflow.
        long bytes = (long)width * (height + layout.Height) * 4;
        if (bytes > Array.MaxLength)
            throw new ArgumentException($"The overlay of a {width}×{height} photo with a {layout.Height}-pixel legend needs {bytes:N0} bytes, more than one array holds; write the mask alone, or downscale the photo.", nameof(photo));
        // Pixels are read and written through GetPixels, never GetPixelSpan (see ImagePixelAccess).
        var source = ImagePixelAccess.CopyPacked(photo);
        int sourceStride = width * 4;
        var canvasInfo = new SKImageInfo(width, height + layout.Height, SKColorType.Rgba8888, SKAlphaType.Opaque);
        var result = new SKBitmap(canvasInfo);
        try
        {
            return Paint(result, photo, mask, entries, layout, scale, source, sourceStride);
        }
        catch
        {
            result.Dispose();
            throw;
        }
    }

    private static SKBitmap Paint(SKBitmap result, SKBitmap photo, ReadOnlySpan<int> mask, string[] entries, LegendLayout layout, int scale, byte[] source, int sourceStride)
    {
        int width = photo.Width, height = photo.Height;
        var pixels = new Painter(checked(width * (height + layout.Height) * 4), width, height + layout.Height);

        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                int label = mask[y * width + x];
                int s = y * sourceStride + x * 4;
                bool edge = (x + 1 < width && mask[y * width + x + 1] != label) || (y + 1 < height && mask[(y + 1) * width + x] != label);
                Rgb color = edge ? Boundary : Mix(new Rgb(source[s], source[s + 1], source[s + 2]), LabelPalette.ColorOf(label), TintOpacity);
                pixels.Set(x, y, color);
            }
        }

        pixels.Fill(0, height, width, layout.Height, LegendBackground);
        int swatch = (int)TextSize(scale);
        for (int i = 0; i < entries.Length; i++)
        {
            var (left, legendTop) = layout.Entries[i].Position;
            int top = height + legendTop;
            pixels.Fill(left, top, swatch, swatch, LegendText);
            pixels.Fill(left + scale / 2, top + scale / 2, swatch - scale / 2 * 2, swatch - scale / 2 * 2, LabelPalette.ColorOf(i));
        }

        // Copied into the bitmap's own pixel memory, then the text is drawn on it.
        pixels.CopyTo(result.GetPixels());
        using (var canvas = new SKCanvas(result))
        {
            var text = new SKColor(LegendText.R, LegendText.G, LegendText.B);
            for (int i = 0; i < entries.Length; i++)
            {
                var ((left, legendTop), lines) = layout.Entries[i];
                for (int line = 0; line < lines.Count; line++)
                    LegendFont.Instance.Draw(canvas, lines[line], left + swatch + 2 * scale, height + legendTop + line * LegendLayout.RowHeight(scale) - scale, TextSize(scale), text);
            }
        }
        return result;
    }

    /// <summary>Pixels per label index (indices outside the label list are not counted).</summary>
    public static long[] CountPixels(ReadOnlySpan<int> mask, int labelCount)
    {
        var counts = new long[labelCount];
        foreach (int label in mask)
        {
            if ((uint)label < (uint)labelCount)
                counts[label]++;
        }
        return counts;
    }

    /// <summary>Percentage of <paramref name="total"/> that <paramref name="count"/> is.</summary>
    public static double Share(long count, long total) => total == 0 ? 0 : 100.0 * count / total;

    /// <summary>Writes the overlay as a PNG file.</summary>
    public static void WritePng(SKBitmap overlay, string path)
    {
        using var stream = File.Create(path);
        WritePng(overlay, stream);
    }

    /// <summary>Writes the overlay as PNG to a stream.</summary>
    public static void WritePng(SKBitmap overlay, Stream stream)
    {
        using var image = SKImage.FromBitmap(overlay);
        using var data = image.Encode(SKEncodedImageFormat.Png, 100)
            ?? throw new InvalidOperationException("SkiaSharp could not encode the overlay as PNG.");
        data.SaveTo(stream);
    }

    private static Rgb Mix(Rgb photo, Rgb tint, double opacity) => new(
        (byte)Math.Round(photo.R * (1 - opacity) + tint.R * opacity),
        (byte)Math.Round(photo.G * (1 - opacity) + tint.G * opacity),
        (byte)Math.Round(photo.B * (1 - opacity) + tint.B * opacity));

    /// <summary>An RGBA buffer with rectangle fills clipped to its bounds.</summary>
    private sealed class Painter(int length, int width, int height)
    {
        private readonly byte[] _buffer = new byte[length];

        public void Set(int x, int y, Rgb color)
        {
            int i = (y * width + x) * 4;
            _buffer[i] = color.R;
            _buffer[i + 1] = color.G;
            _buffer[i + 2] = color.B;
            _buffer[i + 3] = 255;
        }

        public void Fill(int left, int top, int w, int h, Rgb color)
        {
            int x0 = Math.Max(0, left), y0 = Math.Max(0, top);
            int x1 = Math.Min(width, left + w), y1 = Math.Min(height, top + h);
            for (int y = y0; y < y1; y++)
                for (int x = x0; x < x1; x++)
                    Set(x, y, color);
        }

        public void CopyTo(IntPtr target) => System.Runtime.InteropServices.Marshal.Copy(_buffer, 0, target, _buffer.Length);
    }

    /// <summary>
    /// Where each legend entry goes: entries flow left to right and wrap to new rows, and an entry wider than the image
    /// wraps its own text onto several lines (at spaces where it can), so that no label is cut off at the right edge.
    /// </summary>
    private sealed record LegendLayout(int Height, ((int Left, int Top) Position, IReadOnlyList<string> Lines)[] Entries)
    {
        /// <summary>Height of one line of legend text, with the gap below it.</summary>
        public static int RowHeight(int scale) => (int)TextSize(scale) + 4 * scale;

        public static LegendLayout Compute(IReadOnlyList<string> entries, int width, int scale)
        {
            int margin = 3 * scale, gap = 6 * scale;
            int rowHeight = RowHeight(scale);
            int swatch = (int)TextSize(scale) + 2 * scale;
            var placed = new ((int, int), IReadOnlyList<string>)[entries.Count];
            int x = margin, y = margin, rowLines = 1;
            for (int i = 0; i < entries.Count; i++)
            {
                var lines = WrapText(entries[i], width - 2 * margin - swatch, TextSize(scale));
                int entryWidth = swatch + lines.Max(line => (int)Math.Ceiling(LegendFont.Instance.Measure(line, TextSize(scale))));
                if (x > margin && x + entryWidth > width - margin)
                {
                    x = margin;
                    y += rowLines * rowHeight;
                    rowLines = 1;
                }
                placed[i] = ((x, y), lines);
                rowLines = Math.Max(rowLines, lines.Count);
                x += entryWidth + gap;
            }
            return new LegendLayout(y + rowLines * rowHeight - 4 * scale + margin, placed);
        }

        /// <summary>
        /// <paramref name="text"/> as lines no wider than <paramref name="maxWidth"/>: broken after the last space that
        /// fits, else between characters (a line holds at least one character however narrow the image).
        /// </summary>
        private static IReadOnlyList<string> WrapText(string text, int maxWidth, float size)
        {
            var font = LegendFont.Instance;
            if (font.Measure(text, size) <= maxWidth)
                return [text];
            var lines = new List<string>();
            string rest = text;
            while (rest.Length > 0)
            {
                // Skia draws without kerning, so a line's width is the sum of its characters' advances.
                var elements = StringInfo.GetTextElementEnumerator(rest);
                int fits = 0, lastSpace = -1;
                float lineWidth = 0;
                while (elements.MoveNext())
                {
                    string element = elements.GetTextElement();
                    lineWidth += font.Measure(element, size);
                    if (fits > 0 && lineWidth > maxWidth)
                        break;
                    if (element == " ")
                        lastSpace = elements.ElementIndex;
                    fits = elements.ElementIndex + element.Length;
                }
                int cut = fits < rest.Length && lastSpace > 0 ? lastSpace : fits;
                lines.Add(rest[..cut].TrimEnd());
                rest = rest[cut..].TrimStart();
            }
            return lines;
        }
    }
}
