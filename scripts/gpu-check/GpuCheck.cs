using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using LSeg.MLNet;
using LSeg.Shared;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;

namespace LSeg.GpuCheck;

/// <summary>
/// Checks a CUDA machine: the same images segmented on the CPU and on GPU 0 must agree on at least 99.9% of pixels;
/// prints both timings, GPU images/s for image batches of 1, 4 and 8, what the encoder's output copy costs (ONNX
/// Runtime IOBinding with the output left on the GPU), and, when a float16-compute copy of the package is given, its
/// agreement and timing. Run by <c>scripts/gpu-check.sh</c> (see there) through the small <c>scripts/gpu-check</c>
/// console. The segmentation itself goes through LSeg.MLNet's public API only.
/// </summary>
internal static class GpuCheck
{
    /// <summary>Minimum share of pixels whose CPU and GPU labels must agree.</summary>
    public const double RequiredAgreement = 0.999;

    /// <summary>The labels every image is segmented with.</summary>
    public static readonly string[] Labels = ["sky", "grass", "road", "car", "person", "tree", "building", "water"];

    /// <summary>Runs the check; returns 0 when it passes, 1 when the masks disagree, 2 when CUDA cannot be used.</summary>
    public static int Run(string packagePath, string? float16PackagePath, int images, int size, TextWriter output)
    {
        LanguageSegmentationModel Load(string path, int? gpu, int batch = 1) => LanguageSegmentationModel.Load(path,
            new LanguageSegmentationModelOptions { GpuDeviceId = gpu, FallbackToCpu = false, ImageBatchSize = batch });

        using var cpu = Load(packagePath, null);
        LanguageSegmentationModel gpu;
        try
        {
            gpu = Load(packagePath, 0);
        }
        catch (InvalidOperationException e)
        {
            output.WriteLine($"FAIL: CUDA is not usable: {e.Message}");
            return 2;
        }
        var testImages = new List<MLImage>();
        var generator = new Random(42);
        for (int i = 0; i < images; i++)
            testImages.Add(ColourBlockImage.Create(size, size, generator));
        var cpuMasks = new List<int[]>();
        double share;
        using (gpu)
        {
            output.WriteLine($"model {cpu.Manifest.Name} ({cpu.Manifest.Backbone}); {images} images of {size}×{size}; GPU in use: {gpu.UsesGpu}; ONNX Runtime {OrtEnv.Instance().GetVersionString()}");
            long agree = 0, total = 0;
            var cpuTimes = new List<double>();
            var gpuTimes = new List<double>();
            var gpuHeadTimes = new List<double>();
            foreach (var image in testImages)
            {
                var watch = Stopwatch.StartNew();
                var onCpu = cpu.Segment(image, Labels);
                cpuTimes.Add(watch.Elapsed.TotalMilliseconds);
                watch.Restart();
                var onGpu = gpu.Segment(image, Labels);
                gpuTimes.Add(watch.Elapsed.TotalMilliseconds);
                var encoded = gpu.EncodeImage(image);
                var labels = gpu.EncodeLabels(Labels);
                watch.Restart();
                gpu.Segment(encoded, labels);
                gpuHeadTimes.Add(watch.Elapsed.TotalMilliseconds);
                agree += onCpu.Mask.Zip(onGpu.Mask).Count(p => p.First == p.Second);
                total += onCpu.Mask.Length;
                cpuMasks.Add(onCpu.Mask.ToArray());
            }
            share = (double)agree / total;
            // The first image of each device includes session warm-up: report the median of the rest.
            output.WriteLine($"CPU full segmentation: median {Median(cpuTimes):F1} ms per image");
            output.WriteLine($"GPU full segmentation: median {Median(gpuTimes):F1} ms per image; label change on an encoded image {Median(gpuHeadTimes):F2} ms");
            output.WriteLine($"CPU/GPU mask agreement: {share:P4} of {total:N0} pixels (required {RequiredAgreement:P1})");
        }

        Guarded(output, "batches", () => ReportBatches(packagePath, testImages, output));
        Guarded(output, "IOBinding", () => ReportOutputCopy(cpu, output));
        if (float16PackagePath is not null)
            Guarded(output, "float16", () => ReportFloat16(float16PackagePath, testImages, cpuMasks, output));

        output.WriteLine(share >= RequiredAgreement ? "PASS" : "FAIL: the GPU masks differ from the CPU masks");
        return share >= RequiredAgreement ? 0 : 1;
    }

    /// <summary>GPU images/s of full segmentations with the image encoder run on batches of 1, 4 and 8 images.</summary>
    private static void ReportBatches(string packagePath, List<MLImage> images, TextWriter output)
    {
        var batchImages = Enumerable.Range(0, 16).Select(i => images[i % images.Count]).ToList();
        foreach (int batch in new[] { 1, 4, 8 })
        {
            using var model = LanguageSegmentationModel.Load(packagePath,
                new LanguageSegmentationModelOptions { GpuDeviceId = 0, FallbackToCpu = false, ImageBatchSize = batch });
            model.Segment(batchImages.Take(batch).ToList(), Labels);
            var watch = Stopwatch.StartNew();
            model.Segment(batchImages, Labels);
            double seconds = watch.Elapsed.TotalSeconds;
            output.WriteLine($"GPU batch {batch}: {batchImages.Count / seconds:F1} images/s ({batchImages.Count} images, {seconds * 1000:F0} ms)");
        }
    }

