using System.Globalization;
using System.Net;
using Registry.Admin.Pricing;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Admin;

/// <summary><c>registry-admin cost</c> over a registry that pushed and pulled: counts from the audit log, dollars from the calculator.</summary>
[Collection(AdminTestGroup.Name)]
public sealed class CostCommandTests(AdminStorage storage)
{
    [Fact]
    public async Task Cost_CountsAuditedPushesAndPulls_ScalesPullsBySampleRate_AndPricesThemWithStoredBytes()
    {
        var repository = RegistryFixture.NewRepository("cost");
        await using (var registry = await ExtraRegistry.StartAsync(storage.Azurite, []))
        {
            using var http = registry.OwnerClient();
            var client = new OciTestClient(http);
            await client.PushImageAsync(repository, "v1", layerSize: 4096);
            for (var i = 0; i < 3; i++)
            {
                using var got = await client.SendAsync(HttpMethod.Get, $"/v2/{repository}/manifests/v1",
                    configure: r => r.Headers.Accept.ParseAdd(OciTestClient.OciManifest));
                Assert.Equal(HttpStatusCode.OK, got.StatusCode);
            }
        } // stopping the registry writes the audit records it queued

        var usage = await storage.RunAsync("usage", "--repo", repository);
        var storedBytes = long.Parse(usage.Lines[1].Split('\t')[4], CultureInfo.InvariantCulture);
        var run = await storage.RunAsync("cost", "--repo", repository, "--days", "2", "--layers", "1", "--image-mib", "1", "--pull-sample-rate", "0.5");
        Assert.Equal(0, run.ExitCode);
        Assert.Equal("repository\tstored-bytes\tpushes\tpulls\tstorage-$\toperations-$\tmonthly-$\tegress-$-if-to-internet", run.Lines[0]);
        var row = run.Lines[1].Split('\t');
        Assert.Equal([repository, storedBytes.ToString(CultureInfo.InvariantCulture), "1", "6"], row[..4]);

        var calculator = new CostCalculator(PriceSheet.ListPrices);
        var month = PriceSheet.DaysPerMonth / 2;
        var pull = RegistryOperations.DockerPull(1, 1024 * 1024);
        var operations = calculator.Of(RegistryOperations.DockerPush([1024 * 1024]) * month + (pull with { EgressGb = 0 }) * (6 * month)).Total;
        var stored = calculator.Of(new Usage { BlobGbMonths = storedBytes / (1024m * 1024 * 1024) }).Total;
        Assert.True(operations > 0 && stored > 0);
        Assert.Equal(Math.Round(stored, 4), decimal.Parse(row[4], CultureInfo.InvariantCulture));
        Assert.Equal(Math.Round(operations, 4), decimal.Parse(row[5], CultureInfo.InvariantCulture));
        Assert.Equal(Math.Round(calculator.Of(pull * (6 * month)).Egress, 4), decimal.Parse(row[7], CultureInfo.InvariantCulture));
        Assert.Contains("÷ 0.5", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cost_WithBadInput_ReportsEveryProblem_AndExits1()
    {
        var run = await storage.RunAsync("cost", "--repo", "bad pattern", "--days", "0", "--layers", "0", "--image-mib", "0", "--pull-sample-rate", "2");
        Assert.Equal(1, run.ExitCode);
        Assert.Equal(5, run.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries).Count(l => l.StartsWith("error: ", StringComparison.Ordinal)));
    }
}
