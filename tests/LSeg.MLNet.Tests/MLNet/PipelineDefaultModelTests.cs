using LSeg.MLNet.Tests.Packages;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace LSeg.MLNet.Tests.MLNet;

/// <summary>
/// The default model a LanguageSegment pipeline loads for itself encodes labels only (the pipeline runs its own
/// composed graph), so it opens no image-side ONNX Runtime session (about 150 MB) until something calls the image side,
/// and then segments exactly as <see cref="LanguageSegmentationModel.LoadDefault"/>'s model does.
/// </summary>
public sealed class PipelineDefaultModelTests
{
    [SkippableFact]
    public void A_pipeline_that_loads_the_default_model_opens_no_image_session_and_its_model_segments_on_demand()
    {
        Skip.IfNot(LanguageSegmentationModel.HasDefaultModel, "this build embeds no default model (models/default/ was absent)");
        string folder = Path.Combine(Path.GetTempPath(), "lseg-pipeline-default-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(folder);
        try
        {
            using (var picture = TestImages.GreenTopYellowBottom(160, 128))
                picture.Save(Path.Combine(folder, "field.png"));
            var context = new MLContext();
            var table = context.Data.LoadFromEnumerable(new[] { new ImageFileRow { ImagePath = "field.png" } });
            string[] labels = ["grass", "sand", "other"];
            using var transformer = context.Transforms.LoadImages("Image", folder, nameof(ImageFileRow.ImagePath))
                .Append(context.Transforms.LanguageSegment(labels))
                .Fit(table);
            var segmented = transformer.LastTransformer;
            var mask = context.Data.CreateEnumerable<SegmentationRow>(transformer.Transform(table), false).Single().Mask;
            bool openAfterTransform = segmented.Model!.ImageSessionsOpen;

            using var image = MLImage.CreateFromFile(Path.Combine(folder, "field.png"));
            var onDemand = segmented.Model.Segment(image, labels);
            using var loaded = LanguageSegmentationModel.LoadDefault();
            var reference = loaded.Segment(image, labels);

            Assert.False(openAfterTransform);
            Assert.True(segmented.Model.ImageSessionsOpen);
            Assert.True(loaded.ImageSessionsOpen);
            Assert.Equal(reference.Mask, onDemand.Mask);
            Assert.Equal(reference.Scores, onDemand.Scores);
            // The pipeline's mask (keys 1..N; the composed head graph, not the C# head) agrees with the low-level one.
            Assert.Equal(160 * 128, mask.Length);
            int agreeing = mask.Where((key, i) => key - 1 == reference.Mask[i]).Count();
            Assert.True(agreeing >= 0.999 * mask.Length, $"{agreeing} of {mask.Length} pixels agree");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
