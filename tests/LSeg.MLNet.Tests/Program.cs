using LSeg.MLNet.Tests.MLNet;
using LSeg.MLNet.Tests.Packages;

namespace LSeg.MLNet.Tests;

/// <summary>
/// Entry point of the test assembly as a program: the save/load test runs <c>dotnet LSeg.MLNet.Tests.dll
/// load-and-segment …</c> so the saved model is loaded in a process that never built it; <c>export-benchmark-package
/// DIR</c> writes a ResNet18 package to benchmark (<c>lseg bench segment --model DIR</c>) when the build has no default
/// model.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == SaveLoadInNewProcess.Command)
            return SaveLoadInNewProcess.LoadAndSegment(args[1..]);
        if (args.Length > 1 && args[0] == Readme.ReadmeSnippetTests.Command)
            return Readme.ReadmeSnippetTests.Run(args[1]);
        if (args.Length > 4 && args[0] == SavedChainTests.PerRowCommand)
            return SavedChainTests.LoadPerRow(args[1..]);
        if (args.Length > 2 && args[0] == ThreadSafetyTests.Command)
            return ThreadSafetyTests.RunSharedEngine(args[1..]);
        if (args.Length > 1 && args[0] == QuietFallbackTests.Command)
            return QuietFallbackTests.SegmentAskingForGpu(args[1]);
        if (args.Length > 4 && args[0] == SizedImageColumnTests.Command)
            return SizedImageColumnTests.LoadResizedAndSegment(args[1..]);
        if (args.Length > 0 && args[0] == DefaultModelCacheTests.FileInPlaceCommand)
            return DefaultModelCacheTests.LoadDefaultOverAFile();
        if (args.Length > 1 && args[0] == "export-benchmark-package")
            return BenchmarkPackage.Export(args[1]);
        Console.Error.WriteLine($"usage: {SaveLoadInNewProcess.Command} <model.zip> <image folder> <output file>");
        return 2;
    }
}
