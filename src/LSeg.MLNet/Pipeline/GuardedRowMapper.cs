using Microsoft.ML;
using Microsoft.ML.Data;

namespace LSeg.MLNet.Pipeline;

/// <summary>
/// The row mapper <see cref="LanguageSegmentationTransformer"/> gives a PredictionEngine: the chain's own, whose rows
/// run one getter call at a time and refuse to serve two threads at once (see <see cref="GuardedRow"/>).
/// </summary>
internal sealed class GuardedRowMapper(IRowToRowMapper inner, ISessionCalls calls) : IRowToRowMapper
{
    public DataViewSchema InputSchema => inner.InputSchema;

    public DataViewSchema OutputSchema => inner.OutputSchema;

    public IEnumerable<DataViewSchema.Column> GetDependencies(IEnumerable<DataViewSchema.Column> dependingColumns) => inner.GetDependencies(dependingColumns);

    public DataViewRow GetRow(DataViewRow input, IEnumerable<DataViewSchema.Column> activeColumns) =>
        new GuardedRow(inner.GetRow(input, activeColumns), input, calls);
}

/// <summary>
/// A row of the LanguageSegment chain that one PredictionEngine (or cursor) owns. Each getter call runs inside an
/// <see cref="ISessionCalls"/> call of the transformer (a disposed transformer's engine throws
/// <see cref="ObjectDisposedException"/>, and disposal during a call waits for it to end before freeing the session). ML.NET's engine is not thread-safe:
/// a second thread's <c>Predict</c> replaces the input under the first, and the chain's steps cache and dispose their
/// per-row values (images, ONNX Runtime outputs), which is how a shared engine used to crash. Here every getter runs
/// under one lock (so the steps never run concurrently: no crash), and a call is refused with an
/// <see cref="InvalidOperationException"/> when the row sees two threads in one prediction:
/// <list type="bullet">
/// <item>the input moved to another row while a getter ran (another thread's Predict);</item>
/// <item>a thread reads a row position that another thread started reading;</item>
/// <item>a thread starts a new position before another thread's prediction has read all its columns (the columns a
/// prediction reads are learnt from the predictions seen so far), so it would overwrite the buffers that prediction
/// still copies;</item>
/// <item>a new position starts with another column than every prediction does (a thread's prediction was
/// interrupted by another thread's input, and it reads on from the middle).</item>
/// <item>the input has moved more often than predictions have started reading: some thread's Predict has not read yet,
/// and the reader may hold its input.</item>
/// </list>
/// These rules expect every prediction to read its columns in one order and every position to be read, as a
/// PredictionEngine does. Once seen, every position up to the latest is refused, so both threads of an overlap get the exception.
/// </summary>
internal sealed class GuardedRow(DataViewRow inner, DataViewRow input, ISessionCalls calls) : DataViewRow
{
    private readonly object _gate = new();
    private readonly List<int> _readAtPosition = [];
    private long _position = -1;
    private int _owner;
    private int[]? _columnsPerPrediction;
    private bool _complete = true;
    private long _refusedUpTo = -1;
    private int _firstColumn = -1;
    private long _predictions;

    public override DataViewSchema Schema => inner.Schema;

    public override long Position => inner.Position;

    public override long Batch => inner.Batch;

    public override ValueGetter<DataViewRowId> GetIdGetter() => inner.GetIdGetter();

    public override bool IsColumnActive(DataViewSchema.Column column) => inner.IsColumnActive(column);

    public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
    {
        var getter = inner.GetGetter<TValue>(column);
        int index = column.Index;
        return (ref TValue value) =>
        {
            lock (_gate)
            {
                long position = input.Position;
                // A disposed transformer's engine is refused here, before the position is taken.
                using var call = calls.Enter();
                Enter(position, index);
                try
                {
                    getter(ref value);
                }
                catch (Exception e) when (input.Position != position)
                {
                    // The input changed under the call: whatever failed, it failed on a mix of two threads' rows.
                    Refuse(input.Position, e);
                }
                catch
                {
                    _complete = true; // the caller's prediction ends with this exception
                    throw;
                }
                if (input.Position != position)
                    Refuse(input.Position);
                if (!_readAtPosition.Contains(index))
                    _readAtPosition.Add(index);
                _complete |= _columnsPerPrediction is { } columns && columns.All(_readAtPosition.Contains);
            }
        };
    }

    private void Enter(long position, int column)
    {
        int thread = Environment.CurrentManagedThreadId;
        if (_firstColumn < 0)
            _firstColumn = column;
        bool startsPrediction = column == _firstColumn;
        if (startsPrediction)
            _predictions++;
        if (position <= _refusedUpTo)
            throw Misuse();
        if (position == _position)
        {
            if (thread != _owner)
                Refuse(position);
            return;
        }
        if (_position >= 0)
        {
            // A prediction reads the same columns every time; the first ones may be cut short by a misuse, so the longest
            // read so far (starting with the same column) is taken as the full set.
            if (_readAtPosition.Count > (_columnsPerPrediction?.Length ?? 0) && (_columnsPerPrediction is null || _readAtPosition[0] == _columnsPerPrediction[0]))
                _columnsPerPrediction = [.. _readAtPosition];
            // The previous prediction is judged by the columns just learnt: the first one (which taught them) is complete,
            // so an engine handed to another thread between two predictions (a PredictionEnginePool) is not refused.
            _complete |= _columnsPerPrediction is { } columns && columns.All(_readAtPosition.Contains);
            if (thread != _owner && !_complete)
                Refuse(position);
        }
        if (_position >= 0 && !startsPrediction)
            Refuse(position);
        // Every Predict moves the input one position (the first to 0), then starts reading with the first column: when
        // fewer predictions have started than the input has moved, a Predict has not read yet, and its input may be
        // the one the current thread is about to read.
        if (_predictions < position + 1)
            Refuse(position);
        _position = position;
        _owner = thread;
        _readAtPosition.Clear();
        _complete = false;
    }

    private void Refuse(long position, Exception? cause = null)
    {
        _refusedUpTo = Math.Max(_refusedUpTo, position);
        _complete = true;
        throw Misuse(cause);
    }
    private static InvalidOperationException Misuse(Exception? cause = null) => new(
        "A PredictionEngine running the LanguageSegment transformer was used from several threads at once. ML.NET's PredictionEngine is not thread-safe: " +
        "use one engine per thread, a PredictionEnginePool (Microsoft.Extensions.ML), or LanguageSegmentationModel, which is thread-safe.", cause);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            inner.Dispose();
        base.Dispose(disposing);
    }
}
