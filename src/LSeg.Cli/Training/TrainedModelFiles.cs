using LSeg.Cli.Common;
using LSeg.MLNet;
using LSeg.MLNet.IO;
using LSeg.MLNet.Package;
using LSeg.Training.Bridge.Data;
using LSeg.Training.Bridge.Export;
using LSeg.Training.Bridge.Network;
using LSeg.Training.Bridge.Training;
using Microsoft.ML;

namespace LSeg.Cli.Training;

/// <summary>What <c>lseg train</c> and <c>lseg export</c> write besides the checkpoints.</summary>
internal static class TrainedModelFiles
{
    /// <summary>The text labels a configuration trains with, in dataset order without repeats: the zip's default label set.</summary>
    public static string[] TrainingLabels(TrainingConfig config)
    {
        var labels = new List<string>();
        foreach (var dataset in config.Datasets)
        {
            var options = dataset.ToOptions();
            var classes = ClassList.Load(FolderDataset.ResolveClassesPath(options));
            int? ignore = dataset.IgnoreValue ?? classes.VoidIndex;
            foreach (var (index, className) in classes.Names.OrderBy(p => p.Key))
            {
                if (index == ignore || (dataset.ExcludedClasses?.Contains(className) ?? false))
                    continue;
                string text = dataset.LabelNames is not null && dataset.LabelNames.TryGetValue(className, out var renamed) ? renamed : className;
                if (!labels.Contains(text))
                    labels.Add(text);
            }
        }
        return labels.ToArray();
    }

    /// <summary>
    /// Saves the LanguageSegment transformer of <paramref name="packageDirectory"/> with <paramref name="labels"/> as an
    /// ML.NET model zip (<c>mlContext.Model.Save</c>); its input is an image column named <c>Image</c>.
    /// </summary>
    public static void SaveMLNetModel(string packageDirectory, string[] labels, string zipPath)
    {
        var mlContext = new MLContext();
        using var model = LanguageSegmentationModel.Load(packageDirectory);
        var table = mlContext.Data.LoadFromEnumerable(Array.Empty<ImagePathRow>());
        var images = mlContext.Transforms.LoadImages("Image", imageFolder: null, inputColumnName: nameof(ImagePathRow.ImagePath)).Fit(table).Transform(table);
        using var transformer = mlContext.Transforms.LanguageSegment(labels, model: model).Fit(images);
        AtomicFile.Write(zipPath, temporary => mlContext.Model.Save(transformer, images.Schema, temporary));
    }

    private sealed class ImagePathRow
    {
        public string ImagePath { get; set; } = "";
    }
}
