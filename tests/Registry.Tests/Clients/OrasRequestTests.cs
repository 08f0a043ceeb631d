using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Clients;

/// <summary>
/// The oras CLI (github.com/oras-project/oras at 94fa1d8, v1.3.3 and later) replayed request by request: the binary
/// cannot be installed here, so each test sends what its source sends, in its order, through oras-go v2.6.2
/// (<see cref="OrasGo"/>), and checks what oras reads in each answer.
/// </summary>
[Collection(RegistryTestGroup.Name)]
public sealed class OrasRequestTests(RegistryFixture registry)
{
    private const string ArtifactType = "application/vnd.example.report.v1";

    /// <summary>
    /// <c>oras login HOST -u admin -p …</c>: cmd/oras/root/login.go runLogin → oras-go
    /// registry/remote/credentials/registry.go Login → Registry.Ping (GET /v2/). The challenge names no scope, so
    /// auth/client.go fetchDistributionToken GETs the realm with only <c>service</c> and Basic credentials; the ping is
    /// sent again with the token and must answer 200 for the credentials to be stored.
    /// </summary>
    [Fact]
    public async Task Login_GetsATokenWithoutScope_AndPingsV2WithIt()
    {
        var oras = new Replay(registry);
        using (var ping = await oras.SendAsync(HttpMethod.Get, "/v2/"))
        {
            var challenge = await oras.ChallengeAsync(ping);
            Assert.False(challenge.ContainsKey("scope"));
            oras.Authorization = "Bearer " + await oras.DistributionTokenAsync(challenge);
        }
        using var again = await oras.SendAsync(HttpMethod.Get, "/v2/");
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
    }

    /// <summary>
    /// <c>oras push --artifact-type application/vnd.example.report.v1 R:1.0,latest hello.txt notes.md empty.txt</c>.
    /// oras cmd/oras/root/push.go runPush packs with oras-go pack.go packManifestV1_1 (files as
    /// <c>application/vnd.oci.image.layer.v1.tar</c> layers titled by name, the empty config with its <c>data</c>,
    /// a created annotation), then copy.go Copy → copyGraph: HEAD of the manifest by digest first, then each blob
    /// (HEAD, POST, PUT), and prepareCopy's copyCachedNodeWithReference puts the root by tag (manifestStore.PushReference);
    /// the extra tag is oras.TagBytesN, one more PUT. The scope hint is pull,push (registryutil.WithScopeHint).
    /// </summary>
    [Fact]
    public async Task Push_WithArtifactTypeAndFiles_ProbesByHead_UploadsOverTheEmptyConfig_AndPutsByTag()
    {
        var repo = RegistryFixture.NewRepository("oras");
        var oras = new Replay(registry);
        var (manifest, files) = Artifact(("hello.txt", "hello from oras\n"u8.ToArray()), ("notes.md", "# notes\n"u8.ToArray()), ("empty.txt", []));
        var digest = OciTestClient.DigestOf(manifest);

        using (var probe = await OrasGo.FirstRequestAsync(oras, HttpMethod.Head, $"/v2/{repo}/manifests/{digest}",
                   $"repository:{repo}:pull", $"repository:{repo}:pull,push", "Accept: " + OrasGo.ManifestAccept))
        {
            Assert.Equal(HttpStatusCode.NotFound, probe.StatusCode);
        }
        await OrasGo.PushBlobAsync(oras, repo, "{}"u8.ToArray());
        foreach (var file in files)
        {
            await OrasGo.PushBlobAsync(oras, repo, file);
        }
        using (var put = await OrasGo.PutManifestAsync(oras, repo, "1.0", manifest))
        {
            Assert.False(put.Headers.Contains("OCI-Subject"));
        }
        (await OrasGo.PutManifestAsync(oras, repo, "latest", manifest)).Dispose();

        foreach (var tag in new[] { "1.0", "latest", digest })
        {
            using var head = await OrasGo.HeadManifestAsync(oras, repo, tag);
            var descriptor = OrasGo.DescriptorOf(head, digest);
            Assert.Equal(OciTestClient.OciManifest, descriptor["mediaType"]!.GetValue<string>());
            Assert.Equal(manifest.Length, descriptor["size"]!.GetValue<long>());
        }
    }

