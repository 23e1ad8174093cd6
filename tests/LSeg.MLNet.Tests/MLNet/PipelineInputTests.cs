using LSeg.MLNet.Imaging;
using LSeg.MLNet.Tests.Packages;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace LSeg.MLNet.Tests.MLNet;

/// <summary>Bad input and the model's options, in the pipeline and the low-level API.</summary>
public sealed class PipelineInputTests(PipelineFixture fixture) : IClassFixture<PipelineFixture>
{
    private readonly MLContext _context = new(seed: 1);

    private static List<SegmentationRow> Rows(MLContext context, IDataView view) =>
        context.Data.CreateEnumerable<SegmentationRow>(view, reuseRowObject: false).ToList();

    [Fact]
    public void A_truncated_image_from_LoadImages_fails_its_row_saying_it_is_incomplete()
    {
        var data = fixture.LoadImages(_context, "cut-in-half.png");
        using var transformer = _context.Transforms.LanguageSegment(new LanguageSegmentationOptions { Labels = ["red", "blue"], Model = fixture.Model, InputSize = 64 }).Fit(data);

        var error = Assert.ThrowsAny<Exception>(() => Rows(_context, transformer.Transform(data)));

        Assert.Contains("cut-in-half.png' is incomplete or corrupt", error.ToString());
    }

    [Fact]
    public void A_truncated_image_read_with_ImageFileReader_is_refused_while_MLImage_accepts_it()
    {
        string path = Path.Combine(fixture.ImageFolder, "cut-in-half.png");

        var error = Assert.Throws<InvalidDataException>(() => ImageFileReader.Read(path));
        using var silentlyGrey = MLImage.CreateFromFile(path); // what the check is for: SkiaSharp fills the missing half

        Assert.Contains("truncated", error.Message);
        using var complete = ImageFileReader.Read(Path.Combine(fixture.ImageFolder, "blocks-150x70.png"));
        Assert.Equal((150, 70), (complete.Width, complete.Height));
    }

    [Fact]
    public void ImageFileReader_Validate_refuses_a_truncated_image_and_passes_a_complete_one()
    {
        var error = Assert.Throws<InvalidDataException>(() => ImageFileReader.Validate(Path.Combine(fixture.ImageFolder, "cut-in-half.png")));
        var missing = Assert.Throws<FileNotFoundException>(() => ImageFileReader.Validate(Path.Combine(fixture.ImageFolder, "no-such-image.png")));

        Assert.Contains("cut-in-half.png' is incomplete or corrupt", error.Message);
        Assert.Contains("no-such-image.png", missing.Message);
        ImageFileReader.Validate(Path.Combine(fixture.ImageFolder, "blocks-150x70.png"));
    }

    [Fact]
    public void A_PNG_whose_data_fails_its_CRC_check_is_refused_by_ImageFileReader_naming_the_file()
    {
        byte[] png = File.ReadAllBytes(Path.Combine(fixture.ImageFolder, "blocks-150x70.png"));
        int idat = png.AsSpan().IndexOf("IDAT"u8);
        int length = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(idat - 4));
        png[idat + 4 + length] ^= 0xFF; // the first IDAT chunk's CRC: its data no longer checks out
        string path = Path.Combine(fixture.ImageFolder, "bad-crc.png");
        File.WriteAllBytes(path, png);

        var read = Assert.Throws<InvalidDataException>(() => ImageFileReader.Read(path));
        var validated = Assert.Throws<InvalidDataException>(() => ImageFileReader.Validate(path));

