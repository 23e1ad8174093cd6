using System.Security.Cryptography;
using LSeg.MLNet;
using LSeg.MLNet.Package;
using LSeg.Serving.Api;
using Microsoft.Extensions.Options;

namespace LSeg.Serving.Hosting;

/// <summary>
/// The encoded images of <c>POST /v1/images</c>, by id: bounded by memory (the least recently used image is evicted
/// to make room), each expiring <see cref="LanguageSegmentationServingOptions.ImageTimeToLive"/> after its last use.
/// Removed ids are remembered (a bounded number) so a client is told "expired" or "evicted" (410) rather than
/// "unknown" (404). Thread-safe; an image still being segmented when it is evicted stays valid for that request.
/// </summary>
internal sealed class EncodedImageCache : IDisposable
{
    private const int RememberedRemovals = 10_000;
    private static readonly TimeSpan SweepInterval = TimeSpan.FromSeconds(30);

    private readonly object _lock = new();
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly LinkedList<Entry> _byRecency = new(); // first = most recently used
    private readonly Dictionary<string, Removal> _removed = new(StringComparer.Ordinal);
    private readonly Queue<string> _removalOrder = new();
    private readonly TimeProvider _time;
    private readonly ITimer _sweeper;
    private long _bytes;

    public EncodedImageCache(IOptions<LanguageSegmentationServingOptions> options, TimeProvider time)
    {
        _time = time;
        CapacityMegabytes = options.Value.ImageCacheMegabytes;
        CapacityBytes = (long)CapacityMegabytes * 1024 * 1024;
        TimeToLive = options.Value.ImageTimeToLive;
        // Expired images give their memory back even when no request comes. The cache is created inside the first request
        // that needs it: without SuppressFlow the timer would keep that request's execution context (its trace activity,
        // log scopes) alive for the application's lifetime, and every sweep would run inside it.
        using (ExecutionContext.SuppressFlow())
            _sweeper = time.CreateTimer(_ => RemoveExpired(), null, SweepInterval, SweepInterval);
    }

    private enum Removal { Expired, Evicted }

    /// <summary>A cached image's id and when it expires unless used again.</summary>
    public readonly record struct Handle(string Id, DateTimeOffset ExpiresAt);

    public int CapacityMegabytes { get; }

    public long CapacityBytes { get; }

    public TimeSpan TimeToLive { get; }

    /// <summary>Bytes held by the cached images (estimated from their sizes).</summary>
    public long Bytes
    {
        get { lock (_lock) return _bytes; }
    }

    /// <summary>Number of cached images.</summary>
    public int Count
    {
        get { lock (_lock) return _entries.Count; }
    }

    /// <summary>Adds <paramref name="image"/> under a new random id, evicting the least recently used images to make room.</summary>
    /// <exception cref="InvalidOperationException">The image alone is larger than the whole cache.</exception>
    public Handle Add(EncodedImage image)
    {
        long size = image.MemoryBytes;
        if (size > CapacityBytes)
            throw new InvalidOperationException($"An encoded image of {size / 1048576.0:F1} MiB cannot fit the {CapacityMegabytes} MiB image cache.");
        string id = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var now = _time.GetUtcNow();
        lock (_lock)
        {
            RemoveExpiredLocked(now);
            while (_bytes + size > CapacityBytes && _byRecency.Last is { } oldest)
                RemoveLocked(oldest.Value, Removal.Evicted);
            var entry = new Entry(id, image, size) { ExpiresAt = now + TimeToLive };
            entry.Node = _byRecency.AddFirst(entry);
            _entries.Add(id, entry);
            _bytes += size;
            return new Handle(id, entry.ExpiresAt);
        }
    }

    /// <summary>The image with <paramref name="id"/> and its new expiry: it is marked as just used, so its expiry moves on.</summary>
    /// <exception cref="ServingProblem">404 for an id never given out, deleted or long forgotten; 410 for an expired or evicted one.</exception>
    public (EncodedImage Image, Handle Handle) Get(string id)
    {
        var now = _time.GetUtcNow();
        lock (_lock)
        {
            RemoveExpiredLocked(now);
            if (_entries.TryGetValue(id, out var entry))
            {
                entry.ExpiresAt = now + TimeToLive;
                _byRecency.Remove(entry.Node!);
                _byRecency.AddFirst(entry.Node!);
                return (entry.Image, new Handle(id, entry.ExpiresAt));
            }
            throw MissingLocked(id);
        }
    }

    /// <summary>Drops the image with <paramref name="id"/> at its client's request.</summary>
    /// <exception cref="ServingProblem">As <see cref="Get"/>: 404 for an id never given out, deleted or long forgotten; 410 for an expired or evicted one.</exception>
    public void Remove(string id)
    {
        lock (_lock)
        {
            RemoveExpiredLocked(_time.GetUtcNow());
            if (!_entries.TryGetValue(id, out var entry))
                throw MissingLocked(id);
            _byRecency.Remove(entry.Node!);
            _entries.Remove(id);
            _bytes -= entry.Bytes;
        }
    }

    /// <summary>Why <paramref name="id"/> is not in the cache: 410 when it was dropped lately, else 404.</summary>
    private ServingProblem MissingLocked(string id) =>
        !_removed.TryGetValue(id, out var removal) ? Problems.UnknownImage(id)
        : removal == Removal.Expired ? Problems.ExpiredImage(id, TimeToLive)
        : Problems.EvictedImage(id, CapacityMegabytes);

    /// <summary>Drops every image whose time is up.</summary>
    public void RemoveExpired()
    {
        lock (_lock)
            RemoveExpiredLocked(_time.GetUtcNow());
    }

    private void RemoveExpiredLocked(DateTimeOffset now)
    {
        // Expiry slides on use, so the least recently used images are the first to expire.
        while (_byRecency.Last is { } oldest && oldest.Value.ExpiresAt <= now)
            RemoveLocked(oldest.Value, Removal.Expired);
    }

    private void RemoveLocked(Entry entry, Removal reason)
    {
        _byRecency.Remove(entry.Node!);
        _entries.Remove(entry.Id);
        _bytes -= entry.Bytes;
        _removed[entry.Id] = reason;
        _removalOrder.Enqueue(entry.Id);
        while (_removalOrder.Count > RememberedRemovals)
            _removed.Remove(_removalOrder.Dequeue());
    }

    public void Dispose() => _sweeper.Dispose();

    private sealed class Entry(string id, EncodedImage image, long bytes)
    {
        public string Id { get; } = id;

        public EncodedImage Image { get; } = image;

        public long Bytes { get; } = bytes;

        public DateTimeOffset ExpiresAt { get; set; }

        public LinkedListNode<Entry>? Node { get; set; }
    }
}
