using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Clients;

/// <summary>
/// cosign 3 (github.com/sigstore/cosign at d6d86c2, v3.1.2 and later) replayed request by request: the binary
/// cannot be installed here, so each test sends what its source sends through go-containerregistry v0.21.7 (the
/// version its go.mod pins; ggcr below), in its order, and checks what cosign and ggcr read in each answer. Signing
/// is with a key and no transparency log (<c>--key cosign.key --tlog-upload=false</c>), so nothing but the registry
/// is asked. cmd/cosign/cli/options/registry.go GetRegistryClientOpts reuses one ggcr Puller and one Pusher per
/// command: each makes one ping and one token per repository (transport/transport.go NewWithContext).
/// </summary>
[Collection(RegistryTestGroup.Name)]
public sealed class CosignRequestTests(RegistryFixture registry)
{
    /// <summary>pkg/v1/remote/descriptor.go allManifestMediaTypes, as fetchManifest and headManifest join them.</summary>
    private const string ManifestAccept =
        "application/vnd.docker.distribution.manifest.v1+json,application/vnd.docker.distribution.manifest.v1+prettyjws,"
        + "application/vnd.docker.distribution.manifest.v2+json,application/vnd.oci.image.manifest.v1+json,"
        + "application/vnd.docker.distribution.manifest.list.v2+json,application/vnd.oci.image.index.v1+json";

    private const string SimpleSigning = "application/vnd.dev.cosign.simplesigning.v1+json";
    private const string SignatureAnnotation = "dev.cosignproject.cosign/signature";
    private const string Dsse = "application/vnd.dsse.envelope.v1+json";
    private const string InToto = "application/vnd.in-toto+json";
    private const string BundleMediaType = "application/vnd.dev.sigstore.bundle.v0.3+json";
    private const string SigArtifactType = "application/vnd.dev.cosign.artifact.sig.v1+json";
    private const string SignPredicate = "https://sigstore.dev/cosign/sign/v1";
    private const string ProvenancePredicate = "https://slsa.dev/provenance/v1";

    /// <summary>
    /// <c>cosign sign --key cosign.key --tlog-upload=false --new-bundle-format=false R:1.0</c>, the legacy tag scheme.
    /// cmd/cosign/cli/sign/sign.go SignCmd: pkg/oci/remote/remote.go SignedEntity GETs the image (ggcr
    /// remote.Get; the Content-Type string must be an image or index type). signDigest then attaches the signature
    /// (pkg/oci/mutate AttachSignatureToEntity), which first reads the existing <c>sha256-&lt;hex&gt;.sig</c>
    /// (pkg/oci/remote/signatures.go Signatures: a 404 means no signatures yet). pkg/oci/remote/write.go
    /// WriteSignatures is ggcr remote.Write to that tag: pusher.go writeManifest HEADs the tag (manifestExists, 404
    /// means absent), uploads the signature layer and the config (write.go uploadOne), then PUTs the manifest
    /// (commitManifest).
    /// </summary>
    [Fact]
    public async Task SignLegacy_GetsTheImage_Finds404OnTheSigTag_UploadsBothBlobsByPatch_AndPutsTheSigTag()
    {
        var repo = RegistryFixture.NewRepository("cosign");
        var image = await new OciTestClient(registry.Client).PushImageAsync(repo, "1.0");
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

        var signed = await SignLegacyAsync(repo, "1.0", key, previous: null);

        var reader = await ConnectAsync($"repository:{repo}:pull");
        using var get = await GetManifestAsync(reader, repo, SigTag(image));
        var manifest = await get.Content.ReadAsByteArrayAsync();
        Assert.Equal(signed, manifest);
        Assert.Equal(OciTestClient.DigestOf(signed), Replay.Header(get, "Docker-Content-Digest"));
    }

    /// <summary>
    /// A second <c>cosign sign</c> with another key: Signatures now finds the <c>.sig</c> tag (200), the dupe detector
    /// (pkg/cosign/remote/remote.go dd.Find) compares digests only, and mutate.Append reads the old config blob
    /// (remote image RawConfigFile → fetchBlob, through the registry's redirect) to append to it. remote.Write then
    /// HEADs the tag (200 with a different digest, so not skipped), finds the signed claim by HEAD (200, write.go
    /// checkExistingBlob: skipped; both signers signed the same bytes), uploads the new config and PUTs the tag: two
    /// layers of one digest, each with its signer's annotation.
    /// </summary>
    [Fact]
    public async Task SignLegacy_ASecondTime_ReadsTheSigTagAndItsConfig_FindsTheClaimByHead_AndAppendsALayer()
    {
        var repo = RegistryFixture.NewRepository("cosign");
        await new OciTestClient(registry.Client).PushImageAsync(repo, "1.0");
        using var first = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var second = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var once = await SignLegacyAsync(repo, "1.0", first, previous: null);

        var twice = await SignLegacyAsync(repo, "1.0", second, previous: once);

        using var parsed = JsonDocument.Parse(twice);
        var layers = parsed.RootElement.GetProperty("layers").EnumerateArray().ToList();
        Assert.Equal(2, layers.Count);
        Assert.Equal(layers[0].GetProperty("digest").GetString(), layers[1].GetProperty("digest").GetString());
        using var before = JsonDocument.Parse(once);
        Assert.Equal(before.RootElement.GetProperty("layers")[0].GetRawText(), layers[0].GetRawText());
        var reader = await ConnectAsync($"repository:{repo}:pull");
        var payload = await reader.GetBlobAsync(repo, layers[0].GetProperty("digest").GetString()!, layers[0].GetProperty("size").GetInt64());
        foreach (var (layer, key) in new[] { (layers[0], first), (layers[1], second) })
        {
            var signature = Convert.FromBase64String(layer.GetProperty("annotations").GetProperty(SignatureAnnotation).GetString()!);
            Assert.True(key.VerifyData(payload, signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence));
        }
    }

