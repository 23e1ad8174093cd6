using System.Globalization;
using System.Runtime.CompilerServices;

namespace LSeg.Tests.Shared;

/// <summary>
/// The tests compare messages that format numbers ("6,000 pixels", "scale 1.04") with the current culture, as .NET
/// messages do; pinned here so that a developer machine set to de-DE or fr-FR runs the suite as CI does.
/// </summary>
internal static class InvariantCultureForTests
{
#pragma warning disable CA2255 // a module initializer in a test assembly: it runs before any test, which is the point
    [ModuleInitializer]
    internal static void Pin()
#pragma warning restore CA2255
    {
        CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
        CultureInfo.DefaultThreadCurrentUICulture = CultureInfo.InvariantCulture;
        CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
        CultureInfo.CurrentUICulture = CultureInfo.InvariantCulture;
    }
}
