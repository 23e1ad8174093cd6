using LSeg.MLNet.Tests.MLNet;

namespace LSeg.MLNet.Tests;

/// <summary>
/// Entry point used only by the save/load test: it runs <c>dotnet LSeg.MLNet.Tests.dll load-and-segment …</c> so the
/// saved model is loaded in a process that never built it.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == SaveLoadInNewProcess.Command)
            return SaveLoadInNewProcess.LoadAndSegment(args[1..]);
        Console.Error.WriteLine($"usage: {SaveLoadInNewProcess.Command} <model.zip> <image folder> <output file>");
        return 2;
    }
}
