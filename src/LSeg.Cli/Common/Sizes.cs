using System.Globalization;

namespace LSeg.Cli.Common;

/// <summary>Human-readable byte counts.</summary>
internal static class Sizes
{
    /// <summary>1536 → "1.5 KiB".</summary>
    public static string Human(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        double value = bytes;
        int unit = 0;
        while (value >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }
        return unit == 0 ? $"{bytes} B" : string.Create(CultureInfo.InvariantCulture, $"{value:0.0} {units[unit]}");
    }
}
