using LSeg.Tests.Shared;
namespace LSeg.Cli.Tests;

/// <summary>Every command answers --help; import and export refuse bad input with one line.</summary>
public class HelpAndImportTests
{
    [Theory]
    [InlineData("segment", "--labels")]
    [InlineData("relabel", "--labels")]
    [InlineData("train", "--config")]
    [InlineData("evaluate", "--data")]
    [InlineData("export", "--checkpoint")]
    [InlineData("import", "--clip-bpe")]
    [InlineData("info", "--model")]
    [InlineData("bench", "export")]
    [InlineData("bench", "segment")]
    public void Every_command_has_help_and_exits_zero(string command, string mentioned)
    {
        var result = CliRunner.RunInProcess(command, "--help");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains(mentioned, result.StdOut);
        Assert.Empty(result.StdErr);
    }

    [Theory]
    [InlineData("segment")]
    [InlineData("relabel")]
    [InlineData("train")]
    [InlineData("evaluate")]
    [InlineData("quantize")]
    [InlineData("batch")]
    [InlineData("silo")]
    [InlineData("serve")]
    [InlineData("bench", "segment")]
    [InlineData("bench", "export")]
    [InlineData("bench", "train")]
    [InlineData("bench", "runtime")]
    [InlineData("bench", "memory")]
    [InlineData("bench", "serve")]
    [InlineData("bench", "batch")]
    public void Help_states_each_default_once(params string[] command)
    {
        var result = CliRunner.RunInProcess([.. command, "--help"]);

        Assert.True(result.ExitCode == 0, result.ToString());
        // System.CommandLine appends "[default: X]" for an option with a default value; a description that also says
        // "(default X)" printed it twice.
        var twice = result.StdOut.Split('\n').Where(line => line.Contains("[default:", StringComparison.Ordinal) && line.Contains("(default", StringComparison.Ordinal));
        Assert.Empty(twice);
    }

    [Fact]
    public void Import_of_a_missing_checkpoint_fails_with_one_line_and_writes_nothing()
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp.Combine("bpe.txt.gz"), "x");

        var result = CliRunner.RunProcess(temp.Path, "import", "--checkpoint", "demo_e200.ckpt", "--clip-bpe", "bpe.txt.gz", "--out", "imported");

        Assert.Equal(1, result.ExitCode);
        Assert.Equal("lseg import: Checkpoint 'demo_e200.ckpt' does not exist.", Assert.Single(result.ErrorLines));
        Assert.Equal(["bpe.txt.gz"], temp.Files());
    }

    [SkippableFact]
    public void Import_of_a_file_that_is_not_a_checkpoint_fails_with_one_line_and_writes_nothing()
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp.Combine("fake.ckpt"), "not a checkpoint");
        string bpe = Path.Combine(SharedData.RequireDirectory("clip"), "bpe_simple_vocab_16e6.txt.gz");

        var result = CliRunner.RunInProcess("import", "--checkpoint", temp.Combine("fake.ckpt"), "--clip-bpe", bpe, "--out", temp.Combine("imported"));

        Assert.NotEqual(0, result.ExitCode);
        Assert.Single(result.ErrorLines);
        Assert.Equal(["fake.ckpt"], temp.Files());
    }

    [Fact]
    public void Export_of_a_missing_checkpoint_fails_with_one_line()
    {
        using var temp = new TempDirectory();

        var result = CliRunner.RunInProcess("export", "--checkpoint", temp.Combine("nope.bin"), "--out", temp.Combine("pkg"));

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("does not exist", Assert.Single(result.ErrorLines));
        Assert.Empty(temp.Files());
    }
}