    /// <summary>
    /// <c>COSIGN_EXPERIMENTAL=1 cosign sign --key cosign.key --tlog-upload=false --new-bundle-format=false
    /// --registry-referrers-mode=oci-1-1 R:1.0</c>: the same reads as the legacy scheme (the image, the 404 on
    /// <c>.sig</c>), then pkg/oci/remote/write.go WriteSignaturesExperimentalOCI: remote.Head of the image by digest
    /// (fetcher.go headManifest needs Content-Type, Content-Length and Docker-Content-Digest; the answer becomes
    /// <c>subject</c>), remote.WriteLayer of the signature and of the config, and remote.Put of the manifest by
    /// digest with config.mediaType and artifactType <c>application/vnd.dev.cosign.artifact.sig.v1+json</c>. Because
    /// it has a subject, write.go commitManifest then GETs <c>/referrers/&lt;subject&gt;</c> (commitSubjectReferrers):
    /// a 200 means the registry keeps the list, anything else would make cosign write a <c>sha256-&lt;hex&gt;</c> index tag.
    /// </summary>
    [Fact]
    public async Task SignWithOci11ReferrersMode_HeadsTheImageForItsSubject_PutsTheReferrerByDigest_AndChecksTheReferrersApi()
    {
        var repo = RegistryFixture.NewRepository("cosign");
        var image = await new OciTestClient(registry.Client).PushImageAsync(repo, "1.0");
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

        var referrer = await SignExperimentalAsync(repo, image, key);

        var reader = await ConnectAsync($"repository:{repo}:pull");
        var listed = await ReferrersAsync(reader, repo, OciTestClient.DigestOf(image));
        var entry = listed.Single();
        Assert.Equal(OciTestClient.DigestOf(referrer), entry.GetProperty("digest").GetString());
        Assert.Equal(SigArtifactType, entry.GetProperty("artifactType").GetString());
        using (var tag = await reader.SendAsync(HttpMethod.Get, $"/v2/{repo}/manifests/{SigTag(image)}", null, "Accept: " + ManifestAccept))
        {
            Assert.Equal(HttpStatusCode.NotFound, tag.StatusCode);
        }
    }

    /// <summary>
    /// <c>cosign sign --key cosign.key --tlog-upload=false R:1.0</c> and <c>cosign attest --key cosign.key
    /// --tlog-upload=false --type slsaprovenance1 --predicate p.json R:1.0</c> in cosign 3's default bundle format:
    /// sign.go signDigestBundle and attest.go AttestCommand.Exec both end in pkg/oci/remote/write.go
    /// WriteAttestationNewBundleFormat → WriteReferrer: remote.Head of the image for the subject, the empty config
    /// (<c>{}</c>) and the bundle as blobs, a manifest whose config is <c>application/vnd.oci.empty.v1+json</c> carrying
    /// an artifactType, and the commitManifest check of the referrers API.
    /// </summary>
    [Fact]
    public async Task SignAndAttest_InTheBundleFormat_EachPutAReferrerOverTheEmptyConfig()
    {
        var repo = RegistryFixture.NewRepository("cosign");
        var image = await new OciTestClient(registry.Client).PushImageAsync(repo, "1.0");
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

        var signature = await SignBundleAsync(repo, "1.0", image, key, SignPredicate, emptyConfigThere: false);
        var attestation = await SignBundleAsync(repo, "1.0", image, key, ProvenancePredicate, emptyConfigThere: true);

        var reader = await ConnectAsync($"repository:{repo}:pull");
        var listed = await ReferrersAsync(reader, repo, OciTestClient.DigestOf(image));
        Assert.Equal(2, listed.Count);
        foreach (var (manifest, predicate) in new[] { (signature, SignPredicate), (attestation, ProvenancePredicate) })
        {
            var entry = listed.Single(e => e.GetProperty("digest").GetString() == OciTestClient.DigestOf(manifest));
            Assert.Equal(BundleMediaType, entry.GetProperty("artifactType").GetString());
            Assert.Equal(predicate, entry.GetProperty("annotations").GetProperty("dev.sigstore.bundle.predicateType").GetString());
        }
    }

