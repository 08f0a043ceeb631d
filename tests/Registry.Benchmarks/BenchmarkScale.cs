namespace Registry.Benchmarks;

/// <summary>How big each workload is. Full mode is what the goals speak of; short mode is for CI and shrinks everything.</summary>
internal sealed record BenchmarkScale
{
    private const long MiB = 1024 * 1024;

    public static readonly BenchmarkScale Full = new()
    {
        IsShort = false,
        Rounds = 5,
        HashMiB = 256,
        LargeLayer = 1024 * MiB,
        MemorySmallLayer = 256 * MiB,
        MemoryLargeLayer = 1024 * MiB,
        ConcurrentPushes = 4,
        SmallImages = 200,
        Tags = 10_000,
        TagPage = 1000,
        Repositories = 1000,
        CatalogPage = 100,
        ReadsAtOne = 500,
        ReadsAtMany = 2000,
        UntouchedImages = 1000,
        DeletedImages = 10,
        StalledUploads = 150,
        StallBursts = 3,
        StallTrimAfter = null,
    };

    public static readonly BenchmarkScale Short = new()
    {
        IsShort = true,
        Rounds = 1,
        HashMiB = 64,
        LargeLayer = 8 * MiB,
        MemorySmallLayer = 8 * MiB,
        MemoryLargeLayer = 32 * MiB,
        ConcurrentPushes = 4,
        SmallImages = 10,
        Tags = 100,
        TagPage = 10,
        Repositories = 20,
        CatalogPage = 5,
        ReadsAtOne = 50,
        ReadsAtMany = 200,
        UntouchedImages = 50,
        DeletedImages = 3,
        StalledUploads = 20,
        StallBursts = 2,
        StallTrimAfter = TimeSpan.FromSeconds(2),
    };

    public required bool IsShort { get; init; }

    /// <summary>Rounds per figure; each figure is the median of its rounds, ours and baselines interleaved.</summary>
    public required int Rounds { get; init; }

    public required int HashMiB { get; init; }

    /// <summary>The layer of the push and pull throughput workloads.</summary>
    public required long LargeLayer { get; init; }

    /// <summary>The memory workload's small and large layers: peak memory must not grow from one to the other.</summary>
    public required long MemorySmallLayer { get; init; }

    public required long MemoryLargeLayer { get; init; }

    public required int ConcurrentPushes { get; init; }

    public required int SmallImages { get; init; }

    public required int Tags { get; init; }

    public required int TagPage { get; init; }

    public required int Repositories { get; init; }

    public required int CatalogPage { get; init; }

    /// <summary>Requests per closed loop at concurrency 1 and at concurrency 32.</summary>
    public required int ReadsAtOne { get; init; }

    public required int ReadsAtMany { get; init; }

    /// <summary>The garbage collection run's larger registry: images no run has anything to do with (the smaller has 10).</summary>
    public required int UntouchedImages { get; init; }

    /// <summary>The images deleted before the collection run that is measured, over either registry.</summary>
    public required int DeletedImages { get; init; }

    /// <summary>The stalled-uploads workload: uploads per burst, each stalling after 1 MiB, and bursts one after another.</summary>
    public required int StalledUploads { get; init; }

    public required int StallBursts { get; init; }

    /// <summary>
    /// The registry's <c>Uploads:StagingTrimAfter</c> in that workload: null keeps the default (2 minutes, which waits
    /// out the storage connections' idle timeout); short mode shortens it, as its figures are not held to goals.
    /// </summary>
    public required TimeSpan? StallTrimAfter { get; init; }

    /// <summary>A size in the report's words: "1 GiB", "8 MiB".</summary>
    public static string Size(long bytes) => bytes >= 1024 * MiB && bytes % (1024 * MiB) == 0 ? $"{bytes / (1024 * MiB)} GiB" : $"{bytes / MiB} MiB";
}
