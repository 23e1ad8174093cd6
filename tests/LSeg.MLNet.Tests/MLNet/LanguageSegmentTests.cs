using Microsoft.ML;
using Microsoft.ML.Data;

namespace LSeg.MLNet.Tests.MLNet;

/// <summary>Output row read by PredictionEngine and CreateEnumerable.</summary>
public sealed class SegmentationRow
{
    [ColumnName("SegmentationMask")]
    public uint[] Mask { get; set; } = [];

    [ColumnName("SegmentationMaskWidth")]
    public int Width { get; set; }

    [ColumnName("SegmentationMaskHeight")]
    public int Height { get; set; }

    [ColumnName("SegmentationMaskPixelCounts")]
    public long[] PixelCounts { get; set; } = [];
}

/// <summary>Input row of a PredictionEngine: one image of any size.</summary>
public sealed class ImageInput
{
    public MLImage? Image { get; set; }
}

/// <summary><c>mlContext.Transforms.LanguageSegment(labels)</c> on the hand-made colour package.</summary>
public sealed class LanguageSegmentTests(PipelineFixture fixture) : IClassFixture<PipelineFixture>
{
    private readonly MLContext _context = new(seed: 1);

    private LanguageSegmentationTransformer Fit(string[] labels, IDataView data, Action<LanguageSegmentationOptions>? configure = null)
    {
        var options = new LanguageSegmentationOptions { Labels = labels, Model = fixture.Model, InputSize = 64 };
        configure?.Invoke(options);
        return _context.Transforms.LanguageSegment(options).Fit(data);
    }

    // SchemaShape.Create is internal to ML.NET (EstimatorChain.Fit calls it); the test reaches it by reflection.
    private static SchemaShape ShapeOf(DataViewSchema schema) =>
        (SchemaShape)typeof(SchemaShape).GetMethod("Create", System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic)!
            .Invoke(null, [schema])!;

    [Fact]
    public void The_estimator_fits_inside_an_estimator_chain_that_loads_the_images()
    {
        var table = _context.Data.LoadFromEnumerable(new[] { new ImageFileRow { ImagePath = "red-blue-64x64.png" } });
        var pipeline = _context.Transforms.LoadImages("Image", fixture.ImageFolder, nameof(ImageFileRow.ImagePath))
            .Append(_context.Transforms.LanguageSegment(new LanguageSegmentationOptions { Labels = ["red", "blue"], Model = fixture.Model, InputSize = 64 }));

        using var model = (IDisposable)pipeline.Fit(table);
        var row = Assert.Single(Rows(_context, ((ITransformer)model).Transform(table)));

        Assert.Equal((64, 64), (row.Width, row.Height));
    }

    private static IEnumerable<SegmentationRow> Rows(MLContext context, IDataView view) =>
        context.Data.CreateEnumerable<SegmentationRow>(view, reuseRowObject: false);

    [Fact]
    public void The_mask_is_a_key_vector_at_the_original_size_whose_key_values_are_the_labels()
    {
        var data = fixture.LoadImages(_context, "red-blue-100x60.png");
        using var transformer = Fit(["blue", "red", "green"], data);

        var output = transformer.Transform(data);
        var column = output.Schema["SegmentationMask"];

        var type = Assert.IsType<VectorDataViewType>(column.Type);
        var key = Assert.IsType<KeyDataViewType>(type.ItemType);
        Assert.Equal(3UL, key.Count);
        VBuffer<ReadOnlyMemory<char>> keyValues = default;
        column.GetKeyValues(ref keyValues);
        Assert.Equal(["blue", "red", "green"], keyValues.DenseValues().Select(v => v.ToString()));

        var row = Assert.Single(Rows(_context, output));
        Assert.Equal((100, 60), (row.Width, row.Height));
        Assert.Equal(100 * 60, row.Mask.Length);
    }

