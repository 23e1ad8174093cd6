using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;

namespace LSeg.Serving.Tests;

/// <summary>Records the method and path of every request the host receives (added first in its pipeline).</summary>
internal sealed class RequestLog : IStartupFilter
{
    private readonly ConcurrentQueue<string> _requests = new();

    public IReadOnlyCollection<string> Requests => _requests.ToArray();

    public int Count(string methodAndPath) => _requests.Count(r => r == methodAndPath);

    public int CountMatching(Func<string, bool> predicate) => _requests.Count(predicate);

    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use(async (context, following) =>
        {
            _requests.Enqueue($"{context.Request.Method} {context.Request.Path}");
            await following(context);
        });
        next(app);
    };
}
