using LSeg.Tests.Shared;

namespace LSeg.Serving.Tests;

/// <summary>The README's "Serving" code is the example host's Program.cs, which builds with the solution: the two cannot drift.</summary>
public class ReadmeTests
{
    [Fact]
    public void The_readme_serving_block_is_the_example_host_program()
    {
        string root = SharedData.RepositoryRoot;
        var readme = File.ReadAllLines(Path.Combine(root, "README.md"));
        int section = Array.FindIndex(readme, l => l.StartsWith("## Serving", StringComparison.Ordinal));
        Assert.True(section >= 0, "README.md has no '## Serving' section");
        int start = Array.FindIndex(readme, section, l => l.StartsWith("```csharp", StringComparison.Ordinal));
        int end = Array.FindIndex(readme, start + 1, l => l.Trim() == "```");
        var block = readme[(start + 1)..end];
        var program = File.ReadAllLines(Path.Combine(root, "examples", "ServingHost", "Program.cs"))
            .Where(l => !l.TrimStart().StartsWith("//", StringComparison.Ordinal)).ToArray();

        Assert.Equal(program, block);
    }
}
