using LSeg.Training.Bridge.Network;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LSeg.Training.Bridge.Tests.Export;

/// <summary>Random LSeg networks for export tests: seeded, with BatchNorm statistics drawn away from 0/1 so they matter.</summary>
internal static class ExportTestNets
{
    /// <summary>A seeded random network with BatchNorm parameters and statistics drawn away from 1/0, so that they matter.</summary>
    public static LSegNet Random(LSegNetConfig config, int seed = 1)
    {
        random.manual_seed(seed);
        var net = LSegNet.Create(config, pretrainedBackbone: false);
        using (no_grad())
        {
            foreach (var norm in net.modules().OfType<BatchNorm2d>())
            {
                norm.weight!.uniform_(0.5, 1.5);
                norm.bias!.uniform_(-0.2, 0.2);
                norm.running_mean!.uniform_(-0.2, 0.2);
                norm.running_var!.uniform_(0.5, 1.5);
            }
        }
        net.eval();
        return net;
    }

    /// <summary>Uniform RGB 0–255 pixels.</summary>
    public static Tensor Pixels(int batch, int height, int width, int seed = 2)
    {
        random.manual_seed(seed);
        return rand(batch, 3, height, width) * 255f;
    }

    /// <summary>Gaussian label embeddings [N, C].</summary>
    public static Tensor Labels(int count, int width, int seed = 3)
    {
        random.manual_seed(seed);
        return randn(count, width);
    }

    /// <summary>A fresh, not yet existing directory under the system temp folder, deleted on dispose.</summary>
    public sealed class TempDirectory : IDisposable
    {
        public TempDirectory()
        {
            Root = Path.Combine(Path.GetTempPath(), "lseg-export-tests-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(Root);
        }

        public string Root { get; }

        public string PathOf(string name) => System.IO.Path.Combine(Root, name);

        public void Dispose()
        {
            if (Directory.Exists(Root))
                Directory.Delete(Root, recursive: true);
        }
    }
}