    /// <summary>
    /// <c>cosign attest --key cosign.key --tlog-upload=false --new-bundle-format=false --predicate p.json R:1.0</c>:
    /// cmd/cosign/cli/attest/attest.go resolves the tag (pkg/oci/remote/digest.go ResolveDigest, remote.Get), reads
    /// the existing <c>sha256-&lt;hex&gt;.att</c> through SignedUnknown's Attestations (404: none yet), and
    /// WriteAttestations writes the DSSE envelope layer (<c>application/vnd.dsse.envelope.v1+json</c>, annotated with
    /// its predicateType) and the config with remote.Write to the <c>.att</c> tag.
    /// </summary>
    [Fact]
    public async Task AttestLegacy_Finds404OnTheAttTag_AndWritesTheDsseLayerToIt()
    {
        var repo = RegistryFixture.NewRepository("cosign");
        var image = await new OciTestClient(registry.Client).PushImageAsync(repo, "1.0");
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var digest = OciTestClient.DigestOf(image);
        var attTag = $"sha256-{Replay.Sha256Hex(digest)}.att";

        var reader = await ConnectAsync($"repository:{repo}:pull");
        using (var get = await GetManifestAsync(reader, repo, "1.0"))
        {
            Assert.Equal(digest, OciTestClient.DigestOf(await get.Content.ReadAsByteArrayAsync()));
        }
        using (var none = await reader.SendAsync(HttpMethod.Get, $"/v2/{repo}/manifests/{attTag}", null, "Accept: " + ManifestAccept))
        {
            await OciTestClient.AssertErrorAsync(none, HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
        }

        var envelope = Envelope(Statement(repo, digest, ProvenancePredicate), key);
        var (manifest, config) = SignaturesImage([GgcrDescriptor(Dsse, envelope, new() { ["predicateType"] = ProvenancePredicate })]);
        var writer = await ConnectAsync($"repository:{repo}:push,pull");
        await WriteImageAsync(writer, repo, attTag, manifest, [(OciTestClient.DigestOf(envelope), envelope), (OciTestClient.DigestOf(config), config)], existingTag: false);

        using var written = await GetManifestAsync(reader, repo, attTag);
        using var parsed = JsonDocument.Parse(await written.Content.ReadAsByteArrayAsync());
        var layer = parsed.RootElement.GetProperty("layers")[0];
        Assert.Equal(Dsse, layer.GetProperty("mediaType").GetString());
        var bytes = await reader.GetBlobAsync(repo, layer.GetProperty("digest").GetString()!, layer.GetProperty("size").GetInt64());
        Assert.True(VerifyEnvelope(bytes, key, digest, ProvenancePredicate));
    }

    /// <summary>
    /// <c>cosign verify --key cosign.pub R:1.0</c> of a legacy signature. cmd/cosign/cli/verify/verify.go
    /// VerifyCommand.Exec first looks for bundles (pkg/cosign/verify.go GetBundles: ResolveDigest, then
    /// pkg/oci/remote/referrers.go Referrers → ggcr remote.Referrers: GET <c>/referrers/&lt;digest&gt;</c>, taken as
    /// the API only when the Content-Type is exactly the index type); none, so VerifyImageSignatures resolves the
    /// tag again, GETs <c>sha256-&lt;hex&gt;.sig</c>, and reads each signature's payload blob, whose signature and
    /// <c>docker-manifest-digest</c> claim are then checked.
    /// </summary>
    [Fact]
    public async Task VerifyOfALegacySignature_FindsNoBundleReferrer_ThenReadsTheSigTagAndThePayload()
    {
        var repo = RegistryFixture.NewRepository("cosign");
        var image = await new OciTestClient(registry.Client).PushImageAsync(repo, "1.0");
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        await SignLegacyAsync(repo, "1.0", key, previous: null);
        var digest = OciTestClient.DigestOf(image);

        var reader = await ConnectAsync($"repository:{repo}:pull");
        await ResolveDigestAsync(reader, repo, "1.0", digest);
        Assert.Empty(await ReferrersAsync(reader, repo, digest));
        await ResolveDigestAsync(reader, repo, "1.0", digest);
        using var sig = await GetManifestAsync(reader, repo, SigTag(image));
        using var parsed = JsonDocument.Parse(await sig.Content.ReadAsByteArrayAsync());
        var layer = parsed.RootElement.GetProperty("layers").EnumerateArray().Single();
        Assert.Equal(SimpleSigning, layer.GetProperty("mediaType").GetString());
        var payload = await reader.GetBlobAsync(repo, layer.GetProperty("digest").GetString()!, layer.GetProperty("size").GetInt64());
        var signature = Convert.FromBase64String(layer.GetProperty("annotations").GetProperty(SignatureAnnotation).GetString()!);
        Assert.True(key.VerifyData(payload, signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence));
        using var claim = JsonDocument.Parse(payload);
        Assert.Equal(digest, claim.RootElement.GetProperty("critical").GetProperty("image").GetProperty("docker-manifest-digest").GetString());
    }

    /// <summary>
    /// <c>cosign verify</c> of an image nobody signed: the referrers index is empty, and the GET of the
    /// <c>.sig</c> tag must be a 404, which pkg/oci/remote/signatures.go Signatures turns into an empty list (any other
    /// status is an error that stops cosign), so cosign reports that no signatures were found.
    /// </summary>
    [Fact]
    public async Task VerifyOfAnUnsignedImage_Gets404OnTheSigTag_WhichCosignReadsAsNoSignatures()
    {
        var repo = RegistryFixture.NewRepository("cosign");
        var image = await new OciTestClient(registry.Client).PushImageAsync(repo, "1.0");
        var digest = OciTestClient.DigestOf(image);

        var reader = await ConnectAsync($"repository:{repo}:pull");
        await ResolveDigestAsync(reader, repo, "1.0", digest);
        Assert.Empty(await ReferrersAsync(reader, repo, digest));
        await ResolveDigestAsync(reader, repo, "1.0", digest);
        using var sig = await reader.SendAsync(HttpMethod.Get, $"/v2/{repo}/manifests/{SigTag(image)}", null, "Accept: " + ManifestAccept);
        await OciTestClient.AssertErrorAsync(sig, HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
    }

    /// <summary>
    /// <c>cosign verify --key cosign.pub --experimental-oci11 R:1.0</c>: after GetBundles (the referrer found is not
    /// a bundle: pkg/oci/remote/signatures.go Bundle refuses its layer type, so it is skipped),
    /// pkg/cosign/verify.go verifyImageSignaturesExperimentalOCI asks Referrers for artifactType
    /// <c>application/vnd.dev.cosign.artifact.sig.v1+json</c>: ggcr sends no filter and keeps the descriptors whose
    /// artifactType matches (referrers.go filterReferrersResponse), so the index must carry each referrer's
    /// artifactType. The last one is read by digest (Signatures → remote.Image) and its payload checked.
    /// </summary>
    [Fact]
    public async Task VerifyWithExperimentalOci11_FiltersReferrersByTheirArtifactType_AndReadsTheSignatureByDigest()
    {
        var repo = RegistryFixture.NewRepository("cosign");
        var image = await new OciTestClient(registry.Client).PushImageAsync(repo, "1.0");
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var referrer = await SignExperimentalAsync(repo, image, key);
        var digest = OciTestClient.DigestOf(image);

        var reader = await ConnectAsync($"repository:{repo}:pull");
        await ResolveDigestAsync(reader, repo, "1.0", digest);
        var found = await ReferrersAsync(reader, repo, digest);
        using (var notABundle = await GetManifestAsync(reader, repo, found.Single().GetProperty("digest").GetString()!))
        {
            using var parsed = JsonDocument.Parse(await notABundle.Content.ReadAsByteArrayAsync());
            Assert.Equal(SimpleSigning, parsed.RootElement.GetProperty("layers")[0].GetProperty("mediaType").GetString());
        }
        await ResolveDigestAsync(reader, repo, "1.0", digest);
        var sigs = (await ReferrersAsync(reader, repo, digest)).Where(d => d.GetProperty("artifactType").GetString() == SigArtifactType).ToList();
        Assert.Equal(OciTestClient.DigestOf(referrer), sigs[^1].GetProperty("digest").GetString());
        using var manifest = await GetManifestAsync(reader, repo, OciTestClient.DigestOf(referrer));
        using var signature = JsonDocument.Parse(await manifest.Content.ReadAsByteArrayAsync());
        var layer = signature.RootElement.GetProperty("layers")[0];
        var payload = await reader.GetBlobAsync(repo, layer.GetProperty("digest").GetString()!, layer.GetProperty("size").GetInt64());
        Assert.True(key.VerifyData(payload, Convert.FromBase64String(layer.GetProperty("annotations").GetProperty(SignatureAnnotation).GetString()!),
            HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence));
    }

    /// <summary>
    /// <c>cosign verify --key cosign.pub R:1.0</c> of a bundle-format signature: VerifyCommand.Exec's GetBundles finds
    /// it (each referrer read by digest, pkg/oci/remote/signatures.go Bundle: one layer whose type starts
    /// <c>application/vnd.dev.sigstore.bundle</c>, read through the redirect), and VerifyImageAttestations →
    /// verifyImageAttestationsSigstoreBundle calls GetBundles once more, the same requests again. The DSSE signature
    /// and the statement's subject digest are then checked.
    /// </summary>
    [Fact]
    public async Task VerifyOfABundle_ReadsTheReferrersTheManifestAndTheBundleLayer_Twice()
    {
        var repo = RegistryFixture.NewRepository("cosign");
        var image = await new OciTestClient(registry.Client).PushImageAsync(repo, "1.0");
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var referrer = await SignBundleAsync(repo, "1.0", image, key, SignPredicate, emptyConfigThere: false);
        var digest = OciTestClient.DigestOf(image);

        var reader = await ConnectAsync($"repository:{repo}:pull");
        for (var pass = 0; pass < 2; pass++)
        {
            await ResolveDigestAsync(reader, repo, "1.0", digest);
            var entry = (await ReferrersAsync(reader, repo, digest)).Single();
            Assert.Equal(OciTestClient.DigestOf(referrer), entry.GetProperty("digest").GetString());
            using var manifest = await GetManifestAsync(reader, repo, OciTestClient.DigestOf(referrer));
            using var parsed = JsonDocument.Parse(await manifest.Content.ReadAsByteArrayAsync());
            var layer = parsed.RootElement.GetProperty("layers").EnumerateArray().Single();
            Assert.StartsWith("application/vnd.dev.sigstore.bundle", layer.GetProperty("mediaType").GetString(), StringComparison.Ordinal);
            var bundle = await reader.GetBlobAsync(repo, layer.GetProperty("digest").GetString()!, layer.GetProperty("size").GetInt64());
            using var json = JsonDocument.Parse(bundle);
            Assert.Equal(BundleMediaType, json.RootElement.GetProperty("mediaType").GetString());
            Assert.True(VerifyEnvelope(Encoding.UTF8.GetBytes(json.RootElement.GetProperty("dsseEnvelope").GetRawText()), key, digest, SignPredicate));
        }
    }

    /// <summary>
    /// A docker config whose entry holds an <c>identitytoken</c> (what <c>docker login</c> stores when the token endpoint
    /// returns a refresh token, as this one does): ggcr transport/bearer.go Refresh takes refreshOauth, a POST with
    /// <c>grant_type=refresh_token</c>, client_id <c>go-containerregistry</c>, the scopes space-joined and the
    /// service; a 404 would make it fall back to the GET. The access token then reads the image.
    /// </summary>
    [Fact]
    public async Task IdentityTokenFromTheDockerConfig_IsExchangedByTheOAuth2RefreshGrant_AndReadsTheImage()
    {
        var repo = RegistryFixture.NewRepository("cosign");
        var image = await new OciTestClient(registry.Client).PushImageAsync(repo, "1.0");
        var refresh = await DockerLoginRefreshTokenAsync();
        var cosign = new Replay(registry);

        using (var ping = await cosign.SendAsync(HttpMethod.Get, "/v2/"))
        {
            var challenge = await cosign.ChallengeAsync(ping);
            cosign.Authorization = "Bearer " + await cosign.OAuth2TokenAsync(challenge,
                ("scope", $"repository:{repo}:pull"), ("service", challenge["service"]), ("client_id", "go-containerregistry"),
                ("grant_type", "refresh_token"), ("refresh_token", refresh));
        }
        await ResolveDigestAsync(cosign, repo, "1.0", OciTestClient.DigestOf(image));
    }

    /// <summary>
    /// What <c>docker login</c> leaves in the config: the daemon's token GET with Basic credentials and
    /// <c>offline_token=true</c>, whose refresh_token becomes the identity token.
    /// </summary>
    private async Task<string> DockerLoginRefreshTokenAsync()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/oauth2/token?account=admin&client_id=docker&offline_token=true&service=registry");
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Basic",
            Convert.ToBase64String(Encoding.UTF8.GetBytes($"{RegistryFixture.AdminName}:{RegistryFixture.AdminPassword}")));
        using var response = await registry.Anonymous.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.GetProperty("refresh_token").GetString()!;
    }

