using Microsoft.ML;

namespace LSeg.MLNet.Tests.MLNet;

/// <summary>The estimator harness applied to every option combination: plain, scores + embeddings, per-row labels.</summary>
public sealed class EstimatorHarnessTests(PipelineFixture fixture) : IClassFixture<PipelineFixture>
{
    private readonly MLContext _context = new(seed: 1);

    private IEnumerable<IDataView> InvalidInputs(string imageColumn)
    {
        var paths = _context.Data.LoadFromEnumerable(new[] { new ImageFileRow { ImagePath = "red-blue-64x64.png" } });
        yield return paths; // no image column at all
        yield return _context.Transforms.CopyColumns(imageColumn, nameof(ImageFileRow.ImagePath)).Fit(paths).Transform(paths); // text, not an image
    }

    [Fact]
    public void Plain_labels()
    {
        var data = fixture.LoadImages(_context, PipelineFixture.GoodImages);
        var estimator = _context.Transforms.LanguageSegment(new LanguageSegmentationOptions { Labels = ["red", "blue", "green", "yellow"], Model = fixture.Model, InputSize = 64 });

        EstimatorHarness.Check(_context, estimator, data, InvalidInputs("Image"), fixture.Model);
    }

    [Fact]
    public void Scores_and_embeddings_with_other_column_names()
    {
        var data = _context.Transforms.CopyColumns("Photo", "Image").Fit(fixture.LoadImages(_context, PipelineFixture.GoodImages)).Transform(fixture.LoadImages(_context, PipelineFixture.GoodImages));
        var estimator = _context.Transforms.LanguageSegment(new LanguageSegmentationOptions
        {
            Labels = ["white", "red", "blue"], Model = fixture.Model, InputSize = 96, InputColumnName = "Photo", OutputColumnName = "Labels",
            OutputScores = true, OutputEmbeddings = true,
        });

        EstimatorHarness.Check(_context, estimator, data, InvalidInputs("Photo"), fixture.Model, imageColumn: "Photo");
    }

    [Fact]
    public void Per_row_labels()
    {
        var table = _context.Data.LoadFromEnumerable(new[]
        {
            new ImageFileWithLabelsRow { ImagePath = "red-blue-100x60.png", Labels = ["red", "blue"] },
            new ImageFileWithLabelsRow { ImagePath = "green-yellow-90x150.png", Labels = ["green", "blue", "yellow", "red"] },
        });
        var data = _context.Transforms.LoadImages("Image", fixture.ImageFolder, nameof(ImageFileWithLabelsRow.ImagePath)).Fit(table).Transform(table);
        var estimator = _context.Transforms.LanguageSegment(new LanguageSegmentationOptions { LabelsColumnName = nameof(ImageFileWithLabelsRow.Labels), Model = fixture.Model, InputSize = 64 });

        EstimatorHarness.Check(_context, estimator, data, InvalidInputs("Image"), fixture.Model);
    }
}
