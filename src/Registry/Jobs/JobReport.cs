namespace Registry.Jobs;

/// <summary>What a run of a background job did, as the Functions host records it (the invocation's return value).</summary>
public sealed record JobReport(string Job, string Status, string Summary)
{
    public const string Completed = "completed";

    /// <summary>The job is wired but has nothing to do in this deployment, or its feature is not built yet.</summary>
    public const string NotConfigured = "not-configured";
}
