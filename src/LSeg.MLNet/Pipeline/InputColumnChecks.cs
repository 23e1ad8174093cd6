using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;

namespace LSeg.MLNet.Pipeline;

/// <summary>
/// The checks of LanguageSegment's input columns, shared by the estimator (at Fit and GetOutputSchema) and the
/// transformer (at Transform and for a PredictionEngine), so that a wrong column is named as the caller named it, never
/// as the pipeline's internal copy of it.
/// </summary>
internal static class InputColumnChecks
{
    /// <summary>Checks the image column (and the labels column, when labels come per row) of <paramref name="schema"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A column is missing or of the wrong type.</exception>
    public static void Require(DataViewSchema schema, string imageColumn, string? labelsColumn, string parameterName)
    {
        var image = schema.GetColumnOrNull(imageColumn);
        RequireImage(imageColumn, image is not null, ItemType(image?.Type), image?.Type is not VectorDataViewType, parameterName);
        ImageTypeRegistration.EnsureRegistered(image?.Type);
        if (labelsColumn is not null)
        {
            var labels = schema.GetColumnOrNull(labelsColumn);
            RequireLabels(labelsColumn, labels is not null, ItemType(labels?.Type), labels?.Type is not VectorDataViewType, parameterName);
        }
    }

    /// <summary>The same checks on a schema shape (an estimator's GetOutputSchema).</summary>
    public static void Require(SchemaShape schema, string imageColumn, string? labelsColumn, string parameterName)
    {
        var image = schema.FirstOrDefault(c => c.Name == imageColumn);
        RequireImage(imageColumn, image.Name is not null, image.ItemType, image.Kind == SchemaShape.Column.VectorKind.Scalar, parameterName);
        ImageTypeRegistration.EnsureRegistered(image.ItemType);
        if (labelsColumn is not null)
        {
            var labels = schema.FirstOrDefault(c => c.Name == labelsColumn);
            RequireLabels(labelsColumn, labels.Name is not null, labels.ItemType, labels.Kind == SchemaShape.Column.VectorKind.Scalar, parameterName);
        }
    }

    private static DataViewType? ItemType(DataViewType? type) => type is VectorDataViewType vector ? vector.ItemType : type;

    private static void RequireImage(string column, bool found, DataViewType? itemType, bool scalar, string parameterName)
    {
        if (!found)
            throw new ArgumentOutOfRangeException(parameterName, $"Input column '{column}' not found; LanguageSegment needs an image column (e.g. from LoadImages).");
        if (itemType is not ImageDataViewType || !scalar)
            throw new ArgumentOutOfRangeException(parameterName, $"Schema mismatch for input column '{column}': expected an image, got {itemType}{(scalar ? "" : " vector")}. Use LoadImages first.");
    }

    private static void RequireLabels(string column, bool found, DataViewType? itemType, bool scalar, string parameterName)
    {
        if (!found)
            throw new ArgumentOutOfRangeException(parameterName, $"Labels column '{column}' not found.");
        if (itemType is not TextDataViewType || scalar)
            throw new ArgumentOutOfRangeException(parameterName, $"Schema mismatch for labels column '{column}': expected a vector of text, got {itemType}{(scalar ? "" : " vector")}.");
    }
}