    /// <summary>
    /// The same <c>oras push</c> again: copyGraph's first HEAD finds the manifest (200 with Content-Type,
    /// Content-Length and Docker-Content-Digest, as generateDescriptor requires), so no blob is touched and
    /// prepareCopy's OnCopySkipped only puts the root by tag again; a second artifact over the same empty config finds
    /// that blob by HEAD (blobStore.Exists → generateBlobDescriptor) and skips it.
    /// </summary>
    [Fact]
    public async Task Push_OfAnArtifactAlreadyThere_FindsItByHead_AndOnlyPutsTheTag_WhileTheEmptyConfigIsSharedByHead()
    {
        var repo = RegistryFixture.NewRepository("oras");
        var (manifest, files) = Artifact(("a.txt", "first\n"u8.ToArray()));
        await PushAsync(repo, "1.0", manifest, files);
        var oras = new Replay(registry);
        var digest = OciTestClient.DigestOf(manifest);

        using (var probe = await OrasGo.FirstRequestAsync(oras, HttpMethod.Head, $"/v2/{repo}/manifests/{digest}",
                   $"repository:{repo}:pull", $"repository:{repo}:pull,push", "Accept: " + OrasGo.ManifestAccept))
        {
            OrasGo.DescriptorOf(probe, digest);
        }
        (await OrasGo.PutManifestAsync(oras, repo, "again", manifest)).Dispose();

        var (second, secondFiles) = Artifact(("b.txt", "second\n"u8.ToArray()));
        using (var probe = await OrasGo.HeadManifestAsync(oras, repo, OciTestClient.DigestOf(second)))
        {
            Assert.Equal(HttpStatusCode.NotFound, probe.StatusCode);
        }
        await OrasGo.BlobExistsAsync(oras, repo, "{}"u8.ToArray());
        await OrasGo.PushBlobAsync(oras, repo, secondFiles[0]);
        (await OrasGo.PutManifestAsync(oras, repo, "2.0", second)).Dispose();
    }

    /// <summary>
    /// <c>oras attach --artifact-type application/vnd.example.sbom.v1 R:1.0 sbom.json</c>: cmd/oras/root/attach.go
    /// runAttach resolves the subject with oras.Resolve → manifestStore.Resolve (HEAD by tag; the answer's
    /// Content-Type, Content-Length and digest become <c>subject</c>), packs a v1.1 manifest with that subject, and
    /// CopyGraph pushes it: HEAD of the referrer, its blobs (its FindSuccessors leaves the subject out), and
    /// manifestStore.Push by digest. pushWithIndexing then reads OCI-Subject (checkOCISubjectHeader): present, so the
    /// referrers API is taken as supported and no <c>sha256-…</c> tag index is written (indexReferrersForPush).
    /// </summary>
    [Fact]
    public async Task Attach_ResolvesTheSubjectByHead_PutsTheReferrerByDigest_AndIsToldOciSubject()
    {
        var repo = RegistryFixture.NewRepository("oras");
        var subject = await new OciTestClient(registry.Client).PushImageAsync(repo, "1.0");
        var oras = new Replay(registry);

        JsonObject subjectDescriptor;
        using (var resolve = await OrasGo.FirstRequestAsync(oras, HttpMethod.Head, $"/v2/{repo}/manifests/1.0",
                   $"repository:{repo}:pull", $"repository:{repo}:pull,push", "Accept: " + OrasGo.ManifestAccept))
        {
            subjectDescriptor = OrasGo.DescriptorOf(resolve, null);
        }
        Assert.Equal(OciTestClient.DigestOf(subject), subjectDescriptor["digest"]!.GetValue<string>());
        Assert.Equal(subject.Length, subjectDescriptor["size"]!.GetValue<long>());
        Assert.Equal(OciTestClient.OciManifest, subjectDescriptor["mediaType"]!.GetValue<string>());

        var referrer = await AttachAsync(oras, repo, subjectDescriptor, "application/vnd.example.sbom.v1", "sbom.json", "{\"packages\":[]}"u8.ToArray());

        var listed = await ReferrersAsync(oras, repo, OciTestClient.DigestOf(subject), null);
        Assert.Equal(OciTestClient.DigestOf(referrer), listed.Single().GetProperty("digest").GetString());
    }