    /// <summary>
    /// The legacy sign flow from the reads to the PUT of the <c>.sig</c> tag (see the tests above);
    /// <paramref name="previous"/> is the <c>.sig</c> manifest already there, if any. Returns the manifest written.
    /// </summary>
    private async Task<byte[]> SignLegacyAsync(string repo, string tag, ECDsa key, byte[]? previous)
    {
        var reader = await ConnectAsync($"repository:{repo}:pull");
        byte[] image;
        using (var get = await GetManifestAsync(reader, repo, tag))
        {
            image = await get.Content.ReadAsByteArrayAsync();
        }
        var sigTag = SigTag(image);
        var layers = new List<JsonObject>();
        var blobs = new List<(string Digest, byte[]? Content)>();
        using (var existing = await reader.SendAsync(HttpMethod.Get, $"/v2/{repo}/manifests/{sigTag}", null, "Accept: " + ManifestAccept))
        {
            if (previous is null)
            {
                await OciTestClient.AssertErrorAsync(existing, HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
            }
            else
            {
                Assert.Equal(HttpStatusCode.OK, existing.StatusCode);
                Assert.Equal(OciTestClient.OciManifest, Replay.ContentTypeOf(existing));
                Assert.Equal(previous, await existing.Content.ReadAsByteArrayAsync());
                var old = JsonNode.Parse(previous)!;
                var config = old["config"]!;
                await reader.GetBlobAsync(repo, config["digest"]!.GetValue<string>(), config["size"]!.GetValue<long>());
                foreach (var layer in old["layers"]!.AsArray())
                {
                    layers.Add(layer!.DeepClone().AsObject());
                    blobs.Add((layer["digest"]!.GetValue<string>(), null));
                }
            }
        }
        var payload = SimpleSigningPayload(repo, OciTestClient.DigestOf(image));
        layers.Add(GgcrDescriptor(SimpleSigning, payload, new() { [SignatureAnnotation] = Sign(key, payload) }));
        if (blobs.All(b => b.Digest != OciTestClient.DigestOf(payload)))
        {
            // Every signer of an image signs the same claim: a second signature is the same blob (pusher.go writeLayer
            // does one HEAD per digest) in a second layer with its own annotation.
            blobs.Add((OciTestClient.DigestOf(payload), payload));
        }
        var (manifest, configBlob) = SignaturesImage(layers);
        blobs.Add((OciTestClient.DigestOf(configBlob), configBlob));

        var writer = await ConnectAsync($"repository:{repo}:push,pull");
        await WriteImageAsync(writer, repo, sigTag, manifest, blobs, existingTag: previous is not null);
        return manifest;
    }

    /// <summary>
    /// ggcr remote.Write of an image to a tag (pusher.go writeManifest): HEAD of the tag, each blob (one without
    /// content is one ggcr read from the registry, found by HEAD and skipped), then the manifest PUT.
    /// </summary>
    private static async Task WriteImageAsync(Replay writer, string repo, string tag, byte[] manifest, List<(string Digest, byte[]? Content)> blobs, bool existingTag)
    {
        using (var exists = await writer.SendAsync(HttpMethod.Head, $"/v2/{repo}/manifests/{tag}", null, "Accept: " + ManifestAccept))
        {
            if (existingTag)
            {
                HeadDescriptor(exists, null);
                Assert.NotEqual(OciTestClient.DigestOf(manifest), Replay.Header(exists, "Docker-Content-Digest"));
            }
            else
            {
                Assert.Equal(HttpStatusCode.NotFound, exists.StatusCode);
            }
        }
        foreach (var (digest, content) in blobs)
        {
            await UploadAsync(writer, repo, digest, content);
        }
        await PutManifestAsync(writer, repo, tag, manifest, subject: null);
    }

    /// <summary>The OCI 1.1 experimental flow of <c>cosign sign</c> (WriteSignaturesExperimentalOCI). Returns the referrer manifest.</summary>
    private async Task<byte[]> SignExperimentalAsync(string repo, byte[] image, ECDsa key)
    {
        var reader = await ConnectAsync($"repository:{repo}:pull");
        var digest = OciTestClient.DigestOf(image);
        await ResolveDigestAsync(reader, repo, "1.0", digest);
        using (var none = await reader.SendAsync(HttpMethod.Get, $"/v2/{repo}/manifests/{SigTag(image)}", null, "Accept: " + ManifestAccept))
        {
            Assert.Equal(HttpStatusCode.NotFound, none.StatusCode);
        }
        // signDigest's walkOpts are new client options: a new Puller, so the HEAD comes after a ping and token of its own.
        var writeReader = await ConnectAsync($"repository:{repo}:pull");
        JsonObject subject;
        using (var head = await writeReader.SendAsync(HttpMethod.Head, $"/v2/{repo}/manifests/{digest}", null, "Accept: " + ManifestAccept))
        {
            subject = HeadDescriptor(head, digest);
        }
        var payload = SimpleSigningPayload(repo, digest);
        var (sigs, config) = SignaturesImage([GgcrDescriptor(SimpleSigning, payload, new() { [SignatureAnnotation] = Sign(key, payload) })]);
        var manifest = JsonNode.Parse(sigs)!.AsObject();
        manifest["config"]!["mediaType"] = SigArtifactType;
        manifest["subject"] = subject;
        manifest["artifactType"] = SigArtifactType;
        var referrer = Replay.Bytes(manifest);

        var writer = await ConnectAsync($"repository:{repo}:push,pull");
        await UploadAsync(writer, repo, OciTestClient.DigestOf(payload), payload);
        await UploadAsync(writer, repo, OciTestClient.DigestOf(config), config);
        await PutManifestAsync(writer, repo, OciTestClient.DigestOf(referrer), referrer, digest);
        return referrer;
    }

    /// <summary>
    /// sign.go signDigestBundle / attest.go with the bundle format: the tag resolved (SignedEntity or ResolveDigest),
    /// then WriteReferrer. Returns the referrer manifest.
    /// </summary>
    private async Task<byte[]> SignBundleAsync(string repo, string tag, byte[] image, ECDsa key, string predicateType, bool emptyConfigThere)
    {
        var reader = await ConnectAsync($"repository:{repo}:pull");
        var digest = OciTestClient.DigestOf(image);
        await ResolveDigestAsync(reader, repo, tag, digest);
        // sign.go signDigestBundle makes new client options (a new Puller: ping and token again); attest.go uses its own throughout.
        var headReader = predicateType == SignPredicate ? await ConnectAsync($"repository:{repo}:pull") : reader;
        JsonObject subject;
        using (var head = await headReader.SendAsync(HttpMethod.Head, $"/v2/{repo}/manifests/{digest}", null, "Accept: " + ManifestAccept))
        {
            subject = HeadDescriptor(head, digest);
        }
        var bundle = Replay.Bytes(new JsonObject
        {
            ["mediaType"] = BundleMediaType,
            ["verificationMaterial"] = new JsonObject { ["publicKey"] = new JsonObject { ["hint"] = "cosign.pub" } },
            ["dsseEnvelope"] = JsonNode.Parse(Envelope(Statement(repo, digest, predicateType), key)),
        });
        var referrer = Replay.Bytes(new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = OciTestClient.OciManifest,
            ["config"] = new JsonObject
            {
                ["mediaType"] = OrasGo.EmptyJson, ["size"] = 2, ["digest"] = OciTestClient.EmptyConfigDigest, ["artifactType"] = BundleMediaType,
            },
            ["layers"] = new JsonArray(GgcrDescriptor(BundleMediaType, bundle, null)),
            ["annotations"] = OrasGo.Annotations(new()
            {
                ["org.opencontainers.image.created"] = OrasGo.Now(),
                ["dev.sigstore.bundle.content"] = "dsse-envelope",
                ["dev.sigstore.bundle.predicateType"] = predicateType,
            }),
            ["subject"] = subject,
            ["artifactType"] = BundleMediaType,
        });

        var writer = await ConnectAsync($"repository:{repo}:push,pull");
        await UploadAsync(writer, repo, OciTestClient.EmptyConfigDigest, emptyConfigThere ? null : "{}"u8.ToArray());
        await UploadAsync(writer, repo, OciTestClient.DigestOf(bundle), bundle);
        await PutManifestAsync(writer, repo, OciTestClient.DigestOf(referrer), referrer, digest);
        return referrer;
    }

