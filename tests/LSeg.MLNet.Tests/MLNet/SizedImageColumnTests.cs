using Microsoft.ML;
using Microsoft.ML.Data;

namespace LSeg.MLNet.Tests.MLNet;

/// <summary>
/// An image column with a fixed size (what <c>ResizeImages</c> writes, typed <c>Image&lt;h, w&gt;</c>) before LanguageSegment:
/// ML.NET binds such a column to an <see cref="MLImage"/> only when its exact type is registered, and checks that at the
/// first row, not at <c>Fit</c>. Each test uses a size no other test uses, since registrations are process-wide.
/// </summary>
public sealed class SizedImageColumnTests(PipelineFixture fixture) : IClassFixture<PipelineFixture>
{
    public const string Command = "load-resized-and-segment";

    private static IEstimator<ITransformer> LoadAndResize(MLContext context, string folder, int width, int height) =>
        context.Transforms.LoadImages("Raw", folder, nameof(ImageFileRow.ImagePath))
            .Append(context.Transforms.ResizeImages("Image", width, height, "Raw"));

    /// <summary>The resized pixels written to a PNG (lossless) and read back through LoadImages, an image column of no fixed size.</summary>
    private string WriteResized(MLContext context, IDataView files, int width, int height, string name)
    {
        var resized = LoadAndResize(context, fixture.ImageFolder, width, height).Fit(files).Transform(files);
        using var cursor = resized.GetRowCursor(resized.Schema);
        var getter = cursor.GetGetter<MLImage>(resized.Schema["Image"]);
        Assert.True(cursor.MoveNext());
        MLImage image = null!;
        getter(ref image);
        string path = Path.Combine(fixture.ImageFolder, name);
        image.Save(path);
        return path;
    }

    [Fact]
    public void A_pipeline_that_resizes_before_LanguageSegment_segments_the_resized_pixels_as_a_plain_image_column_does()
    {
        var context = new MLContext();
        var files = context.Data.LoadFromEnumerable(new[] { new ImageFileRow { ImagePath = "blocks-150x70.png" } });
        var options = new LanguageSegmentationOptions { Labels = ["red", "green", "blue", "yellow"], Model = fixture.Model, InputSize = 64 };
        using var resizing = LoadAndResize(context, fixture.ImageFolder, 77, 53).Append(context.Transforms.LanguageSegment(options)).Fit(files);
        string resizedFile = WriteResized(context, files, 77, 53, "blocks-resized-77x53.png");
        var plain = fixture.LoadImages(context, Path.GetFileName(resizedFile));
        using var plainTransformer = context.Transforms.LanguageSegment(options).Fit(plain);

        var fromResized = context.Data.CreateEnumerable<SegmentationRow>(resizing.Transform(files), reuseRowObject: false).Single();
        var fromFile = context.Data.CreateEnumerable<SegmentationRow>(plainTransformer.Transform(plain), reuseRowObject: false).Single();

        Assert.Equal((77, 53), (fromResized.Width, fromResized.Height));
        Assert.Equal(fromFile.Mask, fromResized.Mask);
    }

    [Fact]
    public void A_saved_resizing_pipeline_loaded_in_a_new_process_and_re_wrapped_gives_the_same_masks()
    {
        var context = new MLContext();
        var files = context.Data.LoadFromEnumerable(new[] { new ImageFileRow { ImagePath = "blocks-150x70.png" } });
        using var fitted = LoadAndResize(context, fixture.ImageFolder, 79, 51)
            .Append(context.Transforms.LanguageSegment(new LanguageSegmentationOptions { Labels = ["red", "green", "blue", "yellow"], Model = fixture.Model, InputSize = 64 }))
            .Fit(files);
        string zip = Path.Combine(fixture.TempPath, "resizing-pipeline.zip");
        context.Model.Save(fitted, files.Schema, zip);
        var expected = context.Data.CreateEnumerable<SegmentationRow>(fitted.Transform(files), reuseRowObject: false).Single().Mask;
        string output = Path.Combine(fixture.TempPath, "resized-masks-from-new-process.txt");

        var (rewrapped, _, rewrapError) = ChildProcess.Run(null, TimeSpan.FromMinutes(3), Command, "rewrap", zip, output, "blocks-150x70.png");
        string afterRewrap = File.ReadAllText(output);
        // The documented alternative, for an app that runs the loaded chain as it is: register the size itself.
        var (registered, _, registerError) = ChildProcess.Run(null, TimeSpan.FromMinutes(3), Command, "register", zip, output, "blocks-150x70.png");

        Assert.True(rewrapped == 0, $"the re-wrapping process failed ({rewrapped}):\n{rewrapError}");
        Assert.Equal(string.Join(',', expected), afterRewrap);
        Assert.True(registered == 0, $"the registering process failed ({registered}):\n{registerError}");
        Assert.Equal(string.Join(',', expected), File.ReadAllText(output));
    }

    /// <summary>
    /// The second process: loads the zip, makes ML.NET know the image column's size (by re-wrapping the LanguageSegment
    /// step, or by registering the size as docs/mlnet.md says), then reads the loaded chain's mask.
    /// </summary>
    public static int LoadResizedAndSegment(string[] args)
    {
        var context = new MLContext();
        var loaded = context.Model.Load(args[1], out var inputSchema);
        using var disposeLoaded = loaded as IDisposable;
        if (args[0] == "rewrap")
            LanguageSegmentationTransformer.FromTransformerChain(loaded, inputSchema).Dispose();
        else
            new Microsoft.ML.Transforms.Image.ImageTypeAttribute(51, 79).Register();
        args = args[1..];
        var files = context.Data.LoadFromEnumerable(args[2..].Select(f => new ImageFileRow { ImagePath = f }));
        var mask = context.Data.CreateEnumerable<SegmentationRow>(loaded.Transform(files), reuseRowObject: false).Single().Mask;
        File.WriteAllText(args[1], string.Join(',', mask));
        return 0;
    }
}