    /// <summary>
    /// <c>oras discover R:1.0</c> and <c>oras discover --artifact-type application/vnd.example.sig.v1 R:1.0</c>:
    /// cmd/oras/root/discover.go runDiscover resolves the tag (HEAD), then fetchAllReferrers calls
    /// registry.Referrers → Repository.Referrers → referrersByAPI: GET <c>/referrers/&lt;digest&gt;</c>, the filter in
    /// the query as url.Values encodes it. referrersPageByAPI compares Content-Type with
    /// <c>application/vnd.oci.image.index.v1+json</c> as a string (anything else falls back to the tag schema), filters
    /// client-side unless OCI-Filters-Applied names artifactType, and follows a Link header if any. Each referrer found
    /// is asked for its own referrers in turn (the default depth), which must be an empty index, not a 404.
    /// </summary>
    [Fact]
    public async Task Discover_ListsReferrersByApi_WithAndWithoutTheArtifactTypeFilter_AndRecursesIntoEach()
    {
        var repo = RegistryFixture.NewRepository("oras");
        var subject = await new OciTestClient(registry.Client).PushImageAsync(repo, "1.0");
        var subjectDescriptor = new JsonObject
        {
            ["mediaType"] = OciTestClient.OciManifest, ["digest"] = OciTestClient.DigestOf(subject), ["size"] = subject.Length,
        };
        var pusher = new Replay(registry);
        (await OrasGo.FirstRequestAsync(pusher, HttpMethod.Head, $"/v2/{repo}/manifests/1.0",
            $"repository:{repo}:pull", $"repository:{repo}:pull,push", "Accept: " + OrasGo.ManifestAccept)).Dispose();
        var signature = await AttachAsync(pusher, repo, subjectDescriptor, "application/vnd.example.sig.v1", "sig.bin", OciTestClient.RandomBytes(64));
        var sbom = await AttachAsync(pusher, repo, subjectDescriptor, "application/vnd.example.sbom.v1", "sbom.json", "{\"spdxVersion\":\"SPDX-2.3\"}"u8.ToArray(), reuseEmptyConfig: true);

        var oras = new Replay(registry);
        using (var resolve = await OrasGo.FirstRequestAsync(oras, HttpMethod.Head, $"/v2/{repo}/manifests/1.0",
                   $"repository:{repo}:pull", $"repository:{repo}:pull", "Accept: " + OrasGo.ManifestAccept))
        {
            OrasGo.DescriptorOf(resolve, OciTestClient.DigestOf(subject));
        }
        var all = await ReferrersAsync(oras, repo, OciTestClient.DigestOf(subject), null);
        Assert.Equal(2, all.Count);
        foreach (var (manifest, artifactType) in new[] { (signature, "application/vnd.example.sig.v1"), (sbom, "application/vnd.example.sbom.v1") })
        {
            var found = all.Single(d => d.GetProperty("digest").GetString() == OciTestClient.DigestOf(manifest));
            Assert.Equal(OciTestClient.OciManifest, found.GetProperty("mediaType").GetString());
            Assert.Equal(manifest.Length, found.GetProperty("size").GetInt64());
            Assert.Equal(artifactType, found.GetProperty("artifactType").GetString());
            Assert.True(found.GetProperty("annotations").TryGetProperty("org.opencontainers.image.created", out _));
            Assert.Empty(await ReferrersAsync(oras, repo, OciTestClient.DigestOf(manifest), null));
        }

        var filtered = await ReferrersAsync(oras, repo, OciTestClient.DigestOf(subject), "application/vnd.example.sig.v1");
        Assert.Equal(OciTestClient.DigestOf(signature), filtered.Single().GetProperty("digest").GetString());
        Assert.Empty(await ReferrersAsync(oras, repo, OciTestClient.DigestOf(signature), "application/vnd.example.sig.v1"));
    }

