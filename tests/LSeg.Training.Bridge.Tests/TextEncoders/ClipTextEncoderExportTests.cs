using LSeg.Tests.Shared;
using LSeg.Training.Bridge.Export;
using LSeg.Training.Bridge.Network.TextEncoders;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using TorchSharp;
using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Tests.TextEncoders;

/// <summary>text_encoder.onnx against the TorchSharp forward pass of the same weights.</summary>
public sealed class ClipTextEncoderExportTests : IDisposable
{
    private const float Tolerance = 1e-4f;
    private readonly string _directory = Directory.CreateTempSubdirectory("lseg-clip-export-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static readonly ClipTextConfig Reduced = new(Width: 64, Layers: 2, Heads: 4, VocabularySize: ClipTextConfig.ClipVocabularySize, ContextLength: 77, EmbeddingSize: 48);

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(7)]
    [InlineData(150)]
    public void Onnx_runtime_matches_the_TorchSharp_forward_for_any_label_count(int labels)
    {
        torch.manual_seed(11);
        using var model = new ClipTextTransformer(Reduced);
        model.eval();
        string path = Path.Combine(_directory, "text_encoder.onnx");
        ClipTextEncoderExporter.Export(model, path);

        var ids = ClipTokenIds.Random(labels, 77, seed: labels);
        float[,] expected = TorchForward(model, ids);
        float[,] actual = OnnxForward(path, ids);
        Assert.Equal(expected.GetLength(0), actual.GetLength(0));
        Assert.Equal(Reduced.EmbeddingSize, actual.GetLength(1));
        Assert.True(MaxAbsDifference(expected, actual) <= Tolerance, $"max |Δ| = {MaxAbsDifference(expected, actual)}");
    }

    /// <summary>The reduced text tower (random weights, seed 11) exported and read by LSeg.MLNet with CLIP's own BPE file (skips without it).</summary>
    private LSeg.MLNet.Text.ClipTextEncoder ReducedEncoderWithTheRealTokenizer()
    {
        string bpe = Path.Combine(SharedData.RequireDirectory("clip"), "bpe_simple_vocab_16e6.txt.gz");
        torch.manual_seed(11);
        string path = Path.Combine(_directory, "text_encoder.onnx");
        using (var model = new ClipTextTransformer(Reduced))
            ClipTextEncoderExporter.Export(model, path);
        using var options = new SessionOptions();
        return new LSeg.MLNet.Text.ClipTextEncoder(path, LSeg.MLNet.Text.ClipTokenizer.FromBpeFile(bpe), 77, truncate: false, options);
    }

    [SkippableFact]
    public void A_label_that_CLIPs_clean_up_leaves_empty_is_one_the_encoder_knows_no_word_of()
    {
        // "&nbsp;" unescapes to a space, which the clean-up removes: [start, end] only, the embedding of an empty prompt
        // for every such label. The byte-level tokenizer reads every other text, emoji and CJK included.
        using var encoder = ReducedEncoderWithTheRealTokenizer();

        Assert.All(new[] { "&nbsp;", "&#32;" }, label => Assert.True(encoder.KnowsNoWordOf(label), label));
        Assert.All(new[] { "cat", "猫", "🐱", "&amp;" }, label => Assert.False(encoder.KnowsNoWordOf(label), label));
    }

    [SkippableFact]
    public void A_label_over_the_context_is_refused_as_a_label_short_and_by_its_start()
    {
        // The tokenizer's ArgumentException named its own parameter ("text"): the CLI and the batch cluster, which tell a
        // refused label by the name "labels", answered a too-long CLIP label as a failure instead of a usage error.
        using var encoder = ReducedEncoderWithTheRealTokenizer();
        string longLabel = string.Join(" ", Enumerable.Repeat("zebra", 100));

        var error = Assert.Throws<ArgumentException>(() => encoder.Encode(["cat", longLabel]));

        Assert.Equal("labels", error.ParamName);
        Assert.Contains("CLIP tokens", error.Message);
        Assert.Contains("(599 characters)", error.Message);
        Assert.DoesNotContain("(Parameter 'text')", error.Message);
    }

