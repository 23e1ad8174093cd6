using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace LSeg.Training.Bridge.Evaluation;

/// <summary>Quality of a segmentation over a split, computed from an accumulated <see cref="ConfusionMatrix"/>.</summary>
public sealed class SegmentationMetrics
{
    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>What was evaluated, e.g. <c>msrc-v2 test, 23 labels</c>.</summary>
    public string Title { get; init; } = "";

    /// <summary>Evaluation class names, in matrix order.</summary>
    public IReadOnlyList<string> ClassNames { get; init; } = [];

    /// <summary>IoU of each class (NaN when it is neither in the truth nor predicted).</summary>
    public IReadOnlyList<double> ClassIoU { get; init; } = [];

    /// <summary>Ground-truth pixels of each class.</summary>
    public IReadOnlyList<long> ClassPixels { get; init; } = [];

    /// <summary>Mean IoU over the classes present in the ground truth.</summary>
    public double MeanIoU { get; init; }

    /// <summary>Correct pixels / evaluated pixels.</summary>
    public double PixelAccuracy { get; init; }

    /// <summary>Mean of background (class 0) and foreground (class 1) IoU; only for 2-class evaluations.</summary>
    public double? FBIoU { get; init; }

    /// <summary>Images (or episodes) evaluated.</summary>
    public int Images { get; init; }

    /// <summary>The confusion matrix, <c>[truth][prediction]</c>.</summary>
    public long[][] Confusion { get; init; } = [];

    /// <summary>Computes the metrics of an accumulated matrix.</summary>
    public static SegmentationMetrics From(ConfusionMatrix matrix, IReadOnlyList<string> classNames, string title, int images)
    {
        ArgumentNullException.ThrowIfNull(matrix);
        ArgumentNullException.ThrowIfNull(classNames);
        if (classNames.Count != matrix.ClassCount)
            throw new ArgumentException($"{classNames.Count} class names for a {matrix.ClassCount}-class matrix.", nameof(classNames));
        return new SegmentationMetrics
        {
            Title = title,
            ClassNames = classNames.ToList(),
            ClassIoU = Enumerable.Range(0, matrix.ClassCount).Select(matrix.IoU).ToList(),
            ClassPixels = Enumerable.Range(0, matrix.ClassCount).Select(matrix.TruthCount).ToList(),
            MeanIoU = matrix.MeanIoU(),
            PixelAccuracy = matrix.PixelAccuracy(),
            FBIoU = matrix.ClassCount == 2 ? (matrix.IoU(0) + matrix.IoU(1)) / 2 : null,
            Images = images,
            Confusion = matrix.ToArray(),
        };
    }

    /// <summary>
    /// The evaluation seen as two regions: the catch-all class <paramref name="catchAll"/> (e.g. "other" for CCP's scene)
    /// against every other class taken together (the person, whichever garment name a pixel got). Computed from
    /// <see cref="Confusion"/>, so a named pixel given another name still counts as named.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="catchAll"/> is not a class index.</exception>
    public CatchAllSplit SplitAt(int catchAll)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(catchAll);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(catchAll, Confusion.Length);
        long both = Confusion[catchAll][catchAll];
        long truthCatchAll = Confusion[catchAll].Sum();
        long predictedCatchAll = Confusion.Sum(row => row[catchAll]);
        long total = Confusion.Sum(row => row.Sum());
        long namedLost = predictedCatchAll - both;
        long catchAllNamed = truthCatchAll - both;
        long namedKept = total - truthCatchAll - namedLost;
        return new CatchAllSplit(
            Ratio(both, both + namedLost + catchAllNamed),
            Ratio(namedKept, namedKept + namedLost + catchAllNamed),
            Ratio(namedLost, total - truthCatchAll));
    }

    private static double Ratio(long numerator, long denominator) => denominator == 0 ? double.NaN : (double)numerator / denominator;

    /// <summary>A plain-text table: one row per class (IoU %, pixels), then mIoU, pixel accuracy and FB-IoU.</summary>
    public string ToTable()
    {
        var text = new StringBuilder();
        int width = Math.Max(12, ClassNames.Count == 0 ? 0 : ClassNames.Max(n => n.Length) + 2);
        text.AppendLine(CultureInfo.InvariantCulture, $"{Title} ({Images} images)");
        text.AppendLine(CultureInfo.InvariantCulture, $"{"class".PadRight(width)}{"IoU %",8}{"pixels",12}");
        for (int c = 0; c < ClassNames.Count; c++)
        {
            string iou = double.IsNaN(ClassIoU[c]) ? "-" : (100 * ClassIoU[c]).ToString("F1", CultureInfo.InvariantCulture);
            text.AppendLine(CultureInfo.InvariantCulture, $"{ClassNames[c].PadRight(width)}{iou,8}{ClassPixels[c],12}");
        }
        // "-" where nothing was counted (no labelled pixel), as for a class: NaN is not a score.
        static string Percent(double value) => double.IsNaN(value) ? "-" : (100 * value).ToString("F1", CultureInfo.InvariantCulture);
        text.AppendLine(CultureInfo.InvariantCulture, $"{"mIoU".PadRight(width)}{Percent(MeanIoU),8}");
        text.AppendLine(CultureInfo.InvariantCulture, $"{"pixel acc.".PadRight(width)}{Percent(PixelAccuracy),8}");
        if (FBIoU is double fb)
            text.AppendLine(CultureInfo.InvariantCulture, $"{"FB-IoU".PadRight(width)}{Percent(fb),8}");
        return text.ToString();
    }

    /// <summary>JSON with every field (NaN written as "NaN").</summary>
    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);
}

/// <summary>A segmentation seen as a catch-all region and a named region (see <see cref="SegmentationMetrics.SplitAt"/>).</summary>
/// <param name="CatchAllIoU">IoU of the catch-all class.</param>
/// <param name="NamedIoU">IoU of the named region: every class but the catch-all, taken together.</param>
/// <param name="NamedLostToCatchAll">Share of the named region's pixels that the catch-all took.</param>
public readonly record struct CatchAllSplit(double CatchAllIoU, double NamedIoU, double NamedLostToCatchAll);
