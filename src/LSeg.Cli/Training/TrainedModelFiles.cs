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
        // Class names match ignoring case, as training matches them (ClassList.IndexOf); a zero-shot fold's classes are
        // excluded too, as training excludes them.
        var foldExcluded = config.ZeroShotFold is int fold ? ZeroShotFolds.MsrcFold(fold) : [];
        foreach (var dataset in config.Datasets)
        {
            var options = dataset.ToOptions();
            var classes = ClassList.Load(FolderDataset.ResolveClassesPath(options));
            int? ignore = dataset.IgnoreValue ?? classes.VoidIndex;
            var excluded = new HashSet<string>((dataset.ExcludedClasses ?? []).Concat(foldExcluded), StringComparer.OrdinalIgnoreCase);
            var renames = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var (className, text) in dataset.LabelNames ?? [])
                renames[className] = text; // the last of two spellings wins, as in FolderDataset
            foreach (var (index, className) in classes.Names.OrderBy(p => p.Key))
            {
                if (index == ignore || excluded.Contains(className))
                    continue;
                string text = renames.TryGetValue(className, out var renamed) ? renamed : className;
                // One label per text as the package reads it (trimmed, ignoring case): "car" in one dataset and "Car" in
                // another are one label there, and the package refuses a set with both.
                if (!labels.Any(l => string.Equals(l.Trim(), text.Trim(), StringComparison.OrdinalIgnoreCase)))
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
