using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Registry.Oci;
using Registry.Storage.Quotas;
using Registry.Tests.Admin;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Collection;

/// <summary>
/// Storage quotas (<c>registry-admin quota</c>): a pattern's unique blob bytes may not pass its quota. A blob that
/// would take them past it is refused at upload completion (and at mount) with 403 DENIED saying the quota, the usage
/// and how to free space; while over, a manifest push is refused too; pulls and deletes keep working; a digest the
/// pattern holds already, and an upload that was never completed, cost nothing. The registry here reads usage from
/// storage on every check (<c>Quotas:UsageRefresh=0</c>), so each answer follows from what storage holds.
/// </summary>
[Collection(RegistryTestGroup.Name)]
public sealed class QuotaTests(RegistryFixture registry)
{
    private const int Kib = 1024;

    private static Task<ExtraRegistry> StartAsync(RegistryFixture registry) =>
        ExtraRegistry.StartAsync(registry.Storage, ["--Quotas:UsageRefresh=00:00:00", "--Jobs:InProcess=false"]);

    private static Task<HttpResponseMessage> PushWholeAsync(HttpClient http, string repository, byte[] blob) =>
        http.PostAsync($"/v2/{repository}/blobs/uploads/?digest={OciTestClient.DigestOf(blob)}", OciTestClient.Octets(blob));

