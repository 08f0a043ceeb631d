namespace Registry.Admin.Pricing;

/// <summary>The dollars of a <see cref="Usage"/>, by what Azure bills for, and their sum.</summary>
public sealed record Cost(decimal Compute, decimal Executions, decimal BlobOperations, decimal TableOperations, decimal Events, decimal Storage, decimal Egress)
{
    public decimal Total => Compute + Executions + BlobOperations + TableOperations + Events + Storage + Egress;
}

/// <summary>Turns usage into dollars at the prices of one <see cref="PriceSheet"/>, and prices the alternatives for the same stored bytes.</summary>
public sealed class CostCalculator(PriceSheet prices)
{
    private const decimal Million = 1_000_000m;
    private const decimal TenThousand = 10_000m;

    public PriceSheet Prices => prices;

    /// <summary>This registry on Flex Consumption, Blob and Table storage and Event Grid; no free grant applied.</summary>
    public Cost Of(Usage usage)
    {
        ArgumentNullException.ThrowIfNull(usage);
        return new Cost(
            Compute: usage.InstanceSeconds * prices.FlexInstanceMemoryGb * prices.FlexPerGbSecond,
            Executions: usage.Executions / Million * prices.FlexPerMillionExecutions,
            BlobOperations: (usage.BlobWrites * prices.BlobWritePer10K + usage.BlobReads * prices.BlobReadPer10K + usage.BlobOther * prices.BlobOtherPer10K) / TenThousand,
            TableOperations: usage.TableTransactions / TenThousand * prices.TablePer10K,
            Events: usage.EventOperations / Million * prices.EventGridPerMillion,
            Storage: usage.BlobGbMonths * prices.BlobPerGbMonth + usage.TableGbMonths * prices.TablePerGbMonth,
            Egress: usage.EgressGb * prices.EgressPerGb);
    }

    /// <summary>Distribution on one small VM with a 1 TiB disk: the same every month, whatever the traffic (egress aside).</summary>
    public decimal VmPerMonth() => prices.VmPerHour * PriceSheet.HoursPerMonth + prices.VmDiskPerMonth;

    /// <summary>An ACR tier holding <paramref name="storedGb"/> for a month: its daily price plus the storage beyond what it includes.</summary>
    public decimal AcrPerMonth(AcrTier tier, decimal storedGb)
    {
        ArgumentNullException.ThrowIfNull(tier);
        return (tier.PerDay + Math.Max(0, storedGb - tier.IncludedGb) * prices.AcrExtraPerGbDay) * PriceSheet.DaysPerMonth;
    }
}
