using System.Text;
using System.Text.Json;
using LSeg.MLNet.IO;

namespace LSeg.Training.Bridge.Network;

/// <summary>Training checkpoints: the configuration (JSON) and every weight and buffer, in one file.</summary>
public sealed partial class LSegNet
{
    private const string CheckpointMagic = "LSEG-CHECKPOINT";
    private const int CheckpointVersion = 1;

    private static readonly JsonSerializerOptions ConfigJson = new() { WriteIndented = false };

    /// <summary>
    /// Writes the configuration and all weights to <paramref name="path"/> (a new file replaces an existing one only
    /// once completely written).
    /// </summary>
    public void SaveCheckpoint(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        AtomicFile.WriteStream(path, stream =>
        {
            using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
            writer.Write(CheckpointMagic);
            writer.Write(CheckpointVersion);
            writer.Write(JsonSerializer.Serialize(Config, ConfigJson));
            save(writer);
        });
    }

    /// <summary>Reads a checkpoint written by <see cref="SaveCheckpoint"/>: builds the network from its configuration, then loads every weight.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not an LSeg checkpoint or has an unknown version.</exception>
    public static LSegNet LoadCheckpoint(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"Checkpoint '{path}' does not exist.", path);
        using var stream = File.OpenRead(path);
        using var reader = new BinaryReader(stream, Encoding.UTF8);
        LSegNetConfig config;
        try
        {
            string magic = reader.ReadString();
            if (magic != CheckpointMagic)
                throw new InvalidDataException($"'{path}' is not an LSeg checkpoint (it does not start with '{CheckpointMagic}').");
            int version = reader.ReadInt32();
            if (version != CheckpointVersion)
                throw new InvalidDataException($"'{path}' has checkpoint version {version}; this library reads version {CheckpointVersion}.");
            config = JsonSerializer.Deserialize<LSegNetConfig>(reader.ReadString(), ConfigJson)
                ?? throw new InvalidDataException($"'{path}' holds an empty configuration.");
        }
        catch (Exception e) when (e is IOException or JsonException)
        {
            throw new InvalidDataException($"'{path}' is not a readable LSeg checkpoint: {e.Message}", e);
        }
        var net = Create(config, pretrainedBackbone: false);
        try
        {
            net.load(reader, strict: true);
        }
        catch
        {
            net.Dispose();
            throw;
        }
        return net;
    }
}