        Assert.Contains("bad-crc.png' is incomplete or corrupt", read.Message);
        Assert.Contains("bad-crc.png' is incomplete or corrupt", validated.Message);
    }

    [Fact]
    public void A_PNG_whose_data_fails_its_CRC_check_fails_its_pipeline_row_with_MLNets_own_error()
    {
        // ML.NET's decoder refuses the file while LoadImages reads the row, before LSeg sees it: the error is ML.NET's
        // and names no file (the docs say so and point to ImageFileReader.Validate to find it).
        byte[] png = File.ReadAllBytes(Path.Combine(fixture.ImageFolder, "blocks-150x70.png"));
        int idat = png.AsSpan().IndexOf("IDAT"u8);
        int length = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(idat - 4));
        png[idat + 4 + length] ^= 0xFF;
        File.WriteAllBytes(Path.Combine(fixture.ImageFolder, "bad-crc-in-a-row.png"), png);
        var data = fixture.LoadImages(_context, "bad-crc-in-a-row.png");
        using var transformer = _context.Transforms.LanguageSegment(new LanguageSegmentationOptions { Labels = ["red", "blue"], Model = fixture.Model, InputSize = 64 }).Fit(data);

        var error = Assert.ThrowsAny<Exception>(() => Rows(_context, transformer.Transform(data)));

        var innermost = error;
        while (innermost.InnerException is not null)
            innermost = innermost.InnerException;
        Assert.IsType<ArgumentException>(innermost);
        Assert.Contains("Invalid input stream contents", innermost.Message);
    }

    [Fact]
    public void A_folder_given_as_an_image_file_is_named_as_a_folder()
    {
        var error = Assert.Throws<FileNotFoundException>(() => ImageFileReader.Read(fixture.ImageFolder));

        Assert.Contains("is a folder, not an image file", error.Message);
    }

    [Fact]
    public void Bad_arguments_of_the_one_image_and_the_labels_overloads_are_named_as_the_caller_wrote_them()
    {
        using var tiny = ImageFileReader.Read(Path.Combine(fixture.ImageFolder, "tiny-1x1.png"));

        var oneImage = Assert.Throws<ArgumentException>(() => fixture.Model.Segment(tiny, ["red", "blue"]));
        var noLabels = Assert.Throws<ArgumentNullException>(() => _context.Transforms.LanguageSegment((string[])null!));

        Assert.Equal("image", oneImage.ParamName);
        Assert.Contains("1×1", oneImage.Message);
        Assert.Equal("labels", noLabels.ParamName);
    }

    [Fact]
    public void The_pipeline_honours_the_models_image_size_limits()
    {
        using var strict = LanguageSegmentationModel.Load(fixture.PackagePath, new LanguageSegmentationModelOptions { MaxImagePixels = 5000 });
        using var lenient = LanguageSegmentationModel.Load(fixture.PackagePath, new LanguageSegmentationModelOptions { MinImageSide = 1 });
        var big = fixture.LoadImages(_context, "red-blue-100x60.png");
        var tiny = fixture.LoadImages(_context, "tiny-1x1.png");
        using var strictPipeline = _context.Transforms.LanguageSegment(new LanguageSegmentationOptions { Labels = ["red", "blue"], Model = strict, InputSize = 64 }).Fit(big);
        using var lenientPipeline = _context.Transforms.LanguageSegment(new LanguageSegmentationOptions { Labels = ["red", "blue"], Model = lenient, InputSize = 64 }).Fit(tiny);

        var error = Assert.ThrowsAny<Exception>(() => Rows(_context, strictPipeline.Transform(big)));
        var row = Assert.Single(Rows(_context, lenientPipeline.Transform(tiny)));

        Assert.Contains("100×60 = 6,000 pixels; the limit is 5,000 (MaxImagePixels)", error.ToString());
        Assert.Equal([1u], row.Mask); // the 1×1 red pixel is "red" (key 1) once the model allows it
    }

    [Fact]
    public void An_input_size_that_is_not_a_multiple_of_32_is_accepted_by_the_pipeline_and_the_low_level_api_alike()
    {
        // One rule on every path: any size from 32 to 2048, the sides rounded to multiples of 32 (so 70 gives what 64 gives).
        var data = fixture.LoadImages(_context, "green-yellow-90x150.png");
        string[] labels = ["green", "yellow"];
        using var pipeline = _context.Transforms.LanguageSegment(new LanguageSegmentationOptions { Labels = labels, Model = fixture.Model, InputSize = 70 }).Fit(data);
        using var photo = ImageFileReader.Read(Path.Combine(fixture.ImageFolder, "green-yellow-90x150.png"));

        var row = Assert.Single(Rows(_context, pipeline.Transform(data)));
        var lowLevel = fixture.Model.Segment(photo, labels, 70);
        var at64 = fixture.Model.Segment(photo, labels, 64);

        Assert.Equal(at64.Mask, lowLevel.Mask);
        Assert.Equal(lowLevel.Mask.Select(i => (uint)i + 1), row.Mask);
    }

    [Fact]
    public void An_input_size_out_of_range_is_refused_in_the_same_words_by_the_pipeline_and_the_low_level_api()
    {
        using var photo = TestImages.GreenTopYellowBottom(40, 30);

        var pipeline = Assert.Throws<ArgumentOutOfRangeException>(() =>
            _context.Transforms.LanguageSegment(new LanguageSegmentationOptions { Labels = ["green"], Model = fixture.Model, InputSize = 3000 }));
        var lowLevel = Assert.Throws<ArgumentOutOfRangeException>(() => fixture.Model.Segment(photo, ["green"], 31));

        const string rule = "must be 32 to 2048 pixels (the longer image side is resized to about it, both sides rounded to multiples of 32); got ";
        Assert.Contains("InputSize " + rule + "3000", pipeline.Message);
        Assert.Contains("The model input size " + rule + "31", lowLevel.Message);
    }

    [Fact]
    public void Labels_the_text_encoder_cannot_tell_apart_are_refused_naming_both()
    {
        var error = Assert.Throws<ArgumentException>(() => fixture.Model.EncodeLabels(["red", "blue", "scarlet"]));
        var fitError = Assert.Throws<ArgumentException>(() =>
            _context.Transforms.LanguageSegment(new LanguageSegmentationOptions { Labels = ["scarlet", "red"], Model = fixture.Model }).Fit(fixture.LoadImages(_context, "red-blue-64x64.png")));

        Assert.Contains("'red' and 'scarlet'", error.Message);
        Assert.Contains("'scarlet' and 'red'", fitError.Message);
    }

    [Fact]
    public void Case_variants_get_identical_embeddings_from_the_uncased_MiniLM_encoder_of_the_default_model()
    {
        // Why "cat, Cat, CAT" must be refused with the default model: its text encoder cannot tell them apart.
        using var miniLm = LSeg.MLNet.Text.MiniLmTextEncoder.Create();

        var embeddings = miniLm.Encode(["cat", "Cat", "CAT", "dog"]);

        Assert.Equal(embeddings[0], embeddings[1]);
        Assert.Equal(embeddings[0], embeddings[2]);
        Assert.NotEqual(embeddings[0], embeddings[3]);
    }

    [Fact]
    public void The_label_cache_keeps_at_most_its_capacity_and_still_encodes_every_label()
    {
        using var model = LanguageSegmentationModel.Load(fixture.PackagePath, new LanguageSegmentationModelOptions { LabelCacheCapacity = 2 });

        var first = model.EncodeLabels(["red", "green", "blue", "white"]);
        var again = model.EncodeLabels(["red", "green", "blue", "white"]);

        Assert.True(model.CachedLabelCount <= 2, $"{model.CachedLabelCount} labels cached");
        Assert.Equal(first.Values.ToArray(), again.Values.ToArray());
        Assert.Equal(ColourModelPackage.Colours["blue"], first.Values.Slice(2 * 3, 3).ToArray());
    }

    [Fact]
    public void The_default_model_is_loaded_once_per_estimator_and_never_for_the_schema()
    {
        var data = fixture.LoadImages(_context, "red-blue-64x64.png");
        int loads = 0;
        var estimator = new LanguageSegmentationEstimator(null, new LanguageSegmentationOptions { Labels = ["red", "blue"], InputSize = 64 }, options =>
        {
            loads++;
            return LanguageSegmentationModel.Load(fixture.PackagePath, options); // stands in for the embedded default model
        });

        for (int i = 0; i < 3; i++)
            estimator.GetOutputSchema(EstimatorHarness.ShapeOf(data.Schema));
        Assert.Equal(0, loads);
        var first = estimator.Fit(data);
        using (var second = estimator.Fit(data))
            Assert.Same(first.Model, second.Model);
        Assert.Equal(1, loads);

        first.Dispose(); // the last transformer holding it releases the model; the next fit loads it again
        Assert.Throws<ObjectDisposedException>(() => first.Model!.EncodeLabels(["red"]));
        using (var third = estimator.Fit(data))
            Assert.Single(Rows(_context, third.Transform(data)));
        Assert.Equal(2, loads);
    }

    [SkippableFact]
    public void A_gpu_asked_for_on_the_callers_MLContext_is_honoured()
    {
        Skip.If(Runtime.ExecutionDevice.Select(0, fallbackToCpu: true).UsesGpu, "this machine has a usable CUDA device");
        var context = new MLContext { GpuDeviceId = 0, FallbackToCpu = false };
        var data = fixture.LoadImages(context, "red-blue-64x64.png");

        var error = Assert.Throws<InvalidOperationException>(() =>
            context.Transforms.LanguageSegment(new LanguageSegmentationOptions { Labels = ["red"], Model = fixture.Model, InputSize = 64 }).Fit(data));

        Assert.Contains("CUDA", error.Message);
    }
}
