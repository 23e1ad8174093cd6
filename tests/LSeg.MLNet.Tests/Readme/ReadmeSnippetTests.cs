using LSeg.Tests.Shared;

namespace LSeg.MLNet.Tests.Readme;

/// <summary>
/// The README code blocks compile with this assembly (Readme/ReadmeSnippets.targets); here they also run, in a child
/// process whose working folder holds a link to <c>examples/images</c>, on the default model embedded in the build.
/// </summary>
public sealed class ReadmeSnippetTests
{
    public const string Command = "run-readme";

    /// <summary>The child process: runs one README's blocks in order.</summary>
    public static int Run(string which)
    {
        if (which == "repository")
            Snippets.RepositoryReadme.Run();
        else
            Snippets.LibraryReadme.Run();
        Console.WriteLine("readme ran");
        return 0;
    }

    // Both READMEs compile; the repository README (the longer story: pipeline, engine, save/load, relabel, low-level
    // API, overlay) also runs. Running the library README too would cost two more minutes of default-model loading.
    [SkippableTheory]
    [InlineData("repository")]
    public void The_readme_code_runs_as_written(string which)
    {
        Skip.IfNot(LanguageSegmentationModel.HasDefaultModel, "the README code uses the default model, which this build does not embed");
        string folder = Path.Combine(Path.GetTempPath(), "lseg-readme-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(Path.Combine(folder, "examples"));
        Directory.CreateSymbolicLink(Path.Combine(folder, "examples", "images"), Path.Combine(SharedData.RepositoryRoot, "examples", "images"));
        try
        {
            var (exitCode, stdout, stderr) = ChildProcess.Run(folder, TimeSpan.FromMinutes(5), Command, which);

            Assert.True(exitCode == 0, $"{stdout}\n{stderr}");
            Assert.Contains("readme ran", stdout);
            if (which == "repository")
            {
                Assert.Matches(@"451x300, centre: cat", stdout);           // chelsea.png: a cat's face fills the middle
                Assert.True(new FileInfo(Path.Combine(folder, "chelsea.overlay.png")).Length > 0);
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
