using System.Runtime.InteropServices;

namespace LSeg.Cli.Common;

/// <summary>
/// Ctrl+C (SIGINT) and SIGTERM as a request to stop: the first one cancels <see cref="Token"/> and keeps the process
/// alive, so a long command stops at its next safe point and says how to continue; a second Ctrl+C ends the process at
/// once, as the terminal's user then expects.
/// </summary>
/// <remarks>
/// Commands that observe it are synchronous System.CommandLine actions on purpose: for an asynchronous action
/// System.CommandLine installs its own handler, which ends the process two seconds after Ctrl+C, in the middle of a
/// training batch or a batch job's shutdown, before anything could be said.
/// </remarks>
internal sealed class ConsoleInterrupt : IDisposable
{
    private readonly CancellationTokenSource _source = new();
    private readonly PosixSignalRegistration _interrupt;
    private readonly PosixSignalRegistration _terminate;
    private readonly Action? _onFirst;
    private int _requests;

    /// <summary>Starts listening; <paramref name="onFirst"/> runs once, on the first request (to say what happens next).</summary>
    public ConsoleInterrupt(Action? onFirst = null)
    {
        _onFirst = onFirst;
        _interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        _terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
    }

    /// <summary>Cancelled by the first Ctrl+C or SIGTERM.</summary>
    public CancellationToken Token => _source.Token;

    /// <summary>True once a stop was requested.</summary>
    public bool Requested => _source.IsCancellationRequested;

    private void OnSignal(PosixSignalContext context)
    {
        int request = Interlocked.Increment(ref _requests);
        if (request > 1 && context.Signal == PosixSignal.SIGINT)
            return; // the second Ctrl+C: the default handling ends the process
        context.Cancel = true;
        if (request == 1)
        {
            _onFirst?.Invoke();
            _source.Cancel();
        }
    }

    /// <summary>Stops listening; Ctrl+C ends the process again.</summary>
    public void Dispose()
    {
        _interrupt.Dispose();
        _terminate.Dispose();
        _source.Dispose();
    }
}