    /// <summary>
    /// transport/transport.go NewWithContext: ping.go pingSingle GETs <c>/v2/</c> without credentials (of
    /// pingParallel's two attempts, https fails on a plain-HTTP registry and http answers), the 401's Bearer challenge
    /// gives realm and service, and bearer.go refresh → refreshBasic GETs the token with Basic credentials for the
    /// Puller's scope (<c>pull</c>) or the Pusher's (<c>push,pull</c>). Every later request carries that token.
    /// </summary>
    private async Task<Replay> ConnectAsync(string scope)
    {
        var cosign = new Replay(registry);
        using var ping = await cosign.SendAsync(HttpMethod.Get, "/v2/");
        var challenge = await cosign.ChallengeAsync(ping);
        Assert.False(challenge.ContainsKey("scope"));
        cosign.Authorization = "Bearer " + await cosign.DistributionTokenAsync(challenge, scope);
        return cosign;
    }

    /// <summary>
    /// fetcher.go fetchManifest: GET with every manifest type accepted; cosign switches on the Content-Type string
    /// itself (remote.go SignedEntity), so it must be the bare media type. A digest reference is checked against the body.
    /// </summary>
    private static async Task<HttpResponseMessage> GetManifestAsync(Replay reader, string repo, string reference)
    {
        var response = await reader.SendAsync(HttpMethod.Get, $"/v2/{repo}/manifests/{reference}", null, "Accept: " + ManifestAccept);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(OciTestClient.OciManifest, Replay.ContentTypeOf(response));
        await response.Content.LoadIntoBufferAsync();
        if (reference.StartsWith("sha256:", StringComparison.Ordinal))
        {
            Assert.Equal(reference, OciTestClient.DigestOf(await response.Content.ReadAsByteArrayAsync()));
        }
        return response;
    }

