using LSeg.MLNet.Pipeline;
using Microsoft.ML;
using Microsoft.ML.Transforms.Onnx;

namespace LSeg.MLNet.Tests.MLNet;

/// <summary>The model's <c>IntraOpThreads</c> reaches the pipeline's own ONNX step, which ML.NET creates.</summary>
public sealed class PipelineSessionOptionsTests(PipelineFixture fixture) : IClassFixture<PipelineFixture>
{
    [Fact]
    public void A_model_capped_to_one_thread_caps_the_pipelines_onnx_session_too_and_segments_alike()
    {
        using var capped = LanguageSegmentationModel.Load(fixture.PackagePath, new LanguageSegmentationModelOptions { IntraOpThreads = 1 });
        var cappedContext = new MLContext();
        var defaultContext = new MLContext();
        var options = new LanguageSegmentationOptions { Labels = ["red", "blue"], InputSize = 64 };

        _ = new SegmentationPipeline(options, capped, gpuDeviceId: null, fallbackToCpu: true, cappedContext);
        _ = new SegmentationPipeline(options, fixture.Model, gpuDeviceId: null, fallbackToCpu: true, defaultContext);

        // What ML.NET's ApplyOnnxModel reads from the context it is given when it creates the session.
        using var sessionOptions = cappedContext.GetOnnxSessionOption().CreateSessionOptions();
        Assert.Equal(1, sessionOptions.IntraOpNumThreads);
        Assert.Null(defaultContext.GetOnnxSessionOption()?.CreateSessionOptions);

        var context = new MLContext();
        var files = context.Data.LoadFromEnumerable(new[] { new ImageFileRow { ImagePath = "red-blue-100x60.png" } });
        var images = context.Transforms.LoadImages("Image", fixture.ImageFolder, nameof(ImageFileRow.ImagePath)).Fit(files).Transform(files);
        uint[] mask(LanguageSegmentationModel model)
        {
            using var fitted = context.Transforms.LanguageSegment(new LanguageSegmentationOptions { Labels = ["red", "blue"], Model = model, InputSize = 64 }).Fit(images);
            return context.Data.CreateEnumerable<SegmentationRow>(fitted.Transform(images), reuseRowObject: false).Single().Mask;
        }
        Assert.Equal(mask(fixture.Model), mask(capped));
    }

    [Fact]
    public void A_saved_pipeline_loaded_into_a_context_with_onnx_session_options_creates_its_session_with_them()
    {
        // What docs/mlnet.md tells a server to do to cap the threads of a loaded pipeline.
        var context = new MLContext();
        var files = context.Data.LoadFromEnumerable(new[] { new ImageFileRow { ImagePath = "red-blue-100x60.png" } });
        var images = context.Transforms.LoadImages("Image", fixture.ImageFolder, nameof(ImageFileRow.ImagePath)).Fit(files).Transform(files);
        using var fitted = context.Transforms.LanguageSegment(new LanguageSegmentationOptions { Labels = ["red", "blue"], Model = fixture.Model, InputSize = 64 }).Fit(images);
        string zip = Path.Combine(fixture.TempPath, "session-options.zip");
        context.Model.Save(fitted, images.Schema, zip);
        int created = 0;
        var loading = new MLContext();
        loading.SetOnnxSessionOption(new OnnxSessionOptions
        {
            CreateSessionOptions = () =>
            {
                Interlocked.Increment(ref created);
                return new Microsoft.ML.OnnxRuntime.SessionOptions { IntraOpNumThreads = 1 };
            },
        });

        var loaded = loading.Model.Load(zip, out _);
        using var disposeLoaded = loaded as IDisposable;
        var mask = loading.Data.CreateEnumerable<SegmentationRow>(loaded.Transform(images), reuseRowObject: false).Single().Mask;

        Assert.True(created > 0, "the loaded ONNX step did not ask the context for its session options");
        Assert.Equal(context.Data.CreateEnumerable<SegmentationRow>(fitted.Transform(images), reuseRowObject: false).Single().Mask, mask);
    }
}
