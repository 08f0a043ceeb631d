using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;

namespace Registry.Storage;

/// <summary>How long the read cache may answer without storage (configuration section <c>Cache</c>).</summary>
public sealed class ReadCacheOptions
{
    public const string Section = "Cache";

    /// <summary>
    /// How long a tag's target is served from memory: a tag moved or deleted through another instance is seen here
    /// at most this late. Zero turns tag caching off.
    /// </summary>
    public TimeSpan Tags { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long a manifest (by digest) or a blob link is served from memory: content under a digest never changes,
    /// but a delete through another instance is seen here at most this late. Zero turns it off.
    /// </summary>
    public TimeSpan Content { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Bytes of manifests and entries the cache may hold; the least recently used go first beyond it.</summary>
    public long SizeLimitBytes { get; set; } = 64L * 1024 * 1024;
}

/// <summary>What a cache entry describes; each kind has its own lifetime.</summary>
public enum CachedKind
{
    Tag,
    Manifest,
    BlobLink,
}

/// <summary>
/// An in-process cache of what manifest and blob reads look up in table <c>repositories</c>: tags, manifests by
/// digest, blob links. Only things found are cached (never an absence), so a push is visible at once everywhere.
///
/// <para>Staleness is bounded, never open-ended: an entry is served for at most <see cref="ReadCacheOptions"/>'s
/// lifetime of its kind. A change made through this instance removes the entries it affects at once
/// (<see cref="Invalidate"/>), and a read that began before such a change cannot put its older answer back: each
/// repository partition has a version (striped), taken before the storage read (<see cref="Begin"/>) and checked,
/// under the same lock the change takes, when the answer is stored.</para>
/// </summary>
public sealed class ReadCache : IDisposable
{
    private const int Stripes = 256;
    private const long EntryOverhead = 256;

    private readonly MemoryCache _entries;
    private readonly long[] _versions = new long[Stripes];
    private readonly Lock[] _locks = Enumerable.Range(0, Stripes).Select(_ => new Lock()).ToArray();
    private readonly ReadCacheOptions _options;
    private readonly TimeProvider _time;

    public ReadCache(IOptions<ReadCacheOptions> options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        _time = time;
        _entries = new MemoryCache(new MemoryCacheOptions { SizeLimit = Math.Max(1, _options.SizeLimitBytes) });
    }

    /// <summary>A partition's version, taken before a storage read whose answer may be cached.</summary>
    public readonly record struct Stamp(int Stripe, long Version);

    private sealed record Entry(object Value, DateTimeOffset Expires);

    /// <summary>Takes the version of <paramref name="partition"/> before reading it from storage.</summary>
    public Stamp Begin(string partition)
    {
        var stripe = StripeOf(partition);
        return new Stamp(stripe, Volatile.Read(ref _versions[stripe]));
    }

    /// <summary>The cached value, when there is one younger than its kind's lifetime.</summary>
    public bool TryGet<T>(CachedKind kind, string partition, string row, out T value)
        where T : class
    {
        if (_entries.TryGetValue(Key(kind, partition, row), out var found) && found is Entry entry
            && entry.Expires > _time.GetUtcNow() && entry.Value is T typed)
        {
            value = typed;
            return true;
        }
        value = null!;
        return false;
    }

    /// <summary>
    /// Caches what a read that began at <paramref name="stamp"/> found, unless a change to the same partition
    /// stripe came through this instance since; <paramref name="bytes"/> is what the value holds (a manifest's size).
    /// </summary>
    public void Set(Stamp stamp, CachedKind kind, string partition, string row, object value, long bytes = 0)
    {
        lock (_locks[stamp.Stripe])
        {
            if (_versions[stamp.Stripe] == stamp.Version)
            {
                Store(kind, partition, row, value, bytes);
            }
        }
    }

    /// <summary>Caches what a change through this instance just wrote, and fences off reads begun before it.</summary>
    public void Put(CachedKind kind, string partition, string row, object value, long bytes = 0)
    {
        var stripe = StripeOf(partition);
        lock (_locks[stripe])
        {
            _versions[stripe]++;
            Store(kind, partition, row, value, bytes);
        }
    }

    /// <summary>
    /// Forgets the entry a change through this instance is about to write, fences off reads begun before it, and returns
    /// the stamp to cache what it wrote with (<see cref="PutAfter"/>).
    /// </summary>
    public Stamp BeginChange(CachedKind kind, string partition, string row)
    {
        Invalidate(kind, partition, row);
        return Begin(partition);
    }

    /// <summary>
    /// Caches what a change begun at <paramref name="stamp"/> wrote when no other change to the partition's stripe came
    /// through this instance since. Otherwise the entry is forgotten: of overlapping changes this instance cannot tell
    /// which storage committed last (the order they finish in is not it). Either way, reads begun before are fenced off.
    /// </summary>
    public void PutAfter(Stamp stamp, CachedKind kind, string partition, string row, object value, long bytes = 0)
    {
        lock (_locks[stamp.Stripe])
        {
            var unchanged = _versions[stamp.Stripe] == stamp.Version;
            _versions[stamp.Stripe]++;
            if (unchanged)
            {
                Store(kind, partition, row, value, bytes);
            }
            else
            {
                _entries.Remove(Key(kind, partition, row));
            }
        }
    }

    /// <summary>Forgets an entry a change through this instance made wrong, and fences off reads begun before it.</summary>
    public void Invalidate(CachedKind kind, string partition, string row)
    {
        var stripe = StripeOf(partition);
        lock (_locks[stripe])
        {
            _versions[stripe]++;
            _entries.Remove(Key(kind, partition, row));
        }
    }

    public void Dispose() => _entries.Dispose();

    private void Store(CachedKind kind, string partition, string row, object value, long bytes)
    {
        var lifetime = Lifetime(kind);
        if (lifetime <= TimeSpan.Zero)
        {
            return;
        }
        _entries.Set(Key(kind, partition, row), new Entry(value, _time.GetUtcNow() + lifetime), new MemoryCacheEntryOptions
        {
            Size = bytes + EntryOverhead,
            // The entry's own expiry is checked with the registry's clock; this only frees the memory.
            AbsoluteExpirationRelativeToNow = lifetime,
        });
    }

    private TimeSpan Lifetime(CachedKind kind) => kind == CachedKind.Tag ? _options.Tags : _options.Content;

    private static string Key(CachedKind kind, string partition, string row) => $"{(int)kind}|{partition}|{row}";

    private static int StripeOf(string partition) => (int)((uint)StringComparer.Ordinal.GetHashCode(partition) % Stripes);
}
