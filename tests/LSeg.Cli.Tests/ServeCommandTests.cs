using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;
using LSeg.MLNet.Tests.Packages;

namespace LSeg.Cli.Tests;

/// <summary>
/// <c>lseg serve</c> as a real process: it prints where it listens, answers, and on SIGTERM finishes and exits 0;
/// bad arguments are one line and a non-zero exit. <c>lseg bench serve</c> runs a short bounded load.
/// </summary>
public class ServeCommandTests
{
    [Fact]
    public async Task Serve_listens_on_loopback_answers_and_stops_cleanly_on_sigterm()
    {
        using var temp = new TempDirectory();
        string package = ColourModelPackage.Write(temp.Path);
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = temp.Path };
        foreach (string arg in new[] { CliRunner.CliDllPath, "serve", "--model", package, "--urls", "http://127.0.0.1:0" })
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            string? line = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromMinutes(2));
            var listening = Regex.Match(line ?? "", @"^lseg serve: listening on (http://127\.0\.0\.1:\d+) ");
            Assert.True(listening.Success, $"first line: {line}\nstderr: {(process.HasExited ? await stderr : "")}");
            using var client = new HttpClient { BaseAddress = new Uri(listening.Groups[1].Value + "/") };

            var ready = await client.GetAsync("readyz");
            var page = await client.GetAsync("");
            var form = new MultipartFormDataContent
            {
                { new ByteArrayContent(File.ReadAllBytes(Images.RedLeftBlueRight(temp.Combine("halves.png"), 64, 48))), "image", "halves.png" },
                { new StringContent("red, blue"), "labels" },
            };
            var segmented = await client.PostAsync("v1/segment", form);
            var unknownPath = await client.GetAsync("v1/no-such-endpoint");

            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            Assert.Contains("\"labels\":[\"red\",\"blue\"]", await segmented.Content.ReadAsStringAsync());
            // What no endpoint answers is problem+json too, as the API's own refusals.
            Assert.Equal(HttpStatusCode.NotFound, unknownPath.StatusCode);
            Assert.Equal("application/problem+json", unknownPath.Content.Headers.ContentType?.MediaType);
        }
        finally
        {
            using var kill = Process.Start("kill", ["-TERM", process.Id.ToString()]);
            await kill.WaitForExitAsync();
        }
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));
        string rest = await process.StandardOutput.ReadToEndAsync();
        Assert.True(process.ExitCode == 0, $"exit {process.ExitCode}\n{rest}\n{await stderr}");
        Assert.Contains("lseg serve: stopped", rest);
    }

    [Theory]
    [InlineData("--concurrency", "0", "lseg serve: --concurrency 0 is out of range: give how many requests run the model at once, 1 or more.")]
    [InlineData("--queue", "-1", "lseg serve: --queue -1 is out of range: give how many requests may wait for the model, 0 or more.")]
    [InlineData("--cache-mb", "0", "lseg serve: --cache-mb 0 is out of range: give the encoded-image cache's memory bound in MiB, 1 or more.")]
    public void Serve_refuses_an_out_of_range_number_as_a_command_line_mistake_naming_the_flag(string flag, string value, string expected)
    {
        using var temp = new TempDirectory();

        var result = CliRunner.RunInProcess("serve", "--model", ColourModelPackage.Write(temp.Path), flag, value);

        Assert.Equal(2, result.ExitCode);
        Assert.Equal([expected], result.ErrorLines);
    }

    [SkippableFact]
    public void Serve_with_a_cache_too_small_for_one_encoded_image_says_so_in_one_line_naming_the_flag()
    {
        Skip.IfNot(LSeg.MLNet.LanguageSegmentationModel.HasDefaultModel, "this build embeds no default model (models/default/ was absent at build time)");
        // A real process: the host's own logging goes to the process's stderr, which an in-process run would not see.
        // The default model's encoded image takes about 12.6 MiB at its input size; 1 MiB cannot hold one.
        var result = CliRunner.RunProcess(Path.GetTempPath(), "serve", "--cache-mb", "1", "--urls", "http://127.0.0.1:0");

        Assert.Equal(1, result.ExitCode);
        string line = Assert.Single(result.ErrorLines);
        Assert.StartsWith("lseg serve: --cache-mb 1 cannot hold one encoded image of model", line);
    }

    [SkippableFact]
    public void Serve_sizes_the_cache_check_with_the_input_size_given_by_flag()
    {
        Skip.IfNot(LSeg.MLNet.LanguageSegmentationModel.HasDefaultModel, "this build embeds no default model (models/default/ was absent at build time)");
        // 20 MiB holds one image at the model's 320 (12.6 MiB) but not at 640 (50.4 MiB); a size out of range is the command line's mistake.
        var tooSmall = CliRunner.RunProcess(Path.GetTempPath(), "serve", "--cache-mb", "20", "--size", "640", "--urls", "http://127.0.0.1:0");
        var outOfRange = CliRunner.RunInProcess("serve", "--size", "4000");

        Assert.Equal(1, tooSmall.ExitCode);
        Assert.Contains("50.4 MiB at input size 640", Assert.Single(tooSmall.ErrorLines));
        Assert.Equal(2, outOfRange.ExitCode);
        Assert.StartsWith("lseg serve: --size 4000 is out of range", Assert.Single(outOfRange.ErrorLines));
    }

    [Fact]
    public void Serve_refuses_a_missing_model_and_a_bad_address_in_one_line()
    {
        using var temp = new TempDirectory();

        var noModel = CliRunner.RunInProcess("serve", "--model", temp.Combine("nothing"));
        var badUrl = CliRunner.RunInProcess("serve", "--model", ColourModelPackage.Write(temp.Path), "--urls", "127.0.0.1:5000");

        Assert.NotEqual(0, noModel.ExitCode);
        Assert.Single(noModel.ErrorLines);
        Assert.Contains("nothing", noModel.StdErr);
        Assert.Equal(2, badUrl.ExitCode);
        Assert.Equal(["lseg serve: --urls '127.0.0.1:5000' is not an http:// or https:// address, e.g. http://127.0.0.1:5000."], badUrl.ErrorLines);
    }

    [Fact]
    public void Bench_serve_runs_a_bounded_load_and_reports_no_error_and_no_wrong_mask()
    {
        using var temp = new TempDirectory();
        string package = ColourModelPackage.Write(temp.Path);

        var result = CliRunner.RunInProcess("bench", "serve", "--model", package, "--clients", "3", "--requests", "30", "--seconds", "60",
            "--labels", "red, green, blue", "--labels", "white, black");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("30 of 30 requests answered", result.StdOut);
        Assert.Contains("errors 0; wrong masks 0", result.StdOut);
        Assert.Matches(@"full  POST /v1/segment\s+\d+\s+\d+\.\d", result.StdOut);
        Assert.Matches(@"label change  /segment\s+\d+\s+\d+\.\d", result.StdOut);
        Assert.Matches(@"peak working set \d+ MB", result.StdOut);
    }
}