    [Fact]
    public void Labels_with_surrounding_spaces_segment_as_their_trimmed_text_and_keep_their_names_as_given()
    {
        var data = fixture.LoadImages(_context, "red-blue-100x60.png");
        using var padded = Fit([" blue", "red ", "  green  "], data);
        using var trimmed = Fit(["blue", "red", "green"], data);

        var output = padded.Transform(data);
        VBuffer<ReadOnlyMemory<char>> keyValues = default;
        output.Schema["SegmentationMask"].GetKeyValues(ref keyValues);

        // As the low-level API: the model reads " blue" as "blue" ("dog, grass".Split(',') gives " grass"), and the
        // result keeps the labels as given.
        Assert.Equal([" blue", "red ", "  green  "], keyValues.DenseValues().Select(v => v.ToString()));
        Assert.Equal(Assert.Single(Rows(_context, trimmed.Transform(data))).Mask, Assert.Single(Rows(_context, output)).Mask);
    }

    [Fact]
    public void Each_pixel_gets_the_label_of_its_colour()
    {
        var data = fixture.LoadImages(_context, "red-blue-100x60.png");
        using var transformer = Fit(["blue", "red", "green"], data);

        var row = Assert.Single(Rows(_context, transformer.Transform(data)));

        // Keys are 1-based: red is key 2, blue key 1. Columns within 4 pixels of the colour edge may go either way.
        int wrong = 0;
        for (int y = 0; y < 60; y++)
            for (int x = 0; x < 100; x++)
                if (Math.Abs(x - 50) > 4 && row.Mask[y * 100 + x] != (x < 50 ? 2u : 1u))
                    wrong++;
        Assert.Equal(0, wrong);
        Assert.Equal(6000L, row.PixelCounts.Sum());
        Assert.Equal(0L, row.PixelCounts[2]);
    }

    [Fact]
    public void MapKeyToValue_turns_the_mask_into_label_names()
    {
        var data = fixture.LoadImages(_context, "green-yellow-90x150.png");
        using var transformer = Fit(["yellow", "green"], data);

        var named = _context.Transforms.Conversion.MapKeyToValue("MaskNames", "SegmentationMask").Fit(transformer.Transform(data)).Transform(transformer.Transform(data));
        var names = named.GetColumn<VBuffer<ReadOnlyMemory<char>>>("MaskNames").Single().DenseValues().Select(v => v.ToString()).ToArray();

        Assert.Equal("green", names[10 * 90 + 45]);
        Assert.Equal("yellow", names[140 * 90 + 45]);
    }

    [Theory]
    [InlineData("green-yellow-90x150.png")]
    [InlineData("blocks-150x70.png")]
    public void The_pipeline_keeps_the_aspect_ratio_and_gives_the_low_level_apis_mask(string file)
    {
        var data = fixture.LoadImages(_context, file);
        string[] labels = ["yellow", "green", "black", "red", "blue", "white"];
        using var transformer = Fit(labels, data);
        using var image = MLImage.CreateFromFile(Path.Combine(fixture.ImageFolder, file));

        var pipelineMask = Assert.Single(Rows(_context, transformer.Transform(data))).Mask;
        var lowLevel = fixture.Model.Segment(image, labels, inputSize: 64);

        // The low-level API sizes a 90×150 image to 64 × 96 (not a padded square) and runs the same graph: the same mask.
        Assert.Equal(lowLevel.Mask.Select(i => (uint)i + 1), pipelineMask);
    }

    [Fact]
    public void Scores_and_embeddings_are_added_on_request()
    {
        var data = fixture.LoadImages(_context, "red-blue-64x64.png");
        using var plain = Fit(["red", "blue"], data);
        using var rich = Fit(["red", "blue"], data, o => { o.OutputScores = true; o.OutputEmbeddings = true; });

        var plainSchema = plain.GetOutputSchema(data.Schema);
        var richOutput = rich.Transform(data);

        Assert.Null(plainSchema.GetColumnOrNull("SegmentationMaskScores"));
        Assert.Null(plainSchema.GetColumnOrNull("SegmentationMaskEmbeddings"));
        var scores = richOutput.GetColumn<float[]>("SegmentationMaskScores").Single();
        var embeddings = richOutput.GetColumn<float[]>("SegmentationMaskEmbeddings").Single();
        Assert.Equal(64 * 64, scores.Length);
        Assert.Equal(1 / 0.07, scores[10 * 64 + 5], 2); // pure red against "red": cos 1 ÷ 0.07
        Assert.Equal(3 * 32 * 32, embeddings.Length);
        Assert.Equal([3L, 32, 32], richOutput.GetColumn<long[]>("SegmentationMaskEmbeddingsShape").Single());
        // Without scores asked for, the original-size step computes none (a CustomMapping computes all its columns per
        // row: 48 MB of resampled scores per 12-megapixel photo), and the masks are the same.
        Assert.Contains(plain.Chain, step => step is Microsoft.ML.Transforms.CustomMappingTransformer<Pipeline.OriginalSizeInput, Pipeline.OriginalSizeMaskOutput>);
        Assert.DoesNotContain(plain.Chain, step => step is Microsoft.ML.Transforms.CustomMappingTransformer<Pipeline.OriginalSizeInput, Pipeline.OriginalSizeOutput>);
        Assert.Contains(rich.Chain, step => step is Microsoft.ML.Transforms.CustomMappingTransformer<Pipeline.OriginalSizeInput, Pipeline.OriginalSizeOutput>);
        Assert.Equal(plain.Transform(data).GetColumn<uint[]>("SegmentationMask").Single(), richOutput.GetColumn<uint[]>("SegmentationMask").Single());
    }