    /// <summary>pkg/oci/remote/digest.go ResolveDigest of a tag: remote.Get, whose body's digest is the image's.</summary>
    private static async Task ResolveDigestAsync(Replay reader, string repo, string tag, string digest)
    {
        using var get = await GetManifestAsync(reader, repo, tag);
        Assert.Equal(digest, OciTestClient.DigestOf(await get.Content.ReadAsByteArrayAsync()));
    }

    /// <summary>fetcher.go headManifest: Content-Type, Content-Length and Docker-Content-Digest are all required. Returns the v1.Descriptor it builds.</summary>
    private static JsonObject HeadDescriptor(HttpResponseMessage head, string? digest)
    {
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        var mediaType = Replay.ContentTypeOf(head);
        var size = head.Content.Headers.ContentLength;
        Assert.NotNull(size);
        var found = Replay.Header(head, "Docker-Content-Digest");
        if (digest is not null)
        {
            Assert.Equal(digest, found);
        }
        return new JsonObject { ["mediaType"] = mediaType, ["size"] = size, ["digest"] = found };
    }

    /// <summary>
    /// ggcr referrers.go fetchReferrers: GET with Accept the index type and no filter; only a 200 whose Content-Type is
    /// exactly <c>application/vnd.oci.image.index.v1+json</c> counts (else the <c>sha256-&lt;hex&gt;</c> tag is read).
    /// </summary>
    private static async Task<List<JsonElement>> ReferrersAsync(Replay reader, string repo, string digest)
    {
        using var response = await reader.SendAsync(HttpMethod.Get, $"/v2/{repo}/referrers/{digest}", null, "Accept: " + OciTestClient.OciIndex);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(OciTestClient.OciIndex, Replay.ContentTypeOf(response));
        using var index = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return index.RootElement.GetProperty("manifests").EnumerateArray().Select(e => e.Clone()).ToList();
    }

