using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;

namespace LSeg.MLNet.Text;

/// <summary>
/// Reads managed resources out of a .NET assembly file without loading it into the process, so none of its code
/// (or its dependencies, such as a second ONNX Runtime) is ever run.
/// </summary>
internal static class EmbeddedResourceReader
{
    /// <summary>Returns the bytes of the named manifest resource embedded in <paramref name="assemblyPath"/>.</summary>
    /// <exception cref="FileNotFoundException">The assembly file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not an assembly or has no such embedded resource.</exception>
    public static byte[] Read(string assemblyPath, string resourceName)
    {
        if (!File.Exists(assemblyPath))
            throw new FileNotFoundException($"Assembly '{assemblyPath}' holding resource '{resourceName}' does not exist.", assemblyPath);
        using var stream = File.OpenRead(assemblyPath);
        using var pe = new PEReader(stream, PEStreamOptions.PrefetchEntireImage);
        if (!pe.HasMetadata || pe.PEHeaders.CorHeader is null)
            throw new InvalidDataException($"'{assemblyPath}' is not a .NET assembly.");
        var metadata = pe.GetMetadataReader();
        foreach (var handle in metadata.ManifestResources)
        {
            var resource = metadata.GetManifestResource(handle);
            if (!resource.Implementation.IsNil || metadata.GetString(resource.Name) != resourceName)
                continue;
            // Embedded resources live in the CLI resources directory: a 4-byte little-endian length, then the bytes.
            var directory = pe.PEHeaders.CorHeader.ResourcesDirectory;
            var section = pe.GetSectionData(directory.RelativeVirtualAddress);
            var reader = section.GetReader((int)resource.Offset, directory.Size - (int)resource.Offset);
            int length = reader.ReadInt32();
            return reader.ReadBytes(length);
        }
        throw new InvalidDataException($"Assembly '{assemblyPath}' has no embedded resource named '{resourceName}'.");
    }
}
