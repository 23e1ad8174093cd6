using LSeg.Cli.Training;
using LSeg.Training.Bridge.Training;

namespace LSeg.Cli.Tests;

public sealed class TrainedModelFilesTests
{
    [Fact]
    public void The_zips_labels_are_the_trained_ones_matching_class_names_ignoring_case_as_training_does()
    {
        using var temp = new TempDirectory();
        string data = TinyDataset.Write(temp.Combine("data"));
        // Classes red, blue, green; the configuration spells them as a user might: "Blue" excluded, "GREEN" renamed.
        var config = TrainingConfig.Parse($$"""
            { "datasets": [ { "name": "tiny", "folder": {{System.Text.Json.JsonSerializer.Serialize(data)}},
              "excludedClasses": ["Blue"], "labelNames": { "GREEN": "grass" } } ] }
            """);

        Assert.Equal(["red", "grass"], TrainedModelFiles.TrainingLabels(config));
    }
}