    /// <summary>
    /// The image encoder alone on CUDA through ONNX Runtime: a plain Run (output copied to the host) against IOBinding
    /// with the output left in GPU memory, so the cost of bringing the embedding grid back is measured.
    /// </summary>
    private static void ReportOutputCopy(LanguageSegmentationModel model, TextWriter output)
    {
        string graph = Path.Combine(model.PackagePath, model.Manifest.Graphs.ImageEncoder);
        using var options = new SessionOptions();
        options.AppendExecutionProvider_CUDA(0);
        using var session = new InferenceSession(graph, options);
        string inputName = session.InputMetadata.Keys.Single();
        string outputName = session.OutputMetadata.Keys.First();
        int side = model.Manifest.DefaultInputSize;
        long[] shape = [1, 3, side, side];
        var pixels = new float[3 * side * side];
        var generator = new Random(7);
        for (int i = 0; i < pixels.Length; i++)
            pixels[i] = generator.Next(256);
        using var input = OrtValue.CreateTensorValueFromMemory(pixels, shape);
        using var runOptions = new RunOptions();
        var inputs = new Dictionary<string, OrtValue> { [inputName] = input };

        var plain = new List<double>();
        for (int i = 0; i < 11; i++)
        {
            var watch = Stopwatch.StartNew();
            using var outputs = session.Run(runOptions, inputs, [outputName]);
            plain.Add(watch.Elapsed.TotalMilliseconds);
        }
        using var cuda = new OrtMemoryInfo(OrtMemoryInfo.allocatorCUDA, OrtAllocatorType.DeviceAllocator, 0, OrtMemType.Default);
        using var binding = session.CreateIoBinding();
        binding.BindInput(inputName, input);
        binding.BindOutputToDevice(outputName, cuda);
        var bound = new List<double>();
        for (int i = 0; i < 11; i++)
        {
            var watch = Stopwatch.StartNew();
            session.RunWithBinding(runOptions, binding);
            binding.SynchronizeBoundOutputs();
            bound.Add(watch.Elapsed.TotalMilliseconds);
        }
        output.WriteLine($"image encoder at {side}×{side} on CUDA: Run with the output copied to the host {Median(plain):F2} ms; IOBinding with the output kept on the GPU {Median(bound):F2} ms");
    }

    /// <summary>The float16-compute copy of the package on the GPU: agreement with the float32 CPU masks and time per image.</summary>
    private static void ReportFloat16(string packagePath, List<MLImage> images, List<int[]> cpuMasks, TextWriter output)
    {
        using var model = LanguageSegmentationModel.Load(packagePath, new LanguageSegmentationModelOptions { GpuDeviceId = 0, FallbackToCpu = false });
        long agree = 0, total = 0;
        var times = new List<double>();
        for (int i = 0; i < images.Count; i++)
        {
            var watch = Stopwatch.StartNew();
            var result = model.Segment(images[i], Labels);
            times.Add(watch.Elapsed.TotalMilliseconds);
            agree += result.Mask.ToArray().Zip(cpuMasks[i]).Count(p => p.First == p.Second);
            total += cpuMasks[i].Length;
        }
        output.WriteLine($"GPU float16 image encoder: median {Median(times):F1} ms per image; agreement with the float32 CPU masks {(double)agree / total:P4}");
    }

    private static void Guarded(TextWriter output, string part, Action action)
    {
        try
        {
            action();
        }
        catch (Exception e)
        {
            output.WriteLine($"{part}: not measured ({e.GetType().Name}: {e.Message})");
        }
    }

    /// <summary>
    /// Writes a copy of the package whose text encoder is a fixed table of <see cref="Labels"/>, with the embeddings the
    /// package's own text encoder gives them (prompts included), so the check's masks are the package's while MiniLM
    /// (43 MB) need not travel to the GPU machine.
    /// </summary>
    public static void WriteTablePackage(string source, string destination, TextWriter output)
    {
        using var model = LanguageSegmentationModel.Load(source);
        var embeddings = model.EncodeLabels(Labels);
        string sourceDirectory = model.PackagePath;
        var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(sourceDirectory, "manifest.json")))!.AsObject();
        var text = manifest["textEncoder"]!.AsObject();
        var files = manifest["files"]!.AsObject();
        foreach (string role in new[] { "graph", "tokenizer" })
        {
            if (text[role]?.GetValue<string>() is { } file)
                files.Remove(file);
        }
        manifest["textEncoder"] = new JsonObject { ["kind"] = "table", ["table"] = "label_table.json", ["contextLength"] = text["contextLength"]?.DeepClone() };
        Directory.CreateDirectory(destination);
        foreach (var (name, _) in files.ToList())
            File.Copy(Path.Combine(sourceDirectory, name), Path.Combine(destination, name), overwrite: true);
        var table = new Dictionary<string, float[]>();
        for (int i = 0; i < Labels.Length; i++)
            table[Labels[i]] = embeddings.Values.Slice(i * embeddings.EmbeddingSize, embeddings.EmbeddingSize).ToArray();
        File.WriteAllText(Path.Combine(destination, "label_table.json"), JsonSerializer.Serialize(table));
        foreach (var (name, _) in files.ToList())
            files[name] = Describe(Path.Combine(destination, name));
        files["label_table.json"] = Describe(Path.Combine(destination, "label_table.json"));
        File.WriteAllText(Path.Combine(destination, "manifest.json"), manifest.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        output.WriteLine($"wrote {destination}: {model.Manifest.Name} with a label table of {Labels.Length} labels");
    }

    private static JsonObject Describe(string path)
    {
        using var stream = File.OpenRead(path);
        return new JsonObject { ["bytes"] = stream.Length, ["sha256"] = Convert.ToHexStringLower(SHA256.HashData(stream)) };
    }

    private static double Median(List<double> times)
    {
        var sorted = (times.Count > 1 ? times.Skip(1) : times).Order().ToArray();
        return sorted[sorted.Length / 2];
    }
}
