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

    public static void EnsureRegistered() => _ = Registered.Value;

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
}