    /// <summary>
    /// write.go uploadOne: checkExistingBlob (HEAD; 200 or 404, anything else fails), then initiateUpload (POST with
    /// Content-Type application/json and no body; no mount for a layer ggcr did not read from a registry), streamBlob
    /// (PATCH of the whole body; 202, 204 or 201, and a Location is required) and commitBlob (PUT to that Location
    /// with <c>?digest=</c> and no body). Without <paramref name="content"/> the blob is one already there.
    /// </summary>
    private static async Task UploadAsync(Replay writer, string repo, string digest, byte[]? content)
    {
        using (var head = await writer.SendAsync(HttpMethod.Head, $"/v2/{repo}/blobs/{digest}"))
        {
            Assert.Equal(content is null ? HttpStatusCode.OK : HttpStatusCode.NotFound, head.StatusCode);
        }
        if (content is null)
        {
            return;
        }
        using var start = await writer.SendAsync(HttpMethod.Post, $"/v2/{repo}/blobs/uploads/", Replay.Body([], "application/json"));
        Assert.Equal(HttpStatusCode.Accepted, start.StatusCode);
        var location = new Uri(writer.Registry, start.Headers.Location!);
        using var patch = await writer.SendAsync(HttpMethod.Patch, location.AbsoluteUri, Replay.Body(content, "application/octet-stream"));
        Assert.Contains(patch.StatusCode, new[] { HttpStatusCode.Accepted, HttpStatusCode.NoContent, HttpStatusCode.Created });
        var commit = new Uri(location, patch.Headers.Location!);
        using var put = await writer.SendAsync(HttpMethod.Put, OciTestClient.WithDigest(commit, digest).AbsoluteUri, Replay.Body([], "application/octet-stream"));
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        Assert.Equal(digest, Replay.Header(put, "Docker-Content-Digest"));
    }

    /// <summary>
    /// write.go commitManifest: PUT with the manifest's media type (200, 201 or 202). A manifest with a subject is
    /// followed by commitSubjectReferrers' GET of the referrers API, which must answer 200 for cosign to leave the
    /// fallback tag alone; the registry also says OCI-Subject, which ggcr does not read but oras does.
    /// </summary>
    private static async Task PutManifestAsync(Replay writer, string repo, string reference, byte[] manifest, string? subject)
    {
        using (var put = await writer.SendAsync(HttpMethod.Put, $"/v2/{repo}/manifests/{reference}", Replay.Body(manifest, OciTestClient.OciManifest)))
        {
            Assert.True(put.StatusCode == HttpStatusCode.Created, await put.Content.ReadAsStringAsync());
            Assert.Equal(OciTestClient.DigestOf(manifest), Replay.Header(put, "Docker-Content-Digest"));
            if (subject is not null)
            {
                Assert.Equal(subject, Replay.Header(put, "OCI-Subject"));
            }
        }
        if (subject is not null)
        {
            var listed = await ReferrersAsync(writer, repo, subject);
            Assert.Contains(listed, d => d.GetProperty("digest").GetString() == OciTestClient.DigestOf(manifest));
        }
    }

