using System.Net;
using System.Text;
using System.Text.Json;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Conformance;

/// <summary>The distribution-spec "content discovery" workflow: tag lists, the catalog and referrers.</summary>
[Collection(RegistryTestGroup.Name)]
public sealed class DiscoveryTests(RegistryFixture registry)
{
    private readonly OciTestClient _oci = new(registry.Client);

    private async Task<List<string>> ListAsync(string path, string field)
    {
        var response = await registry.Client.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return doc.RootElement.GetProperty(field).EnumerateArray().Select(e => e.GetString()!).ToList();
    }

    [Fact]
    public async Task TagsList_IsLexicalAndPagesWithLink()
    {
        var repo = RegistryFixture.NewRepository();
        var manifest = await _oci.PushImageAsync(repo, "b");
        foreach (var tag in new[] { "a", "C", "c", "b2", "_z" })
        {
            Assert.Equal(HttpStatusCode.Created, (await _oci.PutManifestAsync(repo, tag, manifest)).StatusCode);
        }
        string[] all = ["C", "_z", "a", "b", "b2", "c"];
        Assert.Equal(all, await ListAsync($"/v2/{repo}/tags/list", "tags"));

        var page = await registry.Client.GetAsync($"/v2/{repo}/tags/list?n=2");
        using (var doc = JsonDocument.Parse(await page.Content.ReadAsStringAsync()))
        {
            Assert.Equal(repo, doc.RootElement.GetProperty("name").GetString());
            Assert.Equal(["C", "_z"], doc.RootElement.GetProperty("tags").EnumerateArray().Select(e => e.GetString()));
        }
        var link = page.Headers.GetValues("Link").Single();
        Assert.Equal($"</v2/{repo}/tags/list?n=2&last=_z>; rel=\"next\"", link);

        var collected = new List<string>();
        string? next = $"/v2/{repo}/tags/list?n=2";
        while (next is not null)
        {
            var response = await registry.Client.GetAsync(next);
            using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            collected.AddRange(doc.RootElement.GetProperty("tags").EnumerateArray().Select(e => e.GetString()!));
            next = response.Headers.TryGetValues("Link", out var links) ? links.Single()[1..links.Single().IndexOf('>', StringComparison.Ordinal)] : null;
        }
        Assert.Equal(all, collected);
        Assert.Equal(["b2", "c"], await ListAsync($"/v2/{repo}/tags/list?last=b", "tags"));
        Assert.Empty(await ListAsync($"/v2/{repo}/tags/list?n=0", "tags"));
    }

    [Fact]
    public async Task TagsList_OfAnUnknownRepository_Returns404NameUnknown()
    {
        var response = await registry.Client.GetAsync($"/v2/{RegistryFixture.NewRepository()}/tags/list");
        await OciTestClient.AssertErrorAsync(response, HttpStatusCode.NotFound, "NAME_UNKNOWN");
    }

