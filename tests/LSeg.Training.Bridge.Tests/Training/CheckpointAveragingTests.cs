using System.Text.Json;
using LSeg.Training.Bridge.Network;
using LSeg.Training.Bridge.Training;
using TorchSharp;

namespace LSeg.Training.Bridge.Tests.Training;

/// <summary>
/// <see cref="CheckpointAveraging"/>: the weights of an averaged checkpoint are the element-wise means of its inputs'
/// (computed here tensor by tensor from the files), and checkpoints that are not the same model are refused by name.
/// </summary>
public sealed class CheckpointAveragingTests : IDisposable
{
    private static readonly LSegNetConfig TinyNet = new() { EmbeddingSize = 8, DecoderFeatures = 8 };
    private const string PromptsA = "{ \"initialModel\": \"base\", \"textPrompts\": [\"{0}\", \"a photo of a {0}.\"], \"seed\": 1 }";

    private readonly string _root = Path.Combine(Path.GetTempPath(), "lseg-average-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root))
            Directory.Delete(_root, recursive: true);
    }

    /// <summary>A checkpoint folder as <c>lseg train</c> writes it: random weights drawn with <paramref name="seed"/>.</summary>
    private string Checkpoint(string name, int seed, string runConfig = PromptsA, LSegNetConfig? config = null)
    {
        string folder = Path.Combine(_root, name);
        Directory.CreateDirectory(folder);
        config ??= TinyNet;
        torch.manual_seed(seed);
        using (var net = LSegNet.Create(config, pretrainedBackbone: false))
        {
            // BatchNorm statistics start at 0 and 1 in every fresh network: give them per-seed values too.
            using (torch.no_grad())
            {
                foreach (var (_, buffer) in net.named_buffers())
                {
                    if (buffer.is_floating_point())
                        buffer.copy_(torch.rand_like(buffer) + 0.5);
                }
            }
            net.save(Path.Combine(folder, Trainer.ModelFileName));
        }
        File.WriteAllText(Path.Combine(folder, Trainer.NetConfigFileName), JsonSerializer.Serialize(config, new JsonSerializerOptions(JsonSerializerDefaults.Web)));
        File.WriteAllText(Path.Combine(folder, Trainer.RunConfigFileName), runConfig);
        return folder;
    }

    private static Dictionary<string, torch.Tensor> Weights(string folder)
    {
        using var net = LSegNet.Create(TinyNet, pretrainedBackbone: false);
        net.load(Path.Combine(folder, Trainer.ModelFileName));
        // Copies: the network's own tensors go with it.
        return net.state_dict().ToDictionary(entry => entry.Key, entry => entry.Value.detach().clone());
    }

    [Fact]
    public void Every_weight_and_floating_point_buffer_of_the_average_is_the_mean_of_the_inputs()
    {
        string[] inputs = [Checkpoint("a", 1), Checkpoint("b", 2), Checkpoint("c", 3)];
        string output = Path.Combine(_root, "soup");

        CheckpointAveraging.AverageFolders(inputs, output);

        var states = inputs.Select(Weights).ToList();
        var averaged = Weights(output);
        Assert.Equal(states[0].Keys.OrderBy(k => k), averaged.Keys.OrderBy(k => k));
        int floating = 0;
        foreach (var (name, tensor) in averaged)
        {
            if (!tensor.is_floating_point())
            {
                Assert.True(tensor.equal(states[0][name]).item<bool>(), $"{name}: an integer buffer is the first checkpoint's");
                continue;
            }
            floating++;
            var expected = (states[0][name] + states[1][name] + states[2][name]) / 3;
            double error = (tensor - expected).abs().max().item<float>();
            Assert.True(error < 1e-6, $"{name}: max |average − mean| = {error}");
        }
        Assert.True(floating > 10, "the tiny network has many weights");
        // The inputs differ, so a copy of one of them would fail above; check that they do.
        Assert.False(states[0]["scratch.head1.weight"].allclose(states[1]["scratch.head1.weight"]));
    }

    [Fact]
    public void A_model_package_after_the_first_checkpoint_counts_with_its_exported_weights()
    {
        string a = Checkpoint("a", 1);
        string b = Checkpoint("b", 2);
        string package = Path.Combine(_root, "package");
        using (var net = LSegNet.Create(TinyNet, pretrainedBackbone: false))
        {
            net.load(Path.Combine(b, Trainer.ModelFileName));
            LSeg.Training.Bridge.Export.ModelPackageExporter.Export(net, package, new LSeg.Training.Bridge.Export.ModelPackageExportOptions { Name = "b", IncludeMiniLm = false });
        }
        string output = Path.Combine(_root, "soup");

        CheckpointAveraging.AverageFolders([a, package], output);

        var (first, second, averaged) = (Weights(a), Weights(b), Weights(output));
        foreach (var (name, tensor) in averaged.Where(e => e.Value.is_floating_point() && !LSeg.Training.Bridge.Import.ModelPackageWeights.IsNotExported(e.Key)))
        {
            double error = (tensor - (first[name] + second[name]) / 2).abs().max().item<float>();
            Assert.True(error < 1e-6, $"{name}: max |average − mean| = {error}");
        }
    }

