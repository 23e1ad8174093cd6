using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace LSeg.MLNet.Tests.MLNet;

/// <summary>
/// <c>mlContext.Model.Save</c> in this process, <c>Model.Load</c> in a new one (this test assembly run as a program):
/// the masks must be identical, and the loaded chain must turn back into the typed transformer.
/// </summary>
public sealed class SaveLoadInNewProcess(PipelineFixture fixture) : IClassFixture<PipelineFixture>
{
    public const string Command = "load-and-segment";

    /// <summary>The second process: loads the model, segments the images, writes one line of mask keys per image.</summary>
    public static int LoadAndSegment(string[] args)
    {
        var context = new MLContext();
        var loaded = context.Model.Load(args[0], out var inputSchema);
        var table = context.Data.LoadFromEnumerable(args[3..].Select(f => new ImageFileRow { ImagePath = f }));
        var data = context.Transforms.LoadImages("Image", args[1], nameof(ImageFileRow.ImagePath)).Fit(table).Transform(table);
        using var typed = LanguageSegmentationTransformer.FromTransformerChain(loaded, inputSchema);
        var lines = context.Data.CreateEnumerable<SegmentationRow>(typed.Transform(data), reuseRowObject: false)
            .Select(r => $"{r.Width} {r.Height} {string.Join(',', typed.Labels!)} {string.Join(',', r.Mask)}");
        File.WriteAllLines(args[2], lines);
        return 0;
    }

    private List<string> SegmentHere(ITransformer transformer, IDataView data, IReadOnlyList<string> labels)
    {
        var context = new MLContext();
        return context.Data.CreateEnumerable<SegmentationRow>(transformer.Transform(data), reuseRowObject: false)
            .Select(r => $"{r.Width} {r.Height} {string.Join(',', labels)} {string.Join(',', r.Mask)}").ToList();
    }

    [Fact]
    public void A_model_saved_here_gives_identical_masks_when_loaded_in_a_new_process()
    {
        var context = new MLContext();
        var data = fixture.LoadImages(context, PipelineFixture.GoodImages);
        using var transformer = context.Transforms.LanguageSegment(new LanguageSegmentationOptions
        {
            Labels = ["green", "red", "yellow", "blue"], Model = fixture.Model, InputSize = 64,
        }).Fit(data);
        string zip = Path.Combine(fixture.TempPath, "lseg-model.zip");
        string output = Path.Combine(fixture.TempPath, "masks-from-new-process.txt");
        context.Model.Save(transformer, data.Schema, zip);
        var expected = SegmentHere(transformer, data, transformer.Labels!);

        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string argument in new[] { typeof(SaveLoadInNewProcess).Assembly.Location, Command, zip, fixture.ImageFolder, output }.Concat(PipelineFixture.GoodImages))
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        string stderr = process.StandardError.ReadToEnd();
        process.StandardOutput.ReadToEnd();
        process.WaitForExit();

        Assert.True(process.ExitCode == 0, $"the loading process failed ({process.ExitCode}):\n{stderr}");
        Assert.Equal(expected, File.ReadAllLines(output));
    }

    [Fact]
    public void A_loaded_chain_becomes_a_typed_transformer_that_can_change_labels_with_the_model()
    {
        var context = new MLContext();
        var data = fixture.LoadImages(context, "red-blue-100x60.png");
        using var transformer = context.Transforms.LanguageSegment(new LanguageSegmentationOptions { Labels = ["red", "blue"], Model = fixture.Model, InputSize = 64 }).Fit(data);
        string zip = Path.Combine(fixture.TempPath, "lseg-model-typed.zip");
        context.Model.Save(transformer, data.Schema, zip);

        var loaded = context.Model.Load(zip, out var schema);
        using var typed = LanguageSegmentationTransformer.FromTransformerChain(loaded, schema, fixture.Model);
        using var relabelled = typed.WithLabels(["blue", "red"]);

        Assert.Equal(["red", "blue"], typed.Labels);
        var original = SegmentHere(transformer, data, ["x"]);
        Assert.Equal(original, SegmentHere(typed, data, ["x"]));
        var swapped = context.Data.CreateEnumerable<SegmentationRow>(relabelled.Transform(data), false).Single().Mask;
        var before = context.Data.CreateEnumerable<SegmentationRow>(typed.Transform(data), false).Single().Mask;
        Assert.Equal(before.Select(k => 3 - k), swapped);
    }

    [Fact]
    public void A_chain_that_is_not_a_LanguageSegment_model_is_refused()
    {
        var context = new MLContext();
        var data = fixture.LoadImages(context, "red-blue-64x64.png");
        var other = context.Transforms.CopyColumns("Copy", "ImagePath").Append(context.Transforms.CopyColumns("Copy2", "ImagePath")).Fit(data);

        Assert.Throws<ArgumentException>(() => LanguageSegmentationTransformer.FromTransformerChain(other, data.Schema));
    }
}
