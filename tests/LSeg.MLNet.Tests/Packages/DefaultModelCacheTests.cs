using System.Text.Json.Nodes;
using LSeg.MLNet.Package;

namespace LSeg.MLNet.Tests.Packages;

/// <summary>Tests that edit the extracted default model in the temporary folder run alone: other tests load it.</summary>
[CollectionDefinition(nameof(DefaultModelCacheCollection), DisableParallelization = true)]
public sealed class DefaultModelCacheCollection;

/// <summary>
/// The default model is extracted once per version to the temporary folder, which anyone on the machine may write to:
/// what is loaded from there must be what the assembly carries.
/// </summary>
[Collection(nameof(DefaultModelCacheCollection))]
public sealed class DefaultModelCacheTests
{
    [SkippableFact]
    public void An_extracted_manifest_edited_on_disk_is_replaced_by_the_embedded_one_before_the_model_loads()
    {
        Skip.IfNot(LanguageSegmentationModel.HasDefaultModel, "this build embeds no default model (models/default/ was absent)");
        string directory = LanguageSegmentationModel.ExtractDefaultModel();
        string manifestPath = Path.Combine(directory, ModelManifest.FileName);
        string embedded = File.ReadAllText(manifestPath);
        // The edit keeps every listed file's sha256 valid: only the manifest changes, and it lists no hash of itself.
        var edited = JsonNode.Parse(embedded)!.AsObject();
        edited["labelLogitOffsets"] = new JsonObject { ["other"] = 50.0 };
        File.WriteAllText(manifestPath, edited.ToJsonString());

        using var model = LanguageSegmentationModel.LoadDefault();

        Assert.Equal(embedded, File.ReadAllText(Path.Combine(model.PackagePath, ModelManifest.FileName)));
        Assert.NotEqual(50.0, model.Manifest.LabelLogitOffsets!["other"]);
    }

    public const string FileInPlaceCommand = "default-model-over-a-file";

    [SkippableFact]
    public void A_file_where_the_extracted_default_model_belongs_is_replaced_by_the_model()
    {
        // A stale entry of that name (the folder is this user's own): every load extracted 85 MB and then failed with
        // "appeared while it was being written". Run in a process with a temporary folder of its own: other test
        // processes load the default model from the machine's.
        Skip.IfNot(LanguageSegmentationModel.HasDefaultModel, "this build embeds no default model (models/default/ was absent)");
        using var temp = new TemporaryDirectory();

        var (exitCode, stdout, stderr) = ChildProcess.Run(null, TimeSpan.FromMinutes(3), new Dictionary<string, string> { ["TMPDIR"] = temp.Path }, FileInPlaceCommand);

        Assert.True(exitCode == 0, $"the process failed ({exitCode}):\n{stderr}");
        string directory = stdout.Trim();
        Assert.StartsWith(temp.Path, directory);
        Assert.True(File.Exists(Path.Combine(directory, ModelManifest.FileName)));
    }

    /// <summary>The process: puts a file where the extracted model goes, loads the default model, prints its folder.</summary>
    public static int LoadDefaultOverAFile()
    {
        string directory = LanguageSegmentationModel.ExtractDefaultModel();
        Directory.Delete(directory, recursive: true);
        File.WriteAllText(directory, "not a model");
        using var model = LanguageSegmentationModel.LoadDefault();
        Console.WriteLine(model.PackagePath);
        return model.PackagePath == directory ? 0 : 1;
    }
}
