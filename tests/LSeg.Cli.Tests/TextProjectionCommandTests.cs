using LSeg.Tests.Shared;

namespace LSeg.Cli.Tests;

public class TextProjectionCommandTests
{
    private static readonly string[] Names = ["dog", "cat", "horse", "car", "bus", "tree", "grass", "cup", "spoon", "boat", "kite", "chair"];

    [Fact]
    public void A_fit_prints_its_held_out_quality_and_writes_the_graph_a_training_run_names()
    {
        using var temp = new TempDirectory();
        string names = WriteNames(temp, Names);
        string embeddings = WriteFloat32Npy(temp, Names.Length, 4);

        var result = CliRunner.RunInProcess(["text-projection", "--names", names, "--embeddings", embeddings, "--out", temp.Combine("maps", "map.onnx")]);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("fitted on 12 names (0 vocabulary entries excluded)", result.StdOut);
        Assert.Contains("held out (5-fold over names)", result.StdOut);
        Assert.True(new FileInfo(temp.Combine("maps", "map.onnx")).Length > 384 * 4 * sizeof(float));
    }

    [Fact]
    public void Names_and_embeddings_files_that_do_not_pair_up_are_a_usage_error_that_writes_nothing()
    {
        using var temp = new TempDirectory();
        string names = WriteNames(temp, Names);
        string embeddings = WriteFloat32Npy(temp, Names.Length, 4);

        var result = CliRunner.RunInProcess(["text-projection", "--names", names, "--names", names, "--embeddings", embeddings, "--out", temp.Combine("map.onnx")]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("2 names files and 1 embeddings files", Assert.Single(result.ErrorLines));
        Assert.False(File.Exists(temp.Combine("map.onnx")));
    }

    [Fact]
    public void An_embeddings_file_with_another_row_count_than_its_names_is_refused_naming_both_files()
    {
        using var temp = new TempDirectory();
        string names = WriteNames(temp, Names);
        string embeddings = WriteFloat32Npy(temp, Names.Length - 1, 4);

        var result = CliRunner.RunInProcess(["text-projection", "--names", names, "--embeddings", embeddings, "--out", temp.Combine("map.onnx")]);

        Assert.Equal(1, result.ExitCode);
        string error = Assert.Single(result.ErrorLines);
        Assert.Contains("lists 12 names", error);
        Assert.Contains("holds 11 embeddings", error);
        Assert.False(File.Exists(temp.Combine("map.onnx")));
    }

    [Fact]
    public void An_existing_output_file_is_kept_unless_overwrite_is_given_and_a_folder_is_refused()
    {
        using var temp = new TempDirectory();
        string names = WriteNames(temp, Names);
        string embeddings = WriteFloat32Npy(temp, Names.Length, 4);
        File.WriteAllText(temp.Combine("map.onnx"), "an earlier map");
        Directory.CreateDirectory(temp.Combine("maps"));

        var kept = CliRunner.RunInProcess(["text-projection", "--names", names, "--embeddings", embeddings, "--out", temp.Combine("map.onnx")]);
        string keptText = File.ReadAllText(temp.Combine("map.onnx"));
        var folder = CliRunner.RunInProcess(["text-projection", "--names", names, "--embeddings", embeddings, "--out", temp.Combine("maps")]);
        var replaced = CliRunner.RunInProcess(["text-projection", "--names", names, "--embeddings", embeddings, "--out", temp.Combine("map.onnx"), "--overwrite"]);

        Assert.Equal(1, kept.ExitCode);
        Assert.Contains("already exists; pass --overwrite", Assert.Single(kept.ErrorLines));
        Assert.Equal("an earlier map", keptText);
        Assert.Equal(1, folder.ExitCode);
        Assert.Contains("is a folder", Assert.Single(folder.ErrorLines));
        Assert.True(replaced.ExitCode == 0, replaced.ToString());
        Assert.True(new FileInfo(temp.Combine("map.onnx")).Length > 384 * 4 * sizeof(float));
        Assert.Empty(Directory.GetFiles(temp.Path, "*.tmp", SearchOption.AllDirectories));
    }

    [Fact]
    public void Overwrite_never_replaces_an_input_of_the_fit()
    {
        using var temp = new TempDirectory();
        string names = WriteNames(temp, Names);
        string embeddings = WriteFloat32Npy(temp, Names.Length, 4);
        byte[] before = File.ReadAllBytes(embeddings);

        var result = CliRunner.RunInProcess(["text-projection", "--names", names, "--embeddings", embeddings, "--out", embeddings, "--overwrite"]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("is an input of the fit", Assert.Single(result.ErrorLines));
        Assert.Equal(before, File.ReadAllBytes(embeddings));
    }

    private static string WriteNames(TempDirectory temp, string[] names)
    {
        string path = temp.Combine("names.txt");
        File.WriteAllLines(path, names);
        return path;
    }

    /// <summary>A .npy of seeded random float32 values, [rows, columns].</summary>
    private static string WriteFloat32Npy(TempDirectory temp, int rows, int columns)
    {
        var random = new Random(7);
        float[][] values = [.. Enumerable.Range(0, rows).Select(_ => Enumerable.Range(0, columns).Select(_ => (float)random.NextDouble()).ToArray())];
        return NpyFile.Write(temp.Combine("embeddings.npy"), "<f4", values);
    }
}
