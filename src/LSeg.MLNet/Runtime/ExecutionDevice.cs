using Microsoft.ML.OnnxRuntime;

namespace LSeg.MLNet.Runtime;

/// <summary>
/// The one place that decides where LSeg's ONNX graphs run: CUDA when a GPU is asked for and ONNX Runtime can
/// load its CUDA provider, otherwise the CPU (when falling back is allowed) or a clear exception.
/// </summary>
internal sealed class ExecutionDevice
{
    private const string CudaProvider = "CUDAExecutionProvider";

    /// <summary>Libraries ONNX Runtime 1.31's CUDA provider loads; named in the error when they are missing.</summary>
    internal const string CudaLibraries = "CUDA 13 (libcudart.so.13, libcublas.so.13, libcublasLt.so.13, libcufft.so.12, libcurand.so.10) and cuDNN 9 for CUDA 13 (libcudnn.so.9)";

    private static readonly object ProbeLock = new();
    private static readonly Dictionary<int, string?> CudaProbeResults = new();

    private ExecutionDevice(int? gpuDeviceId, string? fallbackReason)
    {
        GpuDeviceId = gpuDeviceId;
        FallbackReason = fallbackReason;
    }

    /// <summary>The CUDA device the sessions use, or null for the CPU.</summary>
    public int? GpuDeviceId { get; }

    /// <summary>Why a requested GPU is not used (null when none was asked for or CUDA works).</summary>
    public string? FallbackReason { get; }

    /// <summary>True when the graphs run on a CUDA device.</summary>
    public bool UsesGpu => GpuDeviceId.HasValue;

    /// <summary>The CPU.</summary>
    public static ExecutionDevice Cpu { get; } = new(null, null);

    /// <summary>
    /// Picks the device: the CPU when <paramref name="gpuDeviceId"/> is null; CUDA device <paramref name="gpuDeviceId"/>
    /// when ONNX Runtime lists and can load its CUDA provider; otherwise the CPU when <paramref name="fallbackToCpu"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">CUDA was asked for, cannot be used, and falling back is not allowed.</exception>
    public static ExecutionDevice Select(int? gpuDeviceId, bool fallbackToCpu)
    {
        if (gpuDeviceId is null)
            return Cpu;
        ArgumentOutOfRangeException.ThrowIfNegative(gpuDeviceId.Value, nameof(gpuDeviceId));
        string? problem = ProbeCuda(gpuDeviceId.Value);
        if (problem is null)
            return new ExecutionDevice(gpuDeviceId, null);
        if (fallbackToCpu)
            return new ExecutionDevice(null, problem);
        throw new InvalidOperationException(
            $"GPU {gpuDeviceId} was requested with fallbackToCpu = false, but ONNX Runtime cannot use CUDA: {problem}");
    }

    /// <summary>
    /// The CPU in place of <paramref name="gpu"/>, whose sessions could not be created (<paramref name="problem"/>), when
    /// falling back is allowed.
    /// </summary>
    /// <exception cref="InvalidOperationException">Falling back is not allowed: names the device and the problem.</exception>
    public static ExecutionDevice CpuInsteadOf(ExecutionDevice gpu, string problem, bool fallbackToCpu)
    {
        if (fallbackToCpu)
            return new ExecutionDevice(null, $"ONNX Runtime loaded its CUDA provider but could not create a session on GPU {gpu.GpuDeviceId}: {problem}");
        throw new InvalidOperationException(
            $"GPU {gpu.GpuDeviceId} was requested with fallbackToCpu = false, but ONNX Runtime could not create a session on it: {problem} " +
            "Check that the device exists (nvidia-smi) and that the driver supports CUDA 13.");
    }

    /// <summary>Session options for this device; ONNX Runtime logs only fatal problems (a CPU-only machine stays quiet).</summary>
    public SessionOptions CreateSessionOptions()
    {
        var options = new SessionOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL };
        try
        {
            if (GpuDeviceId is int device)
                options.AppendExecutionProvider_CUDA(device);
            return options;
        }
        catch
        {
            options.Dispose();
            throw;
        }
    }

    /// <summary>Null when CUDA device <paramref name="deviceId"/> can be used, else why not. Probed once per device, quietly.</summary>
    private static string? ProbeCuda(int deviceId)
    {
        lock (ProbeLock)
        {
            if (CudaProbeResults.TryGetValue(deviceId, out string? known))
                return known;
            string? problem;
            var env = OrtEnv.Instance();
            if (!env.GetAvailableProviders().Contains(CudaProvider))
            {
                problem = $"this ONNX Runtime build has no {CudaProvider} (providers: {string.Join(", ", env.GetAvailableProviders())}); reference LSeg.MLNet.Gpu, which brings ONNX Runtime's CUDA build (Microsoft.ML.OnnxRuntime.Gpu.Linux 1.31), and put {CudaLibraries} on the library path.";
            }
            else
            {
                // Appending the provider loads the CUDA libraries; on a machine without them ONNX Runtime would log an
                // error line to stderr before throwing, so its environment logger is silenced for the attempt.
                var level = env.EnvLogLevel;
                env.EnvLogLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL;
                try
                {
                    using var options = new SessionOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL };
                    options.AppendExecutionProvider_CUDA(deviceId);
                    problem = null;
                }
                // Both name a library that failed to load, not which ones the provider needs.
                catch (Exception e) when (e is OnnxRuntimeException or DllNotFoundException or EntryPointNotFoundException)
                {
                    problem = $"{e.Message.Trim()} (ONNX Runtime 1.31's CUDA provider needs {CudaLibraries} on the library path, LD_LIBRARY_PATH on Linux).";
                }
                finally
                {
                    env.EnvLogLevel = level;
                }
            }
            CudaProbeResults[deviceId] = problem;
            return problem;
        }
    }
}
