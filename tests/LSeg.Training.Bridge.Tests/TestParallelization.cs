// TorchSharp initialises module weights from one process-wide random generator, which these tests seed
// (torch.manual_seed) to build reproducible random networks and compare them with their exports. Test classes running
// in parallel draw from that generator in between and change each other's weights: a package-vs-TorchSharp test once
// got a random network that gave one label everywhere. So the classes of this assembly run one after another.
[assembly: Xunit.CollectionBehavior(DisableTestParallelization = true)]
