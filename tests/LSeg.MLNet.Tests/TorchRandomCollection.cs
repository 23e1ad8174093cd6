namespace LSeg.MLNet.Tests;

/// <summary>
/// The test classes that build seeded random TorchSharp networks. TorchSharp initialises weights from one process-wide
/// random generator (seeded with <c>torch.manual_seed</c>); two such classes running in parallel would draw from it in
/// between and change each other's weights, so they share this collection and run one after another.
/// </summary>
[CollectionDefinition(Name)]
public sealed class TorchRandomCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "TorchSharp's process-wide random generator";
}
