namespace Registry.Admin.Pricing;

/// <summary>One Azure Container Registry tier: its daily price, the storage it includes and its published throttles.</summary>
public sealed record AcrTier(string Name, decimal PerDay, decimal IncludedGb, int ReadOpsPerMinute, int WriteOpsPerMinute);

/// <summary>
/// The list prices every cost figure is computed from, in US dollars, pay-as-you-go, East US: the one place they are
/// written. <see cref="ListPrices"/> says where each came from; <see cref="CostCalculator"/> turns usage into dollars.
/// No free grant is applied (they are per subscription and shared by every app in it).
/// </summary>
public sealed record PriceSheet
{
    /// <summary>The price pages, and which figures a source found on <see cref="Date"/> confirmed.</summary>
    public required string Source { get; init; }

    /// <summary>When the figures were last checked.</summary>
    public required DateOnly Date { get; init; }

    /// <summary>Flex Consumption, on demand: per GB-second of instance memory while it executes at least one request.</summary>
    public required decimal FlexPerGbSecond { get; init; }

    public required decimal FlexPerMillionExecutions { get; init; }

    /// <summary>The instance memory the deployment configures (infra/main.bicep: 2048 MB, billed as 2 GB).</summary>
    public required decimal FlexInstanceMemoryGb { get; init; }

    /// <summary>Block blobs, hot tier, LRS: data stored, per GB-month (first 50 TB).</summary>
    public required decimal BlobPerGbMonth { get; init; }

    /// <summary>Put Block, Put Block List, Put Blob, Copy Blob, Set metadata...: per 10,000.</summary>
    public required decimal BlobWritePer10K { get; init; }

    /// <summary>Get Blob (each GET of a layer by a client following the redirect), per 10,000.</summary>
    public required decimal BlobReadPer10K { get; init; }

    /// <summary>Get Blob Properties, Get Block List and the other operations except delete (free), per 10,000.</summary>
    public required decimal BlobOtherPer10K { get; init; }

    /// <summary>Table storage, LRS, per GB-month.</summary>
    public required decimal TablePerGbMonth { get; init; }

    /// <summary>Table transactions (a point read, a query page, an entity-group transaction), per 10,000.</summary>
    public required decimal TablePer10K { get; init; }

    /// <summary>Event Grid basic: per million operations (each publish and each delivery attempt).</summary>
    public required decimal EventGridPerMillion { get; init; }

    /// <summary>Internet egress from the region, per GB (after the first 100 GB a month, first 10 TB).</summary>
    public required decimal EgressPerGb { get; init; }

    /// <summary>A small Linux VM for Distribution (Standard_B2s, 2 vCPU, 4 GiB), per hour.</summary>
    public required decimal VmPerHour { get; init; }

    /// <summary>A 1 TiB managed disk for the VM's image store (Standard SSD E30), per month.</summary>
    public required decimal VmDiskPerMonth { get; init; }

    public required IReadOnlyList<AcrTier> Acr { get; init; }

    /// <summary>ACR storage beyond a tier's included storage, per GB-day.</summary>
    public required decimal AcrExtraPerGbDay { get; init; }

    /// <summary>Azure's billing month: 730 hours.</summary>
    public const decimal HoursPerMonth = 730m;

    public const decimal DaysPerMonth = HoursPerMonth / 24m;

    public static PriceSheet ListPrices { get; } = new()
    {
        Source = "azure.microsoft.com/pricing/details/{functions,storage/blobs,storage/tables,event-grid,bandwidth,"
            + "container-registry,virtual-machines/linux,managed-disks}, East US, pay-as-you-go. Confirmed on 2026-12-03 by "
            + "sources the search found: Flex $0.000026/GB-s (modal.com, 2025-05-22); ACR Basic $0.167/day with 10 GiB and "
            + "$0.003/GB-day beyond, 100/500 GiB included in Standard/Premium (Microsoft Learn, container-registry-skus); ACR "
            + "ReadOps/WriteOps per minute (docs.azure.cn, container-registry-skus, an older edition; today's Learn page "
            + "no longer lists them); hot blob storage about 1.8 cents/GB; B2s about $0.05/h. The rest are the pages' figures "
            + "as last known, not re-read: Flex $0.40 per million executions, blob write $0.065, read $0.005, other $0.005 "
            + "per 10,000, table $0.045/GB and $0.00036 per 10,000, Event Grid $0.60 per million, egress $0.087/GB, "
            + "ACR Standard $0.667/day and Premium $1.667/day, B2s $0.0416/h, E30 $76.80/month",
        Date = new DateOnly(2026, 12, 3),
        FlexPerGbSecond = 0.000026m,
        FlexPerMillionExecutions = 0.40m,
        FlexInstanceMemoryGb = 2m,
        BlobPerGbMonth = 0.018m,
        BlobWritePer10K = 0.065m,
        BlobReadPer10K = 0.005m,
        BlobOtherPer10K = 0.005m,
        TablePerGbMonth = 0.045m,
        TablePer10K = 0.00036m,
        EventGridPerMillion = 0.60m,
        EgressPerGb = 0.087m,
        VmPerHour = 0.0416m,
        VmDiskPerMonth = 76.80m,
        Acr =
        [
            new AcrTier("Basic", 0.167m, 10, 1_000, 100),
            new AcrTier("Standard", 0.667m, 100, 3_000, 500),
            new AcrTier("Premium", 1.667m, 500, 10_000, 2_000),
        ],
        AcrExtraPerGbDay = 0.003m,
    };
}
