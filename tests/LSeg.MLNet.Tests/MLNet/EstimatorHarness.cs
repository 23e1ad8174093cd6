using Microsoft.ML;
using Microsoft.ML.Data;

namespace LSeg.MLNet.Tests.MLNet;

/// <summary>
/// In the spirit of ML.NET's TestEstimatorCore: the estimator's schema agrees with the fitted transformer's, invalid
/// input fails in both Fit and GetOutputSchema, and a save/load round trip gives equal output.
/// </summary>
internal static class EstimatorHarness
{
    public static void Check(MLContext context, IEstimator<LanguageSegmentationTransformer> estimator, IDataView data,
        IEnumerable<IDataView> invalidInputs, LanguageSegmentationModel model, string imageColumn = "Image")
    {
        using var transformer = estimator.Fit(data);
        var fitted = transformer.GetOutputSchema(data.Schema);

        // 1. The estimator's schema (computed without a model) describes every column the transformer outputs, and nothing else.
        var shape = estimator.GetOutputSchema(ShapeOf(data.Schema));
        var visible = fitted.Where(c => !c.IsHidden).ToList();
        Assert.Equal(visible.Select(c => c.Name).Order(), shape.Select(c => c.Name).Order());
        var expected = ShapeOf(fitted);
        foreach (var column in shape)
        {
            var actual = expected.Single(c => c.Name == column.Name);
            Assert.True(actual.Kind == column.Kind, $"{column.Name}: kind {column.Kind} vs fitted {actual.Kind}");
            Assert.True(actual.ItemType.Equals(column.ItemType), $"{column.Name}: item type {column.ItemType} vs fitted {actual.ItemType}");
            Assert.True(actual.IsKey == column.IsKey, $"{column.Name}: key {column.IsKey} vs fitted {actual.IsKey}");
            Assert.Equal(actual.Annotations.Select(a => a.Name).Order(), column.Annotations.Select(a => a.Name).Order());
        }

        // 2. Invalid input fails in Fit and in GetOutputSchema, with the same exception type.
        foreach (var invalid in invalidInputs)
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => estimator.Fit(invalid));
            Assert.Throws<ArgumentOutOfRangeException>(() => estimator.GetOutputSchema(ShapeOf(invalid.Schema)));
        }

        // 3. Save, load, re-wrap: every output column has the same values.
        using var stream = new MemoryStream();
        context.Model.Save(transformer, data.Schema, stream);
        stream.Position = 0;
        var loaded = context.Model.Load(stream, out var loadedSchema);
        using var reloaded = LanguageSegmentationTransformer.FromTransformerChain(loaded, loadedSchema, model, transformer.OutputColumnName, imageColumn);
        var before = transformer.Transform(data);
        var after = reloaded.Transform(data);
        foreach (var column in shape.Where(c => data.Schema.GetColumnOrNull(c.Name) is null))
            Assert.Equal(Dump(before, column.Name), Dump(after, column.Name));
    }

    /// <summary>ML.NET's own SchemaShape.Create (internal; EstimatorChain.Fit calls it), reached by reflection.</summary>
    public static SchemaShape ShapeOf(DataViewSchema schema) =>
        (SchemaShape)typeof(SchemaShape).GetMethod("Create", System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic, [typeof(DataViewSchema)])!
            .Invoke(null, [schema])!;

    /// <summary>Every value of a column, one line per row.</summary>
    public static List<string> Dump(IDataView view, string name)
    {
        var column = view.Schema[name];
        var rows = new List<string>();
        using var cursor = view.GetRowCursor([column]);
        Func<string> read = column.Type switch
        {
            VectorDataViewType vector when vector.ItemType.RawType == typeof(uint) => Reader<VBuffer<uint>>(cursor, column, v => string.Join(',', v.DenseValues())),
            VectorDataViewType { ItemType.RawType: var t } when t == typeof(long) => Reader<VBuffer<long>>(cursor, column, v => string.Join(',', v.DenseValues())),
            VectorDataViewType { ItemType.RawType: var t } when t == typeof(float) => Reader<VBuffer<float>>(cursor, column, v => string.Join(',', v.DenseValues().Select(f => BitConverter.SingleToInt32Bits(f)))),
            _ when column.Type.RawType == typeof(int) => Reader<int>(cursor, column, v => v.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            _ => throw new NotSupportedException($"Column {name} of type {column.Type}"),
        };
        while (cursor.MoveNext())
            rows.Add(read());
        return rows;
    }

    private static Func<string> Reader<T>(DataViewRowCursor cursor, DataViewSchema.Column column, Func<T, string> format)
    {
        var getter = cursor.GetGetter<T>(column);
        return () =>
        {
            T value = default!;
            getter(ref value);
            return format(value);
        };
    }
}