    private static async Task AssertOverQuotaAsync(HttpResponseMessage response, string pattern)
    {
        var body = await response.Content.ReadAsStringAsync();
        await OciTestClient.AssertErrorAsync(response, HttpStatusCode.Forbidden, "DENIED");
        using var json = System.Text.Json.JsonDocument.Parse(body);
        var detail = json.RootElement.GetProperty("errors")[0].GetProperty("detail").GetString()!;
        Assert.Contains($"storage quota of '{pattern}': 10 KiB, of which", detail, StringComparison.Ordinal);
        Assert.Contains("Free space by deleting images", detail, StringComparison.Ordinal);
        Assert.Contains($"registry-admin quota set '{pattern}' <size>", detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ABlobPastThePatternsQuota_IsRefusedWith403_WhileDigestsThePatternHoldsAndUncompletedUploadsCostNothing()
    {
        await using var extra = await StartAsync(registry);
        using var http = extra.OwnerClient();
        var team = RegistryFixture.NewRepository("quota");
        var pattern = team + "/*";
        var quotas = extra.Services.GetRequiredService<StorageQuotas>();
        await quotas.SetAsync(new StorageQuota(pattern, 10 * Kib), "test", CancellationToken.None);
        try
        {
            // An upload never completed holds staged bytes, but no link: it is not charged.
            var abandoned = await http.PostAsync($"/v2/{team}/a/blobs/uploads/", null);
            Assert.Equal(HttpStatusCode.Accepted, (await http.PatchAsync(abandoned.Headers.Location, OciTestClient.Octets(OciTestClient.RandomBytes(9 * Kib)))).StatusCode);

            var first = OciTestClient.RandomBytes(6 * Kib);
            Assert.Equal(HttpStatusCode.Created, (await PushWholeAsync(http, $"{team}/a", first)).StatusCode);
            await AssertOverQuotaAsync(await PushWholeAsync(http, $"{team}/b", OciTestClient.RandomBytes(6 * Kib)), pattern);

            // The same bytes in another repository of the pattern, pushed or mounted, are counted once.
            Assert.Equal(HttpStatusCode.Created, (await PushWholeAsync(http, $"{team}/b", first)).StatusCode);
            var mounted = await http.PostAsync($"/v2/{team}/c/blobs/uploads/?mount={OciTestClient.DigestOf(first)}&from={team}/a", null);
            Assert.Equal(HttpStatusCode.Created, mounted.StatusCode);
            Assert.Equal(6 * Kib, await extra.Services.GetRequiredService<QuotaAdmission>().ReadUsageAsync(pattern, CancellationToken.None));

            // A repository outside the pattern is not covered.
            var outside = RegistryFixture.NewRepository("quota");
            Assert.Equal(HttpStatusCode.Created, (await PushWholeAsync(http, outside, OciTestClient.RandomBytes(12 * Kib))).StatusCode);
        }
        finally
        {
            Assert.True(await quotas.RemoveAsync(pattern, CancellationToken.None));
        }
    }

    [Fact]
    public async Task OverQuota_ManifestsAndMountsAreRefused_PullsAndDeletesWork_AndARefusedCompletionSucceedsOnceThereIsRoom()
    {
        await using var extra = await StartAsync(registry);
        using var http = extra.OwnerClient();
        var oci = new OciTestClient(http);
        var repo = RegistryFixture.NewRepository("quota");
        var image = await oci.PushImageAsync(repo, "v1", layerSize: 8 * Kib);
        var layer = (string)System.Text.Json.Nodes.JsonNode.Parse(image)!["layers"]![0]!["digest"]!;
        var spare = OciTestClient.RandomBytes(4 * Kib);
        Assert.Equal(HttpStatusCode.Created, (await PushWholeAsync(http, repo, spare)).StatusCode);
        var quotas = extra.Services.GetRequiredService<StorageQuotas>();
        // Lowered below what the repository holds (12 KiB and a config).
        await quotas.SetAsync(new StorageQuota(repo, 10 * Kib), "test", CancellationToken.None);
        try
        {
            await AssertOverQuotaAsync(await oci.PutManifestAsync(repo, "v2", image), repo);
            var elsewhere = RegistryFixture.NewRepository("quota");
            var other = OciTestClient.RandomBytes(Kib);
            await oci.PushBlobAsync(elsewhere, other);
            await AssertOverQuotaAsync(
                await http.PostAsync($"/v2/{repo}/blobs/uploads/?mount={OciTestClient.DigestOf(other)}&from={elsewhere}", null), repo);

            // A chunked upload refused at its completion keeps its session.
            var extraBytes = OciTestClient.RandomBytes(Kib);
            var session = await http.PostAsync($"/v2/{repo}/blobs/uploads/", null);
            var patched = await http.PatchAsync(session.Headers.Location, OciTestClient.Octets(extraBytes));
            Assert.Equal(HttpStatusCode.Accepted, patched.StatusCode);
            var completion = OciTestClient.WithDigest(patched.Headers.Location!, OciTestClient.DigestOf(extraBytes));
            await AssertOverQuotaAsync(await http.PutAsync(completion, null), repo);

            // Pulls work over quota, and so do deletes: removing the unused blob brings the repository back under it.
            Assert.Equal(HttpStatusCode.OK, (await oci.SendAsync(HttpMethod.Get, $"/v2/{repo}/manifests/v1",
                configure: r => r.Headers.Accept.ParseAdd(OciTestClient.OciManifest))).StatusCode);
            Assert.Equal(HttpStatusCode.TemporaryRedirect, (await oci.SendAsync(HttpMethod.Get, $"/v2/{repo}/blobs/{layer}")).StatusCode);
            Assert.Equal(HttpStatusCode.Accepted, (await http.DeleteAsync($"/v2/{repo}/blobs/{OciTestClient.DigestOf(spare)}")).StatusCode);

            Assert.Equal(HttpStatusCode.Created, (await http.PutAsync(completion, null)).StatusCode);
            Assert.Equal(HttpStatusCode.Created, (await oci.PutManifestAsync(repo, "v2", image)).StatusCode);
        }
        finally
        {
            Assert.True(await quotas.RemoveAsync(repo, CancellationToken.None));
        }
    }

    [Fact]
    public async Task QuotaCommands_SetListAndRemove_WithTheUsageNow()
    {
        var repo = RegistryFixture.NewRepository("quota");
        var oci = new OciTestClient(registry.Client);
        await oci.PushBlobAsync(repo, OciTestClient.RandomBytes(3000));
        var connection = registry.Storage.ConnectionString;

        var set = await AdminStorage.RunWithAsync(connection, "quota", "set", repo, "1.5MiB");
        Assert.Equal(0, set.ExitCode);
        try
        {
            var list = await AdminStorage.RunWithAsync(connection, "quota", "list");
            Assert.Contains($"{repo}\t{3 * 512 * Kib}\t3000\t0.2%", list.Output, StringComparison.Ordinal);
            var invalid = await AdminStorage.RunWithAsync(connection, "quota", "set", repo, "lots");
            Assert.Equal(1, invalid.ExitCode);
            Assert.Contains("'lots' is not a size", invalid.Error, StringComparison.Ordinal);
        }
        finally
        {
            Assert.Equal(0, (await AdminStorage.RunWithAsync(connection, "quota", "remove", repo)).ExitCode);
        }
        Assert.Equal(1, (await AdminStorage.RunWithAsync(connection, "quota", "remove", repo)).ExitCode);
    }

    [Theory]
    [InlineData("50GiB", 50L << 30)]
    [InlineData("1.5TiB", 3L << 39)]
    [InlineData("500mb", 500L << 20)]
    [InlineData("4096", 4096L)]
    [InlineData("0", null)]
    [InlineData("-1GiB", null)]
    [InlineData("12 parsecs", null)]
    [InlineData("", null)]
    public void Sizes_AreReadAsOwnersWriteThem(string text, long? bytes)
    {
        Assert.Equal(bytes, ByteSizes.Parse(text));
    }
}
