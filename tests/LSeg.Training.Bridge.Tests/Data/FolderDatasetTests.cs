using LSeg.Tests.Shared;
using LSeg.Training.Bridge.Data;

namespace LSeg.Training.Bridge.Tests.Data;

public class FolderDatasetTests
{
    [Fact]
    public void LoadsImagesLabelsAndClassesAndTreatsVoidAsTheIgnoreValue()
    {
        using var folder = new TestDatasetFolder(images: 3);

        var dataset = FolderDataset.Load(folder.Options());

        Assert.Equal(3, dataset.Samples.Count);
        Assert.Equal(0, dataset.IgnoreValue);
        Assert.Equal(new[] { 1, 2, 3 }, dataset.LabelClassIndices);
        Assert.Equal("cow", dataset.TextLabels[3]);
        var sample = dataset.Samples[0];
        Assert.Equal((40, 30), (sample.Image.Width, sample.Image.Height));
        // The label PNG round-trips exactly and the photo's sky pixel is the colour written.
        Assert.Equal(1, sample.Labels[5, 2]);
        Assert.Equal(3, sample.Labels[30, 25]);
        Assert.Equal(new byte[] { 90, 160, 250 }, sample.Image.Pixels.AsSpan((2 * 40 + 5) * 3, 3).ToArray());
    }

    [Fact]
    public void A_limit_on_images_picks_them_before_decoding_as_the_evenly_spaced_subset_does()
    {
        using var folder = new TestDatasetFolder(images: 5);
        var all = FolderDataset.Load(folder.Options());
        // Of five images, two evenly spaced are the first and the third: the second is never decoded.
        File.WriteAllText(Path.Combine(folder.Root, "images", "img1.png"), "not a PNG");

        var limited = FolderDataset.Load(folder.Options(), maxImages: 2);

        Assert.Throws<InvalidDataException>(() => FolderDataset.Load(folder.Options()));
        Assert.Equal(all.EvenlySpacedSubset(2).Samples.Select(s => s.Name), limited.Samples.Select(s => s.Name));
        Assert.Equal(["img0", "img2"], limited.Samples.Select(s => s.Name));
    }

    [Fact]
    public void Label_values_the_class_list_does_not_name_are_counted_in_a_warning()
    {
        using var folder = new TestDatasetFolder(images: 3);
        // The maps hold 0 (void), 1, 2 and 3 (the cow block, x 21..39 and y 16..29 of each 40 × 30 map: 19 × 14 pixels),
        // but this class list stops at 2, as one numbered for other maps would.
        File.WriteAllText(Path.Combine(folder.Root, "classes.txt"), "0\tvoid\n1\tsky\n2\tgrass\n");
        var lines = new List<string>();

        FolderDataset.Load(folder.Options(), lines.Add);
        var listed = new List<string>();
        using var complete = new TestDatasetFolder(images: 3);
        FolderDataset.Load(complete.Options(), listed.Add);

        Assert.Contains(lines, l => l.Contains("warning: 798 of 3,600 label pixels (22.17%) have values 3 that the class list does not name"));
        Assert.DoesNotContain(listed, l => l.Contains("warning"));
    }

    [Fact]
    public void ASplitListSelectsAndOrdersTheImages()
    {
        using var folder = new TestDatasetFolder(images: 3);

        var dataset = FolderDataset.Load(folder.Options("train.txt"));

        Assert.Equal(new[] { "img0", "img1" }, dataset.Samples.Select(s => s.Name));
    }

    [Fact]
    public void SeveralSplitListsSeparatedByCommasLoadTheirUnionInListOrder()
    {
        using var folder = new TestDatasetFolder(images: 4);
        File.WriteAllLines(Path.Combine(folder.Root, "val.txt"), ["img3"]);

        var dataset = FolderDataset.Load(folder.Options("train.txt, val.txt"));

        Assert.Equal(new[] { "img0", "img1", "img2", "img3" }, dataset.Samples.Select(s => s.Name));
    }