    [Fact]
    public void The_full_size_ViT_B32_text_tower_exports_and_matches()
    {
        torch.manual_seed(12);
        using var model = new ClipTextTransformer(ClipTextConfig.ViTB32);
        model.eval();
        string path = Path.Combine(_directory, "text_encoder.onnx");
        ClipTextEncoderExporter.Export(model, path);

        var ids = ClipTokenIds.Random(3, 77, seed: 13);
        float[,] expected = TorchForward(model, ids);
        float[,] actual = OnnxForward(path, ids);
        Assert.Equal(512, actual.GetLength(1));
        Assert.True(MaxAbsDifference(expected, actual) <= Tolerance, $"max |Δ| = {MaxAbsDifference(expected, actual)}");
    }

    [Fact]
    public void Weights_stored_as_float16_give_the_forward_pass_of_the_rounded_weights()
    {
        torch.manual_seed(15);
        using var model = new ClipTextTransformer(Reduced);
        model.eval();
        string path = Path.Combine(_directory, "text_encoder.onnx");
        ClipTextEncoderExporter.Export(model, path, storeWeightsAsFloat16: true);

        using (torch.no_grad())
            foreach (var p in model.parameters())
                p.copy_(p.to_type(ScalarType.Float16).to_type(ScalarType.Float32));
        var ids = ClipTokenIds.Random(7, 77, seed: 16);
        float difference = MaxAbsDifference(TorchForward(model, ids), OnnxForward(path, ids));
        Assert.True(difference <= Tolerance, $"max |Δ| = {difference}");
    }

    [Fact]
    public void Weights_beyond_the_threshold_go_to_external_data_that_onnx_runtime_reads()
    {
        torch.manual_seed(17);
        using var model = new ClipTextTransformer(Reduced);
        model.eval();
        string path = Path.Combine(_directory, "text_encoder.onnx");
        var files = ClipTextEncoderExporter.Export(model, path, externalDataThresholdBytes: 1 << 20);
        Assert.Equal([path, path + ".data"], files);

        var ids = ClipTokenIds.Random(2, 77, seed: 18);
        float difference = MaxAbsDifference(TorchForward(model, ids), OnnxForward(path, ids));
        Assert.True(difference <= Tolerance, $"max |Δ| = {difference}");
    }

    [Fact]
    public void The_graph_declares_a_dynamic_label_count_and_the_package_names()
    {
        torch.manual_seed(14);
        using var model = new ClipTextTransformer(Reduced with { Layers = 1 });
        string path = Path.Combine(_directory, "text_encoder.onnx");
        ClipTextEncoderExporter.Export(model, path);
        using var session = new InferenceSession(path);
        var input = Assert.Single(session.InputMetadata);
        var output = Assert.Single(session.OutputMetadata);
        Assert.Equal(ClipTextEncoderExporter.InputName, input.Key);
        Assert.Equal([-1, 77], input.Value.Dimensions);
        Assert.Equal(typeof(long), input.Value.ElementType);
        Assert.Equal(ClipTextEncoderExporter.OutputName, output.Key);
        Assert.Equal([-1, 48], output.Value.Dimensions);
    }

    internal static float[,] TorchForward(ClipTextTransformer model, long[,] ids)
    {
        using var _ = torch.no_grad();
        using var input = ClipTokenIds.ToTensor(ids);
        using var output = model.forward(input);
        var result = new float[output.shape[0], output.shape[1]];
        float[] flat = output.contiguous().data<float>().ToArray();
        Buffer.BlockCopy(flat, 0, result, 0, flat.Length * sizeof(float));
        return result;
    }

    internal static float[,] OnnxForward(string path, long[,] ids)
    {
        using var session = new InferenceSession(path);
        int rows = ids.GetLength(0), length = ids.GetLength(1);
        var input = new DenseTensor<long>(ids.Cast<long>().ToArray(), [rows, length]);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(ClipTextEncoderExporter.InputName, input)]);
        var output = results.Single(r => r.Name == ClipTextEncoderExporter.OutputName).AsTensor<float>();
        var result = new float[output.Dimensions[0], output.Dimensions[1]];
        for (int r = 0; r < result.GetLength(0); r++)
            for (int c = 0; c < result.GetLength(1); c++)
                result[r, c] = output[r, c];
        return result;
    }

    internal static float MaxAbsDifference(float[,] a, float[,] b)
    {
        float max = 0;
        for (int r = 0; r < a.GetLength(0); r++)
            for (int c = 0; c < a.GetLength(1); c++)
                max = Math.Max(max, Math.Abs(a[r, c] - b[r, c]));
        return max;
    }
}
