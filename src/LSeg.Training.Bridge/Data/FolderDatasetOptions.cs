namespace LSeg.Training.Bridge.Data;

/// <summary>
/// Where a dataset in the plain folder format lives: <c>images/</c> (JPEG or PNG), <c>labels/</c> (8-bit index PNGs
/// with the image's base name), a <c>classes.txt</c> and an optional split list (one base name per line).
/// </summary>
public sealed class FolderDatasetOptions
{
    /// <summary>A short name used in logs and reports, e.g. <c>msrc-v2</c>.</summary>
    public string Name { get; set; } = "";

    /// <summary>The folder holding <see cref="ImagesFolder"/> and <see cref="LabelsFolder"/>.</summary>
    public string Folder { get; set; } = "";

    /// <summary>Images sub-folder of <see cref="Folder"/>.</summary>
    public string ImagesFolder { get; set; } = "images";

    /// <summary>Labels sub-folder of <see cref="Folder"/>.</summary>
    public string LabelsFolder { get; set; } = "labels";

    /// <summary>
    /// The class list; relative paths resolve against <see cref="Folder"/>. Null: <c>classes.txt</c> in
    /// <see cref="Folder"/>, else in its parent (CamVid keeps one list above <c>train/</c> and <c>val/</c>).
    /// </summary>
    public string? Classes { get; set; }

    /// <summary>
    /// Split list file (one base name per line), relative to <see cref="Folder"/>, or several separated by commas (their
    /// union; an image listed twice is refused); null: every labelled image.
    /// </summary>
    public string? Split { get; set; }

    /// <summary>The label value to ignore; null: the index of the class named <c>void</c> (or none).</summary>
    public int? IgnoreValue { get; set; }

    /// <summary>Factor applied to every image (bilinear) and label map (nearest) when loading, e.g. 0.6 for CamVid's 480×360.</summary>
    public double ImageScale { get; set; } = 1.0;

    /// <summary>Text label for a class, by class name, when it should differ from <c>classes.txt</c> (e.g. <c>"sign": "sign symbol"</c>).</summary>
    public Dictionary<string, string>? LabelNames { get; set; }
}
