using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using LSeg.Cli.Common;
using LSeg.MLNet;
using LSeg.Training.Bridge.Data;
using LSeg.Training.Bridge.Evaluation;

namespace LSeg.Cli.Commands;

/// <summary>How a model is run for an evaluation: input size, scales whose logits are summed, and flip.</summary>
internal sealed record EvaluationPasses(int? InputSize, IReadOnlyList<double>? Scales, bool Flip)
{
    /// <summary>The package segmenter for these passes.</summary>
    /// <exception cref="CommandFailure">A usage error naming <c>--scales</c>: a scale the model cannot run at this input size.</exception>
    public PackageSegmenter Segmenter(LanguageSegmentationModel model)
    {
        try
        {
            return new(model, InputSize, Scales, Flip);
        }
        catch (ArgumentException e) when (e.ParamName == "scales")
        {
            throw new CommandFailure($"--scales: {CliApp.Describe(e)}", ExitCodes.Usage);
        }
    }

    /// <summary>A short description for titles ("" for plain single scale).</summary>
    public string Describe()
    {
        var parts = new List<string>();
        if (InputSize is int size)
            parts.Add($"input {size}");
        if (Scales is { Count: > 0 } scales && !(scales.Count == 1 && scales[0] == 1.0))
            parts.Add("scales " + string.Join(",", scales.Select(s => s.ToString(CultureInfo.InvariantCulture))));
        if (Flip)
            parts.Add("flip");
        return parts.Count == 0 ? "" : $" ({string.Join(", ", parts)})";
    }
}

/// <summary>
/// <c>lseg evaluate --protocol NAME --data ROOT</c>: the evaluation protocols (docs/cli.md, evaluate) over the shared data
/// (ROOT holds <c>msrc-v2/</c>, <c>camvid/</c>, <c>ccp/</c>), through the model package and ONNX Runtime.
/// </summary>
internal static class EvaluationProtocolRunner
{
    /// <summary>The protocol names <c>--protocol</c> accepts.</summary>
    public static IReadOnlyList<string> Names { get; } = ["msrc-v2", "camvid", "ccp", "ccp-present-plus-other", "msrc-present-plus-other", "msrc-unnamed-as-other", "msrc-unnamed-as-other-absent", "absent-labels", "absent-untrained-labels", "zero-shot", "zero-shot-generalized"];

