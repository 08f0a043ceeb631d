using System.Formats.Tar;
using System.IO.Compression;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Clients;

/// <summary>
/// Helm 4 (github.com/helm/helm at e9b85e4) replayed request by request: the binary cannot be installed here, so each
/// test sends what pkg/registry sends through oras-go v2.6.2 (<see cref="OrasGo"/>), in its order, and checks what
/// helm reads in each answer. pkg/cmd/root.go newDefaultRegistryClient gives every command one auth client with its
/// token cache and the user's name and password.
/// </summary>
[Collection(RegistryTestGroup.Name)]
public sealed class HelmRequestTests(RegistryFixture registry)
{
    private const string ConfigMediaType = "application/vnd.cncf.helm.config.v1+json";
    private const string ChartLayerMediaType = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";
    private const string ProvLayerMediaType = "application/vnd.cncf.helm.chart.provenance.v1.prov";

    /// <summary>
    /// <c>helm registry login HOST -u admin -p …</c>: pkg/registry/client.go Login sets ForceAttemptOAuth2 and pings
    /// (oras-go registry/remote/registry.go Registry.Ping, GET /v2/). The 401 challenge names no scope, so oras-go
    /// auth/client.go fetchOAuth2Token posts the password grant with client_id <c>oras-go</c> and no <c>scope</c>
    /// field, reads <c>access_token</c>, and pings again with it; a 200 stores the credentials. Only if that fails
    /// would it ping once more with the distribution-spec GET.
    /// </summary>
    [Fact]
    public async Task Login_PostsTheOAuth2PasswordGrantWithoutScope_AndPingsV2WithItsAccessToken()
    {
        var helm = new Replay(registry);
        using (var ping = await helm.SendAsync(HttpMethod.Get, "/v2/"))
        {
            var challenge = await helm.ChallengeAsync(ping);
            Assert.False(challenge.ContainsKey("scope"));
            helm.Authorization = "Bearer " + await helm.OAuth2TokenAsync(challenge,
                ("grant_type", "password"), ("username", RegistryFixture.AdminName), ("password", RegistryFixture.AdminPassword),
                ("service", challenge["service"]), ("client_id", "oras-go"));
        }
        using var again = await helm.SendAsync(HttpMethod.Get, "/v2/");
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
    }

    /// <summary>
    /// <c>helm push demo-0.2.0+build.7.tgz oci://HOST/REPO</c> with <c>demo-0.2.0+build.7.tgz.prov</c> beside it:
    /// pkg/pusher/ocipusher.go push names the reference <c>REPO/demo:0.2.0+build.7</c> (pkg/registry/reference.go
    /// newReference turns '+' into '_'), pkg/registry/client.go Push packs the chart's metadata as the config, the
    /// chart and provenance as layers sorted by digest, and a manifest with no <c>mediaType</c> field
    /// (tagManifest), then oras-go extendedcopy.go ExtendedCopy: copyGraph HEADs the manifest by digest, pushes each
    /// blob (HEAD, POST, PUT) and PUTs the manifest by digest (manifestStore.Push), then Repository.Tag GETs it back
    /// by digest (manifestStore.Fetch: Content-Type, Content-Length and digest must match) and PUTs it by tag.
    /// </summary>
    [Fact]
    public async Task Push_OfAChartWithProvenance_PutsByDigest_FetchesItBack_AndPutsTheVersionTag()
    {
        var repo = RegistryFixture.NewRepository("helm") + "/demo";
        var chart = Chart("demo", "0.2.0+build.7");
        var helm = new Replay(registry);

        using (var probe = await OrasGo.FirstRequestAsync(helm, HttpMethod.Head, $"/v2/{repo}/manifests/{OciTestClient.DigestOf(chart.Manifest)}",
                   $"repository:{repo}:pull", $"repository:{repo}:pull,push", "Accept: " + OrasGo.ManifestAccept))
        {
            Assert.Equal(HttpStatusCode.NotFound, probe.StatusCode);
        }
        await PushRestAsync(helm, repo, "0.2.0_build.7", chart);

        using var head = await OrasGo.HeadManifestAsync(helm, repo, "0.2.0_build.7");
        Assert.Equal(OciTestClient.DigestOf(chart.Manifest), OrasGo.DescriptorOf(head, null)["digest"]!.GetValue<string>());
    }

