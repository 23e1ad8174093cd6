using System.CommandLine;
using LSeg.Cli.Common;
using LSeg.Training.Bridge.Training;

namespace LSeg.Cli.Commands;

/// <summary><c>lseg average --checkpoint A --checkpoint B … --out DIR</c>: the uniform weight average of fine-tunes, as a checkpoint folder.</summary>
internal static class AverageCommand
{
    public static Command Create(CliConsole console)
    {
        var checkpoints = new Option<string[]>("--checkpoint") { Description = "A checkpoint folder of 'lseg train' (repeat: two or more). All must share the network, the initial model and the prompt templates. After the first, a model package of the same network may also be given (for example the runs' initial model).", Required = true, HelpName = "DIR", AllowMultipleArgumentsPerToken = false };
        var output = new Option<string>("--out", "-o") { Description = "Checkpoint folder to write (must not exist or be empty); 'lseg export --checkpoint' reads it.", Required = true, HelpName = "DIR" }.NotEmpty();
        var command = new Command("average", "Average the weights of fine-tunes of one initial model (a 'model soup'): one network whose weights are the mean of the checkpoints', written as a checkpoint folder to export or evaluate.")
        {
            checkpoints, output,
        };
        command.SetAction(parsed => Run(console, parsed.GetRequiredValue(checkpoints), parsed.GetRequiredValue(output)));
        return command;
    }

    private static int Run(CliConsole console, string[] checkpoints, string output)
    {
        if (checkpoints.Length < 2)
            throw new CommandFailure($"--checkpoint: give two or more checkpoint folders to average; got {checkpoints.Length}.", ExitCodes.Usage);
        foreach (string checkpoint in checkpoints)
        {
            if (!Directory.Exists(checkpoint))
                throw new CommandFailure($"--checkpoint '{checkpoint}' is not a folder; give a checkpoint folder of 'lseg train' (for example runs/NAME/checkpoints/best) or a model package folder.");
        }
        if (Directory.Exists(output) && Directory.EnumerateFileSystemEntries(output).Any())
            throw new CommandFailure($"--out '{output}' is not empty; give a new folder.");
        OutputFolder.RequireWritable(output);
        CheckpointAveraging.AverageFolders(checkpoints, output);
        console.Out.WriteLine($"wrote {Path.GetFullPath(output)}: the mean of {checkpoints.Length} checkpoints' weights (export it with 'lseg export --checkpoint {output}')");
        return ExitCodes.Success;
    }
}
