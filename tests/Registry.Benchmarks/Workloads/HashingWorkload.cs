using System.Diagnostics;
using System.Security.Cryptography;
using Registry.Benchmarks.Report;
using Registry.Hashing;

namespace Registry.Benchmarks.Workloads;

/// <summary>
/// Upload hashing: the resumable SHA-256 (libcrypto's SHA256_CTX, state saved between requests) against .NET's own
/// IncrementalHash, on the same bytes, in this process.
/// </summary>
internal sealed class HashingWorkload : IWorkload
{
    private const int ChunkSize = 4 * 1024 * 1024;

    public string Name => "hash";

    public string Description => "resumable SHA-256 against .NET IncrementalHash, 4 MiB chunks, in this process";

    public Task<IReadOnlyList<Row>> RunAsync(BenchmarkContext context, CancellationToken cancellationToken)
    {
        var totalMiB = context.Scale.HashMiB;
        var chunks = totalMiB / 4;
        var chunk = RandomNumberGenerator.GetBytes(ChunkSize);
        var samples = new Samples();
        Resumable(chunk, chunks);
        DotNet(chunk, chunks);
        for (var round = 0; round < context.Scale.Rounds; round++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            samples.Add("ours", totalMiB * 1.048576 / Resumable(chunk, chunks).TotalSeconds);
            samples.Add(".NET", totalMiB * 1.048576 / DotNet(chunk, chunks).TotalSeconds);
        }
        IReadOnlyList<Row> rows =
        [
            new($"sha256 of {totalMiB} MiB, state saved per 4 MiB", "MB/s", samples.Median("ours"),
                ".NET IncrementalHash (cannot save state)", samples.Median(".NET"), Better.Higher, "report"),
        ];
        return Task.FromResult(rows);
    }

    private static TimeSpan Resumable(byte[] chunk, int chunks)
    {
        var watch = Stopwatch.StartNew();
        var state = new ResumableSha256().SaveState();
        for (var i = 0; i < chunks; i++)
        {
            // Every chunk restores and saves the state, as a PATCH per chunk would.
            var hash = ResumableSha256.Restore(state)!;
            hash.Append(chunk);
            state = hash.SaveState();
        }
        _ = ResumableSha256.Restore(state)!.PeekHash();
        return watch.Elapsed;
    }

    private static TimeSpan DotNet(byte[] chunk, int chunks)
    {
        var watch = Stopwatch.StartNew();
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        for (var i = 0; i < chunks; i++)
        {
            hash.AppendData(chunk);
        }
        _ = hash.GetHashAndReset();
        return watch.Elapsed;
    }
}