    /// <summary>
    /// <c>helm pull oci://HOST/REPO/demo</c> without <c>--version</c>: pkg/registry/client.go ValidateReference finds
    /// no version, so Tags lists the repository (oras-go Repository.Tags: GET tags/list, a Link would be followed)
    /// and GetTagMatchingVersionOrConstraint takes the highest semver, '_' read as '+'. The tags request is the
    /// command's first: its challenge asks metadata-read, which oras-go merges with the pull it hinted. Then
    /// pkg/getter/ocigetter.go get calls Client.Pull → pkg/registry/generic.go PullGeneric → oras.Copy into memory:
    /// FetchReference GETs the manifest by tag, with a new token, since the cached one is keyed by the scope
    /// <c>metadata-read,pull</c> and this request's key is <c>pull</c>; the config and the chart layer follow, each
    /// through the registry's redirect; the provenance layer is skipped by PreCopy (not an allowed media type without
    /// <c>--prov</c>). processChartPull reads the config as the chart's metadata.
    /// </summary>
    [Fact]
    public async Task Pull_WithoutVersion_ListsTags_TakesTheHighestSemver_ThenGetsManifestConfigAndChart()
    {
        var repo = RegistryFixture.NewRepository("helm") + "/demo";
        var older = Chart("demo", "0.1.0");
        var newer = Chart("demo", "0.2.0+build.7");
        await PushAsync(repo, "0.1.0", older);
        await PushAsync(repo, "0.2.0_build.7", newer);
        var helm = new Replay(registry);

        using (var tags = await OrasGo.FirstRequestAsync(helm, HttpMethod.Get, $"/v2/{repo}/tags/list",
                   $"repository:{repo}:metadata-read", $"repository:{repo}:metadata-read,pull"))
        {
            Assert.Equal(HttpStatusCode.OK, tags.StatusCode);
            Assert.False(tags.Headers.Contains("Link"));
            using var list = JsonDocument.Parse(await tags.Content.ReadAsStringAsync());
            Assert.Equal(["0.1.0", "0.2.0_build.7"], list.RootElement.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
        }

        helm.Authorization = null; // the cache has no token for this request's key
        var pulled = await PullAsync(helm, repo, "0.2.0_build.7", withProv: false, firstOfItsScope: true);
        Assert.Equal(newer.Manifest, pulled.Manifest);
        Assert.Equal(newer.Config, pulled.Config);
        Assert.Equal(newer.Chart, pulled.Chart);
        using var metadata = JsonDocument.Parse(pulled.Config);
        Assert.Equal("0.2.0+build.7", metadata.RootElement.GetProperty("version").GetString());
        using var archive = new TarReader(new GZipStream(new MemoryStream(pulled.Chart!), CompressionMode.Decompress));
        Assert.Equal("demo/Chart.yaml", archive.GetNextEntry()!.Name);
    }

    /// <summary>
    /// <c>helm pull oci://HOST/REPO/demo --version 0.2.0+build.7 --prov</c>: pkg/downloader/chart_downloader.go
    /// DownloadTo gets the chart, then <c>REF.prov</c>; pkg/getter/ocigetter.go get turns that into a second
    /// Client.Pull with PullOptWithChart(false) and PullOptWithProv(true): the manifest again, the config, and now the
    /// provenance layer while the chart layer is skipped. A semver version means no tag listing.
    /// </summary>
    [Fact]
    public async Task Pull_WithProv_PullsASecondTime_ForTheProvenanceLayerOnly()
    {
        var repo = RegistryFixture.NewRepository("helm") + "/demo";
        var chart = Chart("demo", "0.2.0+build.7");
        await PushAsync(repo, "0.2.0_build.7", chart);
        var helm = new Replay(registry);

        var first = await PullAsync(helm, repo, "0.2.0_build.7", withProv: false, firstOfItsScope: true);
        var second = await PullAsync(helm, repo, "0.2.0_build.7", withProv: true, firstOfItsScope: false);
        Assert.Equal(chart.Chart, first.Chart);
        Assert.Null(second.Chart);
        Assert.Equal(chart.Prov, second.Prov);
    }

    /// <summary>A chart as helm packages and pushes it.</summary>
    private sealed record PackagedChart(byte[] Chart, byte[] Config, byte[] Prov, byte[] Manifest);

    private sealed record PulledChart(byte[] Manifest, byte[] Config, byte[]? Chart, byte[]? Prov);

    /// <summary>
    /// The pull half of PullGeneric: FetchReference, then the config and the layers helm allows, each a blobStore.Fetch.
    /// The first request of a command goes through the 401 (scope pull: PullGeneric gives no hint).
    /// </summary>
    private static async Task<PulledChart> PullAsync(Replay helm, string repo, string tag, bool withProv, bool firstOfItsScope)
    {
        var target = $"/v2/{repo}/manifests/{tag}";
        using var get = firstOfItsScope
            ? await OrasGo.FirstRequestAsync(helm, HttpMethod.Get, target, $"repository:{repo}:pull", $"repository:{repo}:pull", "Accept: " + OrasGo.ManifestAccept)
            : await helm.SendAsync(HttpMethod.Get, target, null, "Accept: " + OrasGo.ManifestAccept);
        var descriptor = OrasGo.DescriptorOf(get, null);
        Assert.Equal(OciTestClient.OciManifest, descriptor["mediaType"]!.GetValue<string>());
        var manifest = await get.Content.ReadAsByteArrayAsync();
        Assert.Equal(descriptor["digest"]!.GetValue<string>(), OciTestClient.DigestOf(manifest));

        using var parsed = JsonDocument.Parse(manifest);
        var config = parsed.RootElement.GetProperty("config");
        Assert.Equal(ConfigMediaType, config.GetProperty("mediaType").GetString());
        var configBytes = await helm.GetBlobAsync(repo, config.GetProperty("digest").GetString()!, config.GetProperty("size").GetInt64());
        byte[]? chart = null;
        byte[]? prov = null;
        foreach (var layer in parsed.RootElement.GetProperty("layers").EnumerateArray())
        {
            var mediaType = layer.GetProperty("mediaType").GetString();
            if ((mediaType == ChartLayerMediaType && !withProv) || (mediaType == ProvLayerMediaType && withProv))
            {
                var bytes = await helm.GetBlobAsync(repo, layer.GetProperty("digest").GetString()!, layer.GetProperty("size").GetInt64());
                (chart, prov) = mediaType == ChartLayerMediaType ? (bytes, prov) : (chart, bytes);
            }
        }
        return new PulledChart(manifest, configBytes, chart, prov);
    }

    /// <summary>Everything <c>helm push</c> does after its first HEAD (see the push test).</summary>
    private static async Task PushRestAsync(Replay helm, string repo, string tag, PackagedChart chart)
    {
        await OrasGo.PushBlobAsync(helm, repo, chart.Config);
        foreach (var layer in new[] { chart.Chart, chart.Prov }.OrderBy(OciTestClient.DigestOf, StringComparer.Ordinal))
        {
            await OrasGo.PushBlobAsync(helm, repo, layer);
        }
        var digest = OciTestClient.DigestOf(chart.Manifest);
        (await OrasGo.PutManifestAsync(helm, repo, digest, chart.Manifest)).Dispose();
        var fetched = await OrasGo.FetchManifestAsync(helm, repo, digest, OciTestClient.OciManifest, chart.Manifest.Length);
        Assert.Equal(chart.Manifest, fetched);
        (await OrasGo.PutManifestAsync(helm, repo, tag, fetched)).Dispose();
    }

    private async Task PushAsync(string repo, string tag, PackagedChart chart)
    {
        var helm = new Replay(registry);
        (await OrasGo.FirstRequestAsync(helm, HttpMethod.Head, $"/v2/{repo}/manifests/{OciTestClient.DigestOf(chart.Manifest)}",
            $"repository:{repo}:pull", $"repository:{repo}:pull,push", "Accept: " + OrasGo.ManifestAccept)).Dispose();
        await PushRestAsync(helm, repo, tag, chart);
    }

    /// <summary>
    /// A chart archive (demo/Chart.yaml in a gzip tar), its provenance, and the config and manifest pkg/registry/client.go
    /// Push makes of them: json.Marshal of chart.Metadata as the config, generateChartOCIAnnotations, layers sorted by
    /// digest, and ocispec.Manifest without MediaType set.
    /// </summary>
    private static PackagedChart Chart(string name, string version)
    {
        var chartYaml = $"apiVersion: v2\nname: {name}\ndescription: A demo chart\ntype: application\nversion: {version}\nappVersion: \"1.0.0\"\n";
        var archive = new MemoryStream();
        using (var gzip = new GZipStream(archive, CompressionLevel.Optimal, leaveOpen: true))
        using (var tar = new TarWriter(gzip, TarEntryFormat.Pax, leaveOpen: true))
        {
            tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, $"{name}/Chart.yaml") { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(chartYaml)) });
        }
        var chart = archive.ToArray();
        var prov = Encoding.UTF8.GetBytes($"-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n{chartYaml}\n...\nfiles:\n  {name}-{version}.tgz: {OciTestClient.DigestOf(chart)}\n-----BEGIN PGP SIGNATURE-----\n\nwsBcBAEBCgAQ\n-----END PGP SIGNATURE-----\n");
        var config = Replay.Bytes(new JsonObject
        {
            ["name"] = name, ["version"] = version, ["description"] = "A demo chart", ["apiVersion"] = "v2", ["appVersion"] = "1.0.0", ["type"] = "application",
        });
        var layers = new[] { OrasGo.Descriptor(ChartLayerMediaType, chart), OrasGo.Descriptor(ProvLayerMediaType, prov) }
            .OrderBy(d => d["digest"]!.GetValue<string>(), StringComparer.Ordinal).Select(d => (JsonNode)d).ToArray();
        var manifest = Replay.Bytes(new JsonObject
        {
            ["schemaVersion"] = 2,
            ["config"] = OrasGo.Descriptor(ConfigMediaType, config),
            ["layers"] = new JsonArray(layers),
            ["annotations"] = OrasGo.Annotations(new()
            {
                ["org.opencontainers.image.created"] = OrasGo.Now(),
                ["org.opencontainers.image.description"] = "A demo chart",
                ["org.opencontainers.image.title"] = name,
                ["org.opencontainers.image.version"] = version,
            }),
        });
        return new PackagedChart(chart, config, prov, manifest);
    }
}
