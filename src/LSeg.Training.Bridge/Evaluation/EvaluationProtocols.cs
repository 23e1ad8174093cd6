using LSeg.Training.Bridge.Data;

namespace LSeg.Training.Bridge.Evaluation;

/// <summary>
/// The evaluation protocols (docs/cli.md, evaluate) over the shared datasets, for any <see cref="SegmentationPredictor"/>
/// (the TorchSharp network or an exported package). Dataset roots are the folders <c>msrc-v2</c> and <c>camvid</c>.
/// </summary>
public static class EvaluationProtocols
{
    /// <summary>The text labels of the CamVid cross-dataset protocol, in class-index order 0–10.</summary>
    public static IReadOnlyList<string> CamVidLabels { get; } =
        ["sky", "building", "pole", "road", "pavement", "tree", "sign symbol", "fence", "car", "pedestrian", "bicyclist"];

    /// <summary>MSRC-v2 fixed-label: <c>test.txt</c>, label set = the 23 class names (void ignored).</summary>
    public static SegmentationMetrics MsrcFixedLabels(string msrcRoot, SegmentationPredictor predict, Action<string>? log = null)
    {
        var dataset = FolderDataset.Load(new FolderDatasetOptions { Name = "msrc-v2", Folder = msrcRoot, Split = "test.txt" }, log);
        return SegmentationEvaluator.EvaluateFixedLabels(dataset, predict, title: "MSRC-v2 test, 23 labels", log: log);
    }

    /// <summary>MSRC-v2 zero-shot fold <paramref name="fold"/>: every test image with a fold class c, label set ["other", c].</summary>
    public static ZeroShotFoldResult MsrcZeroShotFold(string msrcRoot, int fold, SegmentationPredictor predict, Action<string>? log = null)
    {
        var dataset = FolderDataset.Load(new FolderDatasetOptions { Name = "msrc-v2", Folder = msrcRoot, Split = "test.txt" }, log);
        return ZeroShotEvaluator.EvaluateFold(dataset, predict, ZeroShotFolds.MsrcFold(fold), fold, log: log);
    }

    /// <summary>CamVid val with the text labels of <see cref="CamVidLabels"/> (void = 11 ignored).</summary>
    public static SegmentationMetrics CamVidVal(string camvidRoot, SegmentationPredictor predict, Action<string>? log = null)
    {
        var options = new FolderDatasetOptions { Name = "camvid-val", Folder = Path.Combine(camvidRoot, "val"), Classes = Path.GetFullPath(Path.Combine(camvidRoot, "classes.txt")) };
        var dataset = FolderDataset.Load(options, log);
        var names = dataset.LabelClassIndices.Select(c => dataset.TextLabels[c]).ToList();
        if (!names.SequenceEqual(CamVidLabels))
            throw new InvalidDataException($"CamVid classes are [{string.Join(", ", names)}]; the protocol expects [{string.Join(", ", CamVidLabels)}].");
        return SegmentationEvaluator.EvaluateFixedLabels(dataset, predict, title: "CamVid val, 11 text labels", log: log);
    }

    /// <summary>CCP (Clothing Co-Parsing) <c>val.txt</c> with its 59 class names as labels (<c>background</c>, class 0, is a label: the scene around the person).</summary>
    public static SegmentationMetrics CcpVal(string ccpRoot, SegmentationPredictor predict, Action<string>? log = null)
    {
        var dataset = FolderDataset.Load(new FolderDatasetOptions { Name = "ccp", Folder = ccpRoot, Split = "val.txt" }, log);
        return SegmentationEvaluator.EvaluateFixedLabels(dataset, predict, title: "CCP val, 59 labels", log: log);
    }

    /// <summary>
    /// CCP <c>val.txt</c>, each photo offered the names of the person parts and garments it shows plus "other" for
    /// the scene (class 0, <c>background</c>): how a user names what a photo shows, and data the default model never
    /// trained on.
    /// </summary>
    public static SegmentationMetrics CcpPresentLabelsPlusOther(string ccpRoot, SegmentationPredictor predict, Action<string>? log = null)
    {
        var dataset = FolderDataset.Load(new FolderDatasetOptions { Name = "ccp", Folder = ccpRoot, Split = "val.txt" }, log);
        return SegmentationEvaluator.EvaluatePresentLabelsPlusCatchAll(dataset, predict, dataset.Classes.IndexOf("background"), ZeroShotFolds.OtherLabel,
            title: "CCP val, present labels + other", log: log);
    }

    /// <summary>
    /// MSRC-v2 <c>test.txt</c>, each image offered the names of its classes plus "other", which no labelled pixel is:
    /// how much a catch-all takes from objects that were named.
    /// </summary>
    public static SegmentationMetrics MsrcPresentLabelsPlusOther(string msrcRoot, SegmentationPredictor predict, Action<string>? log = null)
    {
        var dataset = FolderDataset.Load(new FolderDatasetOptions { Name = "msrc-v2", Folder = msrcRoot, Split = "test.txt" }, log);
        return SegmentationEvaluator.EvaluatePresentLabelsPlusCatchAll(dataset, predict, catchAllClass: null, ZeroShotFolds.OtherLabel,
            title: "MSRC-v2 test, present labels + other", log: log);
    }

