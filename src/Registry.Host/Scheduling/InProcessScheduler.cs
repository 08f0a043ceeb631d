using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using NCrontab;
using Registry.Diagnostics;
using Registry.Jobs;
using Registry.Startup;

namespace Registry.Host.Scheduling;

/// <summary>
/// Standalone, runs every <see cref="IScheduledJob"/> on the schedule its function.json would give it under the
/// Functions host: the NCRONTAB expression (six fields, seconds first, UTC) in the job's app setting, or its default.
/// A run first waits for <see cref="StartupPreparation"/>; a run that fails, or finds storage unprepared, is logged and
/// the next occurrence comes as usual; runs of one job never overlap here.
/// </summary>
public sealed partial class InProcessScheduler(
    IEnumerable<IScheduledJob> jobs, StartupPreparation preparation, IConfiguration configuration, TimeProvider time, ILogger<InProcessScheduler> logger)
    : BackgroundService
{
    /// <summary>Each job's parsed schedule; throws with every bad setting named, so a typo stops the start.</summary>
    public static IReadOnlyList<(IScheduledJob Job, CrontabSchedule Schedule)> Schedules(IEnumerable<IScheduledJob> jobs, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        ArgumentNullException.ThrowIfNull(configuration);
        var schedules = new List<(IScheduledJob, CrontabSchedule)>();
        var problems = new List<string>();
        foreach (var job in jobs)
        {
            var expression = configuration[job.ScheduleSetting] is { Length: > 0 } configured ? configured : job.DefaultSchedule;
            var schedule = CrontabSchedule.TryParse(expression, new CrontabSchedule.ParseOptions { IncludingSeconds = true });
            if (schedule is null)
            {
                problems.Add($"{job.ScheduleSetting} = '{expression}' is not an NCRONTAB schedule: use six fields, seconds first (e.g. '0 0 * * * *' for hourly)");
            }
            else
            {
                schedules.Add((job, schedule));
            }
        }
        return problems.Count == 0 ? schedules : throw new InvalidOperationException(string.Join(Environment.NewLine, problems));
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(Schedules(jobs, configuration).Select(s => RunOnScheduleAsync(s.Job, s.Schedule, stoppingToken)));

    private async Task RunOnScheduleAsync(IScheduledJob job, CrontabSchedule schedule, CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var now = time.GetUtcNow().UtcDateTime;
            var next = schedule.GetNextOccurrence(now);
            // A cron schedule has no fixed period, so this waits for the next occurrence rather than ticking a PeriodicTimer.
            try
            {
                await Task.Delay(next - now, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            try
            {
                await preparation.EnsureAsync(stoppingToken);
                var report = await job.RunAsync(stoppingToken);
                LogJobRan(logger, job.Name, report.Status, report.Summary);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // a failed run must not stop the schedule; it is logged and retried at the next occurrence
            catch (Exception e)
#pragma warning restore CA1031
            {
                LogJobFailed(logger, job.Name, e);
            }
        }
    }

    [LoggerMessage(EventId = LogEvents.Scheduler + 1, Level = LogLevel.Information, Message = "{Job}: {Status}: {Summary}")]
    private static partial void LogJobRan(ILogger logger, string job, string status, string summary);

    [LoggerMessage(EventId = LogEvents.Scheduler + 2, Level = LogLevel.Error, Message = "{Job} failed; it runs again at its next occurrence")]
    private static partial void LogJobFailed(ILogger logger, string job, Exception exception);
}