    [Fact]
    public void No_helper_column_is_left_in_the_output()
    {
        var data = fixture.LoadImages(_context, "red-blue-64x64.png");
        using var transformer = Fit(["red", "blue"], data);

        var schema = transformer.GetOutputSchema(data.Schema);

        Assert.DoesNotContain(schema, c => !c.IsHidden && c.Name.StartsWith("__LSeg_", StringComparison.Ordinal));
        Assert.Equal(["ImagePath", "Image", "SegmentationMask", "SegmentationMaskWidth", "SegmentationMaskHeight", "SegmentationMaskPixelCounts"],
            schema.Where(c => !c.IsHidden).Select(c => c.Name));
    }

    [Fact]
    public void GetOutputSchema_of_the_estimator_matches_the_transformer_output()
    {
        var data = fixture.LoadImages(_context, "red-blue-64x64.png");
        var estimator = _context.Transforms.LanguageSegment(new LanguageSegmentationOptions { Labels = ["red", "blue"], Model = fixture.Model, InputSize = 64 });

        var shape = estimator.GetOutputSchema(ShapeOf(data.Schema));
        using var transformer = estimator.Fit(data);
        var schema = transformer.GetOutputSchema(data.Schema);

        foreach (string name in new[] { "SegmentationMask", "SegmentationMaskWidth", "SegmentationMaskHeight", "SegmentationMaskPixelCounts" })
        {
            var column = shape.Single(c => c.Name == name);
            var actual = schema[name].Type;
            Assert.Equal(actual is VectorDataViewType v ? v.ItemType.RawType : actual.RawType, column.ItemType.RawType);
        }
    }

    [Fact]
    public void A_missing_image_column_is_reported_before_any_model_is_loaded()
    {
        var table = _context.Data.LoadFromEnumerable(new[] { new ImageFileRow { ImagePath = "x.png" } });
        // No model given: a default model would be loaded (and this build may have none); the schema error comes first.
        var estimator = _context.Transforms.LanguageSegment(["red"], inputColumnName: "Picture");

        var error = Assert.Throws<ArgumentOutOfRangeException>(() => estimator.Fit(table));

        Assert.Contains("'Picture'", error.Message);
    }

    [Fact]
    public void A_text_column_in_place_of_an_image_is_a_schema_error_naming_it()
    {
        var table = _context.Data.LoadFromEnumerable(new[] { new ImageFileRow { ImagePath = "x.png" } });
        var estimator = _context.Transforms.LanguageSegment(["red"], inputColumnName: nameof(ImageFileRow.ImagePath));

        var error = Assert.Throws<ArgumentOutOfRangeException>(() => estimator.Fit(table));

        Assert.Contains("expected an image", error.Message);
        Assert.Contains("ImagePath", error.Message);
    }

    private sealed class TextImageRow
    {
        public string Image { get; set; } = "";
    }

