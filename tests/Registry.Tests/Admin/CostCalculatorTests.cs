using Registry.Admin.Pricing;

namespace Registry.Tests.Admin;

/// <summary>The calculator's arithmetic on round prices and counts, worked out by hand in each test.</summary>
public sealed class CostCalculatorTests
{
    private static readonly PriceSheet Round = PriceSheet.ListPrices with
    {
        FlexPerGbSecond = 0.00002m,
        FlexPerMillionExecutions = 0.50m,
        FlexInstanceMemoryGb = 2m,
        BlobPerGbMonth = 0.02m,
        BlobWritePer10K = 0.10m,
        BlobReadPer10K = 0.01m,
        BlobOtherPer10K = 0.02m,
        TablePerGbMonth = 0.05m,
        TablePer10K = 0.001m,
        EventGridPerMillion = 1m,
        EgressPerGb = 0.1m,
        VmPerHour = 0.1m,
        VmDiskPerMonth = 7m,
        AcrExtraPerGbDay = 0.01m,
    };

    [Fact]
    public void Of_PricesEachBilledUnit_AndSumsThem()
    {
        var cost = new CostCalculator(Round).Of(new Usage
        {
            Executions = 2_000_000, InstanceSeconds = 1_000, BlobWrites = 30_000, BlobReads = 50_000, BlobOther = 10_000,
            TableTransactions = 200_000, EventOperations = 3_000_000, BlobGbMonths = 100, TableGbMonths = 10, EgressGb = 5,
        });

        Assert.Equal(0.04m, cost.Compute);            // 1,000 s × 2 GB × 0.00002
        Assert.Equal(1.00m, cost.Executions);         // 2 million × 0.50
        Assert.Equal(0.37m, cost.BlobOperations);     // 3 × 0.10 + 5 × 0.01 + 1 × 0.02
        Assert.Equal(0.02m, cost.TableOperations);    // 20 × 0.001
        Assert.Equal(3.00m, cost.Events);             // 3 million × 1
        Assert.Equal(2.50m, cost.Storage);            // 100 × 0.02 + 10 × 0.05
        Assert.Equal(0.50m, cost.Egress);             // 5 × 0.1
        Assert.Equal(7.43m, cost.Total);
    }

    [Fact]
    public void Usage_TimesACount_CostsThatManyTimesAsMuch()
    {
        var calculator = new CostCalculator(Round);
        var one = new Usage { Executions = 9, BlobReads = 6, TableTransactions = 7, InstanceSeconds = 0.02m };
        Assert.Equal(calculator.Of(one).Total * 1_000, calculator.Of(one * 1_000).Total);
        Assert.Equal(calculator.Of(one).Total * 2, calculator.Of(one + one).Total);
    }

    [Fact]
    public void Alternatives_AreAFixedVmMonth_AndAcrsDailyPriceWithStorageBeyondWhatItIncludes()
    {
        var calculator = new CostCalculator(Round);
        Assert.Equal(80m, calculator.VmPerMonth());   // 730 h × 0.1 + 7
        var tier = new AcrTier("Test", 1m, 100, 1_000, 100);
        Assert.Equal(1m * (730m / 24m), calculator.AcrPerMonth(tier, 50));                // within the included 100 GB
        Assert.Equal((1m + 400 * 0.01m) * (730m / 24m), calculator.AcrPerMonth(tier, 500)); // 400 GB beyond, per day
    }

    [Fact]
    public void DockerPush_CountsOnePutBlockPer4MiB_AndOneBlockListPerBlob()
    {
        const long mib = 1024 * 1024;
        var push = RegistryOperations.DockerPush([1 * mib, 4 * mib, 9 * mib]);
        Assert.Equal(1 + 1 + 3 + 1 + 4, push.BlobWrites); // blocks 1, 1, 3, the config's 1; four block lists
        Assert.Equal(2 + 4 * 4 + 1, push.Executions);
        var pull = RegistryOperations.DockerPull(3, 2L * 1024 * mib);
        Assert.Equal(4, pull.BlobReads);
        Assert.Equal(2m, pull.EgressGb);
    }
}
