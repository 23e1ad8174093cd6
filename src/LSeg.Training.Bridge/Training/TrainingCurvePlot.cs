using ScottPlot;

namespace LSeg.Training.Bridge.Training;

/// <summary>Draws the training curve (loss per epoch, and validation mIoU on a second axis) to a PNG with ScottPlot.</summary>
public static class TrainingCurvePlot
{
    /// <summary>Writes the curve of <paramref name="history"/> to <paramref name="path"/>.</summary>
    public static void Save(IReadOnlyList<EpochRecord> history, string path, string title)
    {
        ArgumentNullException.ThrowIfNull(history);
        var plot = new Plot();
        double[] epochs = history.Select(h => (double)(h.Epoch + 1)).ToArray();
        var loss = plot.Add.Scatter(epochs, history.Select(h => h.TrainLoss).ToArray());
        loss.LegendText = "training loss";
        var withValidation = history.Where(h => !double.IsNaN(h.ValidationMeanIoU)).ToList();
        if (withValidation.Count > 0)
        {
            var miou = plot.Add.Scatter(withValidation.Select(h => (double)(h.Epoch + 1)).ToArray(),
                withValidation.Select(h => 100 * h.ValidationMeanIoU).ToArray());
            miou.LegendText = "validation mIoU (%)";
            miou.Axes.YAxis = plot.Axes.Right;
            plot.Axes.Right.Label.Text = "validation mIoU (%)";
        }
        plot.Title(title);
        plot.XLabel("epoch");
        plot.YLabel("training loss");
        plot.ShowLegend();
        plot.SavePng(path, 800, 500);
    }
}
