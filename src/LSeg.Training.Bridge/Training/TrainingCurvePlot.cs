using System.Globalization;
using LSeg.MLNet.IO;
using LSeg.MLNet.Rendering;
using SkiaSharp;

namespace LSeg.Training.Bridge.Training;

/// <summary>
/// Draws the training curve (training loss per epoch on the left axis, validation mIoU in percent on the right axis)
/// to a PNG. Drawn with SkiaSharp 2.88 and the fonts shipped in LSeg.MLNet: a plotting library that brings SkiaSharp 3
/// would break ML.NET 5.0.1's image transforms in every process that references this assembly, and system fonts may be
/// missing on Linux.
/// </summary>
public static class TrainingCurvePlot
{
    private const int Width = 800, Height = 500;
    private const float TextSize = 15;
    private const int Left = 90, Right = 90, Top = 50, Bottom = 60;
    private static readonly SKColor LossColor = new(31, 119, 180), MeanIoUColor = new(255, 127, 14);
    private static readonly SKColor AxisColor = new(40, 40, 40), GridColor = new(225, 225, 225);

    /// <summary>Writes the curve of <paramref name="history"/> to <paramref name="path"/> as a PNG.</summary>
    /// <exception cref="ArgumentException">The history is empty.</exception>
    public static void Save(IReadOnlyList<EpochRecord> history, string path, string title)
    {
        ArgumentNullException.ThrowIfNull(history);
        if (history.Count == 0)
            throw new ArgumentException("The training history is empty: there is no curve to draw.", nameof(history));

        using var bitmap = new SKBitmap(Width, Height);
        using var canvas = new SKCanvas(bitmap);
        canvas.Clear(SKColors.White);
        var plotArea = new SKRect(Left, Top, Width - Right, Height - Bottom);

        int lastEpoch = history.Max(h => h.Epoch) + 1;
        double maxLoss = Math.Max(1e-6, history.Max(h => h.TrainLoss));
        var withValidation = history.Where(h => !double.IsNaN(h.ValidationMeanIoU)).ToList();

        using (var grid = new SKPaint { Color = GridColor, StrokeWidth = 1 })
        {
            for (int i = 0; i <= 5; i++)
            {
                float y = plotArea.Bottom - i * plotArea.Height / 5;
                canvas.DrawLine(plotArea.Left, y, plotArea.Right, y, grid);
                Text(canvas, (maxLoss * i / 5).ToString("0.00", CultureInfo.InvariantCulture), 8, (int)y - 7, LossColor);
                if (withValidation.Count > 0)
                    Text(canvas, (20 * i).ToString(CultureInfo.InvariantCulture), (int)plotArea.Right + 10, (int)y - 7, MeanIoUColor);
            }
        }
        using (var axis = new SKPaint { Color = AxisColor, StrokeWidth = 2, Style = SKPaintStyle.Stroke })
            canvas.DrawRect(plotArea, axis);

        float XOf(int epoch) => lastEpoch == 1 ? plotArea.MidX : plotArea.Left + (epoch - 1) * plotArea.Width / (lastEpoch - 1);
        for (int epoch = 1; epoch <= lastEpoch; epoch += Math.Max(1, lastEpoch / 10))
            Text(canvas, epoch.ToString(CultureInfo.InvariantCulture), (int)XOf(epoch) - 5, (int)plotArea.Bottom + 8, AxisColor);

        DrawSeries(canvas, history.Select(h => new SKPoint(XOf(h.Epoch + 1), (float)(plotArea.Bottom - h.TrainLoss / maxLoss * plotArea.Height))).ToArray(), LossColor);
        if (withValidation.Count > 0)
            DrawSeries(canvas, withValidation.Select(h => new SKPoint(XOf(h.Epoch + 1), (float)(plotArea.Bottom - h.ValidationMeanIoU * plotArea.Height))).ToArray(), MeanIoUColor);

        Text(canvas, title, Left, 14, AxisColor);
        Text(canvas, "epoch", (int)plotArea.MidX - 30, Height - 24, AxisColor);
        Text(canvas, "training loss", Left, Height - 24, LossColor);
        if (withValidation.Count > 0)
            Text(canvas, "validation mIoU (%)", (int)plotArea.Right - 230, Height - 24, MeanIoUColor);

        using var image = SKImage.FromBitmap(bitmap);
        using var png = image.Encode(SKEncodedImageFormat.Png, 100);
        AtomicFile.WriteStream(path, stream => png.SaveTo(stream));
    }

    private static void DrawSeries(SKCanvas canvas, SKPoint[] points, SKColor color)
    {
        using var line = new SKPaint { Color = color, StrokeWidth = 3, Style = SKPaintStyle.Stroke, IsAntialias = true };
        using var dot = new SKPaint { Color = color, Style = SKPaintStyle.Fill, IsAntialias = true };
        for (int i = 1; i < points.Length; i++)
            canvas.DrawLine(points[i - 1], points[i], line);
        foreach (var point in points)
            canvas.DrawCircle(point, 4, dot);
    }

    private static void Text(SKCanvas canvas, string text, int left, int top, SKColor color)
    {
        LegendFont.Instance.Draw(canvas, text, left, top, TextSize, color);
    }
}