    [Fact]
    public async Task Catalog_ListsPushedRepositoriesInOrder_AndPages()
    {
        var prefix = "cat" + Guid.NewGuid().ToString("N")[..8];
        string[] repos = [$"{prefix}/b", $"{prefix}/a/x", $"{prefix}/a", $"{prefix}-z", $"{prefix}.y"];
        foreach (var repo in repos)
        {
            await _oci.PushImageAsync(repo, "t");
        }
        var listed = (await ListAsync("/v2/_catalog", "repositories")).Where(r => r.StartsWith(prefix, StringComparison.Ordinal)).ToList();
        Assert.Equal(repos.Order(StringComparer.Ordinal), listed);
        var page = await registry.Client.GetAsync($"/v2/_catalog?n=1&last={Uri.EscapeDataString($"{prefix}/a")}");
        using var doc = JsonDocument.Parse(await page.Content.ReadAsStringAsync());
        Assert.Equal($"{prefix}/a/x", doc.RootElement.GetProperty("repositories")[0].GetString());
        Assert.Contains("rel=\"next\"", page.Headers.GetValues("Link").Single(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ManifestWithSubject_Returns201WithOciSubject_AndIsListedAsReferrer()
    {
        var repo = RegistryFixture.NewRepository();
        var subject = await _oci.PushImageAsync(repo, "app");
        var subjectDigest = OciTestClient.DigestOf(subject);
        var empty = Encoding.UTF8.GetBytes("{}");
        await _oci.PushBlobAsync(repo, empty);
        var layer = OciTestClient.RandomBytes(32);
        await _oci.PushBlobAsync(repo, layer);
        var signature = OciTestClient.ImageManifest(empty, [layer], subjectDigest, subject.Length, "application/vnd.example.sig",
            "application/vnd.oci.empty.v1+json", new Dictionary<string, string> { ["org.example.k"] = "v" });
        var sbom = OciTestClient.ImageManifest(empty, [layer], subjectDigest, subject.Length, "application/vnd.example.sbom", "application/vnd.oci.empty.v1+json");
        foreach (var artifact in new[] { signature, sbom })
        {
            var put = await _oci.PutManifestAsync(repo, OciTestClient.DigestOf(artifact), artifact);
            Assert.Equal(HttpStatusCode.Created, put.StatusCode);
            Assert.Equal(subjectDigest, put.Headers.GetValues("OCI-Subject").Single());
        }

        var all = await registry.Client.GetAsync($"/v2/{repo}/referrers/{subjectDigest}");
        Assert.Equal(HttpStatusCode.OK, all.StatusCode);
        Assert.Equal(OciTestClient.OciIndex, all.Content.Headers.ContentType!.MediaType);
        using (var doc = JsonDocument.Parse(await all.Content.ReadAsStringAsync()))
        {
            var manifests = doc.RootElement.GetProperty("manifests").EnumerateArray().ToList();
            Assert.Equal(2, manifests.Count);
            var sig = manifests.Single(m => m.GetProperty("digest").GetString() == OciTestClient.DigestOf(signature));
            Assert.Equal("application/vnd.example.sig", sig.GetProperty("artifactType").GetString());
            Assert.Equal(signature.Length, sig.GetProperty("size").GetInt64());
            Assert.Equal("v", sig.GetProperty("annotations").GetProperty("org.example.k").GetString());
        }

        var filtered = await registry.Client.GetAsync($"/v2/{repo}/referrers/{subjectDigest}?artifactType=application/vnd.example.sbom");
        Assert.Equal("artifactType", filtered.Headers.GetValues("OCI-Filters-Applied").Single());
        using (var doc = JsonDocument.Parse(await filtered.Content.ReadAsStringAsync()))
        {
            Assert.Equal(OciTestClient.DigestOf(sbom), doc.RootElement.GetProperty("manifests").EnumerateArray().Single().GetProperty("digest").GetString());
        }
    }

    [Fact]
    public async Task Referrers_OfAnUnknownSubject_IsAnEmptyIndex()
    {
        var repo = RegistryFixture.NewRepository();
        var response = await registry.Client.GetAsync($"/v2/{repo}/referrers/sha256:{new string('c', 64)}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(2, doc.RootElement.GetProperty("schemaVersion").GetInt32());
        Assert.Empty(doc.RootElement.GetProperty("manifests").EnumerateArray());
    }

    [Fact]
    public async Task SubjectThatDoesNotExist_IsAccepted()
    {
        var repo = RegistryFixture.NewRepository();
        var empty = Encoding.UTF8.GetBytes("{}");
        await _oci.PushBlobAsync(repo, empty);
        var missing = $"sha256:{new string('d', 64)}";
        var artifact = OciTestClient.ImageManifest(empty, [], missing, 123, "application/vnd.example.sig", "application/vnd.oci.empty.v1+json");
        var put = await _oci.PutManifestAsync(repo, OciTestClient.DigestOf(artifact), artifact);
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        Assert.Equal(missing, put.Headers.GetValues("OCI-Subject").Single());
        var listed = await registry.Client.GetStringAsync($"/v2/{repo}/referrers/{missing}");
        Assert.Contains(OciTestClient.DigestOf(artifact), listed, StringComparison.Ordinal);
    }
}