    [Fact]
    public void Names_with_dots_upper_case_extensions_and_a_comma_in_the_folder_are_read_as_written()
    {
        using var folder = new TestDatasetFolder(images: 3);
        string images = Path.Combine(folder.Root, "images"), labels = Path.Combine(folder.Root, "labels");
        // A video frame named with a dot, and a camera's upper-case extensions.
        File.Move(Path.Combine(images, "img0.png"), Path.Combine(images, "frame.0001.png"));
        File.Move(Path.Combine(labels, "img0.png"), Path.Combine(labels, "frame.0001.png"));
        File.Move(Path.Combine(images, "img1.png"), Path.Combine(images, "IMG_1.PNG"));
        File.Move(Path.Combine(labels, "img1.png"), Path.Combine(labels, "IMG_1.PNG"));
        File.WriteAllLines(Path.Combine(folder.Root, "frames.txt"), ["frame.0001", "IMG_1.png", "img2"]);

        var listed = FolderDataset.Load(folder.Options("frames.txt"));
        var all = FolderDataset.Load(folder.Options());

        Assert.Equal(["frame.0001", "IMG_1", "img2"], listed.Samples.Select(s => s.Name));
        Assert.Equal(["IMG_1", "frame.0001", "img2"], all.Samples.Select(s => s.Name));

        // A split given as one path whose folder holds a comma is that one list.
        string commaFolder = Path.Combine(folder.Root, "lists,v2");
        Directory.CreateDirectory(commaFolder);
        File.WriteAllLines(Path.Combine(commaFolder, "test.txt"), ["img2"]);
        Assert.Equal(["img2"], FolderDataset.Load(folder.Options(Path.Combine(commaFolder, "test.txt"))).Samples.Select(s => s.Name));
    }

    [Fact]
    public void An_ignore_value_other_than_the_void_class_is_refused_rather_than_training_void_as_a_label()
    {
        using var folder = new TestDatasetFolder(images: 2);
        var options = folder.Options();
        options.IgnoreValue = 255; // the common convention, while classes.txt names class 0 "void"

        var error = Assert.Throws<InvalidDataException>(() => FolderDataset.Load(options));

        Assert.Contains("ignoreValue is 255, but class 0 is named 'void'", error.Message);
        options.IgnoreValue = 0;
        Assert.DoesNotContain("void", FolderDataset.Load(options).TextLabels.Values);
    }

    [Fact]
    public void An_empty_split_list_is_refused_naming_it()
    {
        using var folder = new TestDatasetFolder(images: 3);
        File.WriteAllLines(Path.Combine(folder.Root, "val.txt"), ["", "  "]);

        var error = Assert.Throws<InvalidDataException>(() => FolderDataset.Load(folder.Options("val.txt")));

        Assert.Contains("split 'val.txt' lists no image", error.Message);
    }

    [Fact]
    public void A_training_label_set_that_excludes_a_class_the_dataset_lacks_names_the_dataset_the_field_and_its_classes()
    {
        using var folder = new TestDatasetFolder(images: 2);
        var dataset = FolderDataset.Load(folder.Options());

        var error = Assert.Throws<ArgumentException>(() => new TrainingLabelSet(dataset, ["pole"]));

        Assert.Contains("Dataset 'tiny' excludes class 'pole' (excludedClasses), which is not one of its classes (sky, grass, cow)", error.Message);
        Assert.Equal(["sky", "grass"], new TrainingLabelSet(dataset, ["COW"]).Texts);
    }

    [Fact]
    public void A_folder_whose_label_maps_are_named_otherwise_than_its_images_is_refused_naming_one()
    {
        // CamVid's raw label maps are named "0001TP_006690_L.png" beside "0001TP_006690.png": a scan of the folder pairs
        // none of them, and a dataset of no image would train forever on nothing when an epoch samples from it.
        using var folder = new TestDatasetFolder(images: 2);
        foreach (string label in Directory.GetFiles(Path.Combine(folder.Root, "labels")))
            File.Move(label, Path.Combine(Path.GetDirectoryName(label)!, Path.GetFileNameWithoutExtension(label) + "_L.png"));

        var error = Assert.Throws<InvalidDataException>(() => FolderDataset.Load(folder.Options()));

        Assert.Contains("none of the 2 label maps", error.Message);
        Assert.Contains("'img0_L.png' has no image 'img0_L'", error.Message);
    }

