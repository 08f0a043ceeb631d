using Registry.Replication;

namespace Registry.Jobs;

/// <summary>On a replica, every minute: the primary's credentials copied (<see cref="CredentialMirror"/>); elsewhere nothing.</summary>
public sealed class CredentialMirrorJob(PrimaryRegistry primary, CredentialMirror mirror) : IScheduledJob
{
    public string Name => "replicate-credentials";

    public string ScheduleSetting => "JOBS_REPLICATE_CREDENTIALS_SCHEDULE";

    public string DefaultSchedule => "0 * * * * *";

    public async Task<JobReport> RunAsync(CancellationToken cancellationToken)
    {
        if (!primary.IsConfigured)
        {
            return new JobReport(Name, JobReport.NotConfigured, "this instance is no replica: its credentials are its own");
        }
        var result = await mirror.MirrorAsync(cancellationToken);
        return new JobReport(Name, JobReport.Completed, result.Summary);
    }
}
