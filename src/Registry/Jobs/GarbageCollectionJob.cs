using Registry.Collection;

namespace Registry.Jobs;

/// <summary>Online garbage collection on its schedule: one <see cref="GarbageCollector"/> run, which is safe on several instances at once.</summary>
public sealed class GarbageCollectionJob(GarbageCollector collector) : IScheduledJob
{
    public string Name => "garbage-collection";

    public string ScheduleSetting => "JOBS_GARBAGE_COLLECTION_SCHEDULE";

    public string DefaultSchedule => "0 30 3 * * *";

    public async Task<JobReport> RunAsync(CancellationToken cancellationToken)
    {
        var report = await collector.RunAsync(dryRun: false, cancellationToken);
        return new JobReport(Name, JobReport.Completed, report.Summary);
    }
}
