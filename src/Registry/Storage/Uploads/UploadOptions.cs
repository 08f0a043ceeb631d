using Microsoft.Extensions.Options;

namespace Registry.Storage.Uploads;

/// <summary>How long an upload body may stall and how much memory uploads may hold (configuration section <c>Uploads</c>).</summary>
public sealed class UploadOptions
{
    public const string Section = "Uploads";

    /// <summary>
    /// An upload request whose body sends no byte for this long, while the registry waits for one, is ended with 408.
    /// What arrived before is staged, and recorded when the request did not declare its length.
    /// </summary>
    public TimeSpan BodyIdleTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Memory for staging blocks across every upload request of this instance, counted in whole blocks of
    /// <see cref="BlockStager.BlockSize"/> (rounded down). An upload request holds one to three of them while its
    /// body is read.
    /// </summary>
    public long StagingMemoryBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>How long a new upload waits for a free staging block before it is refused with 429.</summary>
    public TimeSpan StagingWait { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long no staging block must have been in use before the kept ones beyond a few are dropped and their memory
    /// given back (<see cref="StagingBuffers"/> says why two minutes). Shorter only for measurements and tests.
    /// </summary>
    public TimeSpan StagingTrimAfter { get; set; } = TimeSpan.FromMinutes(2);
}

/// <summary>Checks <see cref="UploadOptions"/> at start-up and names every setting that is out of range.</summary>
public sealed class UploadOptionsValidator : IValidateOptions<UploadOptions>
{
    public static readonly TimeSpan MaxBodyIdleTimeout = TimeSpan.FromHours(1);
    public static readonly TimeSpan MaxStagingWait = TimeSpan.FromMinutes(5);
    public static readonly TimeSpan MaxStagingTrimAfter = TimeSpan.FromHours(1);

    public ValidateOptionsResult Validate(string? name, UploadOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = new List<string>();
        if (options.BodyIdleTimeout <= TimeSpan.Zero || options.BodyIdleTimeout > MaxBodyIdleTimeout)
        {
            problems.Add($"{UploadOptions.Section}:{nameof(UploadOptions.BodyIdleTimeout)} is {options.BodyIdleTimeout:c}; set a time above zero and at most {MaxBodyIdleTimeout:c}, such as 00:00:30");
        }
        if (options.StagingMemoryBytes < BlockStager.BlockSize || options.StagingMemoryBytes / BlockStager.BlockSize > int.MaxValue)
        {
            problems.Add($"{UploadOptions.Section}:{nameof(UploadOptions.StagingMemoryBytes)} is {options.StagingMemoryBytes}; set at least one block, {BlockStager.BlockSize} bytes, such as 268435456");
        }
        if (options.StagingWait < TimeSpan.Zero || options.StagingWait > MaxStagingWait)
        {
            problems.Add($"{UploadOptions.Section}:{nameof(UploadOptions.StagingWait)} is {options.StagingWait:c}; set a time from 00:00:00 (refuse at once) to {MaxStagingWait:c}");
        }
        if (options.StagingTrimAfter <= TimeSpan.Zero || options.StagingTrimAfter > MaxStagingTrimAfter)
        {
            problems.Add($"{UploadOptions.Section}:{nameof(UploadOptions.StagingTrimAfter)} is {options.StagingTrimAfter:c}; set a time above zero and at most {MaxStagingTrimAfter:c}, such as 00:02:00");
        }
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
