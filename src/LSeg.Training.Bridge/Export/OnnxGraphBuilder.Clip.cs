using LSeg.MLNet.Package;
namespace LSeg.Training.Bridge.Export;

/// <summary>Operators the CLIP text encoder needs beyond the shared set.</summary>
internal sealed partial class OnnxGraphBuilder
{
    /// <summary>
    /// GatherND: slices of <paramref name="data"/> picked by the index tuples in <paramref name="indices"/>, the first
    /// <paramref name="batchDims"/> axes shared (e.g. data [N,L,W], indices [N,1], batch_dims 1 → [N,W]).
    /// </summary>
    public string GatherND(string data, string indices, long batchDims) => Node("GatherND", [data, indices], OnnxProtos.Attribute("batch_dims", batchDims));
}
