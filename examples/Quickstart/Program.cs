// Quickstart: segment a photo with any text labels on the default model (LSeg.MLNet.DefaultModel, referenced by this project).
//   dotnet run --project examples/Quickstart [IMAGE [LABELS [MODEL_PACKAGE]]]
// e.g. dotnet run --project examples/Quickstart -- examples/images/chelsea.png "cat, wall, other"
using LSeg.Examples;
using LSeg.MLNet;
using LSeg.MLNet.Imaging;

string imagePath = args.Length > 0 ? args[0] : ExampleFiles.Image("chelsea.png");
string[] labels = (args.Length > 1 ? args[1] : "cat, wall, other")
    .Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);

// The default model comes from LSeg.MLNet.DefaultModel; a package directory can be given instead.
using var model = args.Length > 2 ? LanguageSegmentationModel.Load(args[2]) : LanguageSegmentationModel.LoadDefault();
using var image = ImageFileReader.Read(imagePath); // refuses a truncated or corrupt file (MLImage.CreateFromFile paints the missing part grey)

SegmentationResult result = model.Segment(image, labels);

Console.WriteLine($"{Path.GetFileName(imagePath)} ({result.Width}x{result.Height}) with model {model.Manifest.Name}:");
long total = (long)result.Width * result.Height;
for (int i = 0; i < result.Labels.Count; i++)
    Console.WriteLine($"  {result.Labels[i],-12} {100.0 * result.PixelCounts[i] / total,5:0.0}% of the pixels");

// A coarse text picture of the label map: one character per cell, the first letter of the winning label.
const int columns = 48;
int rows = Math.Max(1, columns * result.Height / result.Width / 2);
for (int row = 0; row < rows; row++)
{
    var line = new char[columns];
    for (int column = 0; column < columns; column++)
    {
        int x = (column * 2 + 1) * result.Width / (columns * 2);
        int y = (row * 2 + 1) * result.Height / (rows * 2);
        line[column] = result.LabelAt(x, y)[0];
    }
    Console.WriteLine("  " + new string(line));
}
Console.WriteLine("(`lseg segment` writes the mask and a coloured overlay PNG for the same call.)");
