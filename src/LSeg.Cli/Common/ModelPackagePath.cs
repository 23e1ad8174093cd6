using LSeg.MLNet.Package;

namespace LSeg.Cli.Common;

/// <summary>Checks a <c>--model</c> value before anything is loaded, so a wrong path fails with one clear line.</summary>
internal static class ModelPackagePath
{
    /// <summary>
    /// Returns the package directory named by <paramref name="path"/> (a package directory, or its
    /// <c>manifest.json</c>).
    /// </summary>
    /// <exception cref="CommandFailure">The path does not exist or is not an LSeg model package.</exception>
    public static string Require(string path)
    {
        path = ModelManifest.PackageDirectory(path);
        if (File.Exists(path))
            throw new CommandFailure($"Model path '{path}' is a file; --model takes a model package directory (one holding {ModelManifest.FileName}).");
        if (!Directory.Exists(path))
            throw new CommandFailure($"Model package '{path}' does not exist.");
        if (!File.Exists(Path.Combine(path, ModelManifest.FileName)))
            throw new CommandFailure($"'{path}' is not an LSeg model package: it has no {ModelManifest.FileName}.");
        return path;
    }
}
