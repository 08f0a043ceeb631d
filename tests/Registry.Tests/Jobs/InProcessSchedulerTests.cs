using Microsoft.Extensions.DependencyInjection;
using Registry.Host;
using Registry.Jobs;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Jobs;

/// <summary>Standalone, the registry runs its scheduled jobs itself, on the schedules their app settings give.</summary>
[Collection(RegistryTestGroup.Name)]
public sealed class InProcessSchedulerTests(RegistryFixture registry)
{
    private sealed class CountingJob : IScheduledJob
    {
        private int _runs;

        public int Runs => Volatile.Read(ref _runs);

        public string Name => "counting";

        public string ScheduleSetting => "JOBS_COUNTING_SCHEDULE";

        public string DefaultSchedule => "0 0 0 1 1 *";

        public Task<JobReport> RunAsync(CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _runs);
            return Task.FromResult(new JobReport(Name, JobReport.Completed, "counted"));
        }
    }

    [Fact]
    public async Task Standalone_RunsAJobOnTheScheduleFromItsSetting()
    {
        var job = new CountingJob();
        await using var standalone = await ExtraRegistry.StartAsync(registry.Storage, ["--JOBS_COUNTING_SCHEDULE=* * * * * *"],
            builder => builder.Services.AddSingleton<IScheduledJob>(job));
        // Every second: two runs arrive within a few seconds (bounded wait; nothing here is a timing assertion).
        for (var waited = 0; job.Runs < 2 && waited < 100; waited++)
        {
            await Task.Delay(100);
        }
        Assert.True(job.Runs >= 2, $"the job ran {job.Runs} times");
    }

    [Fact]
    public async Task Standalone_WithJobsInProcessOff_RunsNothing()
    {
        var job = new CountingJob();
        await using (await ExtraRegistry.StartAsync(registry.Storage, ["--JOBS_COUNTING_SCHEDULE=* * * * * *", "--Jobs:InProcess=false"],
            builder => builder.Services.AddSingleton<IScheduledJob>(job)))
        {
            await Task.Delay(2500);
        }
        Assert.Equal(0, job.Runs);
    }

    [Fact]
    public void BadSchedule_StopsTheStart_NamingTheSetting()
    {
        var error = Assert.Throws<InvalidOperationException>(() => RegistryHost.Build(
        [
            "--Registry:Port=0", $"--Storage:ConnectionString={registry.Storage.ConnectionString}",
            "--JOBS_UPLOAD_CLEANUP_SCHEDULE=every hour", "--JOBS_RETENTION_SCHEDULE=0 0 3 * *",
        ]));
        Assert.Contains("JOBS_UPLOAD_CLEANUP_SCHEDULE = 'every hour'", error.Message, StringComparison.Ordinal);
        Assert.Contains("JOBS_RETENTION_SCHEDULE = '0 0 3 * *'", error.Message, StringComparison.Ordinal);
    }
}
