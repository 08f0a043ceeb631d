using Registry.Benchmarks;
using Registry.Benchmarks.Report;
using Xunit.Abstractions;

namespace Registry.Tests.Benchmarks;

/// <summary>
/// The benchmark harness in short mode (<c>./scripts/bench --short</c>), run once in this process against real
/// Azurite, our registry and Distribution: every workload must produce its rows with real figures. No figure is
/// compared with a time, since these machines are shared and noisy; only counts, which are deterministic (storage
/// calls, and the failed pulls of images the collector must keep), are held to their goals where the registry meets
/// them today.
/// </summary>
public sealed class BenchmarkSmokeTests(ShortBenchmarkRun run, ITestOutputHelper output) : IClassFixture<ShortBenchmarkRun>
{
    [Fact]
    public void ShortMode_ReportsEveryWorkloadWithFiniteFiguresForOursAndItsBaseline()
    {
        output.WriteLine(run.Table);
        Assert.Equal(BenchmarkRunner.Workloads.Select(w => w.Name), run.Report.Rows.Select(r => r.Source).Distinct());
        Assert.All(run.Report.Rows, row =>
        {
            Assert.True(double.IsFinite(row.Ours) && (row.Ours > 0 || (row.ZeroIsValid && row.Ours == 0)), $"{row.Workload} / {row.Metric}: ours = {row.Ours}");
            if (row.Baseline is { } baseline)
            {
                Assert.True(double.IsFinite(baseline) && (baseline > 0 || (row.ZeroIsValid && baseline == 0)), $"{row.Workload} / {row.Metric}: {row.BaselineName} = {baseline}");
            }
            else
            {
                // Only storage-call counts (held to goals of their own), the event delay and the dollars of the cost
                // workload (nothing in the run to compare them with) have no baseline.
                Assert.True(row.Source is "storage-calls" or "cost" || (row.Source == "events" && row.Metric.StartsWith("event delay", StringComparison.Ordinal)),
                    $"{row.Workload} / {row.Metric} has no baseline");
            }
        });
    }

    [Fact]
    public void StorageCalls_WarmReadsAndLoginsComeFromMemory_AColdPullTakesLPlus2_AndEveryOperationIsCounted()
    {
        var counts = run.Report.Rows.Where(r => r.Source == "storage-calls").ToDictionary(r => r.Metric, r => r.Ours);
        foreach (var note in run.Report.Notes.Where(n => n.StartsWith("storage-calls", StringComparison.Ordinal)))
        {
            output.WriteLine(note);
        }
        Assert.Equal(0, counts["blob HEAD, warm"]);
        Assert.Equal(0, counts["blob GET (the 307), warm"]);
        Assert.Equal(0, counts["manifest GET by tag, warm"]);
        Assert.Equal(0, counts["manifest GET by digest, warm"]);
        Assert.Equal(0, counts["token request (Basic, one repository scope)"]);
        Assert.True(counts["docker pull of a 3-layer image, cold"] <= 3 + 2, "a cold docker pull of L layers takes at most L+2 calls");
        Assert.All(counts.Values, count => Assert.True(count >= 0 && count == Math.Floor(count), $"{count} calls"));
        Assert.All(counts.Where(c => c.Key.StartsWith("upload", StringComparison.Ordinal) || c.Key.StartsWith("manifest PUT", StringComparison.Ordinal)),
            c => Assert.True(c.Value >= 1, $"{c.Key}: {c.Value} calls"));
    }

    [Fact]
    public void Cost_CountedStorageOperations_AgreeWithWhatRegistryAdminCostPrices()
    {
        var checks = run.Report.Rows.Where(r => r.Source == "cost" && r.Goal == "= profile").ToList();
        Assert.Equal(3, checks.Count);
        Assert.All(checks, row => Assert.True(row.Met == true, $"{row.Workload}: counted {row.Ours}, Pricing/RegistryOperations.cs says {row.Baseline}"));
    }

    [Fact]
    public void Events_EveryPushMeasuredWithAWebhook_HasItsEventDelivered()
    {
        var missing = run.Report.Rows.Single(r => r.Source == "events" && r.Metric == "push events not delivered");
        Assert.True(missing.Baseline > 0, "pushes were measured");
        Assert.Equal(0, missing.Ours);
    }

    [Fact]
    public void Retention_RunCostPerTagExaminedDoesNotGrowWithTheRepository()
    {
        var calls = run.Report.Rows.Single(r => r.Source == "retention" && r.Metric == "storage calls per 1,000 tags examined");
        Assert.True(calls.Ours > 0 && calls.Baseline > 0, $"{calls.Ours} and {calls.Baseline} calls per 1,000 tags");
        Assert.True(calls.Met, $"{calls.Ours} calls per 1,000 tags over the large repository, {calls.Baseline} over the small one: goal {calls.Goal}");
    }

    [Fact]
    public void GarbageCollection_RunCostDoesNotGrowWithUntouchedImages_AndNoKeptImageFailsToPull()
    {
        var gc = run.Report.Rows.Where(r => r.Source == "gc").ToList();
        foreach (var note in run.Report.Notes.Where(n => n.StartsWith("gc", StringComparison.Ordinal)))
        {
            output.WriteLine(note);
        }
        Assert.Equal(
            new[] { "storage calls per deleted image", "ms per deleted image", "images/s with a collector looping", "failed pulls of images that got a 201" },
            gc.Select(r => r.Metric));
        var rows = gc.ToDictionary(r => r.Metric);
        var calls = rows["storage calls per deleted image"];
        Assert.True(calls.Ours > 0 && calls.Baseline > 0, $"{calls.Ours} and {calls.Baseline} calls per deleted image");
        Assert.True(calls.Met, $"{calls.Ours} calls per deleted image over the larger registry, {calls.Baseline} over the smaller: goal {calls.Goal}");
        var failed = rows["failed pulls of images that got a 201"];
        Assert.Equal(0, failed.Ours);
        Assert.Equal(0, failed.Baseline);
    }
}

/// <summary>One short run of every workload, shared by the smoke tests (it takes about a minute).</summary>
public sealed class ShortBenchmarkRun : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(5);

    internal BenchmarkReport Report { get; private set; } = null!;

    public string Table { get; private set; } = "";

    public async Task InitializeAsync()
    {
        var options = BenchmarkOptions.Parse(["--short"], BenchmarkRunner.Workloads.Select(w => w.Name).ToList(), out var problems)
            ?? throw new InvalidOperationException(string.Join("; ", problems));
        using var progress = new StringWriter();
        using var timeout = new CancellationTokenSource(Deadline);
        Report = await BenchmarkRunner.RunAsync(options, progress, timeout.Token);
        using var table = new StringWriter();
        ReportTable.Write(table, Report, "short mode");
        Table = progress + table.ToString();
    }

    public Task DisposeAsync() => Task.CompletedTask;
}
