using System.CommandLine;
using System.Globalization;
using LSeg.Cli.Common;
using LSeg.Training.Bridge.Training;

namespace LSeg.Cli.Commands;

/// <summary>
/// <c>lseg text-projection --names N.txt --embeddings E.npy … --out map.onnx</c>: fits the linear map from MiniLM label
/// embeddings to another text space (e.g. CLIP ViT-B/32) that a training run's <c>textProjection</c> names.
/// </summary>
internal static class TextProjectionCommand
{
    public static Command Create(CliConsole console)
    {
        var names = new Option<string[]>("--names") { Description = "A names file, one class name per line (repeat, one per --embeddings, in the same order).", Required = true, HelpName = "FILE" };
        var embeddings = new Option<string[]>("--embeddings") { Description = "The .npy (float16 or float32, [names, C]) holding the target text space's embedding of each line of the matching --names file.", Required = true, HelpName = "FILE" };
        var exclude = new Option<string?>("--exclude") { Description = "A file of names (one per line) to leave out of the fit, e.g. the classes of a zero-shot evaluation, so that their embeddings come from the map's generalisation.", HelpName = "FILE" };
        var ridge = new Option<double>("--ridge") { Description = "Ridge penalty on the map's weights.", DefaultValueFactory = _ => 0.3 }.DecimalNumber(0.3);
        var output = new Option<string>("--out", "-o") { Description = "The ONNX graph to write (input text_embeddings [N,384], output label_embeddings [N,C]); a training configuration's textProjection names it.", Required = true, HelpName = "FILE" }.NotEmpty();
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace an existing file at --out." };
        var command = new Command("text-projection", "Fit a linear map from MiniLM label embeddings to another text space known for a vocabulary of names (such as CLIP's), for a training run's 'textProjection'; prints its quality on names held out of the fit.")
        {
            names, embeddings, exclude, ridge, output, overwrite,
        };
        command.SetAction(parsed => Run(console, parsed.GetRequiredValue(names), parsed.GetRequiredValue(embeddings), parsed.GetValue(exclude), parsed.GetValue(ridge), parsed.GetRequiredValue(output),
            parsed.GetValue(overwrite)));
        return command;
    }

    private static int Run(CliConsole console, string[] names, string[] embeddings, string? exclude, double ridge, string output, bool overwrite)
    {
        if (names.Length != embeddings.Length)
            throw new CommandFailure($"--names and --embeddings pair up in order; got {names.Length} names files and {embeddings.Length} embeddings files.", ExitCodes.Usage);
        if (!(ridge > 0))
            throw new CommandFailure($"--ridge must be positive; got {ridge.ToString(CultureInfo.InvariantCulture)}.", ExitCodes.Usage);
        foreach (string file in names.Concat(embeddings).Concat(exclude is null ? [] : [exclude]))
        {
            if (!File.Exists(file))
                throw CommandFailure.NoFile("File", file);
        }
        // Checked before the fit, as every command that writes: a folder, or a file without --overwrite, is refused.
        if (Directory.Exists(output))
            throw new CommandFailure($"--out '{output}' is a folder; give the ONNX file to write.");
        if (File.Exists(output) && !overwrite)
            throw new CommandFailure($"--out '{output}' already exists; pass --overwrite to replace it.");
        // --overwrite replaces an earlier map, never an input of this fit.
        string outputPath = Path.GetFullPath(output);
        if (names.Concat(embeddings).Concat(exclude is null ? [] : [exclude]).FirstOrDefault(file => Path.GetFullPath(file) == outputPath) is { } input)
            throw new CommandFailure($"--out '{output}' is an input of the fit ('{input}'); write the map to another file.", ExitCodes.Usage);
        OutputFolder.RequireWritable(Path.GetDirectoryName(Path.GetFullPath(output))!);
        string[] excluded = exclude is null ? [] : [.. File.ReadAllLines(exclude).Where(line => line.Trim().Length > 0)];
        TextProjectionFitReport report;
        try
        {
            report = TextProjectionFitting.Fit([.. names.Zip(embeddings)], excluded, output, ridge);
        }
        catch (InvalidDataException e)
        {
            throw new CommandFailure(e.Message);
        }
        var o = console.Out;
        o.WriteLine(FormattableString.Invariant($"fitted on {report.Names} names ({report.ExcludedNames} vocabulary entries excluded), ridge {report.Ridge}"));
        o.WriteLine(FormattableString.Invariant($"held out ({report.Folds}-fold over names): cosine to target {report.HeldOutCosine:F3}, nearest of all names {100 * report.HeldOutTop1:F1}%, in the 5 nearest {100 * report.HeldOutTop5:F1}%"));
        o.WriteLine(FormattableString.Invariant($"pairwise similarity vs target space (Pearson, held-out pairs): MiniLM {report.SourcePearson:F3}, mapped {report.MappedPearson:F3}"));
        o.WriteLine($"wrote {Path.GetFullPath(output)}");
        return ExitCodes.Success;
    }
}
