using System.Text.Json;
using System.Text.Json.Nodes;
using LSeg.Training.Bridge.Network;

namespace LSeg.Training.Bridge.Training;

/// <summary>
/// A checkpoint folder as <c>lseg train</c> writes it (<see cref="Trainer.ModelFileName"/> and
/// <see cref="Trainer.NetConfigFileName"/>, with the run's <see cref="Trainer.RunConfigFileName"/> beside them): the one
/// reader of its network, for <c>lseg export</c> and <see cref="CheckpointAveraging"/>.
/// </summary>
public static class CheckpointFolder
{
    /// <summary>Reads the network configuration of the checkpoint folder <paramref name="folder"/>.</summary>
    /// <exception cref="FileNotFoundException">The folder lacks the network configuration or the weights.</exception>
    /// <exception cref="InvalidDataException">The network configuration is not valid JSON.</exception>
    public static LSegNetConfig ReadNetworkConfig(string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        string configPath = Path.Combine(folder, Trainer.NetConfigFileName);
        if (!File.Exists(configPath) || !File.Exists(Path.Combine(folder, Trainer.ModelFileName)))
            throw new FileNotFoundException($"Checkpoint folder '{folder}' needs {Trainer.NetConfigFileName} and {Trainer.ModelFileName} (as 'lseg train' writes them).", configPath);
        try
        {
            return JsonSerializer.Deserialize<LSegNetConfig>(File.ReadAllText(configPath), new JsonSerializerOptions(JsonSerializerDefaults.Web))
                ?? throw new InvalidDataException($"'{configPath}' is empty.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"'{configPath}' is not a valid network configuration: {e.Message}", e);
        }
    }

    /// <summary>The run configuration saved in a checkpoint folder; null for a checkpoint file or a folder without one.</summary>
    /// <exception cref="InvalidDataException">The run configuration is not valid JSON.</exception>
    public static JsonNode? ReadRunConfig(string checkpoint)
    {
        string path = Path.Combine(checkpoint, Trainer.RunConfigFileName);
        if (!Directory.Exists(checkpoint) || !File.Exists(path))
            return null;
        try
        {
            // Only a few fields are read: the run's datasets need not exist where the checkpoint is used.
            return JsonNode.Parse(File.ReadAllText(path));
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"The checkpoint's run configuration '{path}' is not valid JSON: {e.Message}", e);
        }
    }

    /// <summary>Builds the network of the checkpoint folder <paramref name="folder"/> and loads its weights.</summary>
    /// <exception cref="FileNotFoundException">The folder lacks the network configuration or the weights.</exception>
    /// <exception cref="InvalidDataException">The network configuration is not valid JSON.</exception>
    public static LSegNet LoadNetwork(string folder) => LoadNetwork(folder, ReadNetworkConfig(folder));

    /// <summary>Builds <paramref name="config"/>'s network and loads the weights of <paramref name="folder"/> into it.</summary>
    internal static LSegNet LoadNetwork(string folder, LSegNetConfig config)
    {
        var net = LSegNet.Create(config, pretrainedBackbone: false);
        try
        {
            net.load(Path.Combine(folder, Trainer.ModelFileName));
            return net;
        }
        catch
        {
            net.Dispose();
            throw;
        }
    }
}
