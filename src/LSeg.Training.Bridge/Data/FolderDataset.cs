namespace LSeg.Training.Bridge.Data;

/// <summary>
/// A segmentation dataset in the plain folder format (<see cref="FolderDatasetOptions"/>), decoded into memory once.
/// Its label set is every class except the ignore value, in class-index order, with the text names of
/// <see cref="TextLabels"/>.
/// </summary>
public sealed class FolderDataset
{
    private static readonly string[] ImageExtensions = [".jpg", ".jpeg", ".png", ".bmp"];
    private const string ImageExtensionList = ".jpg, .jpeg, .png or .bmp, in either letter case";
    private const string LabelExtension = ".png";

    private FolderDataset(string name, ClassList classes, int? ignoreValue, IReadOnlyList<SegmentationSample> samples, IReadOnlyDictionary<int, string> textLabels)
    {
        Name = name;
        Classes = classes;
        IgnoreValue = ignoreValue;
        Samples = samples;
        TextLabels = textLabels;
    }

    /// <summary>The dataset's short name.</summary>
    public string Name { get; }

    /// <summary>Its classes as listed in <c>classes.txt</c>.</summary>
    public ClassList Classes { get; }

    /// <summary>The label value that is never a target nor scored; null when every value is a class.</summary>
    public int? IgnoreValue { get; }

    /// <summary>The images with their label maps, in split-list (or file-name) order.</summary>
    public IReadOnlyList<SegmentationSample> Samples { get; }

    /// <summary>Text label of every class except the ignore value, by class index.</summary>
    public IReadOnlyDictionary<int, string> TextLabels { get; }

    /// <summary>The classes that are labels (every class but the ignore value), in index order.</summary>
    public IReadOnlyList<int> LabelClassIndices => TextLabels.Keys.Order().ToList();

