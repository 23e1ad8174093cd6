using Microsoft.Extensions.Hosting;

namespace LSeg.Cli.Hosting;

/// <summary>
/// The lifetime of a host that a command starts and stops itself (the in-process silos and clients of <c>batch</c>, the
/// server of <c>bench serve</c>): it handles no signal. A host's default <c>ConsoleLifetime</c> answers Ctrl+C, SIGTERM and
/// SIGQUIT by cancelling the process's termination and stopping only that host, so a second Ctrl+C could not end
/// <c>batch</c>, and <c>bench serve</c> ran on to its last second whatever was pressed.
/// </summary>
internal sealed class NoSignalLifetime : IHostLifetime
{
    /// <inheritdoc/>
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc/>
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