    /// <summary>
    /// MSRC-v2 <c>test.txt</c>, each image offered the names of its classes but one, plus "other", in turn for each of
    /// its classes; the unnamed class's pixels count as "other": how well a catch-all takes what the user did not name.
    /// </summary>
    public static SegmentationMetrics MsrcUnnamedAsOther(string msrcRoot, SegmentationPredictor predict, Action<string>? log = null)
    {
        var dataset = FolderDataset.Load(new FolderDatasetOptions { Name = "msrc-v2", Folder = msrcRoot, Split = "test.txt" }, log);
        return SegmentationEvaluator.EvaluateUnnamedAsCatchAll(dataset, predict, ZeroShotFolds.OtherLabel,
            title: "MSRC-v2 test, each class unnamed in turn + other", log: log);
    }

    /// <summary>
    /// <see cref="MsrcUnnamedAsOther"/> with one absent name more in every episode, drawn (seed 1) from
    /// <see cref="UntrainedAbsentNames"/>: what an offered name the image does not show takes when "other" should have
    /// taken the unnamed class (the case a model that lowers "other" next to untrained names is weakest in).
    /// </summary>
    public static SegmentationMetrics MsrcUnnamedAsOtherWithAbsentName(string msrcRoot, SegmentationPredictor predict, Action<string>? log = null)
    {
        var dataset = FolderDataset.Load(new FolderDatasetOptions { Name = "msrc-v2", Folder = msrcRoot, Split = "test.txt" }, log);
        return SegmentationEvaluator.EvaluateUnnamedAsCatchAll(dataset, predict, ZeroShotFolds.OtherLabel,
            title: "MSRC-v2 test, each class unnamed in turn + other + one absent untrained name", log: log, absentNames: UntrainedAbsentNames);
    }

    /// <summary>
    /// Absent labels on MSRC-v2 <c>test.txt</c>: each image offered its true classes plus 3 names drawn with
    /// <paramref name="seed"/> from the CamVid and CCP vocabularies (catch-all words excepted, and names the image may
    /// show unlabelled by <see cref="DistractorVocabulary.BuiltInOverlaps"/>: no "pavement" beside "road").
    /// </summary>
    /// <param name="dataRoot">The folder holding <c>msrc-v2/</c>, <c>camvid/</c> and <c>ccp/</c>.</param>
    /// <param name="predict">The model.</param>
    /// <param name="seed">Seed of the draws.</param>
    /// <param name="log">Progress, or null.</param>
    public static AbsentLabelResult MsrcAbsentLabels(string dataRoot, SegmentationPredictor predict, int seed = 1, Action<string>? log = null) =>
        MsrcAbsentLabels(dataRoot, predict, AbsentNameVocabulary(dataRoot), seed, log);

    /// <summary>The absent-label protocol with names drawn from <paramref name="vocabulary"/> instead of the other datasets' names.</summary>
    public static AbsentLabelResult MsrcAbsentLabels(string dataRoot, SegmentationPredictor predict, IReadOnlyList<string> vocabulary, int seed = 1, Action<string>? log = null)
    {
        var dataset = FolderDataset.Load(new FolderDatasetOptions { Name = "msrc-v2", Folder = Path.Combine(dataRoot, "msrc-v2"), Split = "test.txt" }, log);
        return AbsentLabelEvaluator.Evaluate(dataset, predict, vocabulary, count: 3, seed: seed, log: log, overlaps: DistractorVocabulary.BuiltInOverlaps);
    }

    /// <summary>
    /// COCO object names that no training set here uses and that MSRC-v2's outdoor scenes do not show (kitchen, food,
    /// electronics, sports gear): the absent names of <c>absent-untrained-labels</c>, which measures how many pixels
    /// names the network never learned take from a scene they are absent from. Names that
    /// MSRC-v2 images could hold unlabelled or under another word (person, vehicles, animals, furniture, plants, signs)
    /// are left out.
    /// </summary>
    public static IReadOnlyList<string> UntrainedAbsentNames { get; } =
    [
        "fork", "knife", "spoon", "bowl", "wine glass", "cup", "banana", "apple", "sandwich", "orange", "broccoli", "carrot",
        "hot dog", "pizza", "donut", "cake", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone",
        "microwave", "oven", "toaster", "sink", "refrigerator", "scissors", "teddy bear", "hair drier", "toothbrush",
        "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket", "frisbee", "skis", "snowboard",
        "sports ball", "kite", "suitcase", "umbrella", "vase", "clock",
    ];

    /// <summary>The names the absent-label protocol draws from: CamVid's label texts, then CCP's class names.</summary>
    public static IReadOnlyList<string> AbsentNameVocabulary(string dataRoot)
    {
        var ccp = ClassList.Load(Path.Combine(dataRoot, "ccp", "classes.txt"));
        return [.. CamVidLabels, .. ccp.LabelClasses.Select(c => c.Name)];
    }

    /// <summary>MSRC-v2 zero-shot fold <paramref name="fold"/>, generalized: every seen class name plus the unseen class c offered together.</summary>
    public static ZeroShotFoldResult MsrcZeroShotFoldGeneralized(string msrcRoot, int fold, SegmentationPredictor predict, Action<string>? log = null)
    {
        var dataset = FolderDataset.Load(new FolderDatasetOptions { Name = "msrc-v2", Folder = msrcRoot, Split = "test.txt" }, log);
        return ZeroShotEvaluator.EvaluateFoldGeneralized(dataset, predict, ZeroShotFolds.MsrcFold(fold), fold, log: log);
    }
}
