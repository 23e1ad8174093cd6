using LSeg.Cli.Common;

namespace LSeg.Cli.Tests;

/// <summary>Behaviour shared by every command: help, usage errors, label parsing.</summary>
public class CommandLineTests
{
    [Theory]
    [InlineData("a, b, other", new[] { "a", "b", "other" })]
    [InlineData("  dog ,grass,,  sky  ", new[] { "dog", "grass", "sky" })]
    [InlineData("a cat", new[] { "a cat" })]
    public void Labels_are_split_on_commas_and_trimmed(string text, string[] expected)
    {
        Assert.Equal(expected, LabelList.Parse(text));
    }

    [Theory]
    [InlineData(",,, ,")]
    [InlineData("")]
    [InlineData("   ")]
    public void A_label_list_without_labels_is_refused(string text)
    {
        var failure = Assert.Throws<CommandFailure>(() => LabelList.Parse(text));
        Assert.Contains("--labels", failure.Message);
        Assert.Equal(ExitCodes.Usage, failure.ExitCode);
    }

    [Fact]
    public void A_mask_PNG_holds_256_labels_so_256_are_accepted_and_257_refused()
    {
        string Labels(int count) => string.Join(", ", Enumerable.Range(0, count).Select(i => $"label {i}"));

        var accepted = LabelList.Parse(Labels(256)); // indices 0 … 255, every one an 8-bit value
        var failure = Assert.Throws<CommandFailure>(() => LabelList.Parse(Labels(257)));

        Assert.Equal(256, accepted.Count);
        Assert.Contains("has 257 labels; a mask PNG holds 8-bit label indices (0 to 255), so at most 256 labels", failure.Message);
        Assert.Equal(ExitCodes.Usage, failure.ExitCode);
    }

    [Fact]
    public void A_repeated_label_is_refused()
    {
        var failure = Assert.Throws<CommandFailure>(() => LabelList.Parse("dog, cat, dog"));
        Assert.Contains("\"dog\"", failure.Message);
        Assert.Equal(ExitCodes.Usage, failure.ExitCode);
    }

    [Fact]
    public void Printed_user_text_keeps_zero_width_joiners_and_escapes_what_could_take_over_the_terminal()
    {
        string persian = "\u0645\u06CC\u200C\u062E\u0648\u0627\u0647\u0645.png";  // a zero-width non-joiner inside a word
        string family = "\U0001F468\u200D\U0001F469\u200D\U0001F467";          // an emoji sequence joined by U+200D

        Assert.Equal(persian, TerminalText.Escape(persian));
        Assert.Equal(family, TerminalText.Escape(family));
        Assert.Equal(@"evil\u202Egnp.exe", TerminalText.Escape("evil\u202Egnp.exe"));
        Assert.Equal("red  90.0\n" + @"\u001B[31mblue  80.0" + "\n", TerminalText.EscapeLines("red  90.0\n\u001B[31mblue  80.0\n"));
    }

    [Fact]
    public void A_label_repeated_in_another_case_is_refused_as_a_usage_error()
    {
        // The text encoders lower-case their input: "Dog" and "dog" get one embedding, which the model refuses later
        // with exit 1 and without naming the flag.
        var failure = Assert.Throws<CommandFailure>(() => LabelList.Parse("Dog, cat, dog"));
        Assert.Contains("as \"Dog\" and \"dog\"", failure.Message);
        Assert.Equal(ExitCodes.Usage, failure.ExitCode);
    }

    [Fact]
    public void The_root_help_lists_the_commands_and_exits_zero()
    {
        var result = CliRunner.RunProcess(Path.GetTempPath(), "--help");

        Assert.True(result.ExitCode == 0, result.ToString());
        foreach (string command in new[] { "info" })
            Assert.Contains(command, result.StdOut);
    }

    [Fact]
    public void An_unknown_option_is_one_line_naming_it_and_exit_code_2()
    {
        var result = CliRunner.RunInProcess("info", "--model", "x", "--colour", "red");

        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        var line = Assert.Single(result.ErrorLines);
        Assert.Contains("--colour", line);
    }

    [Fact]
    public void A_missing_required_option_is_one_line_naming_it()
    {
        var result = CliRunner.RunInProcess("evaluate", "--json");

        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.Contains("--data", Assert.Single(result.ErrorLines));
    }

    [Fact]
    public void An_image_named_with_a_leading_at_sign_is_a_file_name_not_a_response_file()
    {
        using var temp = new TempDirectory();
        string package = LSeg.MLNet.Tests.Packages.ColourModelPackage.Write(temp.Path);
        Images.RedLeftBlueRight(temp.Combine("@home.png"));

        var result = CliRunner.RunProcess(temp.Path, "segment", "@home.png", "--labels", "red, blue", "--model", package, "--out", "out");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(["@home.mask.png", "@home.overlay.png"], new TempDirectory.View(temp.Combine("out")).Files());
    }

    [Fact]
    public void A_label_list_with_a_leading_at_sign_is_the_labels_themselves_not_a_file_to_read()
    {
        // With response files on, "@list" is replaced by the words of a file of that name (or refused when there is none).
        var parsed = CliApp.BuildRootCommand(new CliConsole(TextWriter.Null, TextWriter.Null)).Parse(["segment", "a.png", "--labels", "@list"], CliApp.ParserConfiguration);

        Assert.Empty(parsed.Errors);
        Assert.Equal("@list", parsed.GetValue<string>("--labels"));
        Assert.Equal(["a.png"], parsed.GetValue<string[]>("IMAGE")!);
    }

    [Fact]
    public void After_a_double_dash_an_argument_starting_with_a_dash_is_a_file_name()
    {
        using var temp = new TempDirectory();
        string package = LSeg.MLNet.Tests.Packages.ColourModelPackage.Write(temp.Path);
        Images.RedLeftBlueRight(temp.Combine("-dash.png"));

        var result = CliRunner.RunProcess(temp.Path, "segment", "--labels", "red, blue", "--model", package, "--out", "out", "--", "-dash.png");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(["-dash.mask.png", "-dash.overlay.png"], new TempDirectory.View(temp.Combine("out")).Files());
    }

    [Fact]
    public void Before_a_double_dash_an_argument_starting_with_a_dash_is_still_an_unknown_option()
    {
        var result = CliRunner.RunInProcess("segment", "-dash.png", "--labels", "red, blue", "--", "a.png");

        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        var line = Assert.Single(result.ErrorLines);
        Assert.Contains("Unknown option '-dash.png'", line);
        Assert.DoesNotContain("'a.png'", line);
    }

    [Fact]
    public void Plain_text_progress_prints_a_line_for_every_item_the_last_one_included()
    {
        var output = new StringWriter();
        var progress = new PlainProgress(output, "Segmenting", 3);

        for (int i = 0; i < 3; i++)
            progress.Advance();

        Assert.Equal(["Segmenting: 1/3 (33%)", "Segmenting: 2/3 (66%)", "Segmenting: 3/3 (100%)"], output.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries));
    }
}
