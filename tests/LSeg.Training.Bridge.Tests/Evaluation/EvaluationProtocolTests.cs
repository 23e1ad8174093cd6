using LSeg.Tests.Shared;
using LSeg.Training.Bridge.Data;
using LSeg.Training.Bridge.Evaluation;

namespace LSeg.Training.Bridge.Tests.Evaluation;

public class EvaluationProtocolTests
{
    [SkippableFact]
    public void CamVidValFromARelativeRootAsksTheElevenTextLabelsAndScoresAPerfectPredictorAtOne()
    {
        string root = SharedData.RequireDirectory("camvid");
        string relative = Path.GetRelativePath(Environment.CurrentDirectory, root);
        var truth = FolderDataset.Load(new FolderDatasetOptions { Name = "truth", Folder = Path.Combine(root, "val") }).EvenlySpacedSubset(101);
        var byPixels = truth.Samples.ToDictionary(s => Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData(s.Image.Pixels)));
        IReadOnlyList<string>? asked = null;

        var metrics = EvaluationProtocols.CamVidVal(relative, (image, labels) =>
        {
            asked = labels;
            var sample = byPixels[Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData(image.Pixels))];
            // Void (11) may be predicted as anything: it is not scored.
            return sample.Labels.Pixels.Select(v => v == 11 ? 0 : (int)v).ToArray();
        });

        Assert.Equal(EvaluationProtocols.CamVidLabels, asked);
        Assert.Equal(101, metrics.Images);
        Assert.Equal(1.0, metrics.MeanIoU, 12);
    }
}
