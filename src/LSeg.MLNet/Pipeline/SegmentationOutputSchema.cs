using Microsoft.ML;
using Microsoft.ML.Data;

namespace LSeg.MLNet.Pipeline;

/// <summary>
/// The columns LanguageSegment adds, from the options and labels alone: the estimator answers
/// <c>GetOutputSchema</c> without loading a model or building the pipeline (the estimator test harness holds it to the
/// fitted transformer's schema).
/// </summary>
internal static class SegmentationOutputSchema
{
    /// <summary>The added columns, in output order.</summary>
    public static DataViewSchema AddedColumns(LanguageSegmentationOptions options, string[]? labels)
    {
        var builder = new DataViewSchema.Builder();
        if (labels is null)
        {
            builder.AddColumn(options.OutputColumnName, new VectorDataViewType(NumberDataViewType.UInt32));
        }
        else
        {
            var keyValues = new DataViewSchema.Annotations.Builder();
            var names = labels.Select(l => l.AsMemory()).ToArray();
            ValueGetter<VBuffer<ReadOnlyMemory<char>>> getNames = (ref VBuffer<ReadOnlyMemory<char>> value) =>
                value = new VBuffer<ReadOnlyMemory<char>>(names.Length, (ReadOnlyMemory<char>[])names.Clone());
            keyValues.Add("KeyValues", new VectorDataViewType(TextDataViewType.Instance, labels.Length), getNames);
            builder.AddColumn(options.OutputColumnName, new VectorDataViewType(new KeyDataViewType(typeof(uint), labels.Length)), keyValues.ToAnnotations());
        }
        builder.AddColumn(options.WidthColumnName, NumberDataViewType.Int32);
        builder.AddColumn(options.HeightColumnName, NumberDataViewType.Int32);
        builder.AddColumn(options.PixelCountsColumnName, new VectorDataViewType(NumberDataViewType.Int64));
        if (options.OutputScores)
            builder.AddColumn(options.ScoresColumnName, new VectorDataViewType(NumberDataViewType.Single));
        if (options.OutputEmbeddings)
        {
            builder.AddColumn(options.EmbeddingsColumnName, new VectorDataViewType(NumberDataViewType.Single));
            builder.AddColumn(options.EmbeddingsShapeColumnName, new VectorDataViewType(NumberDataViewType.Int64, 3));
        }
        return builder.ToSchema();
    }

    /// <summary><paramref name="inputSchema"/> with the added columns (replacing any of the same name).</summary>
    public static SchemaShape Extend(SchemaShape inputSchema, LanguageSegmentationOptions options, string[]? labels)
    {
        var added = (SchemaShape)CreateShape.Invoke(null, [AddedColumns(options, labels)])!;
        var result = inputSchema.ToDictionary(c => c.Name);
        foreach (var column in added)
            result[column.Name] = column;
        return new SchemaShape(result.Values);
    }

    // SchemaShape.Column cannot be constructed outside ML.NET; its own SchemaShape.Create(DataViewSchema) is internal.
    private static readonly System.Reflection.MethodInfo CreateShape = typeof(SchemaShape).GetMethod("Create",
        System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic, [typeof(DataViewSchema)])
        ?? throw new MissingMethodException("ML.NET's SchemaShape.Create(DataViewSchema) was not found.");
}
