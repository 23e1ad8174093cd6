using System.Collections.Concurrent;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;

namespace LSeg.MLNet.Pipeline;

/// <summary>
/// Registers <see cref="MLImage"/> as an image of any size (<see cref="ImageDataViewType"/> without dimensions), so a
/// class with an <see cref="MLImage"/> member can be read from an image column by CustomMapping and PredictionEngine.
/// ML.NET 5.0.1's parameterless <c>[ImageType]</c> attribute cannot do it: it builds a 0 × 0 type, which throws.
/// </summary>
internal static class ImageTypeRegistration
{
    private static readonly Lazy<bool> Registered = new(Register);
    private static readonly ConcurrentDictionary<(int Height, int Width), bool> RegisteredSizes = new();

    public static void EnsureRegistered() => _ = Registered.Value;

    /// <summary>
    /// Also registers the size of <paramref name="columnType"/> when it has one (the column of <c>ResizeImages</c>, or of
    /// a class member with <c>[ImageType(h, w)]</c>). ML.NET binds a column to an <see cref="MLImage"/> member only when
    /// the column's exact type is registered, and it checks that when the first row is read, not at <c>Fit</c>: without
    /// this, a pipeline with <c>ResizeImages</c> before LanguageSegment fitted and then failed on its first row
    /// ("Type 'MLImage' is not yet supported").
    /// </summary>
    public static void EnsureRegistered(DataViewType? columnType)
    {
        EnsureRegistered();
        if (columnType is ImageDataViewType { Height: > 0, Width: > 0 } sized)
            RegisteredSizes.GetOrAdd((sized.Height, sized.Width), RegisterSize);
    }

    private static bool Register()
    {
        try
        {
            DataViewTypeManager.Register(new ImageDataViewType(), typeof(MLImage), (DataViewTypeAttribute?)null);
        }
        catch (ArgumentException)
        {
            // Already registered by the application (with the same meaning or its own); keep what is there.
        }
        return true;
    }

    private static bool RegisterSize((int Height, int Width) size)
    {
        try
        {
            // What ML.NET itself does for a member marked [ImageType(height, width)].
            new ImageTypeAttribute(size.Height, size.Width).Register();
        }
        catch (ArgumentException)
        {
            // Registered by the application already; keep what is there.
        }
        return true;
    }
}
