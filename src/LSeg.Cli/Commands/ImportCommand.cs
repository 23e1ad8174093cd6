using System.CommandLine;
using LSeg.Cli.Common;
using LSeg.Training.Bridge.Import;
using LSeg.Training.Bridge.Network;

namespace LSeg.Cli.Commands;

/// <summary><c>lseg import --checkpoint FILE --clip-bpe FILE --out DIR</c>: the official lang-seg checkpoint to a model package.</summary>
internal static class ImportCommand
{
    public static Command Create(CliConsole console)
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "The official lang-seg checkpoint: a Lightning .ckpt, a torch.save state dict or a safetensors file.", Required = true, HelpName = "FILE" };
        var clipBpe = new Option<string>("--clip-bpe") { Description = $"OpenAI CLIP's BPE merges file ({OfficialCheckpointImporter.ClipBpeFileName}), copied into the package for the tokenizer.", Required = true, HelpName = "FILE" };
        var output = new Option<string>("--out", "-o") { Description = "Package directory to create (it appears only once complete).", Required = true, HelpName = "DIR" }.NotEmpty();
        var name = new Option<string?>("--name") { Description = "Model name recorded in the manifest (default: from the checkpoint).", HelpName = "NAME" };
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace an existing package at --out." };
        // The checkpoint stores the spatial block's weights but not its kind, depth or activation (lang-seg's
        // --arch_option, --block_depth, --activation), so a checkpoint trained with one needs them from the user.
        var spatialBlock = new Option<SpatialBlock?>("--spatial-block")
        {
            Description = "Spatial regularisation the checkpoint was trained with (lang-seg --arch_option: 0 = none, 1 = bottleneck, 2 = depthwise); needed when it has scratch.head_block weights.",
            HelpName = "none|depthwise|bottleneck",
            // Both blocks have the same weights, so a wrong kind imports without an error and gives wrong masks: lang-seg's
            // numbers are read as lang-seg means them (the enum's own numbering differs), anything else is refused.
            CustomParser = result => result.Tokens.Single().Value.ToLowerInvariant() switch
            {
                "none" or "0" => SpatialBlock.None,
                "bottleneck" or "1" => SpatialBlock.Bottleneck,
                "depthwise" or "2" => SpatialBlock.Depthwise,
                string other => Refuse<SpatialBlock>(result, $"--spatial-block '{other}' is not a spatial block; give none, depthwise or bottleneck (lang-seg --arch_option 0, 2 or 1)."),
            },
        };
        var spatialDepth = new Option<int>("--spatial-depth") { Description = "How many times the spatial block is applied (lang-seg --block_depth), 1 to 4.", HelpName = "N" };
        var spatialActivation = new Option<SpatialActivation?>("--spatial-activation")
        {
            Description = "The spatial block's activation (lang-seg --activation: lrelu, relu or tanh; lrelu by default).",
            HelpName = "lrelu|relu|tanh",
            // lang-seg's own spelling, lrelu, as well as the enum's name.
            CustomParser = result => result.Tokens.Single().Value.ToLowerInvariant() switch
            {
                "lrelu" or "leakyrelu" => SpatialActivation.LeakyRelu,
                "relu" => SpatialActivation.Relu,
                "tanh" => SpatialActivation.Tanh,
                string other => Refuse<SpatialActivation>(result, $"--spatial-activation '{other}' is not an activation; give lrelu, relu or tanh (lang-seg --activation)."),
            },
        };
        var command = new Command("import", "Import the official lang-seg checkpoint (ViT-L/16, ViT-B/32 or ResNet-101 with CLIP) into a model package with the CLIP text encoder.")
        {
            checkpoint, clipBpe, output, name, overwrite, spatialBlock, spatialDepth, spatialActivation,
        };
        command.SetAction(parsed => Run(console, parsed.GetRequiredValue(checkpoint), parsed.GetRequiredValue(clipBpe), parsed.GetRequiredValue(output),
            parsed.GetValue(name), parsed.GetValue(overwrite),
            (parsed.GetValue(spatialBlock), parsed.GetValue(spatialDepth), parsed.GetValue(spatialActivation))));
        return command;
    }

    /// <summary>Reports <paramref name="message"/> as the option's parse error (exit 2).</summary>
    private static T? Refuse<T>(System.CommandLine.Parsing.ArgumentResult result, string message)
        where T : struct
    {
        result.AddError(message);
        return null;
    }

    private static int Run(CliConsole console, string checkpoint, string clipBpe, string output, string? name, bool overwrite,
        (SpatialBlock? Block, int Depth, SpatialActivation? Activation) spatial)
    {
        if (spatial.Depth is < 0 or > 4)
            throw new CommandFailure($"--spatial-depth must be 1 to 4; got {spatial.Depth}.", ExitCodes.Usage);
        // Checked before the checkpoint is read (minutes for ViT-L/16): an option that would be ignored, or a block
        // without its depth, is a mistake in the command line.
        bool block = spatial.Block is { } kind && kind != SpatialBlock.None;
        if (block && spatial.Depth == 0)
            throw new CommandFailure($"--spatial-block {spatial.Block!.Value.ToString().ToLowerInvariant()} needs --spatial-depth 1 to 4 (lang-seg --block_depth).", ExitCodes.Usage);
        if (!block && (spatial.Depth != 0 || spatial.Activation is not null))
            throw new CommandFailure("--spatial-depth and --spatial-activation apply only with --spatial-block bottleneck or depthwise.", ExitCodes.Usage);
        if (!File.Exists(checkpoint))
            throw CommandFailure.NoFile("Checkpoint", checkpoint);
        if (Directory.Exists(clipBpe))
            throw CommandFailure.NoFile("CLIP BPE file", clipBpe);
        if (!File.Exists(clipBpe))
            throw new CommandFailure($"CLIP BPE file '{clipBpe}' does not exist (it is {OfficialCheckpointImporter.ClipBpeFileName} from OpenAI's CLIP).");
        OutputFolder.RequireReplaceablePackage(output, overwrite, checkpoint, clipBpe);
        var report = OfficialCheckpointImporter.Import(checkpoint, clipBpe, output, new OfficialCheckpointImportOptions
        {
            Name = name,
            Overwrite = overwrite,
            SpatialBlock = spatial.Block,
            SpatialDepth = spatial.Depth,
            SpatialActivation = spatial.Activation ?? SpatialActivation.LeakyRelu,
            // The importer logs each warning as it finds it ("warning: …"); the report's list is not printed again.
            Log = message => console.Out.WriteLine(message),
        });
        console.Out.WriteLine($"imported {report.CheckpointKind}: backbone {report.Network.Backbone}, embedding {report.Network.EmbeddingSize}, {report.ImageTensorCount} image and {report.TextTensorCount} text tensors ({Sizes.Human(report.KeptBytes)}); dropped {report.Dropped.Values.Sum()} tensors");
        console.Out.WriteLine($"wrote {Path.GetFullPath(output)}");
        return ExitCodes.Success;
    }
}
