using Registry.Retention;

namespace Registry.Jobs;

/// <summary>The retention policies on their schedule: one <see cref="RetentionRunner"/> run, safe on several instances at once.</summary>
public sealed class RetentionJob(RetentionRunner runner) : IScheduledJob
{
    public string Name => "retention";

    public string ScheduleSetting => "JOBS_RETENTION_SCHEDULE";

    public string DefaultSchedule => "0 0 3 * * *";

    public async Task<JobReport> RunAsync(CancellationToken cancellationToken)
    {
        var report = await runner.RunAsync(dryRun: false, only: null, cancellationToken);
        return new JobReport(Name, JobReport.Completed, report.Summary);
    }
}
