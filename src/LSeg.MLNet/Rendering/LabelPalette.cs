namespace LSeg.MLNet.Rendering;

/// <summary>An opaque RGB colour.</summary>
internal readonly record struct Rgb(byte R, byte G, byte B);

/// <summary>
/// The colour of each label index in overlays: 20 well-separated colours, then colours chosen one at a time as far
/// (in CIELAB) from every earlier one and from black and white as a 16-level RGB grid allows, up to 256 labels (what a
/// mask PNG holds), then golden-angle hues.
/// </summary>
internal static class LabelPalette
{
    // Sasha Trubetskoy's "20 simple, distinct colours", in his recommended order.
    private static readonly Rgb[] Distinct =
    [
        new(230, 25, 75), new(60, 180, 75), new(255, 225, 25), new(0, 130, 200), new(245, 130, 48),
        new(145, 30, 180), new(70, 240, 240), new(240, 50, 230), new(210, 245, 60), new(250, 190, 212),
        new(0, 128, 128), new(220, 190, 255), new(170, 110, 40), new(255, 250, 200), new(128, 0, 0),
        new(170, 255, 195), new(128, 128, 0), new(255, 215, 180), new(0, 0, 128), new(128, 128, 128),
    ];

    /// <summary>How many labels get a colour chosen for distance (a mask PNG holds 256 labels).</summary>
    private const int ChosenCount = 256;

    // Golden-angle hues of one saturation came back to nearly the same colour (labels 8 and 32 were ΔE 5 apart).
    private static readonly Lazy<Rgb[]> Chosen = new(ChooseFarthest);

    /// <summary>The colour of label <paramref name="index"/>.</summary>
    public static Rgb ColorOf(int index)
    {
        if (index < 0)
            throw new ArgumentOutOfRangeException(nameof(index), index, "Label index must be non-negative.");
        if (index < Distinct.Length)
            return Distinct[index];
        if (index < ChosenCount)
            return Chosen.Value[index];
        double hue = (index * 137.50776) % 360.0;
        return FromHsv(hue, 0.75, 0.9);
    }

    /// <summary>The 20 fixed colours, then greedy farthest-point picks from a 16-level RGB grid (deterministic).</summary>
    private static Rgb[] ChooseFarthest()
    {
        var candidates = new List<(Rgb Colour, (double L, double A, double B) Lab)>();
        for (int r = 0; r < 16; r++)
            for (int g = 0; g < 16; g++)
                for (int b = 0; b < 16; b++)
                {
                    var colour = new Rgb((byte)(r * 17), (byte)(g * 17), (byte)(b * 17));
                    candidates.Add((colour, Lab(colour)));
                }
        var nearest = Enumerable.Repeat(double.MaxValue, candidates.Count).ToArray();
        void Take((double L, double A, double B) lab)
        {
            for (int c = 0; c < candidates.Count; c++)
                nearest[c] = Math.Min(nearest[c], Distance(candidates[c].Lab, lab));
        }
        // Black is the boundary colour and white the legend's: keep away from both as well.
        Take(Lab(new Rgb(0, 0, 0)));
        Take(Lab(new Rgb(255, 255, 255)));
        var chosen = new List<Rgb>(Distinct);
        foreach (var colour in Distinct)
            Take(Lab(colour));
        while (chosen.Count < ChosenCount)
        {
            int best = 0;
            for (int c = 1; c < candidates.Count; c++)
            {
                if (nearest[c] > nearest[best])
                    best = c;
            }
            chosen.Add(candidates[best].Colour);
            Take(candidates[best].Lab);
        }
        return [.. chosen];
    }

    private static double Distance((double L, double A, double B) x, (double L, double A, double B) y) =>
        Math.Sqrt((x.L - y.L) * (x.L - y.L) + (x.A - y.A) * (x.A - y.A) + (x.B - y.B) * (x.B - y.B));

    /// <summary>CIELAB (D65) of an sRGB colour.</summary>
    internal static (double L, double A, double B) Lab(Rgb colour)
    {
        static double Linear(byte v)
        {
            double c = v / 255.0;
            return c <= 0.04045 ? c / 12.92 : Math.Pow((c + 0.055) / 1.055, 2.4);
        }
        double r = Linear(colour.R), g = Linear(colour.G), b = Linear(colour.B);
        double x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047;
        double y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
        double z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883;
        static double F(double t) => t > 216.0 / 24389 ? Math.Cbrt(t) : (24389.0 / 27 * t + 16) / 116;
        double fx = F(x), fy = F(y), fz = F(z);
        return (116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz));
    }

    private static Rgb FromHsv(double hue, double saturation, double value)
    {
        double c = value * saturation;
        double x = c * (1 - Math.Abs(hue / 60.0 % 2 - 1));
        double m = value - c;
        (double r, double g, double b) = (int)(hue / 60) switch
        {
            0 => (c, x, 0.0),
            1 => (x, c, 0.0),
            2 => (0.0, c, x),
            3 => (0.0, x, c),
            4 => (x, 0.0, c),
            _ => (c, 0.0, x),
        };
        return new Rgb((byte)Math.Round((r + m) * 255), (byte)Math.Round((g + m) * 255), (byte)Math.Round((b + m) * 255));
    }
}
