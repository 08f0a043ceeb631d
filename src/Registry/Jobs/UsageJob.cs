using System.Globalization;
using Registry.Diagnostics;
using Registry.Storage;
using Registry.Storage.Quotas;

namespace Registry.Jobs;

/// <summary>
/// Counts what the registry holds (<see cref="UsageCensus"/> over every repository, the stored content, each quota's
/// usage) and hands it to the usage and quota gauges of <see cref="RegistryMetrics"/>. It reads every repository's tag,
/// manifest and link keys: its cost grows with the registry's size, hence hourly and not on a request's path.
/// </summary>
public sealed class UsageJob(UsageCensus census, RepositoryRows rows, StorageQuotas quotas, QuotaAdmission admission, RegistryMetrics metrics) : IScheduledJob
{
    public string Name => "usage";

    public string ScheduleSetting => "JOBS_USAGE_SCHEDULE";

    public string DefaultSchedule => "0 15 * * * *";

    public async Task<JobReport> RunAsync(CancellationToken cancellationToken)
    {
        var totals = await census.CountAsync("*", null, cancellationToken);
        var (_, storedBytes) = await rows.StoredContentAsync(cancellationToken);
        var quotaFigures = new List<QuotaFigures>();
        foreach (var quota in await quotas.ListAsync(cancellationToken))
        {
            quotaFigures.Add(new QuotaFigures(quota.RepositoryPattern, await admission.ReadUsageAsync(quota.RepositoryPattern, cancellationToken), quota.Bytes));
        }
        metrics.RecordUsage(new UsageFigures(
            totals.Repositories, totals.Tags, totals.Manifests, totals.BlobLinks, totals.LogicalBytes, totals.UniqueBytes, storedBytes, quotaFigures));
        return new JobReport(Name, JobReport.Completed, string.Create(CultureInfo.InvariantCulture,
            $"{totals.Repositories} repositories, {totals.Tags} tags, {totals.Manifests} manifests, {totals.LogicalBytes} bytes linked, {totals.UniqueBytes} unique, {storedBytes} stored; {quotaFigures.Count} quotas"));
    }
}
