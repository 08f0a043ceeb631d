using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Registry.Hashing;

// Upload hashing: the resumable SHA-256 (libcrypto's SHA256_CTX, state saved between requests) against .NET's own
// IncrementalHash, on the same bytes, interleaved A B A B; medians of the rounds. The ratio is what matters: these
// machines are shared and noisy.
const int ChunkSize = 4 * 1024 * 1024;
var totalMiB = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 256;
var rounds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 5;
var chunk = RandomNumberGenerator.GetBytes(ChunkSize);
var chunks = totalMiB / 4;

double Resumable()
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
    return totalMiB / watch.Elapsed.TotalSeconds;
}

double DotNet()
{
    var watch = Stopwatch.StartNew();
    using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    for (var i = 0; i < chunks; i++)
    {
        hash.AppendData(chunk);
    }
    _ = hash.GetHashAndReset();
    return totalMiB / watch.Elapsed.TotalSeconds;
}

Resumable();
DotNet();
var ours = new List<double>();
var baseline = new List<double>();
for (var r = 0; r < rounds; r++)
{
    ours.Add(Resumable());
    baseline.Add(DotNet());
}

static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

Console.WriteLine($"{"workload",-40} {"ours",12} {"baseline",12} {"ratio",8}");
Console.WriteLine($"{$"sha256 of {totalMiB} MiB in 4 MiB chunks (MB/s)",-40} {Median(ours),12:F0} {Median(baseline),12:F0} {Median(ours) / Median(baseline),8:F2}");
Console.WriteLine($"(baseline: .NET IncrementalHash SHA-256, which cannot save its state; {rounds} rounds, interleaved)");
