using System.Globalization;
using LSeg.MLNet.Package;
using LSeg.MLNet.Runtime;
using LSeg.Training.Bridge.Export;
using Microsoft.ML.Data;

namespace LSeg.Training.Bridge.Quantization;

/// <summary>How the image encoder's weights and activations become int8.</summary>
public enum QuantizationMethod
{
    /// <summary>
    /// Convolutions in the QDQ format with activation ranges calibrated on images: the ResNet backbones and every
    /// DPT decoder (ONNX Runtime runs them as integer convolutions).
    /// </summary>
    Static,

    /// <summary>Matrix products with constant weights, activations quantized at run time: the ViT backbones' linear layers. No calibration.</summary>
    Dynamic,
}

/// <summary>Options of <see cref="ModelPackageQuantizer.Quantize"/>.</summary>
public sealed class QuantizationOptions
{
    /// <summary>The method (see <see cref="QuantizationMethod"/>).</summary>
    public QuantizationMethod Method { get; set; } = QuantizationMethod.Static;

    /// <summary>Calibration images for <see cref="QuantizationMethod.Static"/>: image files, resized like the model's input. Images the model will meet, never its test images.</summary>
    public IReadOnlyList<string> CalibrationImages { get; set; } = [];

    /// <summary>Replace an existing package at the target path.</summary>
    public bool Overwrite { get; set; }
}

/// <summary>
/// <c>lseg quantize</c>: writes a copy of a model package whose image encoder has int8 weights (about a quarter of the
/// float32 size) and integer arithmetic where ONNX Runtime's CPU kernels have it. The head, the pixel projection, the
/// text encoder and the image encoder's last layer (<c>head1</c>, so the pixel embeddings keep float precision) stay
/// float. The manifest records the method and the calibration in its provenance.
/// </summary>
public static class ModelPackageQuantizer
{
    /// <summary>The image encoder output that stays float (the convolution writing it is not quantized).</summary>
    private const string PixelEmbeddings = "pixel_embeddings";