    /// <summary>Loads and decodes a dataset.</summary>
    /// <exception cref="DirectoryNotFoundException">The folder or its images/labels sub-folder is missing.</exception>
    /// <exception cref="FileNotFoundException">The class list, the split list, or an image named by the split list is missing.</exception>
    /// <exception cref="InvalidDataException">An image and its label map differ in size, a label name is unknown, or the split lists name an image twice or an empty list.</exception>
    /// <param name="options">Where the dataset is and which of its images and labels to read.</param>
    /// <param name="log">Progress lines (the dataset's size), if wanted.</param>
    /// <param name="warn">Warnings about the data (label values the class list does not name); <paramref name="log"/> when null.</param>
    /// <param name="maxImages">At most this many images, evenly spaced through the list, as <see cref="EvenlySpacedSubset"/>
    /// picks them; chosen before any is decoded (0: all).</param>
    public static FolderDataset Load(FolderDatasetOptions options, Action<string>? log = null, Action<string>? warn = null, int maxImages = 0)
    {
        warn ??= log;
        var (imagesFolder, labelsFolder, classes, ignore, textLabels, names) = Prepare(options);
        var chosen = EvenlySpaced(names, maxImages);
        var samples = new SegmentationSample[chosen.Count];
        try
        {
            Parallel.For(0, chosen.Count, new ParallelOptions { MaxDegreeOfParallelism = 2 }, i => samples[i] = LoadSample(options, imagesFolder, labelsFolder, chosen[i]));
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            // Report the first bad file as itself (FileNotFoundException, InvalidDataException), not as a parallel wrapper.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
        }
        log?.Invoke($"dataset {options.Name}: {samples.Length} images, {textLabels.Count} labels, ignore value {(ignore?.ToString() ?? "none")}");
        if (UnlistedValues(samples, classes, ignore) is { Pixels: > 0 } unlisted)
        {
            // Such pixels are ignored in training and scoring. A class list numbered from 1 for maps numbered from 0 shows
            // up here (every class then trains under its neighbour's name), as does a map written with another palette.
            warn?.Invoke(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"dataset {options.Name}: warning: {unlisted.Pixels:N0} of {unlisted.Total:N0} label pixels ({100.0 * unlisted.Pixels / unlisted.Total:0.##}%) have values {string.Join(", ", unlisted.Values)} that the class list does not name; they are ignored (check that the class list numbers the classes as the label maps do)"));
        }
        return new FolderDataset(options.Name, classes, ignore, samples, textLabels);
    }

    /// <summary>Label pixels whose value is neither a listed class nor the ignore value: their count, the total, and the values.</summary>
    private static (long Pixels, long Total, IReadOnlyList<int> Values) UnlistedValues(IReadOnlyList<SegmentationSample> samples, ClassList classes, int? ignore)
    {
        var listed = new bool[256];
        foreach (int index in classes.Names.Keys.Where(k => k is >= 0 and < 256))
            listed[index] = true;
        if (ignore is >= 0 and < 256)
            listed[ignore.Value] = true;
        var counts = new long[256];
        long total = 0;
        foreach (var sample in samples)
        {
            foreach (byte value in sample.Labels.Pixels)
                counts[value]++;
            total += sample.Labels.Pixels.Length;
        }
        var values = Enumerable.Range(0, 256).Where(v => !listed[v] && counts[v] > 0).ToList();
        return (values.Sum(v => counts[v]), total, values);
    }

    /// <summary>
    /// Checks what <see cref="Load"/> would refuse without decoding any image: the folders, the class list, the label
    /// names, the split lists, and that every listed image has its image and label files. A run checks its test
    /// datasets so, at the start, instead of failing after its last epoch.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">As <see cref="Load"/>.</exception>
    /// <exception cref="FileNotFoundException">As <see cref="Load"/>.</exception>
    /// <exception cref="InvalidDataException">As <see cref="Load"/>, except sizes (only decoding shows them).</exception>
    /// <returns>The dataset's class list, and the text label of every class that is a label, by class index.</returns>
    public static (ClassList Classes, IReadOnlyDictionary<int, string> TextLabels) Check(FolderDatasetOptions options)
    {
        var (imagesFolder, labelsFolder, classes, _, textLabels, names) = Prepare(options);
        foreach (string name in names)
        {
            if (FindImage(imagesFolder, name) is null)
                throw new FileNotFoundException($"Dataset '{options.Name}': no image named '{name}' ({ImageExtensionList}) in '{imagesFolder}'.");
            string labelPath = LabelPath(labelsFolder, name);
            if (!File.Exists(labelPath))
                throw new FileNotFoundException($"Dataset '{options.Name}': label map '{labelPath}' is missing for image '{name}'.", labelPath);
        }
        return (classes, textLabels);
    }

    private static (string ImagesFolder, string LabelsFolder, ClassList Classes, int? Ignore, Dictionary<int, string> TextLabels, List<string> Names) Prepare(FolderDatasetOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        string folder = options.Folder;
        if (!Directory.Exists(folder))
            throw new DirectoryNotFoundException($"Dataset '{options.Name}': folder '{folder}' does not exist.");
        string imagesFolder = Path.Combine(folder, options.ImagesFolder);
        string labelsFolder = Path.Combine(folder, options.LabelsFolder);
        foreach (string sub in new[] { imagesFolder, labelsFolder })
        {
            if (!Directory.Exists(sub))
                throw new DirectoryNotFoundException($"Dataset '{options.Name}': folder '{sub}' does not exist (the folder format needs '{options.ImagesFolder}/' and '{options.LabelsFolder}/').");
        }
        var classes = ClassList.Load(ResolveClassesPath(options));
        // One ignore value: a configured one that differs from the class named void would turn void into a label that
        // is trained, offered and scored.
        if (options.IgnoreValue is int configured && classes.VoidIndex is int voidIndex && configured != voidIndex)
            throw new InvalidDataException(
                $"Dataset '{options.Name}': ignoreValue is {configured}, but class {voidIndex} is named 'void', which would then be trained and scored as a label. Leave ignoreValue out to ignore the void class, or rename it in the class list.");
        int? ignore = options.IgnoreValue ?? classes.VoidIndex;
        var textLabels = BuildTextLabels(options, classes, ignore);
        if (options.ImageScale is <= 0 or > 4)
            throw new ArgumentOutOfRangeException(nameof(options), options.ImageScale, $"Dataset '{options.Name}': imageScale must be in (0, 4].");

        var names = ListNames(options, imagesFolder, labelsFolder);
        return (imagesFolder, labelsFolder, classes, ignore, textLabels, names);
    }

    private static SegmentationSample LoadSample(FolderDatasetOptions options, string imagesFolder, string labelsFolder, string name)
    {
        string imagePath = FindImage(imagesFolder, name)
            ?? throw new FileNotFoundException($"Dataset '{options.Name}': no image named '{name}' ({ImageExtensionList}) in '{imagesFolder}'.");
        string labelPath = LabelPath(labelsFolder, name);
        if (!File.Exists(labelPath))
            throw new FileNotFoundException($"Dataset '{options.Name}': label map '{labelPath}' is missing for image '{name}'.", labelPath);
        var image = RgbImage.Load(imagePath);
        var labels = LabelMap.Load(labelPath);
        if (image.Width != labels.Width || image.Height != labels.Height)
            throw new InvalidDataException($"Dataset '{options.Name}': image '{name}' is {image.Width}×{image.Height} but its label map is {labels.Width}×{labels.Height}.");
        if (options.ImageScale != 1.0)
        {
            int width = Math.Max(1, (int)Math.Round(image.Width * options.ImageScale));
            int height = Math.Max(1, (int)Math.Round(image.Height * options.ImageScale));
            image = image.ResizeBilinear(width, height);
            labels = labels.ResizeNearest(width, height);
        }
        return new SegmentationSample(name, image, labels);
    }

    /// <summary>At most <paramref name="count"/> samples, evenly spaced through the list (0 or ≥ the size: this dataset).</summary>
    public FolderDataset EvenlySpacedSubset(int count)
    {
        var subset = EvenlySpaced(Samples, count);
        return ReferenceEquals(subset, Samples) ? this : new FolderDataset(Name, Classes, IgnoreValue, subset, TextLabels);
    }

    /// <summary>At most <paramref name="count"/> items, evenly spaced through <paramref name="items"/> (0 or ≥ its size: the list itself).</summary>
    private static IReadOnlyList<T> EvenlySpaced<T>(IReadOnlyList<T> items, int count) =>
        count <= 0 || count >= items.Count ? items : [.. Enumerable.Range(0, count).Select(i => items[(int)((long)i * items.Count / count)])];

    /// <summary>Builds a dataset from samples already in memory (tests, tools).</summary>
    public static FolderDataset FromSamples(string name, ClassList classes, int? ignoreValue, IReadOnlyList<SegmentationSample> samples) =>
        new(name, classes, ignoreValue, samples, classes.Names.Where(p => p.Key != ignoreValue).ToDictionary(p => p.Key, p => p.Value));

    /// <summary>Where the class list of a dataset is read from.</summary>
    public static string ResolveClassesPath(FolderDatasetOptions options)
    {
        if (options.Classes is not null)
            return Path.IsPathRooted(options.Classes) ? options.Classes : Path.Combine(options.Folder, options.Classes);
        string inFolder = Path.Combine(options.Folder, "classes.txt");
        string inParent = Path.Combine(options.Folder, "..", "classes.txt");
        return File.Exists(inFolder) || !File.Exists(inParent) ? inFolder : inParent;
    }

    private static Dictionary<int, string> BuildTextLabels(FolderDatasetOptions options, ClassList classes, int? ignore)
    {
        var result = classes.Names.Where(p => p.Key != ignore).ToDictionary(p => p.Key, p => p.Value);
        foreach (var (className, text) in options.LabelNames ?? [])
        {
            int index = classes.IndexOf(className);
            if (!result.ContainsKey(index))
                throw new InvalidDataException($"Dataset '{options.Name}': labelNames renames '{className}', which is the ignore value.");
            result[index] = text;
        }
        // Two classes under one text get one embedding: the later could never win a pixel, and its pixels would train
        // the other's name. Refused, as an application is refused two labels with one embedding.
        var twice = result.GroupBy(p => p.Value.Trim(), StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1);
        if (twice is not null)
            throw new InvalidDataException($"Dataset '{options.Name}': classes {string.Join(" and ", twice.Select(p => $"'{classes.Names[p.Key]}'"))} would both be labelled '{twice.Key}' (labelNames); give each class its own text, or merge them in the label maps.");
        return result;
    }

    private static List<string> ListNames(FolderDatasetOptions options, string imagesFolder, string labelsFolder)
    {
        if (options.Split is null)
        {
            // Extensions in any letter case ("x.PNG", "IMG_1.JPG"), as cameras and Windows tools write them.
            var labelled = Directory.EnumerateFiles(labelsFolder)
                .Where(path => string.Equals(Path.GetExtension(path), LabelExtension, StringComparison.OrdinalIgnoreCase))
                .Select(Path.GetFileNameWithoutExtension)
                .OfType<string>()
                .Order(StringComparer.Ordinal)
                .ToList();
            var paired = labelled.Where(n => FindImage(imagesFolder, n) is not null).ToList();
            // As for an empty split list: no image would train forever on nothing (a sampled epoch draws from none) or
            // validate to NaN. The usual cause is label maps named otherwise than their images ("0001_L.png").
            if (paired.Count == 0)
                throw new InvalidDataException(labelled.Count == 0
                    ? $"Dataset '{options.Name}': '{labelsFolder}' holds no {LabelExtension} label map."
                    : $"Dataset '{options.Name}': none of the {labelled.Count} label maps in '{labelsFolder}' has an image of the same name in '{imagesFolder}' (e.g. '{labelled[0]}{LabelExtension}' has no image '{labelled[0]}' with {ImageExtensionList}); name each label map as its image.");
            return paired;
        }
        // Several lists ("train.txt,val.txt") train a final model on every labelled split but the one it is tested on;
        // a path that itself holds a comma ("/data/msrc,v2/test.txt") is one list.
        string single = Path.IsPathRooted(options.Split) ? options.Split : Path.Combine(options.Folder, options.Split);
        string[] splits = options.Split.Contains(',') && File.Exists(single) ? [options.Split] : options.Split.Split(',', StringSplitOptions.TrimEntries);
        var names = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (string split in splits)
        {
            if (split.Length == 0)
                throw new InvalidDataException($"Dataset '{options.Name}': split '{options.Split}' names an empty list; give one file, or several separated by commas.");
            string splitPath = Path.IsPathRooted(split) ? split : Path.Combine(options.Folder, split);
            if (!File.Exists(splitPath))
                throw new FileNotFoundException($"Dataset '{options.Name}': split list '{splitPath}' does not exist.", splitPath);
            foreach (string line in File.ReadLines(splitPath))
            {
                string name = WithoutFileExtension(Path.GetFileName(line.Trim()));
                if (name.Length == 0)
                    continue;
                if (!seen.Add(name))
                    throw new InvalidDataException($"Dataset '{options.Name}': image '{name}' is listed twice in split '{options.Split}'; each image must appear once.");
                names.Add(name);
            }
        }
        // An empty list would give a validation score of NaN (every epoch "best") or an evaluation of nothing.
        if (names.Count == 0)
            throw new InvalidDataException($"Dataset '{options.Name}': split '{options.Split}' lists no image.");
        return names;
    }

    /// <summary>
    /// A split line's image name: an image or label extension is removed ("0001.png" → "0001"), any other dot kept
    /// ("frame.0001" stays "frame.0001", as the label file "frame.0001.png" names it).
    /// </summary>
    private static string WithoutFileExtension(string line)
    {
        string extension = Path.GetExtension(line);
        return ImageExtensions.Contains(extension, StringComparer.OrdinalIgnoreCase) ? line[..^extension.Length] : line;
    }

    /// <summary>The label map of image <paramref name="name"/>: NAME.png, or NAME.PNG when only that exists.</summary>
    private static string LabelPath(string folder, string name)
    {
        string path = Path.Combine(folder, name + LabelExtension);
        string upper = Path.Combine(folder, name + LabelExtension.ToUpperInvariant());
        return !File.Exists(path) && File.Exists(upper) ? upper : path;
    }

    private static string? FindImage(string folder, string name)
    {
        foreach (string extension in ImageExtensions)
        {
            foreach (string spelling in new[] { extension, extension.ToUpperInvariant() })
            {
                string path = Path.Combine(folder, name + spelling);
                if (File.Exists(path))
                    return path;
            }
        }
        return null;
    }
}
