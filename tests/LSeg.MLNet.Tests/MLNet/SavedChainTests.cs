using LSeg.MLNet.Pipeline;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;

namespace LSeg.MLNet.Tests.MLNet;

/// <summary>The mask as label names, with its size (what the README's pipeline reads).</summary>
public sealed class NamedMaskRow
{
    [ColumnName("SegmentationLabels")]
    public string[] Labels { get; set; } = [];

    [ColumnName("SegmentationMaskWidth")]
    public int Width { get; set; }
}

/// <summary><c>FromTransformerChain</c> on what <c>Model.Load</c> really returns, and per-row label pipelines across processes.</summary>
public sealed class SavedChainTests(PipelineFixture fixture) : IClassFixture<PipelineFixture>
{
    public const string PerRowCommand = "load-per-row";

    /// <summary>The README's pipeline (LoadImages → LanguageSegment → MapKeyToValue) fitted on one red-and-blue photo.</summary>
    private (MLContext Context, IDataView Files, TransformerChain<Microsoft.ML.Transforms.KeyToValueMappingTransformer> Fitted) FitReadmePipeline(string[] labels, int inputSize,
        LanguageSegmentationModel? model = null)
    {
        var context = new MLContext();
        var files = context.Data.LoadFromEnumerable(new[] { new ImageFileRow { ImagePath = "red-blue-100x60.png" } });
        var pipeline = context.Transforms.LoadImages("Image", fixture.ImageFolder, nameof(ImageFileRow.ImagePath))
            .Append(context.Transforms.LanguageSegment(new LanguageSegmentationOptions { Labels = labels, Model = model ?? fixture.Model, InputSize = inputSize }))
            .Append(context.Transforms.Conversion.MapKeyToValue("SegmentationLabels", "SegmentationMask"));
        return (context, files, pipeline.Fit(files));
    }

    [Fact]
    public void The_readme_pipeline_saved_and_loaded_re_wraps_and_changes_labels()
    {
        var (context, files, fitted) = FitReadmePipeline(["red", "blue", "white"], inputSize: 64);
        using var disposeFitted = fitted;
        string zip = Path.Combine(fixture.TempPath, "readme-pipeline.zip");
        context.Model.Save(fitted, files.Schema, zip);

        var loaded = context.Model.Load(zip, out var schema);
        using var segmenter = LanguageSegmentationTransformer.FromTransformerChain(loaded, schema, fixture.Model);
        using var relabelled = segmenter.WithLabels(["blue", "red"]);

        Assert.Equal(["red", "blue", "white"], segmenter.Labels);
        var named = context.Model.CreatePredictionEngine<ImageFileRow, NamedMaskRow>(loaded).Predict(new ImageFileRow { ImagePath = "red-blue-100x60.png" });
        Assert.Equal("red", named.Labels[30 * 100 + 5]);
        Assert.Equal("blue", named.Labels[30 * 100 + 95]);
        var images = context.Transforms.LoadImages("Image", fixture.ImageFolder, nameof(ImageFileRow.ImagePath)).Fit(files).Transform(files);
        var swapped = context.Data.CreateEnumerable<SegmentationRow>(relabelled.Transform(images), reuseRowObject: false).Single();
        Assert.Equal(2u, swapped.Mask[30 * 100 + 5]); // red is key 2 of ["blue", "red"]
    }

