using Microsoft.ML;
using Microsoft.ML.Data;

namespace LSeg.MLNet.Pipeline;

/// <summary>
/// Marks a call that runs a transformer's ONNX Runtime session; disposing the result ends it. Throws
/// <see cref="ObjectDisposedException"/> once the transformer is disposed. While calls run, disposing the transformer
/// only marks it: the session is released when the last running call ends (releasing it under a running call would crash
/// the process in native code).
/// </summary>
internal interface ISessionCalls
{
    /// <exception cref="ObjectDisposedException">The transformer was disposed.</exception>
    SessionCall Enter();
}

/// <summary>A running call (see <see cref="ISessionCalls"/>); <see cref="Dispose"/> ends it.</summary>
internal readonly struct SessionCall(Action exit) : IDisposable
{
    public void Dispose() => exit();
}

/// <summary>
/// What <see cref="LanguageSegmentationTransformer.Transform"/> returns: the chain's lazy view, each of whose cursors
/// holds a <see cref="ISessionCalls"/> call from its creation to its disposal. A cursor opened after the transformer was
/// disposed throws <see cref="ObjectDisposedException"/> instead of running a freed session; one opened before keeps the
/// session open until it is disposed (ML.NET's parallel cursors compute rows on worker threads of their own, so the
/// call must span the cursor, not each value).
/// </summary>
internal sealed class GuardedDataView(IDataView inner, ISessionCalls calls) : IDataView
{
    public bool CanShuffle => inner.CanShuffle;

    public DataViewSchema Schema => inner.Schema;

    public long? GetRowCount() => inner.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        var call = calls.Enter();
        try
        {
            return new GuardedCursor(inner.GetRowCursor(columnsNeeded, rand), call);
        }
        catch
        {
            call.Dispose();
            throw;
        }
    }

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null)
    {
        var call = calls.Enter();
        DataViewRowCursor[] cursors;
        try
        {
            cursors = inner.GetRowCursorSet(columnsNeeded, n, rand);
        }
        catch
        {
            call.Dispose();
            throw;
        }
        // One call for the set (its rows may be computed by shared workers), ended when the last of its cursors is disposed.
        var shared = new SharedCall(call, cursors.Length);
        return [.. cursors.Select(cursor => (DataViewRowCursor)new GuardedCursor(cursor, shared))];
    }

    /// <summary>A call shared by the cursors of one set: ended by the last of them to be disposed.</summary>
    private sealed class SharedCall(SessionCall call, int holders) : IDisposable
    {
        private int _holders = holders;

        public void Dispose()
        {
            if (Interlocked.Decrement(ref _holders) == 0)
                call.Dispose();
        }
    }

    private sealed class GuardedCursor(DataViewRowCursor inner, IDisposable call) : DataViewRowCursor
    {
        private int _disposed;

        public override DataViewSchema Schema => inner.Schema;

        public override long Position => inner.Position;

        public override long Batch => inner.Batch;

        public override ValueGetter<DataViewRowId> GetIdGetter() => inner.GetIdGetter();

        public override bool IsColumnActive(DataViewSchema.Column column) => inner.IsColumnActive(column);

        public override bool MoveNext() => inner.MoveNext();

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column) => inner.GetGetter<TValue>(column);

        protected override void Dispose(bool disposing)
        {
            if (disposing && Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                inner.Dispose();
                call.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
