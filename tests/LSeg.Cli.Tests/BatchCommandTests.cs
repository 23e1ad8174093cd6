using System.Text.Json;
using System.Text.Json.Nodes;
using LSeg.Cli.Hosting;
using LSeg.MLNet.Tests.Packages;

namespace LSeg.Cli.Tests;

/// <summary><c>lseg batch</c> in this process on the colour package: what it says about a job, and how it stops.</summary>
public class BatchCommandTests
{
    [Fact]
    public async Task A_cancel_while_a_silo_starts_surfaces_as_a_cancellation_not_as_a_failure_to_stop_it()
    {
        // The worker's options are read while the silo starts (they are validated on start): cancelling there is a
        // Ctrl+C during start-up, at a moment the test controls.
        using var cancel = new CancellationTokenSource();

        var start = LocalSegmentationCluster.StartAsync(1, _ => cancel.Cancel(), cancel.Token);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => start);
    }

    [Fact]
    public void A_folder_that_holds_a_job_is_refused_naming_the_resume_flag_not_the_library_option()
    {
        using var temp = new TempDirectory();
        Images.RedLeftBlueRight(temp.Combine("in", "a.png"));
        Directory.CreateDirectory(temp.Combine("out"));
        File.WriteAllText(temp.Combine("out", "batch.json"), "{}");

        var result = CliRunner.RunInProcess("batch", temp.Combine("in"), "--labels", "red, blue", "--out", temp.Combine("out"));

        Assert.Equal(1, result.ExitCode);
        string line = Assert.Single(result.ErrorLines);
        Assert.Contains("already holds a batch job", line);
        Assert.Contains("--resume", line);
        Assert.DoesNotContain("BatchSegmentationJob", line);
    }

    [Fact]
    public void After_resume_the_json_summary_counts_the_lines_of_the_index_and_this_runs_work_apart()
    {
        using var temp = new TempDirectory();
        string package = ColourModelPackage.Write(temp.Path);
        Images.RedLeftBlueRight(temp.Combine("in", "a.png"));
        Images.GreenTopWhiteBottom(temp.Combine("in", "b.png"));
        File.WriteAllBytes(temp.Combine("in", "broken.png"), [1, 2, 3, 4, 5, 6, 7, 8]);
        string[] batch = ["batch", temp.Combine("in"), "--labels", "red, blue", "--out", temp.Combine("out"), "--model", package, "--json"];

        var first = CliRunner.RunInProcess(batch);
        Assert.True(first.ExitCode == 0, first.ToString());
        var resumed = CliRunner.RunInProcess([.. batch, "--resume"]);
        Assert.True(resumed.ExitCode == 0, resumed.ToString());

        var statuses = File.ReadAllLines(temp.Combine("out", "index.jsonl")).Select(l => JsonNode.Parse(l)!["status"]!.GetValue<string>()).ToList();
        Assert.Equal(3, statuses.Count);
        using var summary = JsonDocument.Parse(resumed.StdOut);
        var root = summary.RootElement;
        Assert.Equal(3, root.GetProperty("total").GetInt32());
        Assert.Equal(statuses.Count(s => s == "ok"), root.GetProperty("succeeded").GetInt32());
        Assert.Equal(statuses.Count(s => s == "failed"), root.GetProperty("failed").GetInt32());
        Assert.Equal(1, root.GetProperty("failed").GetInt32());
        Assert.Equal(3, root.GetProperty("resumed").GetInt32());
        Assert.Equal(0, root.GetProperty("thisRun").GetProperty("succeeded").GetInt32());
        Assert.Equal(0, root.GetProperty("thisRun").GetProperty("failed").GetInt32());
        // The human progress line on stderr says the same.
        Assert.Contains("3/3 images (1 failed, 3 resumed)", resumed.StdErr);
    }
}