    [Fact]
    public void A_fitted_transformer_given_a_text_column_in_place_of_its_image_names_the_column_as_the_caller_did()
    {
        var images = _context.Transforms.LoadImages("Image", fixture.ImageFolder, nameof(ImageFileRow.ImagePath))
            .Fit(_context.Data.LoadFromEnumerable(new[] { new ImageFileRow { ImagePath = "red-blue-64x64.png" } }));
        using var segmenter = Fit(["red", "blue"], images.Transform(_context.Data.LoadFromEnumerable(new[] { new ImageFileRow { ImagePath = "red-blue-64x64.png" } })));
        var text = _context.Data.LoadFromEnumerable(new[] { new TextImageRow { Image = "red-blue-64x64.png" } });

        var transform = Assert.Throws<ArgumentOutOfRangeException>(() => segmenter.Transform(text));
        var engine = Assert.Throws<ArgumentOutOfRangeException>(() => _context.Model.CreatePredictionEngine<TextImageRow, SegmentationRow>(segmenter));
        // In a chain, ML.NET asks every step for its output schema before any step transforms.
        var inChain = Assert.Throws<ArgumentOutOfRangeException>(() => new TransformerChain<ITransformer>(segmenter).Transform(text));

        foreach (var error in new[] { transform, engine, inChain })
        {
            Assert.Contains("Schema mismatch for input column 'Image': expected an image", error.Message);
            Assert.DoesNotContain("__LSeg", error.Message);
        }
    }

    [Fact]
    public void Bad_label_lists_are_rejected_when_the_estimator_is_made()
    {
        Assert.Contains("empty", Assert.Throws<ArgumentException>(() => _context.Transforms.LanguageSegment(Array.Empty<string>())).Message);
        Assert.Contains("Label 1", Assert.Throws<ArgumentException>(() => _context.Transforms.LanguageSegment(["red", " "])).Message);
        Assert.Contains("Label 0", Assert.Throws<ArgumentException>(() => _context.Transforms.LanguageSegment([null!])).Message);
        Assert.Contains("'red'", Assert.Throws<ArgumentException>(() => _context.Transforms.LanguageSegment(["red", "blue", "red"])).Message);
    }

    [Fact]
    public void After_dispose_its_views_and_engines_throw_ObjectDisposedException_while_a_label_sibling_goes_on()
    {
        var files = _context.Data.LoadFromEnumerable(new[] { new ImageFileRow { ImagePath = "red-blue-100x60.png" } });
        var images = _context.Transforms.LoadImages("Image", fixture.ImageFolder, nameof(ImageFileRow.ImagePath)).Fit(files);
        var data = images.Transform(files);
        var transformer = Fit(["red", "blue"], data);
        var sibling = transformer.WithLabels(["blue", "red"]);
        var view = transformer.Transform(data);
        var engine = _context.Model.CreatePredictionEngine<ImageFileRow, SegmentationRow>(new TransformerChain<ITransformer>(images, transformer));
        var row = new ImageFileRow { ImagePath = "red-blue-100x60.png" };
        Assert.Equal(100 * 60, engine.Predict(row).Mask.Length);

        transformer.Dispose();

        // Before: the view and the engine ran ONNX Runtime's session after it was freed (a NullReferenceException from
        // inside ONNX Runtime, or a crash); the sibling shares the session, which stays open while it lives.
        AssertDisposed(() => Rows(_context, view).ToList());
        AssertDisposed(() => engine.Predict(row));
        var mask = Rows(_context, sibling.Transform(data)).Single().Mask;
        Assert.Equal(1u, mask[30 * 100 + 95]); // key 1: "blue", the sibling's first label, on the right half
        sibling.Dispose();
        AssertDisposed(() => Rows(_context, sibling.Transform(data)).ToList());
    }

    /// <summary>ObjectDisposedException, possibly wrapped by ML.NET's parallel cursors.</summary>
    private static void AssertDisposed(Action action)
    {
        var error = Assert.ThrowsAny<Exception>(action);
        for (Exception? e = error; e is not null; e = e.InnerException)
        {
            if (e is ObjectDisposedException)
                return;
        }
        Assert.Fail($"expected an ObjectDisposedException, got {error}");
    }