    [Fact]
    public void Re_wrapping_a_saved_chain_fitted_on_another_image_column_names_the_input_column_not_the_mask()
    {
        var context = new MLContext();
        var files = context.Data.LoadFromEnumerable(new[] { new ImageFileRow { ImagePath = "red-blue-100x60.png" } });
        // The LanguageSegment step alone, saved with the schema of the images it reads (ML.NET does not save image columns).
        var images = context.Transforms.LoadImages("Photo", fixture.ImageFolder, nameof(ImageFileRow.ImagePath)).Fit(files).Transform(files);
        using var fitted = context.Transforms.LanguageSegment(new LanguageSegmentationOptions { Labels = ["red", "blue"], Model = fixture.Model, InputSize = 64, InputColumnName = "Photo" })
            .Fit(images);
        string zip = Path.Combine(fixture.TempPath, "photo-column.zip");
        context.Model.Save(fitted, images.Schema, zip);
        var loaded = context.Model.Load(zip, out var schema);
        using var disposeLoaded = loaded as IDisposable;

        // The default image column name "Image" is not the one it was fitted on: the mask column is not what is wrong.
        var error = Assert.Throws<ArgumentException>(() => LanguageSegmentationTransformer.FromTransformerChain(loaded, schema, fixture.Model));
        using var rewrapped = LanguageSegmentationTransformer.FromTransformerChain(loaded, schema, fixture.Model, inputColumnName: "Photo");

        Assert.Equal("inputColumnName", error.ParamName);
        Assert.Contains("does not run with the image in a column 'Image'", error.Message);
        Assert.Contains("Photo", error.Message);
        Assert.Equal(["red", "blue"], rewrapped.Labels);
    }

    [Fact]
    public void Re_wrapping_a_saved_chain_that_loads_its_own_images_refuses_an_image_column_the_step_does_not_read()
    {
        // The saved chain makes the column 'Photo' itself (LoadImages saved before the step), so a search that only
        // checks that the step's columns exist accepted any name: the transformer returned wanted both and ran on neither.
        var context = new MLContext();
        var files = context.Data.LoadFromEnumerable(new[] { new ImageFileRow { ImagePath = "red-blue-100x60.png" } });
        using var fitted = context.Transforms.LoadImages("Photo", fixture.ImageFolder, nameof(ImageFileRow.ImagePath))
            .Append(context.Transforms.LanguageSegment(new LanguageSegmentationOptions { Labels = ["red", "blue"], Model = fixture.Model, InputSize = 64, InputColumnName = "Photo" }))
            .Fit(files);
        string zip = Path.Combine(fixture.TempPath, "photo-column-with-loader.zip");
        context.Model.Save(fitted, files.Schema, zip);
        var loaded = context.Model.Load(zip, out var schema);
        using var disposeLoaded = loaded as IDisposable;

        var error = Assert.Throws<ArgumentException>(() => LanguageSegmentationTransformer.FromTransformerChain(loaded, schema, fixture.Model));
        using var rewrapped = LanguageSegmentationTransformer.FromTransformerChain(loaded, schema, fixture.Model, inputColumnName: "Photo");

        Assert.Equal("inputColumnName", error.ParamName);
        Assert.Contains("reads its image from the column 'Photo', not 'Image'", error.Message);
        var photos = context.Transforms.LoadImages("Photo", fixture.ImageFolder, nameof(ImageFileRow.ImagePath)).Fit(files).Transform(files);
        var mask = context.Data.CreateEnumerable<SegmentationRow>(rewrapped.Transform(photos), reuseRowObject: false).Single().Mask;
        Assert.Equal(1u, mask[30 * 100 + 5]);  // red, key 1
        Assert.Equal(2u, mask[30 * 100 + 95]); // blue, key 2
    }

    [Fact]
    public void A_fitted_pipeline_still_saves_after_its_composed_graph_was_cleaned_from_the_temporary_folder()
    {
        // A temporary-folder cleaner (or another process's clean-up of graphs unused for a week) may delete the composed
        // graph of a long-lived transformer; ML.NET's ONNX step reads that file again when it is saved. The graph is
        // shared by every pipeline of the same package and input-size bucket, so this test deletes the graph of a package
        // of its own (a temperature no other test uses), never one another test is running.
        using var model = LanguageSegmentationModel.Load(LSeg.MLNet.Tests.Packages.ColourModelPackage.Write(fixture.TempPath, temperature: 0.061f));
        var (context, files, fitted) = FitReadmePipeline(["red", "blue"], inputSize: 160, model);
        using var disposeFitted = fitted;
        // The pipeline's graph is content-addressed: composing it again names the same file.
        string graph = LSeg.MLNet.Pipeline.SegmentationGraph.WriteComposed(model, LSeg.MLNet.Pipeline.ModelInputMappings.MaxSideFor(160));
        File.Delete(graph);
        string zip = Path.Combine(fixture.TempPath, "cleaned-graph.zip");

        context.Model.Save(fitted, files.Schema, zip);

        var loaded = context.Model.Load(zip, out _);
        var named = context.Model.CreatePredictionEngine<ImageFileRow, NamedMaskRow>(loaded).Predict(new ImageFileRow { ImagePath = "red-blue-100x60.png" });
        Assert.Equal("red", named.Labels[30 * 100 + 5]);
        Assert.Equal("blue", named.Labels[30 * 100 + 95]);
    }

