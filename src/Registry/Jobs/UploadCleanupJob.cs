using Registry.Diagnostics;
using Registry.Storage.Uploads;

namespace Registry.Jobs;

/// <summary>Removes upload sessions that outlived their lifetime and reports how many are open.</summary>
public sealed class UploadCleanupJob(BlobUploads uploads, RegistryMetrics metrics) : IScheduledJob
{
    public string Name => "upload-cleanup";

    public string ScheduleSetting => "JOBS_UPLOAD_CLEANUP_SCHEDULE";

    public string DefaultSchedule => "0 0 * * * *";

    public async Task<JobReport> RunAsync(CancellationToken cancellationToken)
    {
        var sweep = await uploads.SweepExpiredAsync(cancellationToken);
        metrics.RecordOpenUploads(sweep.Open);
        return new JobReport(Name, JobReport.Completed, $"{sweep.Removed} expired upload sessions removed, {sweep.Open} open");
    }
}
