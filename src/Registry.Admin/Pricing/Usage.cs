namespace Registry.Admin.Pricing;

/// <summary>
/// What a workload uses, in the units Azure bills: function executions and instance time, storage operations by
/// price class, Event Grid operations, data stored for a month and bytes sent out. Usages add and scale, so the usage of
/// one operation times a count is that many operations'.
/// </summary>
public sealed record Usage
{
    public static Usage None { get; } = new();

    /// <summary>HTTP requests (each one an execution).</summary>
    public decimal Executions { get; init; }

    /// <summary>Seconds an instance is billed for: while it executes at least one request.</summary>
    public decimal InstanceSeconds { get; init; }

    public decimal BlobWrites { get; init; }

    public decimal BlobReads { get; init; }

    public decimal BlobOther { get; init; }

    public decimal TableTransactions { get; init; }

    public decimal EventOperations { get; init; }

    public decimal BlobGbMonths { get; init; }

    public decimal TableGbMonths { get; init; }

    public decimal EgressGb { get; init; }

    public static Usage operator +(Usage a, Usage b) => new()
    {
        Executions = a.Executions + b.Executions,
        InstanceSeconds = a.InstanceSeconds + b.InstanceSeconds,
        BlobWrites = a.BlobWrites + b.BlobWrites,
        BlobReads = a.BlobReads + b.BlobReads,
        BlobOther = a.BlobOther + b.BlobOther,
        TableTransactions = a.TableTransactions + b.TableTransactions,
        EventOperations = a.EventOperations + b.EventOperations,
        BlobGbMonths = a.BlobGbMonths + b.BlobGbMonths,
        TableGbMonths = a.TableGbMonths + b.TableGbMonths,
        EgressGb = a.EgressGb + b.EgressGb,
    };

    public static Usage operator *(Usage a, decimal times) => new()
    {
        Executions = a.Executions * times,
        InstanceSeconds = a.InstanceSeconds * times,
        BlobWrites = a.BlobWrites * times,
        BlobReads = a.BlobReads * times,
        BlobOther = a.BlobOther * times,
        TableTransactions = a.TableTransactions * times,
        EventOperations = a.EventOperations * times,
        BlobGbMonths = a.BlobGbMonths * times,
        TableGbMonths = a.TableGbMonths * times,
        EgressGb = a.EgressGb * times,
    };
}