    [Fact]
    public void A_cursor_open_when_the_last_transformer_is_disposed_finishes_and_later_ones_are_refused()
    {
        var data = fixture.LoadImages(_context, "red-blue-100x60.png");
        var transformer = Fit(["red", "blue"], data);
        var view = transformer.Transform(data);
        var calls = (LSeg.MLNet.Pipeline.ISessionCalls)transformer;

        // A cursor opened before Dispose (an enumeration in progress on another thread) finishes its rows.
        using (var cursor = view.GetRowCursor(view.Schema))
        {
            transformer.Dispose();
            var getter = cursor.GetGetter<VBuffer<uint>>(view.Schema["SegmentationMask"]);
            Assert.True(cursor.MoveNext());
            VBuffer<uint> mask = default;
            getter(ref mask);
            Assert.Equal(100 * 60, mask.Length);
        }

        Assert.Throws<ObjectDisposedException>(() => calls.Enter());
        AssertDisposed(() => Rows(_context, view).ToList());
    }

    [Fact]
    public void An_unreadable_image_file_fails_the_row_with_an_exception_not_a_wrong_mask()
    {
        var data = fixture.LoadImages(_context, "broken.png");
        using var transformer = Fit(["red", "blue"], data);

        var error = Assert.ThrowsAny<Exception>(() => Rows(_context, transformer.Transform(data)).ToList());

        // Not any exception (a NullReferenceException from a bug in LSeg would do): ML.NET's image loader refusing the
        // file before LSeg sees the row, as docs/mlnet.md says (it names no file; ImageFileReader.Validate does).
        Assert.Contains(Chain(error), e => e is ArgumentException && e.Message.Contains("Invalid input stream contents", StringComparison.Ordinal));
        static IEnumerable<Exception> Chain(Exception? e)
        {
            for (; e is not null; e = e.InnerException)
                yield return e;
        }
    }

    [Fact]
    public void A_one_pixel_image_fails_with_a_message_naming_its_size()
    {
        var data = fixture.LoadImages(_context, "tiny-1x1.png");
        using var transformer = Fit(["red", "blue"], data);

        var error = Assert.ThrowsAny<Exception>(() => Rows(_context, transformer.Transform(data)).ToList());

        Assert.Contains("1×1", error.ToString());
    }

    [Fact]
    public void Transform_is_lazy_and_reads_only_when_a_cursor_moves()
    {
        var data = fixture.LoadImages(_context, "broken.png");
        using var transformer = Fit(["red", "blue"], data);

        var output = transformer.Transform(data); // a broken file: any eager work would throw here

        Assert.NotNull(output.Schema.GetColumnOrNull("SegmentationMask"));
    }

    [Fact]
    public void WithLabels_shares_the_onnx_session_and_equals_a_fresh_pipeline()
    {
        var data = fixture.LoadImages(_context, PipelineFixture.GoodImages);
        using var first = Fit(["red", "blue"], data);

        using var changed = first.WithLabels(["green", "yellow", "red", "blue"]);
        using var fresh = Fit(["green", "yellow", "red", "blue"], data);

        Assert.Same(first.Chain.OfType<Microsoft.ML.Transforms.Onnx.OnnxTransformer>().Single(), changed.Chain.OfType<Microsoft.ML.Transforms.Onnx.OnnxTransformer>().Single());
        Assert.Equal(["green", "yellow", "red", "blue"], changed.Labels);
        var expected = Rows(_context, fresh.Transform(data)).Select(r => r.Mask).ToList();
        var actual = Rows(_context, changed.Transform(data)).Select(r => r.Mask).ToList();
        Assert.Equal(expected, actual);
        // The first transformer still works after the second was made.
        Assert.Equal(3, Rows(_context, first.Transform(data)).Count());
    }

    [Fact]
    public void A_disposed_sibling_does_not_break_a_transformer_that_shares_its_session()
    {
        var data = fixture.LoadImages(_context, "red-blue-64x64.png");
        var first = Fit(["red", "blue"], data);
        using var changed = first.WithLabels(["blue", "red"]);

        first.Dispose();

        Assert.Single(Rows(_context, changed.Transform(data)));
    }