    public static int Run(CliConsole console, string name, string dataRoot, int? fold, string? modelPath, bool asJson, EvaluationPasses passes, int? gpu)
    {
        if (!Names.Contains(name))
            throw new CommandFailure($"--protocol '{name}' is unknown; the protocols are {string.Join(", ", Names)}.", ExitCodes.Usage);
        bool zeroShot = name.StartsWith("zero-shot", StringComparison.Ordinal);
        if (zeroShot && fold is not (>= 0 and <= 3))
            throw new CommandFailure($"--protocol {name} needs --fold 0, 1, 2 or 3{(fold is null ? "" : $" (got {fold})")}.", ExitCodes.Usage);
        if (!zeroShot && fold is not null)
            throw new CommandFailure($"--fold applies to the zero-shot protocols only, not to '{name}'.", ExitCodes.Usage);
        if (!Directory.Exists(dataRoot))
            throw new CommandFailure($"Data folder '{dataRoot}' does not exist (with --protocol, --data is the folder holding msrc-v2/, camvid/ and ccp/).");
        string? package = ModelLoading.Validate(modelPath);
        Action<string>? log = console.IsInteractive ? message => console.Error.WriteLine(message) : null;

        using var model = ModelLoading.Load(package, gpu, console);
        var predict = passes.Segmenter(model).Predictor;
        var clock = Stopwatch.StartNew();
        string msrc = Path.Combine(dataRoot, "msrc-v2");
        JsonObject result;
        string text;
        switch (name)
        {
            case "msrc-v2":
            case "camvid":
            case "ccp":
            case "ccp-present-plus-other":
            case "msrc-present-plus-other":
            case "msrc-unnamed-as-other":
                var metrics = name switch
                {
                    "msrc-v2" => EvaluationProtocols.MsrcFixedLabels(msrc, predict, log),
                    "camvid" => EvaluationProtocols.CamVidVal(Path.Combine(dataRoot, "camvid"), predict, log),
                    "ccp" => EvaluationProtocols.CcpVal(Path.Combine(dataRoot, "ccp"), predict, log),
                    "ccp-present-plus-other" => EvaluationProtocols.CcpPresentLabelsPlusOther(Path.Combine(dataRoot, "ccp"), predict, log),
                    "msrc-unnamed-as-other" => EvaluationProtocols.MsrcUnnamedAsOther(msrc, predict, log),
                    _ => EvaluationProtocols.MsrcPresentLabelsPlusOther(msrc, predict, log),
                };
                result = Metrics(metrics);
                text = metrics.ToTable();
                if (name.EndsWith("-other", StringComparison.Ordinal))
                {
                    // The share of labelled pixels the catch-all label took: a loss where every pixel is named
                    // (present-plus-other); where a class is unnamed (unnamed-as-other) "other" is right there, and otherIoU is the measure.
                    int other = metrics.ClassNames.ToList().IndexOf(ZeroShotFolds.OtherLabel);
                    double share = (double)metrics.Confusion.Sum(row => row[other]) / Math.Max(1, metrics.Confusion.Sum(row => row.Sum()));
                    result["otherShare"] = Percent(share);
                    text += string.Create(CultureInfo.InvariantCulture, $"\"other\" took {100 * share:F2}% of the labelled pixels\n");
                    // "Other" against the named region as a whole (for CCP: the scene against the person).
                    var split = metrics.SplitAt(other);
                    result["otherIoU"] = Percent(split.CatchAllIoU);
                    result["namedIoU"] = Percent(split.NamedIoU);
                    result["namedLostToOther"] = Percent(split.NamedLostToCatchAll);
                    text += string.Create(CultureInfo.InvariantCulture,
                        $"\"other\" vs every named class together: IoU {PercentText(split.CatchAllIoU, "F1")} / {PercentText(split.NamedIoU, "F1")}; \"other\" took {PercentText(split.NamedLostToCatchAll, "F2")}% of the named pixels\n");
                }
                break;
            case "msrc-unnamed-as-other-absent":
                var withAbsent = EvaluationProtocols.MsrcUnnamedAsOtherWithAbsentName(msrc, predict, log);
                result = Metrics(withAbsent);
                text = withAbsent.ToTable();
                long labelled = withAbsent.Confusion.Sum(row => row.Sum());
                int otherColumn = withAbsent.ClassNames.Count - 2, absentColumn = withAbsent.ClassNames.Count - 1;
                double otherTook = (double)withAbsent.Confusion.Sum(row => row[otherColumn]) / Math.Max(1, labelled);
                double absentTook = (double)withAbsent.Confusion.Sum(row => row[absentColumn]) / Math.Max(1, labelled);
                result["otherShare"] = Percent(otherTook);
                result["otherIoU"] = Percent(withAbsent.ClassIoU[otherColumn]);
                result["absentShare"] = Percent(absentTook);
                text += string.Create(CultureInfo.InvariantCulture,
                    $"\"other\" took {100 * otherTook:F2}% of the labelled pixels (IoU {100 * withAbsent.ClassIoU[otherColumn]:F1}); the absent name took {100 * absentTook:F2}%\n");
                break;
            case "absent-labels" or "absent-untrained-labels":
                var absent = name == "absent-labels"
                    ? EvaluationProtocols.MsrcAbsentLabels(dataRoot, predict, log: log)
                    : EvaluationProtocols.MsrcAbsentLabels(dataRoot, predict, EvaluationProtocols.UntrainedAbsentNames, log: log);
                result = new JsonObject
                {
                    ["absentShare"] = Percent(absent.AbsentShare),
                    ["mIoU"] = Percent(absent.MeanIoU),
                    ["mIoUTrueLabelsOnly"] = Percent(absent.MeanIoUWithoutAbsentNames),
                    ["mIoUDrop"] = Percent(absent.MeanIoUWithoutAbsentNames - absent.MeanIoU),
                    ["pixelsByAbsentName"] = new JsonObject(absent.PixelsByAbsentName.Take(15).Select(p => KeyValuePair.Create(p.Key, (JsonNode?)p.Value))),
                    ["images"] = absent.Images,
                };
                text = string.Create(CultureInfo.InvariantCulture,
                    $"absent names took {100 * absent.AbsentShare:F2}% of the labelled pixels; mIoU {100 * absent.MeanIoU:F1} with them vs {100 * absent.MeanIoUWithoutAbsentNames:F1} without (drop {100 * (absent.MeanIoUWithoutAbsentNames - absent.MeanIoU):F1})\n" +
                    $"names that took most pixels: {string.Join(", ", absent.PixelsByAbsentName.Take(8).Select(p => $"{p.Key} {p.Value}"))}\n");
                break;
            default:
                var fr = name == "zero-shot"
                    ? EvaluationProtocols.MsrcZeroShotFold(msrc, fold!.Value, predict, log)
                    : EvaluationProtocols.MsrcZeroShotFoldGeneralized(msrc, fold!.Value, predict, log);
                result = new JsonObject
                {
                    ["fold"] = fr.Fold,
                    ["mIoU"] = Percent(fr.MeanIoU),
                    ["fbIoU"] = Percent(fr.FBIoU),
                    ["episodes"] = fr.Episodes,
                    ["foregroundIoU"] = new JsonObject(fr.Classes.Select(c => KeyValuePair.Create(c.ClassNames[1], Percent(c.ClassIoU[1])))),
                };
                // A class no image of the split shows has no episode: the fold's mIoU is then over fewer classes, said here.
                var unseen = fr.Classes.Where(c => c.Images == 0).Select(c => c.ClassNames[1]).ToList();
                result["classesAveraged"] = fr.Classes.Count - unseen.Count;
                result["classesWithoutEpisodes"] = new JsonArray([.. unseen.Select(c => (JsonNode)c)]);
                var lines = new StringBuilder();
                foreach (var c in fr.Classes)
                {
                    lines.AppendLine(c.Images == 0
                        ? string.Create(CultureInfo.InvariantCulture, $"{c.ClassNames[1],-12} no episode (no image of this split shows it)")
                        : string.Create(CultureInfo.InvariantCulture, $"{c.ClassNames[1],-12} foreground IoU {100 * c.ClassIoU[1]:F1} ({c.Images} episodes)"));
                }
                string over = unseen.Count == 0 ? "" : $" (mean over {fr.Classes.Count - unseen.Count} of {fr.Classes.Count} classes; none of {string.Join(", ", unseen)})";
                lines.AppendLine(double.IsNaN(fr.MeanIoU)
                    ? $"fold {fr.Fold} {name}: no episode: no image of this split shows a class of the fold"
                    : string.Create(CultureInfo.InvariantCulture, $"fold {fr.Fold} {name}: mIoU {100 * fr.MeanIoU:F1}{over}, FB-IoU {100 * fr.FBIoU:F1} over {fr.Episodes} episodes"));
                text = lines.ToString();
                break;
        }
        double seconds = clock.Elapsed.TotalSeconds;
        if (asJson)
        {
            result["protocol"] = name;
            result["model"] = model.Manifest.Name;
            result["passes"] = passes.Describe().Trim(' ', '(', ')');
            result["seconds"] = Math.Round(seconds, 1);
            console.Out.WriteLine(result.ToJsonString(CliJson.Indented));
        }
        else
        {
            console.Out.WriteLine($"Model {model.Manifest.Name}, protocol {name}{passes.Describe()}, {seconds:0.0} s");
            console.Out.Write(text);
        }
        return ExitCodes.Success;
    }

    private static JsonNode? Percent(double value) => double.IsNaN(value) ? null : JsonValue.Create(Math.Round(100 * value, 2));

    /// <summary>A share as text; "none" where it is undefined (0/0: "other" won no pixel and was never the truth), as the JSON's null.</summary>
    private static string PercentText(double value, string format) =>
        double.IsNaN(value) ? "none" : (100 * value).ToString(format, CultureInfo.InvariantCulture);

    private static JsonObject Metrics(SegmentationMetrics metrics) => new()
    {
        ["title"] = metrics.Title,
        ["mIoU"] = Percent(metrics.MeanIoU),
        ["pixelAccuracy"] = Percent(metrics.PixelAccuracy),
        ["images"] = metrics.Images,
        ["perClassIoU"] = new JsonObject(metrics.ClassNames.Select((n, i) => KeyValuePair.Create(n, Percent(metrics.ClassIoU[i])))),
    };
}
