namespace Registry.Jobs;

/// <summary>
/// Retention policies: the trigger is wired, the policies are not built yet, so every run reports
/// <see cref="JobReport.NotConfigured"/> and untags nothing.
/// </summary>
public sealed class RetentionJob : IScheduledJob
{
    public string Name => "retention";

    public string ScheduleSetting => "JOBS_RETENTION_SCHEDULE";

    public string DefaultSchedule => "0 0 3 * * *";

    public Task<JobReport> RunAsync(CancellationToken cancellationToken) =>
        Task.FromResult(new JobReport(Name, JobReport.NotConfigured, "retention policies are not built yet; nothing was untagged"));
}