    [Fact]
    public void Per_row_label_sets_give_each_row_its_own_label_indices()
    {
        var table = _context.Data.LoadFromEnumerable(new[]
        {
            new ImageFileWithLabelsRow { ImagePath = "red-blue-100x60.png", Labels = ["red", "blue"] },
            new ImageFileWithLabelsRow { ImagePath = "red-blue-100x60.png", Labels = ["green", "blue", "red"] },
        });
        var data = _context.Transforms.LoadImages("Image", fixture.ImageFolder, nameof(ImageFileWithLabelsRow.ImagePath)).Fit(table).Transform(table);
        using var transformer = _context.Transforms.LanguageSegment(new LanguageSegmentationOptions
        {
            LabelsColumnName = nameof(ImageFileWithLabelsRow.Labels), Model = fixture.Model, InputSize = 64,
        }).Fit(data);

        var rows = Rows(_context, transformer.Transform(data)).ToList();

        // Left pixel is red: index 0 in row 1's labels, index 2 in row 2's (0-based indices, not keys).
        Assert.Equal([0u, 2u], rows.Select(r => r.Mask[30 * 100 + 5]));
        Assert.Equal([1u, 1u], rows.Select(r => r.Mask[30 * 100 + 95]));
        Assert.Equal([2, 3], rows.Select(r => r.PixelCounts.Length));
    }

    [Fact]
    public void A_PredictionEngine_can_segment_the_same_image_object_twice()
    {
        var data = fixture.LoadImages(_context, "red-blue-64x64.png");
        using var transformer = Fit(["red", "blue"], data);
        using var image = MLImage.CreateFromFile(Path.Combine(fixture.ImageFolder, "red-blue-64x64.png"));
        var engine = _context.Model.CreatePredictionEngine<ImageInput, SegmentationRow>(transformer);

        var first = engine.Predict(new ImageInput { Image = image }).Mask.ToArray();
        var second = engine.Predict(new ImageInput { Image = image }).Mask.ToArray();

        Assert.Equal(first, second);
        Assert.Equal(64, image.Width);
    }

    [Fact]
    public void PredictionEngines_on_several_threads_sharing_one_transformer_agree_with_one_thread()
    {
        var data = fixture.LoadImages(_context, PipelineFixture.GoodImages);
        using var transformer = Fit(["red", "blue", "green", "yellow"], data);
        var images = PipelineFixture.GoodImages.Select(f => MLImage.CreateFromFile(Path.Combine(fixture.ImageFolder, f))).ToArray();
        var single = _context.Model.CreatePredictionEngine<ImageInput, SegmentationRow>(transformer);
        var expected = images.Select(i => single.Predict(new ImageInput { Image = i }).Mask.ToArray()).ToArray();

        var results = new uint[4 * 6][];
        var threads = Enumerable.Range(0, 4).Select(t => new Thread(() =>
        {
            var engine = _context.Model.CreatePredictionEngine<ImageInput, SegmentationRow>(transformer);
            for (int k = 0; k < 6; k++)
                results[t * 6 + k] = engine.Predict(new ImageInput { Image = images[k % images.Length] }).Mask.ToArray();
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        for (int i = 0; i < results.Length; i++)
            Assert.Equal(expected[i % 6 % images.Length], results[i]);
        foreach (var image in images)
            image.Dispose();
    }

    [SkippableFact]
    public void A_gpu_request_on_a_machine_without_cuda_falls_back_to_the_cpu_quietly()
    {
        Skip.If(Runtime.ExecutionDevice.Select(0, fallbackToCpu: true).UsesGpu, "this machine has a usable CUDA device");
        var data = fixture.LoadImages(_context, "red-blue-64x64.png");

        using var transformer = Fit(["red", "blue"], data, o => { o.GpuDeviceId = 0; o.FallbackToCpu = true; });

        Assert.Single(Rows(_context, transformer.Transform(data)));
    }

    [SkippableFact]
    public void A_gpu_request_without_fallback_on_a_machine_without_cuda_names_the_missing_libraries()
    {
        Skip.If(Runtime.ExecutionDevice.Select(0, fallbackToCpu: true).UsesGpu, "this machine has a usable CUDA device");

        var error = Assert.Throws<InvalidOperationException>(() => LanguageSegmentationModel.Load(fixture.PackagePath, new LanguageSegmentationModelOptions { GpuDeviceId = 0, FallbackToCpu = false }));

        Assert.Contains("CUDA", error.Message);
        Assert.Contains("cuDNN", error.Message);
    }
}