    [Fact]
    public void A_fitted_pipeline_saves_the_graph_it_runs_even_when_the_file_on_disk_was_damaged_since()
    {
        // ML.NET's ONNX step copies the graph file into the zip as it is on disk at Save: a file truncated (or altered)
        // since the pipeline was fitted would be saved as it is, and the zip fail (or segment differently) when loaded.
        // A package of its own, as above: the damaged graph is no other test's.
        using var model = LanguageSegmentationModel.Load(LSeg.MLNet.Tests.Packages.ColourModelPackage.Write(fixture.TempPath, temperature: 0.062f));
        var (context, files, fitted) = FitReadmePipeline(["red", "blue"], inputSize: 160, model);
        using var disposeFitted = fitted;
        string graph = LSeg.MLNet.Pipeline.SegmentationGraph.WriteComposed(model, LSeg.MLNet.Pipeline.ModelInputMappings.MaxSideFor(160));
        byte[] intact = File.ReadAllBytes(graph);
        File.WriteAllBytes(graph, intact[..(intact.Length / 2)]);
        string zip = Path.Combine(fixture.TempPath, "damaged-graph.zip");

        context.Model.Save(fitted, files.Schema, zip);

        Assert.Equal(intact, File.ReadAllBytes(graph));
        var loaded = context.Model.Load(zip, out _);
        using var disposeLoaded = loaded as IDisposable;
        var named = context.Model.CreatePredictionEngine<ImageFileRow, NamedMaskRow>(loaded).Predict(new ImageFileRow { ImagePath = "red-blue-100x60.png" });
        Assert.Equal("red", named.Labels[30 * 100 + 5]);
        Assert.Equal("blue", named.Labels[30 * 100 + 95]);
    }

    [Fact]
    public void Saving_after_both_the_composed_graph_and_the_model_package_are_gone_names_the_package()
    {
        // A package that was moved or deleted after the model was loaded (for the default model, a temporary-folder
        // cleaner that removed its extracted copy too): the graph cannot be composed again from it.
        string parent = Path.Combine(fixture.TempPath, "moved-" + Guid.NewGuid().ToString("N")[..8]);
        string package = LSeg.MLNet.Tests.Packages.ColourModelPackage.Write(parent, temperature: 0.063f);
        using var model = LanguageSegmentationModel.Load(package);
        var context = new MLContext();
        var files = context.Data.LoadFromEnumerable(new[] { new ImageFileRow { ImagePath = "red-blue-100x60.png" } });
        // Its own temperature: the graph deleted below is no other test's (graphs are shared per package and size bucket).
        using var fitted = context.Transforms.LoadImages("Image", fixture.ImageFolder, nameof(ImageFileRow.ImagePath))
            .Append(context.Transforms.LanguageSegment(new LanguageSegmentationOptions { Labels = ["red", "blue"], Model = model, InputSize = 288 }))
            .Fit(files);
        File.Delete(LSeg.MLNet.Pipeline.SegmentationGraph.WriteComposed(model, LSeg.MLNet.Pipeline.ModelInputMappings.MaxSideFor(288)));
        Directory.Delete(parent, recursive: true);

        var error = Assert.Throws<InvalidOperationException>(() => context.Model.Save(fitted, files.Schema, Path.Combine(fixture.TempPath, "gone.zip")));

        Assert.Contains($"The model package '{package}' this model was loaded from is gone", error.Message);
    }

