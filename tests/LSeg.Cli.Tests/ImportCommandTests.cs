using System.Text.Json;
using LSeg.Training.Bridge.Tests.Import;
using static TorchSharp.torch;

namespace LSeg.Cli.Tests;

/// <summary><c>lseg import</c> on a synthetic checkpoint in the official format, in a real process.</summary>
public sealed class ImportCommandTests
{
    [Fact]
    public void A_checkpoint_with_a_spatial_block_imports_with_the_block_named_on_the_command_line_and_warns_once()
    {
        using var temp = new TempDirectory();
        using (var gzip = new System.IO.Compression.GZipStream(File.Create(temp.Combine("bpe.txt.gz")), System.IO.Compression.CompressionLevel.Fastest))
            gzip.Write("\"bpe_simple_vocab_16e6.txt#version: 0.2\ni n\n"u8);
        using (var source = new OfficialFormatCheckpoint(OfficialFormatCheckpoint.SmallVitB32WithBottleneck, OfficialFormatCheckpoint.SmallClip, seed: 41))
        {
            var stateDict = source.StateDict();
            stateDict.Add("net.auxiliary_head.weight", new PyTensor(zeros(2)));  // a key outside the network: one warning
            TorchCheckpointWriter.Save(SyntheticCheckpoints.LightningCheckpoint(stateDict), temp.Combine("fss.ckpt"));
        }

        var refused = CliRunner.RunProcess(temp.Path, "import", "--checkpoint", "fss.ckpt", "--clip-bpe", "bpe.txt.gz", "--out", "refused");
        var imported = CliRunner.RunProcess(temp.Path, "import", "--checkpoint", "fss.ckpt", "--clip-bpe", "bpe.txt.gz", "--out", "package",
            "--spatial-block", "bottleneck", "--spatial-depth", "2", "--spatial-activation", "lrelu");  // lang-seg's own spelling

        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains("scratch.head_block", Assert.Single(refused.ErrorLines));
        Assert.False(Directory.Exists(temp.Combine("refused")));
        Assert.True(imported.ExitCode == 0, imported.ToString());
        Assert.Single(imported.StdOut.Split('\n'), l => l.StartsWith("warning: Ignored 1 state-dict keys", StringComparison.Ordinal));
        using var manifest = JsonDocument.Parse(File.ReadAllText(temp.Combine("package", "manifest.json")));
        var spatial = manifest.RootElement.GetProperty("spatialRegularization");
        Assert.Equal("bottleneck", spatial.GetProperty("block").GetString());
        Assert.Equal(2, spatial.GetProperty("depth").GetInt32());
    }

    [Theory]
    [InlineData("9")]
    [InlineData("-1")]
    public void A_spatial_depth_outside_1_to_4_is_a_usage_error_before_any_file_is_read(string depth)
    {
        using var temp = new TempDirectory();

        var result = CliRunner.RunInProcess("import", "--checkpoint", temp.Combine("missing.ckpt"), "--clip-bpe", temp.Combine("missing.gz"), "--out", temp.Combine("package"),
            "--spatial-block", "bottleneck", "--spatial-depth", depth);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"--spatial-depth must be 1 to 4; got {depth}", Assert.Single(result.ErrorLines));
    }

    [Theory]
    [InlineData("--spatial-block bottleneck", "--spatial-block bottleneck needs --spatial-depth 1 to 4")]
    [InlineData("--spatial-block 1", "--spatial-block bottleneck needs --spatial-depth 1 to 4")]  // lang-seg's --arch_option 1
    [InlineData("--spatial-block 2", "--spatial-block depthwise needs --spatial-depth 1 to 4")]
    [InlineData("--spatial-block 0 --spatial-depth 1", "apply only with --spatial-block")]
    [InlineData("--spatial-block 3 --spatial-depth 1", "--spatial-block '3' is not a spatial block; give none, depthwise or bottleneck")]
    [InlineData("--spatial-depth 2", "apply only with --spatial-block")]
    [InlineData("--spatial-activation relu", "apply only with --spatial-block")]
    [InlineData("--spatial-block none --spatial-depth 1", "apply only with --spatial-block")]
    [InlineData("--spatial-block bottleneck --spatial-depth 2 --spatial-activation gelu", "--spatial-activation 'gelu' is not an activation; give lrelu, relu or tanh")]
    public void Spatial_options_that_would_be_ignored_or_are_incomplete_are_usage_errors_before_any_file_is_read(string options, string expected)
    {
        using var temp = new TempDirectory();

        var result = CliRunner.RunInProcess([
            "import", "--checkpoint", temp.Combine("missing.ckpt"), "--clip-bpe", temp.Combine("missing.gz"), "--out", temp.Combine("package"),
            .. options.Split(' ')]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(expected, Assert.Single(result.ErrorLines));
    }
}