    /// <summary>Quantizes the package <paramref name="source"/> into <paramref name="target"/> (written atomically).</summary>
    /// <returns>The new package's manifest.</returns>
    /// <exception cref="ArgumentException">Static quantization without calibration images, or a calibration image that cannot be read.</exception>
    /// <exception cref="IOException">The target exists and <see cref="QuantizationOptions.Overwrite"/> is false, or is the source.</exception>
    /// <exception cref="InvalidDataException">The image encoder has nothing the method quantizes (dynamic: no matrix product, as in a ResNet; static: no float convolution, as in a quantized package).</exception>
    public static ModelManifest Quantize(string source, string target, QuantizationOptions options, TextWriter? log = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(source);
        // A package directory or its manifest.json, as every package reader takes.
        source = ModelManifest.PackageDirectory(source);
        string sourcePath = Path.GetFullPath(source), targetPath = PackageDirectoryWriter.TargetPath(target);
        if (string.Equals(sourcePath.TrimEnd(Path.DirectorySeparatorChar), targetPath, StringComparison.Ordinal))
            throw new IOException($"The quantized package must go to another directory than '{sourcePath}'.");
        if (Directory.Exists(targetPath) && !options.Overwrite)
            throw new IOException($"'{targetPath}' already exists; set {nameof(QuantizationOptions.Overwrite)} to replace it, or choose another directory.");
        if (options.Method == QuantizationMethod.Static && options.CalibrationImages.Count == 0)
            throw new ArgumentException("Static quantization needs calibration images (images like those the model will segment, not its test images).", nameof(options));
        var manifest = ModelManifest.ReadVerified(sourcePath);
        string encoderFile = manifest.Graphs.ImageEncoder;
        // Before any work: MLImage would decode a truncated file with grey rows into the activation ranges.
        foreach (string path in options.CalibrationImages)
        {
            try
            {
                LSeg.MLNet.Imaging.ImageFileReader.Validate(path);
            }
            catch (Exception e) when (e is IOException or InvalidDataException)
            {
                throw new ArgumentException($"Calibration image '{path}' cannot be read: {e.Message}", nameof(options), e);
            }
        }

        DeleteAbandonedWorkFolders(Path.GetTempPath(), DateTime.UtcNow);
        string work = Path.Combine(Path.GetTempPath(), WorkFolderPrefix + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(work);
        try
        {
            var model = GraphPreprocessing.Optimize(Path.Combine(sourcePath, encoderFile), work);
            string description;
            if (options.Method == QuantizationMethod.Static)
            {
                var plan = StaticConvQuantization.Plan(model, [PixelEmbeddings]);
                if (plan.ConvolutionCount == 0)
                    throw new InvalidDataException($"The image encoder of '{sourcePath}' has no float convolution to quantize (is the package quantized already?).");
                log?.WriteLine($"static int8 (QDQ): {plan.ConvolutionCount} convolutions, {plan.Activations.Count} activations calibrated on {options.CalibrationImages.Count} images");
                var ranges = ActivationCalibration.Collect(model, plan.Activations, CalibrationInputs(options.CalibrationImages, manifest), "pixels");
                plan.Apply(ranges);
                description = $"int8 static QDQ: {plan.ConvolutionCount} convolutions with per-channel 8-bit weights (255 levels, stored as uint8 around 128), uint8 activations calibrated (min/max) on {options.CalibrationImages.Count} images at input {manifest.DefaultInputSize}";
            }
            else
            {
                int count = DynamicMatMulQuantization.Apply(model);
                // Without matrix products (a convolutional backbone) nothing would be quantized, yet the graph would be written
                // back larger than its float16 source, labelled int8.
                if (count == 0)
                    throw new InvalidDataException($"The image encoder of '{sourcePath}' has no float matrix product to quantize dynamically (a convolutional backbone such as ResNet, or a package quantized already): use static quantization with calibration images.");
                log?.WriteLine($"dynamic int8: {count} matrix products");
                description = $"int8 dynamic: {count} matrix products with per-column 8-bit weights (255 levels, stored as uint8 around 128), activations quantized at run time";
            }

            var provenance = new Dictionary<string, string>(manifest.Provenance) { ["quantization"] = description };
            return PackageDirectoryWriter.Write(targetPath, options.Overwrite, directory =>
            {
                foreach (string name in manifest.Files.Keys.Where(n => n != encoderFile && !n.StartsWith(encoderFile + ".", StringComparison.Ordinal)))
                {
                    string destination = Path.Combine(directory, name);
                    Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
                    File.Copy(Path.Combine(sourcePath, name), destination);
                }
                OnnxModelFile.Save(model, Path.Combine(directory, encoderFile), ModelPackageExportOptions.Defaults.ExternalDataThresholdBytes);
                var written = manifest.WithFiles(PackageDirectoryWriter.DescribeFiles(directory), provenance);
                PackageDirectoryWriter.WriteManifest(directory, written);
                return written;
            });
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>Each calibration image decoded and resized as the model's input at the package's default input size.</summary>
    private static IEnumerable<ActivationCalibration.Input> CalibrationInputs(IReadOnlyList<string> images, ModelManifest manifest)
    {
        foreach (string path in images)
        {
            MLImage image;
            try
            {
                image = MLImage.CreateFromFile(path); // checked complete by Quantize before any work
            }
            catch (Exception e) when (e is IOException or ArgumentException or InvalidOperationException)
            {
                throw new ArgumentException($"Calibration image '{path}' cannot be read: {e.Message}", nameof(images), e);
            }
            using (image)
            {
                var (width, height) = ModelInputSize.For(image.Width, image.Height, manifest.DefaultInputSize, manifest.InputSizeMultiple);
                yield return new ActivationCalibration.Input(ImagePixels.ToPlanarRgb(image, width, height), width, height);
            }
        }
    }

    /// <summary>Calibration images in <paramref name="directory"/> (PNG, JPEG, BMP), in name order, evenly spread to at most <paramref name="count"/>.</summary>
    public static IReadOnlyList<string> ImagesIn(string directory, int count)
    {
        var files = Directory.EnumerateFiles(directory)
            .Where(f => Path.GetExtension(f).ToLower(CultureInfo.InvariantCulture) is ".png" or ".jpg" or ".jpeg" or ".bmp")
            .Order(StringComparer.Ordinal).ToList();
        if (files.Count <= count)
            return files;
        return Enumerable.Range(0, count).Select(i => files[(int)((long)i * files.Count / count)]).ToList();
    }

    private const string WorkFolderPrefix = "lseg-quantize-";

    /// <summary>How long a work folder may sit unused before another quantization deletes it as abandoned.</summary>
    internal static readonly TimeSpan AbandonedWorkFolderAge = TimeSpan.FromDays(1);

    /// <summary>
    /// Deletes the work folders (tens of MB each) of quantizations killed or interrupted before their clean-up ran, once
    /// unused for <see cref="AbandonedWorkFolderAge"/>: a run in progress writes its folder well within that. A folder
    /// that cannot be deleted now is left for a later run.
    /// </summary>
    internal static void DeleteAbandonedWorkFolders(string temporaryFolder, DateTime utcNow)
    {
        IEnumerable<string> folders;
        try
        {
            folders = Directory.EnumerateDirectories(temporaryFolder, WorkFolderPrefix + "*").ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return;
        }
        foreach (string folder in folders)
        {
            try
            {
                if (utcNow - Directory.GetLastWriteTimeUtc(folder) >= AbandonedWorkFolderAge)
                    Directory.Delete(folder, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }
    }
}
