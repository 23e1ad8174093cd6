using System.Diagnostics;
using LSeg.MLNet;
using LSeg.MLNet.IO;
using Microsoft.ML.Data;

namespace LSeg.Orleans.Workers;

/// <summary>
/// Segments one image file and writes its mask, exactly as <c>lseg segment</c> does (the image decoded by
/// <see cref="MLImage"/>, <see cref="LanguageSegmentationModel.EncodeImage"/>, <see cref="LanguageSegmentationModel.Segment(EncodedImage, LabelEmbeddings, bool)"/>,
/// <see cref="SegmentationResult.ToMaskPng"/>), so the two give the same mask bytes.
/// </summary>
internal static class ImageSegmenter
{
    /// <summary>
    /// Segments <paramref name="item"/>. Anything wrong with the image (missing, unreadable, cut short, too small or
    /// too large) is returned as the outcome's error. What is wrong with the silo throws <see cref="SiloFaultException"/>
    /// instead, so that the job stops naming the silo rather than writing a failed line for every image it is given: a
    /// mask that cannot be written, or a failure of the model itself on a complete image (ONNX Runtime out of GPU memory,
    /// a device in a bad state). An input folder this silo does not see is found before any image, by
    /// <see cref="ISegmentationWorkerGrain.Prepare"/>.
    /// </summary>
    public static ImageOutcome Segment(LanguageSegmentationModel model, LabelEmbeddings labels, SegmentationJobSpec job, ImageWorkItem item)
    {
        var clock = Stopwatch.StartNew();
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(item.ImagePath);
            ImageFileCheck.RequireComplete(item.ImagePath, bytes, LanguageSegmentationModelOptions.Defaults.MinImageSide, LanguageSegmentationModelOptions.Defaults.MaxImagePixels);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            return new ImageOutcome(item.Index, 0, 0, null, Describe(item.ImagePath, e), clock.Elapsed.TotalSeconds);
        }

        SegmentationResult result;
        try
        {
            using var image = MLImage.CreateFromStream(new MemoryStream(bytes, writable: false));
            var encoded = model.EncodeImage(image, job.InputSize);
            result = model.Segment(encoded, labels);
        }
        catch (Exception e) when (e is ArgumentException or InvalidDataException)
        {
            // The model's own checks of this image (its size against the model's limits).
            return new ImageOutcome(item.Index, 0, 0, null, Describe(item.ImagePath, e), clock.Elapsed.TotalSeconds);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new SiloFaultException($"the model failed on '{item.ImagePath}', a complete image: {e.GetType().Name}: {e.Message}", e);
        }

        string maskPath = Path.Combine(job.OutputDirectory, item.MaskPath);
        try
        {
            AtomicFile.WriteAllBytes(maskPath, result.ToMaskPng());
        }
        catch (PathTooLongException)
        {
            // The image's own name is at fault (its mask, or the hidden temporary file written first, exceeds the file
            // system's limit), not the silo's folder: a failed line for this image, and the job goes on.
            return new ImageOutcome(item.Index, 0, 0, null,
                $"'{item.ImagePath}': its mask '{maskPath}' cannot be written, the name is too long for the file system (rename the image).", clock.Elapsed.TotalSeconds);
        }
        catch (IOException e) when (IsNameRejected(e))
        {
            // The same: a name the output folder's file system refuses (':' or '?' on exFAT, vfat or an SMB share, bytes
            // that are not valid there), which Linux reports as EINVAL or EILSEQ. Other masks still go to that folder.
            return new ImageOutcome(item.Index, 0, 0, null,
                $"'{item.ImagePath}': its mask '{maskPath}' cannot be written, the output folder's file system refuses the name ({e.Message}; rename the image).", clock.Elapsed.TotalSeconds);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SiloFaultException($"cannot write mask '{maskPath}': {e.Message}", e);
        }
        return new ImageOutcome(item.Index, result.Width, result.Height, result.PixelCounts, null, clock.Elapsed.TotalSeconds);
    }

    /// <summary>
    /// True for the errors a file system gives for a name it cannot hold: EINVAL (22) and EILSEQ (84 on Linux, 92 on
    /// macOS), which .NET reports as a plain IOException carrying the errno; ERROR_INVALID_NAME (123) on Windows.
    /// </summary>
    internal static bool IsNameRejected(IOException e) => e.GetType() == typeof(IOException) && (OperatingSystem.IsWindows()
        ? (e.HResult & 0xFFFF) == 123
        : e.HResult == 22 || e.HResult == (OperatingSystem.IsMacOS() ? 92 : 84));

    private static string Describe(string path, Exception e) => e switch
    {
        FileNotFoundException or DirectoryNotFoundException => $"'{path}' does not exist.",
        UnauthorizedAccessException => $"'{path}' cannot be read: {e.Message}",
        InvalidDataException => e.Message,
        ArgumentException { ParamName: { } parameter } => $"'{path}': {e.Message.Replace($" (Parameter '{parameter}')", "", StringComparison.Ordinal)}",
        _ => $"'{path}' could not be read: {e.GetType().Name}: {e.Message}",
    };
}

/// <summary>
/// The silo cannot do the job's work (its output folder is not writable, its model fails on complete images): the job
/// stops naming the silo, and <c>--resume</c> goes on once it is mended.
/// </summary>
internal sealed class SiloFaultException(string message, Exception inner) : Exception(message, inner);
