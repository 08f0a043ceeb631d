namespace Registry.Jobs;

/// <summary>
/// A job that runs on a schedule: under the Functions host as a timer-triggered function named <see cref="Name"/>
/// (its function.json reads the schedule from the app setting <see cref="ScheduleSetting"/>), standalone in-process on
/// the same schedule. Runs may overlap across instances; every job must be safe to run twice at once.
/// </summary>
public interface IScheduledJob
{
    /// <summary>The function name: the host posts the timer's invocation to <c>/&lt;Name&gt;</c>.</summary>
    string Name { get; }

    /// <summary>The app setting holding the NCRONTAB schedule (six fields, seconds first).</summary>
    string ScheduleSetting { get; }

    /// <summary>The schedule when the setting is absent.</summary>
    string DefaultSchedule { get; }

    Task<JobReport> RunAsync(CancellationToken cancellationToken);
}