    private static string SigTag(byte[] image) => $"sha256-{Replay.Sha256Hex(OciTestClient.DigestOf(image))}.sig";

    /// <summary>sigstore/sigstore pkg/signature/payload Cosign.MarshalJSON: the simple-signing claim cosign signs.</summary>
    private static byte[] SimpleSigningPayload(string repo, string digest) =>
        Encoding.UTF8.GetBytes($"{{\"critical\":{{\"identity\":{{\"docker-reference\":\"127.0.0.1/{repo}\"}},\"image\":{{\"docker-manifest-digest\":\"{digest}\"}},\"type\":\"cosign container image signature\"}},\"optional\":null}}");

    /// <summary>ECDSA P-256 over SHA-256, ASN.1 DER, base64: the signature annotation a cosign key pair makes.</summary>
    private static string Sign(ECDsa key, byte[] payload) =>
        Convert.ToBase64String(key.SignData(payload, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence));

    /// <summary>An in-toto statement about the image (pkg/cosign/attestation GenerateStatement).</summary>
    private static byte[] Statement(string repo, string digest, string predicateType) => Replay.Bytes(new JsonObject
    {
        ["_type"] = "https://in-toto.io/Statement/v1",
        ["subject"] = new JsonArray(new JsonObject { ["name"] = repo, ["digest"] = new JsonObject { ["sha256"] = Replay.Sha256Hex(digest) } }),
        ["predicateType"] = predicateType,
        ["predicate"] = new JsonObject(),
    });

    /// <summary>A DSSE envelope of <paramref name="statement"/>, signed over the pre-authentication encoding.</summary>
    private static byte[] Envelope(byte[] statement, ECDsa key) => Replay.Bytes(new JsonObject
    {
        ["payloadType"] = InToto,
        ["payload"] = Convert.ToBase64String(statement),
        ["signatures"] = new JsonArray(new JsonObject { ["keyid"] = "", ["sig"] = Convert.ToBase64String(key.SignData(Pae(statement), HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence)) }),
    });

    /// <summary>What verification does with a fetched envelope: the signature over PAE, the subject and the predicate type.</summary>
    private static bool VerifyEnvelope(byte[] envelope, ECDsa key, string digest, string predicateType)
    {
        using var json = JsonDocument.Parse(envelope);
        Assert.Equal(InToto, json.RootElement.GetProperty("payloadType").GetString());
        var statement = Convert.FromBase64String(json.RootElement.GetProperty("payload").GetString()!);
        var signature = Convert.FromBase64String(json.RootElement.GetProperty("signatures")[0].GetProperty("sig").GetString()!);
        using var parsed = JsonDocument.Parse(statement);
        Assert.Equal(predicateType, parsed.RootElement.GetProperty("predicateType").GetString());
        Assert.Equal(Replay.Sha256Hex(digest), parsed.RootElement.GetProperty("subject")[0].GetProperty("digest").GetProperty("sha256").GetString());
        return key.VerifyData(Pae(statement), signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
    }

    private static byte[] Pae(byte[] payload) =>
        [.. Encoding.UTF8.GetBytes($"DSSEv1 {InToto.Length} {InToto} {payload.Length} "), .. payload];

    /// <summary>
    /// The signatures image as mutate.Append builds it on pkg/oci/empty Signatures (OCI types): a config with one
    /// history entry and diff_id per layer, and a manifest of the annotated layers, in ggcr's field order.
    /// </summary>
    private static (byte[] Manifest, byte[] Config) SignaturesImage(IReadOnlyList<JsonObject> layers)
    {
        var config = Replay.Bytes(new JsonObject
        {
            ["architecture"] = "",
            ["created"] = "0001-01-01T00:00:00Z",
            ["history"] = new JsonArray(layers.Select(_ => (JsonNode)new JsonObject { ["created"] = "0001-01-01T00:00:00Z" }).ToArray()),
            ["os"] = "",
            ["rootfs"] = new JsonObject
            {
                ["type"] = "layers",
                ["diff_ids"] = new JsonArray(layers.Select(l => (JsonNode)l["digest"]!.GetValue<string>()).ToArray()),
            },
            ["config"] = new JsonObject(),
        });
        var manifest = Replay.Bytes(new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = OciTestClient.OciManifest,
            ["config"] = GgcrDescriptor("application/vnd.oci.image.config.v1+json", config, null),
            ["layers"] = new JsonArray(layers.Select(l => (JsonNode)l.DeepClone()).ToArray()),
        });
        return (manifest, config);
    }

    /// <summary>A v1.Descriptor in ggcr's field order: mediaType, size, digest, annotations.</summary>
    private static JsonObject GgcrDescriptor(string mediaType, byte[] content, Dictionary<string, string>? annotations)
    {
        var descriptor = new JsonObject { ["mediaType"] = mediaType, ["size"] = content.Length, ["digest"] = OciTestClient.DigestOf(content) };
        if (annotations is not null)
        {
            descriptor["annotations"] = OrasGo.Annotations(annotations);
        }
        return descriptor;
    }
}
