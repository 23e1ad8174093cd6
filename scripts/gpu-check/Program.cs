// Usage: LSeg.GpuCheck [package directory] [images] [size]
// Without a package directory it checks the default model embedded in LSeg.MLNet.
string? package = args.Length > 0 && args[0] != "-" ? args[0] : null;
int images = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 8;
int size = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 480;
return LSeg.GpuCheck.GpuCheck.Run(package, images, size, Console.Out);
