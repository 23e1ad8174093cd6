using LSeg.MLNet.Pipeline;

namespace LSeg.MLNet.Tests.MLNet;

/// <summary>The composed graphs the pipeline writes under the temporary folder do not pile up.</summary>
public sealed class ComposedGraphCacheTests(PipelineFixture fixture) : IClassFixture<PipelineFixture>
{
    [Fact]
    public void Composing_a_graph_deletes_graphs_unused_for_a_week_and_keeps_recent_ones()
    {
        string directory = Path.GetDirectoryName(SegmentationGraph.WriteComposed(fixture.Model, 64))!;
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

    [Fact]
    public void A_composed_graph_altered_on_disk_is_composed_again_not_trusted_on_its_name_and_length()
    {
        string composed = SegmentationGraph.WriteComposed(fixture.Model, 64);
        byte[] written = File.ReadAllBytes(composed);
        var altered = (byte[])written.Clone();
        altered[altered.Length / 2] ^= 0xFF;  // same name, same length, other content
        File.WriteAllBytes(composed, altered);

        string again = SegmentationGraph.WriteComposed(fixture.Model, 64);

        Assert.Equal(composed, again);
        Assert.Equal(written, File.ReadAllBytes(again));
    }

    [Fact]
    public void The_graph_folder_belongs_to_the_current_user_and_no_one_else_may_write_to_it()
    {
        string directory = Path.GetDirectoryName(SegmentationGraph.WriteComposed(fixture.Model, 64))!;

        Assert.EndsWith("-" + LSeg.MLNet.IO.PrivateTempFolder.UserKey(Environment.UserName), directory, StringComparison.Ordinal);
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.None, File.GetUnixFileMode(directory) & (UnixFileMode.GroupWrite | UnixFileMode.OtherWrite));
    }

    [Fact]
    public void A_folder_of_that_name_left_open_to_every_account_is_closed_to_the_owner_before_use()
    {
        if (OperatingSystem.IsWindows())
            return;
        string name = "lseg-test-private-" + Guid.NewGuid().ToString("N")[..8];
        string directory = Path.Combine(Path.GetTempPath(), $"{name}-{LSeg.MLNet.IO.PrivateTempFolder.UserKey(Environment.UserName)}");
        Directory.CreateDirectory(directory);
        File.SetUnixFileMode(directory, (UnixFileMode)0b111_111_111);  // 0777, as another process might have left it
        try
        {
            string used = LSeg.MLNet.IO.PrivateTempFolder.Create(name);

            Assert.Equal(directory, used);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(used));
        }
        finally
        {
            Directory.Delete(directory);
        }
    }

    [Fact]
    public void A_folder_that_cannot_be_created_is_named_with_the_temporary_folder_setting_to_change()
    {
        // A file where the folder's parent should be stands in for a read-only or foreign temporary folder (the tests
        // run as root, which any folder's mode lets write).
        string blocker = Path.Combine(Path.GetTempPath(), "lseg-test-blocker-" + Guid.NewGuid().ToString("N")[..8]);
        File.WriteAllText(blocker, "a file, not a folder");
        try
        {
            var error = Assert.ThrowsAny<IOException>(() => LSeg.MLNet.IO.PrivateTempFolder.Create(Path.GetFileName(blocker) + "/inside"));

            Assert.Contains(blocker, error.Message);
            Assert.Contains("TMPDIR", error.Message);
        }
        finally
        {
            File.Delete(blocker);
        }
    }

    [Fact]
    public void A_link_in_place_of_the_folder_is_refused()
    {
        if (OperatingSystem.IsWindows())
            return;
        string name = "lseg-test-private-" + Guid.NewGuid().ToString("N")[..8];
        string link = Path.Combine(Path.GetTempPath(), $"{name}-{LSeg.MLNet.IO.PrivateTempFolder.UserKey(Environment.UserName)}");
        string target = Directory.CreateTempSubdirectory("lseg-test-target-").FullName;
        Directory.CreateSymbolicLink(link, target);
        try
        {
            var error = Assert.Throws<InvalidOperationException>(() => LSeg.MLNet.IO.PrivateTempFolder.Create(name));

            Assert.Contains("is a link", error.Message);
        }
        finally
        {
            File.Delete(link);
            Directory.Delete(target);
        }
    }

    [Theory]
    [InlineData("alice", "alice")]
    [InlineData("DOMAIN\\bob smith", "DOMAIN_bob_smith")]
    [InlineData("..", "user")]
    [InlineData("", "user")]
    public void A_user_name_becomes_a_safe_part_of_the_folder_name(string userName, string key)
    {
        Assert.Equal(key, LSeg.MLNet.IO.PrivateTempFolder.UserKey(userName));
    }
}
