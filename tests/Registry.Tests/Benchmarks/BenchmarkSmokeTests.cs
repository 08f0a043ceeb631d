using Registry.Benchmarks;
using Registry.Benchmarks.Report;
using Xunit.Abstractions;

namespace Registry.Tests.Benchmarks;

/// <summary>
/// The benchmark harness in short mode (<c>./scripts/bench --short</c>), run once in this process against real
/// Azurite, our registry and Distribution: every workload must produce its rows with real figures. No figure is
/// compared with a time, since these machines are shared and noisy; only the storage-call counts, which are
/// deterministic, are held to their goals where the registry meets them today.
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
                // Only storage-call counts have no baseline: they are held to goals of their own.
                Assert.Equal("storage-calls", row.Source);
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