    /// <summary>
    /// <c>oras pull R:1.0</c>: cmd/oras/root/pull.go doPull runs oras.Copy from the repository to a file store.
    /// copy.go resolveRoot uses FetchReference (GET by tag with the default Accept; generateDescriptor needs
    /// Content-Length and takes the Docker-Content-Digest), its FindSuccessors keeps only titled layers and drops the
    /// empty config, and each layer is blobStore.Fetch: GET, followed through the registry's 307 without the
    /// registry's Authorization, checking Content-Length against the descriptor. The file store then checks each
    /// file's digest.
    /// </summary>
    [Fact]
    public async Task Pull_GetsTheManifestByTag_ThenEachTitledLayerThroughTheRedirect_AndNeverTheEmptyConfig()
    {
        var repo = RegistryFixture.NewRepository("oras");
        var (manifest, files) = Artifact(("hello.txt", "hello from oras\n"u8.ToArray()), ("data.bin", OciTestClient.RandomBytes(70_000)), ("empty.txt", []));
        await PushAsync(repo, "1.0", manifest, files);
        var oras = new Replay(registry);

        byte[] pulled;
        using (var get = await OrasGo.FirstRequestAsync(oras, HttpMethod.Get, $"/v2/{repo}/manifests/1.0",
                   $"repository:{repo}:pull", $"repository:{repo}:pull", "Accept: " + OrasGo.ManifestAccept))
        {
            var descriptor = OrasGo.DescriptorOf(get, null);
            Assert.Equal(OciTestClient.OciManifest, Replay.ContentTypeOf(get));
            pulled = await get.Content.ReadAsByteArrayAsync();
            Assert.Equal(descriptor["digest"]!.GetValue<string>(), OciTestClient.DigestOf(pulled));
        }
        Assert.Equal(manifest, pulled);

        using var parsed = JsonDocument.Parse(pulled);
        Assert.Equal(OciTestClient.EmptyConfigDigest, parsed.RootElement.GetProperty("config").GetProperty("digest").GetString());
        var layers = parsed.RootElement.GetProperty("layers").EnumerateArray().ToList();
        Assert.Equal(files.Length, layers.Count);
        for (var i = 0; i < layers.Count; i++)
        {
            Assert.False(string.IsNullOrEmpty(layers[i].GetProperty("annotations").GetProperty("org.opencontainers.image.title").GetString()));
            var bytes = await oras.GetBlobAsync(repo, layers[i].GetProperty("digest").GetString()!, layers[i].GetProperty("size").GetInt64());
            Assert.Equal(files[i], bytes);
        }
    }

    /// <summary>
    /// <c>oras resolve --identity-token … R:1.0</c> (or a password without a user name: internal/credential Credential
    /// makes it a refresh token): oras-go auth/client.go fetchBearerToken then takes fetchOAuth2Token, a POST of
    /// <c>grant_type=refresh_token</c> with client_id <c>oras-go</c>, the service and the scopes space-joined in one
    /// <c>scope</c> (here only the challenge's: resolve gives no hint); only <c>access_token</c> is read from the
    /// answer. cmd/oras/root/resolve.go runResolve is then one HEAD by tag.
    /// </summary>
    [Fact]
    public async Task IdentityToken_IsExchangedByTheOAuth2RefreshGrant_AndItsAccessTokenReadsTheRepository()
    {
        var repo = RegistryFixture.NewRepository("oras");
        await new OciTestClient(registry.Client).PushImageAsync(repo, "1.0");
        var refresh = await RefreshTokenAsync();
        var oras = new Replay(registry);

        using (var challenged = await OrasGo.HeadManifestAsync(oras, repo, "1.0"))
        {
            var challenge = await oras.ChallengeAsync(challenged);
            Assert.Equal($"repository:{repo}:pull", challenge["scope"]);
            oras.Authorization = "Bearer " + await oras.OAuth2TokenAsync(challenge,
                ("grant_type", "refresh_token"), ("refresh_token", refresh), ("service", challenge["service"]),
                ("client_id", "oras-go"), ("scope", challenge["scope"]));
        }
        using var head = await OrasGo.HeadManifestAsync(oras, repo, "1.0");
        OrasGo.DescriptorOf(head, null);
    }

