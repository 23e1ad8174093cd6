using System.Reflection;
using System.Text;
using SkiaSharp;

namespace LSeg.MLNet.Rendering;

/// <summary>
/// Draws any label with the fonts shipped in LSeg.MLNet (see <c>Rendering/Fonts/README.md</c>): DejaVu Sans, then a
/// CJK subset of Droid Sans Fallback. SkiaSharp 2.88 on Linux has no font manager (no fontconfig), so system fonts cannot
/// be relied on; each character is drawn with the first shipped font that has it. Thread-safe.
/// </summary>
internal sealed class LegendFont
{
    private static readonly Lazy<LegendFont> Shared = new(() => new LegendFont(Load("DejaVuSans.ttf"), Load("DroidSansFallback-CJK-subset.ttf")));

    private readonly SKTypeface[] _faces;

    private LegendFont(params SKTypeface[] faces) => _faces = faces;

    /// <summary>The shipped fonts, loaded once per process.</summary>
    public static LegendFont Instance => Shared.Value;

    /// <summary>Width of <paramref name="text"/> at <paramref name="size"/> pixels.</summary>
    public float Measure(string text, float size)
    {
        float width = 0;
        foreach (var (run, face) in Runs(Printable(text)))
        {
            using var paint = Paint(face, size, SKColors.Black);
            width += paint.MeasureText(run);
        }
        return width;
    }

    /// <summary>Draws <paramref name="text"/> with its top-left corner at (<paramref name="left"/>, <paramref name="top"/>).</summary>
    public void Draw(SKCanvas canvas, string text, float left, float top, float size, SKColor color)
    {
        using var primary = Paint(0, size, color);
        float baseline = top - primary.FontMetrics.Ascent;
        float x = left;
        foreach (var (run, face) in Runs(Printable(text)))
        {
            using var paint = Paint(face, size, color);
            canvas.DrawText(run, x, baseline, paint);
            x += paint.MeasureText(run);
        }
    }

    private SKPaint Paint(int face, float size, SKColor color) =>
        new() { Typeface = _faces[face], TextSize = size, Color = color, IsAntialias = true, Style = SKPaintStyle.Fill };

    /// <summary>The font that draws <paramref name="codePoint"/>: the first that has it, else the first font (its empty box).</summary>
    public int FaceFor(int codePoint)
    {
        for (int i = 0; i < _faces.Length; i++)
        {
            if (_faces[i].ContainsGlyph(codePoint))
                return i;
        }
        return 0;
    }

    /// <summary>True when a shipped font has <paramref name="codePoint"/>.</summary>
    public bool Covers(int codePoint) => _faces.Any(face => face.ContainsGlyph(codePoint));

    /// <summary>
    /// Control and format characters (escape sequences, bidi overrides) as visible <c>\uXXXX</c>; the zero-width joiner
    /// and non-joiner, which are part of ordinary spelling (Persian "درخت‌ها"), are left out of the drawing instead.
    /// </summary>
    internal static string Printable(string text)
    {
        var builder = new StringBuilder(text.Length);
        foreach (var rune in text.EnumerateRunes())
        {
            var category = Rune.GetUnicodeCategory(rune);
            if (rune.Value is 0x200C or 0x200D)
                continue;
            if (category is System.Globalization.UnicodeCategory.Control or System.Globalization.UnicodeCategory.Format)
                builder.Append($"\\u{rune.Value:X4}");
            else
                builder.Append(rune.ToString());
        }
        return builder.ToString();
    }

    private IEnumerable<(string Run, int Face)> Runs(string text)
    {
        var run = new StringBuilder();
        int current = -1;
        foreach (var rune in text.EnumerateRunes())
        {
            int face = FaceFor(rune.Value);
            if (face != current && run.Length > 0)
            {
                yield return (run.ToString(), current);
                run.Clear();
            }
            current = face;
            run.Append(rune.ToString());
        }
        if (run.Length > 0)
            yield return (run.ToString(), current);
    }

    private static SKTypeface Load(string name)
    {
        using var stream = typeof(LegendFont).Assembly.GetManifestResourceStream("LSeg.Fonts/" + name)
            ?? throw new InvalidOperationException($"LSeg.MLNet was built without its font '{name}' (Rendering/Fonts).");
        return SKTypeface.FromStream(stream) ?? throw new InvalidDataException($"The embedded font '{name}' could not be read.");
    }
}
