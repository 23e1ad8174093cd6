// Usage: LSeg.GpuCheck PACKAGE [images] [size] [FLOAT16_PACKAGE]   the check (see GpuCheck.Run)
//        LSeg.GpuCheck table PACKAGE OUT                           a copy of PACKAGE with a label table instead of its text encoder
if (args.Length == 3 && args[0] == "table")
{
    LSeg.GpuCheck.GpuCheck.WriteTablePackage(args[1], args[2], Console.Out);
    return 0;
}
if (args.Length is < 1 or > 4)
{
    Console.Error.WriteLine("usage: LSeg.GpuCheck PACKAGE [images] [size] [FLOAT16_PACKAGE] | LSeg.GpuCheck table PACKAGE OUT");
    return 64;
}
int images = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 8;
int size = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 480;
string? float16 = args.Length > 3 && Directory.Exists(args[3]) ? args[3] : null;
return LSeg.GpuCheck.GpuCheck.Run(args[0], float16, images, size, Console.Out);