    /// <summary>A refresh token, as the registry hands one out with any OAuth2 grant: the identity token a user gives oras.</summary>
    private async Task<string> RefreshTokenAsync()
    {
        var body = new StringContent(Replay.Form(("grant_type", "password"), ("username", RegistryFixture.AdminName),
            ("password", RegistryFixture.AdminPassword), ("service", "registry"), ("client_id", "docker")), Encoding.ASCII, "application/x-www-form-urlencoded");
        using var response = await registry.Anonymous.PostAsync("/oauth2/token", body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.GetProperty("refresh_token").GetString()!;
    }

    /// <summary>
    /// The rest of <c>oras attach</c> once the subject is resolved: HEAD of the new manifest, its blobs, the PUT by
    /// digest answered with OCI-Subject. Returns the referrer manifest.
    /// </summary>
    private static async Task<byte[]> AttachAsync(Replay oras, string repo, JsonObject subject, string artifactType, string file, byte[] content,
        bool reuseEmptyConfig = false)
    {
        var manifest = Replay.Bytes(Manifest(artifactType, [OrasGo.Descriptor("application/vnd.oci.image.layer.v1.tar", content,
            new() { ["org.opencontainers.image.title"] = file })], subject.DeepClone()));
        var digest = OciTestClient.DigestOf(manifest);
        using (var probe = await OrasGo.HeadManifestAsync(oras, repo, digest))
        {
            Assert.Equal(HttpStatusCode.NotFound, probe.StatusCode);
        }
        await OrasGo.PushBlobAsync(oras, repo, content);
        if (reuseEmptyConfig)
        {
            await OrasGo.BlobExistsAsync(oras, repo, "{}"u8.ToArray());
        }
        else
        {
            await OrasGo.PushBlobAsync(oras, repo, "{}"u8.ToArray());
        }
        using var put = await OrasGo.PutManifestAsync(oras, repo, digest, manifest);
        Assert.Equal(subject["digest"]!.GetValue<string>(), Replay.Header(put, "OCI-Subject"));
        Assert.Equal($"/v2/{repo}/manifests/{digest}", put.Headers.Location!.OriginalString);
        return manifest;
    }

    /// <summary>One page of referrersByAPI, checked as referrersPageByAPI checks it; returns its descriptors.</summary>
    private static async Task<List<JsonElement>> ReferrersAsync(Replay oras, string repo, string digest, string? artifactType)
    {
        var query = artifactType is null ? "" : "?" + Replay.Form(("artifactType", artifactType));
        using var response = await oras.SendAsync(HttpMethod.Get, $"/v2/{repo}/referrers/{digest}{query}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(OciTestClient.OciIndex, Replay.ContentTypeOf(response));
        Assert.False(response.Headers.Contains("Link"));
        if (artifactType is not null)
        {
            Assert.Equal("artifactType", Replay.Header(response, "OCI-Filters-Applied"));
        }
        using var index = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(2, index.RootElement.GetProperty("schemaVersion").GetInt32());
        Assert.Equal(OciTestClient.OciIndex, index.RootElement.GetProperty("mediaType").GetString());
        return index.RootElement.GetProperty("manifests").EnumerateArray().Select(e => e.Clone()).ToList();
    }

    /// <summary>Pushes the artifact as <c>oras push</c> does, for tests that start from one.</summary>
    private async Task PushAsync(string repo, string tag, byte[] manifest, byte[][] files)
    {
        var oras = new Replay(registry);
        (await OrasGo.FirstRequestAsync(oras, HttpMethod.Head, $"/v2/{repo}/manifests/{OciTestClient.DigestOf(manifest)}",
            $"repository:{repo}:pull", $"repository:{repo}:pull,push", "Accept: " + OrasGo.ManifestAccept)).Dispose();
        await OrasGo.PushBlobAsync(oras, repo, "{}"u8.ToArray());
        foreach (var file in files)
        {
            await OrasGo.PushBlobAsync(oras, repo, file);
        }
        (await OrasGo.PutManifestAsync(oras, repo, tag, manifest)).Dispose();
    }

    /// <summary>What packManifestV1_1 makes of named files with <c>--artifact-type</c> (content/file.Store.Add descriptors).</summary>
    private static (byte[] Manifest, byte[][] Files) Artifact(params (string Name, byte[] Content)[] files)
    {
        var layers = files.Select(f => (JsonNode)OrasGo.Descriptor("application/vnd.oci.image.layer.v1.tar", f.Content,
            new() { ["org.opencontainers.image.title"] = f.Name })).ToArray();
        return (Replay.Bytes(Manifest(ArtifactType, layers, null)), files.Select(f => f.Content).ToArray());
    }

    /// <summary>An image-spec v1.1 manifest in ocispec.Manifest's field order.</summary>
    private static JsonObject Manifest(string artifactType, JsonNode[] layers, JsonNode? subject)
    {
        var manifest = new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = OciTestClient.OciManifest,
            ["artifactType"] = artifactType,
            ["config"] = OrasGo.EmptyConfig(),
            ["layers"] = new JsonArray(layers),
        };
        if (subject is not null)
        {
            manifest["subject"] = subject;
        }
        manifest["annotations"] = OrasGo.Annotations(new() { ["org.opencontainers.image.created"] = OrasGo.Now() });
        return manifest;
    }
}
