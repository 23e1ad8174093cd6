using LSeg.Training.Bridge.Import;
using LSeg.Training.Bridge.Import.Pickle;
using LSeg.Training.Bridge.Network.TextEncoders;
using LSeg.Training.Bridge.Tests.TextEncoders;
using TorchSharp;
using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Tests.Import;

/// <summary>Reading torch.save archives and safetensors files the tests wrote: what comes back, and what is refused.</summary>
public sealed class CheckpointReaderTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("lseg-ckpt-read-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string PathOf(string name) => Path.Combine(_directory, name);

    [Fact]
    public void A_Lightning_checkpoint_gives_its_state_dict_and_scalar_metadata_and_skips_the_rest()
    {
        using var weight = torch.arange(6, dtype: ScalarType.Float32).reshape(2, 3);
        using var half = torch.tensor(new float[] { 0.5f, -1.25f }).to_type(ScalarType.Float16);
        var checkpoint = SyntheticCheckpoints.LightningCheckpoint(new PyDict(ordered: true)
        {
            { "net.a.weight", new PyTensor(weight) },
            { "net.b", new PyTensor(half) },
        });
        TorchCheckpointWriter.Save(checkpoint, PathOf("model.ckpt"));

        using var file = CheckpointFile.Open(PathOf("model.ckpt"));
        Assert.Equal("lightning-checkpoint", file.Kind);
        Assert.Equal(["net.a.weight", "net.b"], file.Tensors.Keys.Order());
        Assert.Equal("200", file.Metadata["epoch"]);
        Assert.Equal("123456", file.Metadata["global_step"]);
        Assert.Contains("optimizer_states", file.IgnoredEntries);
        Assert.Contains("callbacks", file.IgnoredEntries);

        using var a = file.Tensors["net.a.weight"].Load(ScalarType.Float32);
        Assert.Equal(new float[] { 0, 1, 2, 3, 4, 5 }, a.data<float>().ToArray());
        Assert.Equal(ScalarType.Float16, file.Tensors["net.b"].DType);
        using var b = file.Tensors["net.b"].Load(ScalarType.Float32);
        Assert.Equal(new float[] { 0.5f, -1.25f }, b.data<float>().ToArray());
    }

    [Fact]
    public void A_plain_state_dict_file_is_read_as_the_state_dict()
    {
        using var weight = torch.ones(4);
        TorchCheckpointWriter.Save(new PyDict(ordered: true).With("layer.weight", new PyTensor(weight)), PathOf("weights.pt"));
        using var file = CheckpointFile.Open(PathOf("weights.pt"));
        Assert.Equal("torch-state-dict", file.Kind);
        Assert.Equal(["layer.weight"], file.Tensors.Keys);
    }

    [Fact]
    public void A_safetensors_file_is_read_with_its_dtypes_and_shapes()
    {
        using var weight = torch.arange(12, dtype: ScalarType.Float32).reshape(3, 4);
        using var half = torch.tensor(new float[] { 1.5f, 2.5f }).to_type(ScalarType.Float16);
        SafetensorsWriter.Save(PathOf("model.safetensors"), ("w", weight), ("h", half));
        using var file = CheckpointFile.Open(PathOf("model.safetensors"));
        Assert.Equal("safetensors", file.Kind);
        Assert.Equal([3L, 4L], file.Tensors["w"].Shape);
        using var w = file.Tensors["w"].Load(ScalarType.Float32);
        Assert.Equal(Enumerable.Range(0, 12).Select(i => (float)i), w.data<float>().ToArray());
        using var h = file.Tensors["h"].Load(ScalarType.Float32);
        Assert.Equal(new float[] { 1.5f, 2.5f }, h.data<float>().ToArray());
    }

    [Fact]
    public void A_pickle_that_calls_os_system_is_refused_by_name_and_nothing_runs()
    {
        string marker = PathOf("pwned");
        var malicious = new PyDict
        {
            { "state_dict", new PyDict() },
            { "payload", new PyCall(new PyGlobal("posix", "system"), new PyTuple($"touch {marker}")) },
        };
        TorchCheckpointWriter.Save(malicious, PathOf("evil.ckpt"));
        var error = Assert.Throws<UnsafeCheckpointException>(() => CheckpointFile.Open(PathOf("evil.ckpt")));
        Assert.Equal("posix.system", error.GlobalName);
        Assert.Contains("posix.system", error.Message);
        Assert.False(File.Exists(marker));
    }

    [Theory]
    [InlineData("builtins", "eval")]
    [InlineData("subprocess", "Popen")]
    [InlineData("torch.nn.modules.linear", "Linear")]
    public void Any_class_or_function_outside_the_allow_list_is_refused(string module, string name)
    {
        TorchCheckpointWriter.Save(new PyDict { { "x", new PyInstance(new PyGlobal(module, name), new PyDict()) } }, PathOf("other.ckpt"));
        var error = Assert.Throws<UnsafeCheckpointException>(() => CheckpointFile.Open(PathOf("other.ckpt")));
        Assert.Equal($"{module}.{name}", error.GlobalName);
    }

    [Fact]
    public void An_allowed_inert_class_cannot_be_smuggled_in_as_a_storage_call()
    {
        // torch.FloatStorage may appear in a persistent id, but calling it (as a constructor) is refused.
        var call = new PyDict { { "x", new PyCall(new PyGlobal("torch", "FloatStorage"), new PyTuple()) } };
        TorchCheckpointWriter.Save(call, PathOf("call.ckpt"));
        var error = Assert.Throws<UnsafeCheckpointException>(() => CheckpointFile.Open(PathOf("call.ckpt")));
        Assert.Equal("torch.FloatStorage", error.GlobalName);
    }

    [Fact]
    public void Callback_metrics_saved_as_numpy_scalars_and_protocol_2_bytes_are_read_as_inert_data()
    {
        // The globals Python's pickle uses for a numpy.float32 at protocol 2: numpy.core.multiarray.scalar(dtype, raw bytes),
        // the bytes spelled as _codecs.encode(text, 'latin1'), the dtype an object with state.
        var dtype = new PyInstance(new PyGlobal("numpy", "dtype"), new PyDict { { "byteorder", "<" } });
        var raw = new PyCall(new PyGlobal("_codecs", "encode"), new PyTuple("\u0000\u0000\u0000?", "latin1"));
        var score = new PyCall(new PyGlobal("numpy.core.multiarray", "scalar"), new PyTuple(dtype, raw));
        using var weight = torch.ones(2);
        var checkpoint = SyntheticCheckpoints.LightningCheckpoint(new PyDict { { "net.w", new PyTensor(weight) } });
        checkpoint.Add("best_score", score);
        TorchCheckpointWriter.Save(checkpoint, PathOf("numpy.ckpt"));

        using var file = CheckpointFile.Open(PathOf("numpy.ckpt"));
        Assert.Contains("best_score", file.IgnoredEntries);
        Assert.Equal(["net.w"], file.Tensors.Keys);
    }

    [Fact]
    public void A_file_that_is_not_a_checkpoint_is_refused_with_what_was_expected()
    {
        File.WriteAllText(PathOf("notes.ckpt"), "these are not weights");
        var error = Assert.Throws<InvalidDataException>(() => CheckpointFile.Open(PathOf("notes.ckpt")));
        Assert.Contains("not a checkpoint", error.Message);
        Assert.Contains("safetensors", error.Message);
    }

    [Theory]
    [InlineData("""{"w":{"dtype":"F32","shape":[1]}}""")]
    [InlineData("""{"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}""")]
    [InlineData("""{"w":1}""")]
    [InlineData("""{"w":{"dtype":"F32","shape":[-1],"data_offsets":[4,0]}}""")]
    [InlineData("""{"w":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,4]}}""")]
    public void A_damaged_safetensors_header_entry_is_refused_naming_the_tensor(string header)
    {
        // The length-prefixed JSON header of safetensors, then 8 bytes of data.
        byte[] json = System.Text.Encoding.UTF8.GetBytes(header);
        byte[] file = [.. BitConverter.GetBytes((long)json.Length), .. json, .. new byte[8]];
        File.WriteAllBytes(PathOf("damaged.safetensors"), file);

        var error = Assert.Throws<InvalidDataException>(() => CheckpointFile.Open(PathOf("damaged.safetensors")));

        Assert.Contains("tensor 'w'", error.Message);
    }

    [Theory]
    [InlineData(new byte[] { 0x80, 0x02, (byte)'X', 0xFF, 0xFF, 0xFF, 0x7F })]                 // BINUNICODE of 2 GB in 7 bytes
    [InlineData(new byte[] { 0x80, 0x02, 0x8e, 0, 0, 0, 0x70, 0, 0, 0, 0 })]                   // BINBYTES8 of 1.8 GB
    [InlineData(new byte[] { 0x80, 0x02, (byte)'I', (byte)'x', (byte)'y', (byte)'\n', (byte)'.' })] // INT that is not a number
    [InlineData(new byte[] { 0x80, 0x02, (byte)'g', (byte)'9', (byte)'9', (byte)'9', (byte)'9', (byte)'9', (byte)'9', (byte)'9', (byte)'9', (byte)'9', (byte)'9', (byte)'9', (byte)'9', (byte)'9', (byte)'9', (byte)'9', (byte)'9', (byte)'9', (byte)'9', (byte)'9', (byte)'9', (byte)'\n', (byte)'.' })] // GET past long
    public void A_hostile_pickle_is_refused_as_malformed_without_allocating_what_it_declares(byte[] pickle)
    {
        var unpickler = new LSeg.Training.Bridge.Import.Pickle.RestrictedUnpickler(
            LSeg.Training.Bridge.Import.Pickle.PickleAllowList.ForCheckpoints([]), _ => null, "data.pkl");
        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();

        var error = Assert.Throws<InvalidDataException>(() => unpickler.Load(new MemoryStream(pickle)));

        Assert.Contains("data.pkl", error.Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - allocatedBefore < 64 << 20, "a few bytes must not allocate what they declare");
    }

    [Fact]
    public void A_truncated_checkpoint_is_reported_as_truncated()
    {
        using var weight = torch.ones(1000);
        TorchCheckpointWriter.Save(SyntheticCheckpoints.LightningCheckpoint(new PyDict { { "net.w", new PyTensor(weight) } }), PathOf("full.ckpt"));
        byte[] bytes = File.ReadAllBytes(PathOf("full.ckpt"));
        File.WriteAllBytes(PathOf("cut.ckpt"), bytes[..(bytes.Length * 2 / 3)]);
        var error = Assert.Throws<InvalidDataException>(() => CheckpointFile.Open(PathOf("cut.ckpt")));
        Assert.Contains("truncated", error.Message);
    }

    [Fact]
    public void A_missing_file_is_reported_with_its_path()
    {
        var error = Assert.Throws<FileNotFoundException>(() => CheckpointFile.Open(PathOf("absent.ckpt")));
        Assert.Contains("absent.ckpt", error.Message);
    }

    [Fact]
    public void A_float16_CLIP_text_tower_read_back_gives_the_forward_pass_of_the_rounded_weights()
    {
        var config = new ClipTextConfig(Width: 64, Layers: 2, Heads: 1, VocabularySize: ClipTextConfig.ClipVocabularySize, ContextLength: 77, EmbeddingSize: 32);
        torch.manual_seed(21);
        using var original = new ClipTextTransformer(config);
        // The reference: the same weights rounded to float16 and back, as stored in the official checkpoint.
        using (torch.no_grad())
            foreach (var p in original.parameters())
                p.copy_(p.to_type(ScalarType.Float16).to_type(ScalarType.Float32));
        var stateDict = new PyDict(ordered: true);
        foreach (var (key, value) in original.state_dict())
            stateDict.Add("net.clip_pretrained." + key, new PyTensor(value.to_type(ScalarType.Float16)));
        TorchCheckpointWriter.Save(SyntheticCheckpoints.LightningCheckpoint(stateDict), PathOf("clip.ckpt"));

        using var file = CheckpointFile.Open(PathOf("clip.ckpt"));
        var text = file.Tensors.Where(kv => kv.Key.StartsWith("net.clip_pretrained.", StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key["net.clip_pretrained.".Length..], kv => kv.Value);
        Assert.Equal(config, ClipCheckpointLayout.InferConfig(text, "net.clip_pretrained."));
        using var loaded = new ClipTextTransformer(config);
        Assert.Empty(StrictWeightLoader.Load(loaded, text, "the CLIP text transformer", "net.clip_pretrained."));

        original.eval();
        loaded.eval();
        var ids = ClipTokenIds.Random(3, 77, seed: 22);
        float[,] expected = ClipTextEncoderExportTests.TorchForward(original, ids);
        float[,] actual = ClipTextEncoderExportTests.TorchForward(loaded, ids);
        Assert.Equal(0f, ClipTextEncoderExportTests.MaxAbsDifference(expected, actual));
    }
}
