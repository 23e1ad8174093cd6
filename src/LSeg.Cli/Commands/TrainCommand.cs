using System.CommandLine;
using LSeg.Cli.Common;
using LSeg.Cli.Training;
using LSeg.MLNet.IO;
using LSeg.Training.Bridge.Network;
using LSeg.Training.Bridge.Training;

namespace LSeg.Cli.Commands;

/// <summary>
/// <c>lseg train --config FILE.json</c>: trains from a Model-Builder-like configuration, then writes the model package,
/// an ML.NET model zip (the saved LanguageSegment transformer) and a C# snippet that consumes the zip.
/// </summary>
internal static class TrainCommand
{
    /// <summary>Folder (inside the run's output folder) of the exported model package.</summary>
    public const string PackageFolderName = "model";

    /// <summary>File name of the saved ML.NET model.</summary>
    public const string ZipFileName = "model.zip";

    /// <summary>File name of the generated consumption snippet.</summary>
    public const string SnippetFileName = "ConsumeModel.cs";

    public static Command Create(CliConsole console)
    {
        var config = new Option<string>("--config", "-c") { Description = "Training configuration JSON: datasets (folders, label names), network, text encoder, image size, epochs, learning rate, outputDirectory.", Required = true, HelpName = "FILE.json" };
        var resume = new Option<bool>("--resume") { Description = "Continue the run in the configuration's outputDirectory from its last checkpoint." };
        var command = new Command("train", "Train an LSeg model from a JSON configuration; writes the model package, an ML.NET model zip and a C# consumption snippet.")
        {
            config, resume,
        };
        // Synchronous on purpose: see ConsoleInterrupt (an asynchronous action would be ended 2 s after Ctrl+C).
        command.SetAction(parsed => Run(console, parsed.GetRequiredValue(config), parsed.GetValue(resume)));
        return command;
    }

    private static int Run(CliConsole console, string configPath, bool resume)
    {
        if (!File.Exists(configPath))
            throw CommandFailure.NoFile("Training configuration", configPath);
        // Parsing checks unknown fields, values and that every dataset folder exists, before anything is written.
        var config = TrainingConfig.Load(configPath);
        foreach (var dataset in config.Datasets.Concat(config.Validation).Concat(config.Test))
        {
            foreach (string sub in new[] { "images", "labels" })
            {
                string path = Path.Combine(dataset.Folder, sub);
                if (!Directory.Exists(path))
                    throw new CommandFailure($"{configPath}: dataset '{dataset.Name}' has no '{sub}/' folder ('{path}' does not exist).");
            }
        }

        if (!resume && config.TextEncoder != "fixed")
            RequireNoFinalOutputs(Path.GetFullPath(config.OutputDirectory));

        TrainingResult result;
        using (var interrupt = new ConsoleInterrupt(() => console.Out.WriteLine("stopping after the current batch (Ctrl+C again stops at once)")))
        {
            try
            {
                result = Trainer.Run(config, resume, message => console.Out.WriteLine(message), interrupt.Token);
                // Asked during the final test: stop before the package is written, as promised.
                interrupt.Token.ThrowIfCancellationRequested();
            }
            catch (OperationCanceledException) when (interrupt.Requested)
            {
                throw Interrupted(configPath, config);
            }
        }
        string output = result.OutputDirectory;
        if (config.TextEncoder == "fixed")
        {
            // The baseline exists to be measured against the text model (its test scores are in the log and the run
            // folder); its learned label table cannot take new labels, so there is nothing to ship as a package.
            console.Out.WriteLine($"fixed-label baseline: no model package, ML.NET model or snippet (it has no text encoder); checkpoints and test results in {output}");
            return ExitCodes.Success;
        }

        // The best checkpoint becomes the package; then the ML.NET zip and the snippet are built from the package.
        string packageDirectory = Path.Combine(output, PackageFolderName);
        TrainedPackage.ExportBest(result, packageDirectory, config.Name, new Dictionary<string, string>
        {
            ["trainedOn"] = string.Join(", ", config.Datasets.Select(d => d.Name)),
            ["epochs"] = result.State.EpochsCompleted.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["command"] = $"lseg train --config {Path.GetFileName(configPath)}",
        });
        var labels = TrainedModelFiles.TrainingLabels(config);
        string zipPath = Path.Combine(output, ZipFileName);
        TrainedModelFiles.SaveMLNetModel(packageDirectory, labels, zipPath);
        string snippetPath = Path.Combine(output, SnippetFileName);
        AtomicFile.WriteAllText(snippetPath, ConsumptionSnippet.Generate(config.Name, zipPath, labels));

        console.Out.WriteLine($"model package   {packageDirectory}");
        console.Out.WriteLine($"ML.NET model    {zipPath}");
        console.Out.WriteLine($"C# snippet      {snippetPath}");
        return ExitCodes.Success;
    }

    /// <summary>
    /// Refuses, before any training, a new run into a folder that already holds what the run writes last (the package,
    /// the ML.NET zip, the snippet): a foreign <c>model/</c> failed only after the whole training, and the user's own
    /// <c>model.zip</c> or <c>ConsumeModel.cs</c> was replaced without a word.
    /// </summary>
    private static void RequireNoFinalOutputs(string output)
    {
        // A folder holding a run's checkpoints gets the trainer's own refusal, which says to resume it.
        if (Directory.Exists(Path.Combine(output, "checkpoints")) && Directory.EnumerateFileSystemEntries(Path.Combine(output, "checkpoints")).Any())
            return;
        var present = new[] { PackageFolderName, ZipFileName, SnippetFileName }
            .Where(name => Directory.Exists(Path.Combine(output, name)) || File.Exists(Path.Combine(output, name))).ToList();
        if (present.Count > 0)
            throw new CommandFailure(
                $"'{output}' already holds {string.Join(", ", present.Select(n => $"'{n}'"))}, which this run would replace when it ends (a finished run's outputs, or files of your own): choose another outputDirectory, or move them.");
    }

    /// <summary>What an interrupted run left and how to continue it: the epochs of its last checkpoint are kept, the epoch in progress is not.</summary>
    private static CommandFailure Interrupted(string configPath, TrainingConfig config)
    {
        var store = new CheckpointStore(Path.Combine(Path.GetFullPath(config.OutputDirectory), "checkpoints"));
        string? last = store.Find("last");
        int finished = last is null ? 0 : CheckpointStore.ReadState(last).EpochsCompleted;
        string kept = last is null
            ? "no epoch was finished, so nothing was kept: run the same command again to start over"
            : finished >= config.Epochs
                ? $"'{last}' keeps all {finished} epochs: 'lseg train --config {configPath} --resume' finishes the run without training again"
                : $"'{last}' keeps {finished} finished epoch(s) (the epoch in progress is redone): 'lseg train --config {configPath} --resume' continues from it";
        return new CommandFailure($"interrupted; {kept}.", ExitCodes.Interrupted);
    }
}
