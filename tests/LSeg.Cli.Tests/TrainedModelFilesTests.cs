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

    [Fact]
    public void A_label_two_datasets_spell_differently_is_one_label_of_the_zip_as_the_package_reads_labels()
    {
        using var temp = new TempDirectory();
        string first = TinyDataset.Write(temp.Combine("first"));
        string second = TinyDataset.Write(temp.Combine("second"));
        // The second dataset writes "Red" and " GRASS": the package ignores case and surrounding spaces, and refuses a
        // label set that holds both spellings (this was found only after the last epoch, when the zip was written).
        var config = TrainingConfig.Parse($$"""
            { "datasets": [ { "name": "first", "folder": {{System.Text.Json.JsonSerializer.Serialize(first)}}, "labelNames": { "green": "grass" } },
                            { "name": "second", "folder": {{System.Text.Json.JsonSerializer.Serialize(second)}}, "labelNames": { "red": "Red", "green": " GRASS" } } ] }
            """);

        Assert.Equal(["red", "blue", "grass"], TrainedModelFiles.TrainingLabels(config));
    }
}