    [Fact]
    public void A_model_package_cannot_come_first_because_the_average_takes_the_first_run_configuration()
    {
        string a = Checkpoint("a", 1);
        string package = Path.Combine(_root, "package");
        using (var net = LSegNet.Create(TinyNet, pretrainedBackbone: false))
            LSeg.Training.Bridge.Export.ModelPackageExporter.Export(net, package, new LSeg.Training.Bridge.Export.ModelPackageExportOptions { Name = "p", IncludeMiniLm = false });

        var error = Assert.Throws<ArgumentException>(() => CheckpointAveraging.AverageFolders([package, a], Path.Combine(_root, "soup")));

        Assert.Contains("must be a checkpoint folder", error.Message);
    }

    [Fact]
    public void The_averaged_folder_keeps_the_first_run_configuration_and_records_its_inputs()
    {
        string[] inputs = [Checkpoint("a", 1), Checkpoint("b", 2, PromptsA.Replace("\"seed\": 1", "\"seed\": 2"))];
        string output = Path.Combine(_root, "soup");

        CheckpointAveraging.AverageFolders(inputs, output);

        var run = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(output, Trainer.RunConfigFileName)))!;
        Assert.Equal(1, run["seed"]!.GetValue<int>());
        Assert.Equal("a photo of a {0}.", run["textPrompts"]![1]!.GetValue<string>());
        Assert.Equal(inputs.Select(Path.GetFullPath), run["averagedFrom"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal(File.ReadAllText(Path.Combine(inputs[0], Trainer.NetConfigFileName)), File.ReadAllText(Path.Combine(output, Trainer.NetConfigFileName)));
    }

    [Fact]
    public void Checkpoints_with_other_prompt_templates_are_refused_by_the_setting_that_differs()
    {
        string a = Checkpoint("a", 1);
        string b = Checkpoint("b", 2, PromptsA.Replace("a photo of a {0}.", "a {0}."));

        var error = Assert.Throws<InvalidDataException>(() => CheckpointAveraging.AverageFolders([a, b], Path.Combine(_root, "soup")));

        Assert.Contains("'textPrompts'", error.Message);
        Assert.False(Directory.Exists(Path.Combine(_root, "soup")));
    }

    [Fact]
    public void Runs_from_random_starts_of_different_seeds_are_refused_and_of_one_seed_are_averaged()
    {
        // No initial model: each run's decoder started from random weights drawn with its seed.
        const string scratch = "{ \"textPrompts\": [\"{0}\"], \"seed\": 1 }";
        string a = Checkpoint("a", 1, scratch);
        string b = Checkpoint("b", 2, scratch.Replace("\"seed\": 1", "\"seed\": 2"));
        string c = Checkpoint("c", 3, scratch.Replace(", \"seed\": 1", ""));

        var error = Assert.Throws<InvalidDataException>(() => CheckpointAveraging.AverageFolders([a, b], Path.Combine(_root, "soup")));

        Assert.Contains("(seed 2)", error.Message);
        Assert.Contains("without an initial model", error.Message);
        // The seed left out is the default seed, 1: the same random start as 'a'.
        CheckpointAveraging.AverageFolders([a, c], Path.Combine(_root, "soup"));
        Assert.True(File.Exists(Path.Combine(_root, "soup", Trainer.ModelFileName)));
    }

    [Fact]
    public void Checkpoints_of_another_network_are_refused_naming_the_network_configuration()
    {
        string a = Checkpoint("a", 1);
        string b = Checkpoint("b", 2, config: TinyNet with { DecoderFeatures = 16 });

        var error = Assert.Throws<InvalidDataException>(() => CheckpointAveraging.AverageFolders([a, b], Path.Combine(_root, "soup")));

        Assert.Contains(Trainer.NetConfigFileName, error.Message);
    }

    [Fact]
    public void One_checkpoint_the_same_one_twice_or_a_folder_without_weights_is_refused()
    {
        string a = Checkpoint("a", 1);
        string empty = Path.Combine(_root, "empty");
        Directory.CreateDirectory(empty);
        string output = Path.Combine(_root, "soup");

        Assert.Contains("at least two", Assert.Throws<ArgumentException>(() => CheckpointAveraging.AverageFolders([a], output)).Message);
        Assert.Contains("twice", Assert.Throws<ArgumentException>(() => CheckpointAveraging.AverageFolders([a, a + Path.DirectorySeparatorChar], output)).Message);
        Assert.Contains(Trainer.ModelFileName, Assert.Throws<FileNotFoundException>(() => CheckpointAveraging.AverageFolders([a, empty], output)).Message);
    }
}