    [Fact]
    public void An_in_memory_fitted_pipeline_is_re_wrapped_too_and_disposing_the_wrapper_leaves_it_working()
    {
        var (context, files, fitted) = FitReadmePipeline(["red", "blue"], inputSize: 64);
        using var disposeFitted = fitted;

        using (var segmenter = LanguageSegmentationTransformer.FromTransformerChain(fitted, files.Schema))
        {
            Assert.Equal(["red", "blue"], segmenter.Labels);
            using var relabelled = segmenter.WithLabels(["blue", "red"]);
            Assert.Equal(["blue", "red"], relabelled.Labels);
        }

        var named = context.Model.CreatePredictionEngine<ImageFileRow, NamedMaskRow>(fitted).Predict(new ImageFileRow { ImagePath = "red-blue-100x60.png" });
        Assert.Equal("red", named.Labels[30 * 100 + 5]);
        Assert.Equal("blue", named.Labels[30 * 100 + 95]);
    }

    [Fact]
    public void Disposing_the_re_wrapped_transformer_leaves_the_loaded_model_working()
    {
        var (context, files, fitted) = FitReadmePipeline(["red", "blue"], inputSize: 64);
        using var disposeFitted = fitted;
        string zip = Path.Combine(fixture.TempPath, "disposed-wrapper.zip");
        context.Model.Save(fitted, files.Schema, zip);
        var loaded = context.Model.Load(zip, out var schema);
        var engine = context.Model.CreatePredictionEngine<ImageFileRow, NamedMaskRow>(loaded);

        // The README's pattern: re-wrap to read the labels (or change them), dispose the wrapper, go on predicting with the loaded chain.
        using (var segmenter = LanguageSegmentationTransformer.FromTransformerChain(loaded, schema))
            Assert.Equal(["red", "blue"], segmenter.Labels);
        var named = engine.Predict(new ImageFileRow { ImagePath = "red-blue-100x60.png" });

        Assert.Equal("red", named.Labels[30 * 100 + 5]);
        Assert.Equal("blue", named.Labels[30 * 100 + 95]);
        (loaded as IDisposable)?.Dispose();
    }

    [Fact]
    public void A_chain_nested_two_deep_with_transforms_around_it_is_found()
    {
        var context = new MLContext();
        var data = fixture.LoadImages(context, "red-blue-64x64.png");
        using var segment = context.Transforms.LanguageSegment(new LanguageSegmentationOptions { Labels = ["red", "blue"], Model = fixture.Model, InputSize = 64 }).Fit(data);
        var inner = new TransformerChain<ITransformer>(context.Transforms.CopyColumns("PathCopy", "ImagePath").Fit(data), segment);
        var outer = new TransformerChain<ITransformer>(inner, context.Transforms.CopyColumns("Width2", "SegmentationMaskWidth").Fit(inner.Transform(data)));
        using var stream = new MemoryStream();
        context.Model.Save(outer, data.Schema, stream);
        stream.Position = 0;

        var loaded = context.Model.Load(stream, out var schema);
        using var found = LanguageSegmentationTransformer.FromTransformerChain(loaded, schema);

        Assert.Equal(["red", "blue"], found.Labels);
        Assert.Equal(EstimatorHarness.Dump(segment.Transform(data), "SegmentationMask"), EstimatorHarness.Dump(found.Transform(data), "SegmentationMask"));
    }

