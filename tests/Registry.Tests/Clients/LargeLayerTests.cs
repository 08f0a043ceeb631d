using System.Diagnostics;
using System.Globalization;
using Registry.Tests.Fixtures;
using Xunit.Abstractions;

namespace Registry.Tests.Clients;

[Collection(RealClientsGroup.Name)]
public sealed class LargeLayerTests(RegistryProcess registry, ITestOutputHelper output)
{
    private const long MiB = 1024 * 1024;

    /// <summary>Random data does not compress, so docker's gzip layer stays above 1 GiB.</summary>
    private const long PayloadSize = 1024 * MiB + MiB;

    /// <summary>The registry stages 4 MiB blocks, at most 3 in flight: a push should cost it a few dozen MiB, not the layer.</summary>
    private const long PeakGrowthLimit = 200 * MiB;

    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(20);

    [Fact]
    public async Task DockerPush_OfA1GiBLayer_RaisesTheRegistrysPeakMemoryByLessThan200MiB()
    {
        var docker = (await DockerEngine.StartAsync()).WithTimeout(Timeout);
        await docker.LoginAsync(registry.Address);
        using var context = new TemporaryDirectory();
        await new CommandLine(Timeout).Run("bash", "-c", "head -c \"$1\" /dev/urandom > \"$2\"", "head",
            PayloadSize.ToString(CultureInfo.InvariantCulture), context.Combine(DockerEngine.PayloadFile));
        var reference = $"{registry.Address}/big/app:1";
        await docker.BuildFromScratchAsync(context.Path, reference);

        registry.ResetPeakMemory();
        var before = registry.ReadMemory();
        var pushTime = Stopwatch.StartNew();
        var pushed = await docker.PushAsync(reference);
        pushTime.Stop();
        var after = registry.ReadMemory();

        var growth = after.PeakBytes - before.PeakBytes;
        output.WriteLine($"push of {PayloadSize / MiB} MiB took {pushTime.Elapsed.TotalSeconds:F1} s");
        output.WriteLine($"registry peak RSS (VmHWM) before: {before.PeakBytes / MiB} MiB, after: {after.PeakBytes / MiB} MiB, increase: {growth / MiB} MiB");
        output.WriteLine($"registry current RSS (VmRSS) before: {before.CurrentBytes / MiB} MiB, after: {after.CurrentBytes / MiB} MiB");
        Assert.True(growth < PeakGrowthLimit, $"the registry's peak RSS grew by {growth / MiB} MiB during the push (limit {PeakGrowthLimit / MiB} MiB)");

        await docker.Docker("rmi", reference);
        await docker.Docker("pull", reference);
        Assert.Equal(pushed, await docker.RepoDigestAsync(reference));

        // The engine outlives the run: leave no GiB image in its store.
        await docker.Docker("rmi", reference);
    }
}
