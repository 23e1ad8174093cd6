using LSeg.MLNet.Pipeline;

namespace LSeg.MLNet.Tests.MLNet;

/// <summary>The composed graphs the pipeline writes under the temporary folder do not pile up.</summary>
public sealed class ComposedGraphCacheTests(PipelineFixture fixture) : IClassFixture<PipelineFixture>
{
    [Fact]
    public void Composing_a_graph_deletes_graphs_unused_for_a_week_and_keeps_recent_ones()
    {
        string directory = Path.Combine(Path.GetTempPath(), "lseg-mlnet-graphs");
        Directory.CreateDirectory(directory);
        string stale = Path.Combine(directory, $"segmentation-32-stale{Guid.NewGuid():N}.onnx");
        string recent = Path.Combine(directory, $"segmentation-32-recent{Guid.NewGuid():N}.onnx");
        string unrelated = Path.Combine(directory, $"notes-{Guid.NewGuid():N}.txt");
        foreach (string file in new[] { stale, recent, unrelated })
            File.WriteAllText(file, "x");
        File.SetLastWriteTimeUtc(stale, DateTime.UtcNow - TimeSpan.FromDays(8));
        File.SetLastWriteTimeUtc(recent, DateTime.UtcNow - TimeSpan.FromDays(6));
        File.SetLastWriteTimeUtc(unrelated, DateTime.UtcNow - TimeSpan.FromDays(30));
        try
        {
            string composed = SegmentationGraph.WriteComposed(fixture.Model, 64);

            Assert.True(File.Exists(composed));
            Assert.False(File.Exists(stale), "a graph unused for 8 days is still there");
            Assert.True(File.Exists(recent), "a graph used 6 days ago was deleted");
            Assert.True(File.Exists(unrelated), "a file the pipeline did not write was deleted");
        }
        finally
        {
            foreach (string file in new[] { stale, recent, unrelated })
                File.Delete(file);
        }
    }
}
