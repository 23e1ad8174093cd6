namespace LSeg.MLNet.Runtime;

/// <summary>
/// A model loaded on first use and shared by leases: the default model of one estimator, loaded once however often it
/// fits, and released (its ONNX Runtime sessions disposed) when the last transformer holding a lease is disposed; a
/// later fit loads it again.
/// </summary>
internal sealed class SharedModel(Func<LanguageSegmentationModel> load)
{
    private readonly object _gate = new();
    private LanguageSegmentationModel? _model;
    private int _leases;

    /// <summary>Times the model was loaded (for tests of the "once" promise).</summary>
    public int LoadCount { get; private set; }

    /// <summary>A lease on the model, loading it if no lease is held.</summary>
    public Lease Acquire()
    {
        lock (_gate)
        {
            if (_model is null)
            {
                _model = load();
                LoadCount++;
            }
            _leases++;
            return new Lease(this, _model);
        }
    }

    private void Release()
    {
        lock (_gate)
        {
            if (--_leases == 0)
            {
                _model?.Dispose();
                _model = null;
            }
        }
    }

    /// <summary>One holder's use of the model; disposing it releases the model when it is the last.</summary>
    public sealed class Lease(SharedModel owner, LanguageSegmentationModel model) : IDisposable
    {
        private int _disposed;

        public LanguageSegmentationModel Model { get; } = model;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
                owner.Release();
        }
    }
}
