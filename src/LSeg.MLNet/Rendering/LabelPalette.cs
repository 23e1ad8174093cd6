namespace LSeg.MLNet.Rendering;

/// <summary>An opaque RGB colour.</summary>
internal readonly record struct Rgb(byte R, byte G, byte B);

/// <summary>The colour of each label index in overlays: 20 well-separated colours, then golden-angle hues.</summary>
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

    /// <summary>The colour of label <paramref name="index"/>.</summary>
    public static Rgb ColorOf(int index)
    {
        if (index < 0)
            throw new ArgumentOutOfRangeException(nameof(index), index, "Label index must be non-negative.");
        if (index < Distinct.Length)
            return Distinct[index];
        double hue = (index * 137.50776) % 360.0;
        return FromHsv(hue, 0.75, 0.9);
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
