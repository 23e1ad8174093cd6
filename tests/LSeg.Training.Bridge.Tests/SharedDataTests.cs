using LSeg.Tests.Shared;

namespace LSeg.Training.Bridge.Tests;

public class SharedDataTests
{
    [SkippableFact]
    public void MsrcClassListHasVoidAndTwentyThreeClasses()
    {
        string classes = SharedData.RequireDirectory("msrc-v2", "classes.txt");
        var lines = File.ReadAllLines(classes).Where(l => l.Trim().Length > 0).ToArray();
        Assert.Equal(24, lines.Length);
    }
}