    [Fact]
    public void With_two_LanguageSegment_steps_the_one_writing_the_named_mask_column_is_found_in_memory_and_saved()
    {
        var context = new MLContext();
        var data = fixture.LoadImages(context, "red-blue-64x64.png");
        using var coarse = context.Transforms.LanguageSegment(new LanguageSegmentationOptions { Labels = ["red", "blue"], Model = fixture.Model, InputSize = 64, OutputColumnName = "Coarse" }).Fit(data);
        using var fine = context.Transforms.LanguageSegment(new LanguageSegmentationOptions { Labels = ["blue", "red"], Model = fixture.Model, InputSize = 64, OutputColumnName = "Fine" }).Fit(coarse.Transform(data));
        var both = new TransformerChain<ITransformer>(coarse, fine);
        using var stream = new MemoryStream();
        context.Model.Save(both, data.Schema, stream);
        stream.Position = 0;
        var loaded = context.Model.Load(stream, out var schema);

        using var inMemory = LanguageSegmentationTransformer.FromTransformerChain(both, data.Schema, outputColumnName: "Fine");
        using var saved = LanguageSegmentationTransformer.FromTransformerChain(loaded, schema, outputColumnName: "Fine");
        var error = Assert.Throws<ArgumentException>(() => LanguageSegmentationTransformer.FromTransformerChain(both, data.Schema, outputColumnName: "Medium"));
        var savedError = Assert.Throws<ArgumentException>(() => LanguageSegmentationTransformer.FromTransformerChain(loaded, schema, outputColumnName: "Medium"));

        Assert.Equal(["blue", "red"], inMemory.Labels);
        Assert.Equal(["blue", "red"], saved.Labels);
        Assert.Equal("Fine", saved.OutputColumnName);
        Assert.Contains("'Coarse', 'Fine', not 'Medium'", error.Message);
        Assert.Contains("not 'Medium'", savedError.Message);
        Assert.Contains("'Coarse'", savedError.Message);
        Assert.Contains("'Fine'", savedError.Message);
    }

    [Fact]
    public void A_model_without_LanguageSegment_is_refused_with_what_was_found()
    {
        var context = new MLContext();
        var data = fixture.LoadImages(context, "red-blue-64x64.png");
        var other = context.Transforms.CopyColumns("Copy", "ImagePath").Append(context.Transforms.CopyColumns("Copy2", "ImagePath")).Fit(data);

        var error = Assert.Throws<ArgumentException>(() => LanguageSegmentationTransformer.FromTransformerChain(other, data.Schema));

        Assert.Contains("ColumnCopyingTransformer", error.Message);
    }

    /// <summary>The second process: loads a per-row-label model, binds it to the package, segments, writes masks.</summary>
    public static int LoadPerRow(string[] args)
    {
        string zip = args[0], package = args[1], folder = args[2], output = args[3];
        var context = new MLContext();
        var loaded = context.Model.Load(zip, out var schema);
        var table = context.Data.LoadFromEnumerable(PerRowTable());
        var data = context.Transforms.LoadImages("Image", folder, nameof(ImageFileWithLabelsRow.ImagePath)).Fit(table).Transform(table);
        string unbound;
        try
        {
            context.Data.CreateEnumerable<SegmentationRow>(loaded.Transform(data), false).ToList();
            unbound = "no error";
        }
        catch (Exception e)
        {
            unbound = e.ToString().Contains("FromTransformerChain", StringComparison.Ordinal) ? "names FromTransformerChain" : e.GetType().Name;
        }
        using var model = LanguageSegmentationModel.Load(package);
        using var typed = LanguageSegmentationTransformer.FromTransformerChain(loaded, schema, model);
        var lines = context.Data.CreateEnumerable<SegmentationRow>(typed.Transform(data), reuseRowObject: false).Select(r => string.Join(',', r.Mask)).Prepend(unbound);
        File.WriteAllLines(output, lines);
        return 0;
    }

    private static ImageFileWithLabelsRow[] PerRowTable() =>
    [
        new() { ImagePath = "red-blue-100x60.png", Labels = ["red", "blue"] },
        new() { ImagePath = "green-yellow-90x150.png", Labels = ["yellow", "white", "green"] },
    ];