    [Theory]
    [InlineData("train.txt,train.txt", "'img0' is listed twice")]
    [InlineData("train.txt,", "names an empty list")]
    [InlineData("train.txt,nope.txt", "nope.txt")]
    public void ABadListOfSplitsIsRefusedNamingTheProblem(string split, string expected)
    {
        using var folder = new TestDatasetFolder(images: 3);

        var error = Assert.ThrowsAny<Exception>(() => FolderDataset.Load(folder.Options(split)));

        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void ImageScaleResizesImagesBilinearlyAndLabelsByNearestNeighbour()
    {
        using var folder = new TestDatasetFolder(images: 1, width: 40, height: 30);
        var options = folder.Options();
        options.ImageScale = 0.5;

        var sample = FolderDataset.Load(options).Samples[0];

        Assert.Equal((20, 15), (sample.Labels.Width, sample.Labels.Height));
        // Nearest neighbour never invents a class: only values of the original map occur.
        Assert.All(sample.Labels.Pixels, v => Assert.Contains(v, new byte[] { 0, 1, 2, 3 }));
        Assert.Equal(3, sample.Labels[15, 12]);
    }

    [Fact]
    public void AMissingFolderIsNamedInTheError()
    {
        var options = new FolderDatasetOptions { Name = "ghost", Folder = Path.Combine(Path.GetTempPath(), "no-such-dataset-" + Guid.NewGuid()) };

        var error = Assert.Throws<DirectoryNotFoundException>(() => FolderDataset.Load(options));

        Assert.Contains(options.Folder, error.Message);
    }

    [Fact]
    public void ALabelMapOfADifferentSizeIsRejectedWithBothSizes()
    {
        using var folder = new TestDatasetFolder(images: 1, width: 40, height: 30);
        new LabelMap(10, 10, new byte[100]).Save(Path.Combine(folder.Root, "labels", "img0.png"));

        var error = Assert.Throws<InvalidDataException>(() => FolderDataset.Load(folder.Options()));

        Assert.Contains("40×30", error.Message);
        Assert.Contains("10×10", error.Message);
    }

    [SkippableFact]
    public void MsrcV2TrainSplitHas354ImagesWith23LabelsAndVoidZero()
    {
        string root = SharedData.RequireDirectory("msrc-v2");

        var dataset = FolderDataset.Load(new FolderDatasetOptions { Name = "msrc-v2", Folder = root, Split = "train.txt" });

        Assert.Equal(354, dataset.Samples.Count);
        Assert.Equal(0, dataset.IgnoreValue);
        Assert.Equal(23, dataset.LabelClassIndices.Count);
        Assert.All(dataset.Samples, s => Assert.Equal((s.Image.Width, s.Image.Height), (s.Labels.Width, s.Labels.Height)));
    }

    [SkippableFact]
    public void MsrcV2TrainAndValTogetherHold472ImagesNoneOfThemATestImage()
    {
        string root = SharedData.RequireDirectory("msrc-v2");
        var test = File.ReadLines(Path.Combine(root, "test.txt")).Select(l => l.Trim()).ToHashSet();

        var dataset = FolderDataset.Load(new FolderDatasetOptions { Name = "msrc-v2", Folder = root, Split = "train.txt,val.txt" });

        Assert.Equal(354 + 118, dataset.Samples.Count);
        Assert.DoesNotContain(dataset.Samples, s => test.Contains(s.Name));
    }

    [SkippableFact]
    public void CamVidValFindsItsClassListInTheParentFolderWithVoidEleven()
    {
        string root = SharedData.RequireDirectory("camvid", "val");

        var dataset = FolderDataset.Load(new FolderDatasetOptions { Name = "camvid", Folder = root });

        Assert.Equal(101, dataset.Samples.Count);
        Assert.Equal(11, dataset.IgnoreValue);
        Assert.Equal("sign symbol", dataset.TextLabels[6]);
        Assert.All(dataset.Samples[0].Labels.Pixels, v => Assert.InRange(v, 0, 11));
    }
}
