using LSeg.Training.Bridge.Quantization;
using LSeg.Training.Bridge.Tests.Export;

namespace LSeg.Training.Bridge.Tests.Quantization;

/// <summary>What an interrupted quantization leaves in the temporary folder is deleted by a later one, once abandoned.</summary>
public sealed class QuantizationWorkFolderTests
{
    [Fact]
    public void Work_folders_a_day_old_are_deleted_while_younger_ones_and_other_folders_stay()
    {
        using var temp = new ExportTestNets.TempDirectory();
        var now = DateTime.UtcNow;
        string Folder(string name, TimeSpan age)
        {
            string path = Path.Combine(temp.Root, name);
            Directory.CreateDirectory(path);
            File.WriteAllText(Path.Combine(path, "preprocessed.onnx"), "x");
            Directory.SetLastWriteTimeUtc(path, now - age);
            return path;
        }
        string abandoned = Folder("lseg-quantize-0badc0de", TimeSpan.FromHours(25));
        string running = Folder("lseg-quantize-0000beef", TimeSpan.FromMinutes(5));
        string unrelated = Folder("someone-elses-folder", TimeSpan.FromDays(30));

        ModelPackageQuantizer.DeleteAbandonedWorkFolders(temp.Root, now);

        Assert.False(Directory.Exists(abandoned), "a work folder unused for 25 hours is still there");
        Assert.True(Directory.Exists(running), "a work folder 5 minutes old (a run in progress) was deleted");
        Assert.True(Directory.Exists(unrelated), "a folder quantization did not make was deleted");
    }
}
