using LSeg.MLNet;
using LSeg.MLNet.Tests.Packages;

namespace LSeg.Serving.Tests;

/// <summary>
/// The hand-made colour package (tests/LSeg.MLNet.Tests/Packages: a pixel's embedding is its colour, labels are colour
/// names), written once per test class, and the same package loaded directly for the low-level API's answers.
/// </summary>
public sealed class ColourPackageFixture : IDisposable
{
    private readonly TemporaryDirectory _directory = new();

    public ColourPackageFixture()
    {
        PackagePath = ColourModelPackage.Write(_directory.Path);
        Model = LanguageSegmentationModel.Load(PackagePath);
    }

    public string PackagePath { get; }

    /// <summary>The package loaded outside the server: the reference answers come from here.</summary>
    public LanguageSegmentationModel Model { get; }

    public void Dispose()
    {
        Model.Dispose();
        _directory.Dispose();
    }
}
