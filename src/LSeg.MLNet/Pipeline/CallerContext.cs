using System.Reflection;
using Microsoft.ML;

namespace LSeg.MLNet.Pipeline;

/// <summary>
/// The GPU settings of the <see cref="MLContext"/> behind a <see cref="TransformsCatalog"/> (<c>mlContext.GpuDeviceId</c>,
/// <c>mlContext.FallbackToCpu</c>). ML.NET 5.0.1 keeps the context's environment internal (a third-party catalog extension
/// cannot see it; dotnet/machinelearning#4911), so its two public settings are read by reflection; when that ever fails,
/// the options alone decide the device. The context itself cannot be reached (the catalog holds its internal environment,
/// not the <see cref="MLContext"/>), so the pipeline's inner transforms log to a context of their own.
/// </summary>
internal static class CallerContext
{
    private static readonly PropertyInfo? EnvironmentProperty = typeof(TransformsCatalog)
        .GetProperties(BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public)
        .FirstOrDefault(p => p.Name.EndsWith("Environment", StringComparison.Ordinal) && p.GetIndexParameters().Length == 0);

    /// <summary>The caller's GPU device (null: none asked for) and fallback setting, or null when ML.NET does not give them.</summary>
    public static (int? GpuDeviceId, bool FallbackToCpu)? DeviceOf(TransformsCatalog catalog)
    {
        try
        {
            object? environment = EnvironmentProperty?.GetValue(catalog);
            var gpu = Setting(environment, nameof(MLContext.GpuDeviceId), typeof(int?));
            var fallback = Setting(environment, nameof(MLContext.FallbackToCpu), typeof(bool));
            if (gpu is null || fallback is null)
                return null;
            return ((int?)gpu.GetValue(environment), (bool)fallback.GetValue(environment)!);
        }
        catch (TargetInvocationException)
        {
            return null;
        }
    }

    // The environment implements the settings publicly or through ML.NET's internal interface (explicitly).
    private static PropertyInfo? Setting(object? environment, string name, Type type) => environment?.GetType()
        .GetProperties(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic)
        .FirstOrDefault(p => (p.Name == name || p.Name.EndsWith("." + name, StringComparison.Ordinal)) && p.PropertyType == type && p.GetIndexParameters().Length == 0);
}