    [Fact]
    public void A_per_row_label_pipeline_saved_here_segments_in_a_new_process_once_given_the_model()
    {
        var context = new MLContext();
        var table = context.Data.LoadFromEnumerable(PerRowTable());
        var data = context.Transforms.LoadImages("Image", fixture.ImageFolder, nameof(ImageFileWithLabelsRow.ImagePath)).Fit(table).Transform(table);
        using var transformer = context.Transforms.LanguageSegment(new LanguageSegmentationOptions { LabelsColumnName = "Labels", Model = fixture.Model, InputSize = 64 }).Fit(data);
        string zip = Path.Combine(fixture.TempPath, "per-row.zip"), output = Path.Combine(fixture.TempPath, "per-row-masks.txt");
        context.Model.Save(transformer, data.Schema, zip);
        var expected = context.Data.CreateEnumerable<SegmentationRow>(transformer.Transform(data), false).Select(r => string.Join(',', r.Mask)).Prepend("names FromTransformerChain");

        var (exitCode, _, stderr) = ChildProcess.Run(null, TimeSpan.FromMinutes(5), PerRowCommand, zip, fixture.PackagePath, fixture.ImageFolder, output);

        Assert.True(exitCode == 0, stderr);
        Assert.Equal(expected, File.ReadAllLines(output));
    }

    [Fact]
    public void A_model_saved_in_the_earlier_layout_with_per_pixel_name_mapping_segments_and_changes_labels_as_saved()
    {
        // Until the "LSeg.MaskText" step, a pipeline named each pixel with MapValue (index → name) straight from the
        // mask. Zips saved then hold that layout; the chain here is rebuilt in it from today's steps.
        var context = new MLContext();
        var files = context.Data.LoadFromEnumerable(new[] { new ImageFileRow { ImagePath = "red-blue-100x60.png" } });
        var images = context.Transforms.LoadImages("Image", fixture.ImageFolder, nameof(ImageFileRow.ImagePath)).Fit(files).Transform(files);
        string[] labels = ["red", "blue", "white"];
        using var current = context.Transforms.LanguageSegment(new LanguageSegmentationOptions { Labels = labels, Model = fixture.Model, InputSize = 64 }).Fit(images);
        var earlier = new List<ITransformer>();
        var schema = images.Schema;
        foreach (var step in current.Chain)
        {
            if (step is ValueMappingTransformer && step.GetOutputSchema(schema).GetColumnOrNull(PipelineColumns.LabelNames) is not null && schema.GetColumnOrNull(PipelineColumns.LabelNames) is null)
                continue;
            var replacement = step switch
            {
                CustomMappingTransformer<MaskTextInput, MaskTextOutput> => SegmentationPipeline.PerPixelLabelNameEstimator(context, labels).Fit(new EmptyDataView(schema)),
                ColumnSelectingTransformer => context.Transforms.DropColumns(schema.Select(c => c.Name).Where(n => n.StartsWith(PipelineColumns.Prefix)).ToArray()).Fit(new EmptyDataView(schema)),
                _ => step,
            };
            earlier.Add(replacement);
            schema = replacement.GetOutputSchema(schema);
        }
        string zip = Path.Combine(fixture.TempPath, "earlier-layout.zip");
        context.Model.Save(new TransformerChain<ITransformer>(earlier.ToArray()), images.Schema, zip);

        var loaded = context.Model.Load(zip, out var loadedSchema);
        using var disposeLoaded = loaded as IDisposable;
        using var segmenter = LanguageSegmentationTransformer.FromTransformerChain(loaded, loadedSchema, fixture.Model);
        using var relabelled = segmenter.WithLabels(["blue", "red"]);
        using var currentRelabelled = current.WithLabels(["blue", "red"]);
        uint[] mask(ITransformer t) => context.Data.CreateEnumerable<SegmentationRow>(t.Transform(images), reuseRowObject: false).Single().Mask;

        Assert.DoesNotContain(segmenter.Chain, s => s is CustomMappingTransformer<MaskTextInput, MaskTextOutput>);
        Assert.DoesNotContain(relabelled.Chain, s => s is CustomMappingTransformer<MaskTextInput, MaskTextOutput>);
        Assert.Equal(earlier.Count, relabelled.Chain.Count());
        Assert.Equal(mask(current), mask(segmenter));
        Assert.Equal(mask(currentRelabelled), mask(relabelled));
        Assert.Equal(2u, mask(relabelled)[30 * 100 + 5]); // red is key 2 of ["blue", "red"]
    }
}
