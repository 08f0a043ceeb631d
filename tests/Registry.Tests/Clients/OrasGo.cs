using System.Net;
using System.Text.Json.Nodes;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Clients;

/// <summary>
/// The requests of oras-go v2.6.2 (github.com/oras-project/oras-go, tag v2.6.2), the library under both the oras CLI
/// and helm (both pin v2.6.2 in go.mod): its token flow, blob and manifest steps, each checking what oras-go checks in
/// the answer. Paths below are in that repository.
/// </summary>
internal static class OrasGo
{
    /// <summary>registry/remote/manifest.go defaultManifestAcceptHeader: every manifest type, ", "-joined.</summary>
    public const string ManifestAccept =
        "application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json, "
        + "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.oci.artifact.manifest.v1+json";

    public const string EmptyJson = "application/vnd.oci.empty.v1+json";

    /// <summary>
    /// The first request of a command (registry/remote/auth/client.go Client.Do): sent without credentials; the
    /// challenge's scope, merged with the command's scope hint (auth/scope.go CleanScopes sorts the actions), is what
    /// fetchDistributionToken asks for with Basic credentials; the request is sent again with the token, which the
    /// cache (auth/cache.go) then gives every later request of the command.
    /// </summary>
    public static async Task<HttpResponseMessage> FirstRequestAsync(Replay client, HttpMethod method, string target,
        string challengedScope, string tokenScope, params string[] headers)
    {
        using (var challenged = await client.SendAsync(method, target, null, headers))
        {
            var challenge = await client.ChallengeAsync(challenged);
            Assert.Equal(challengedScope, challenge["scope"]);
            client.Authorization = "Bearer " + await client.DistributionTokenAsync(challenge, tokenScope);
        }
        return await client.SendAsync(method, target, null, headers);
    }

    /// <summary>
    /// registry/remote/repository.go manifestStore.Resolve (HEAD) and FetchReference (GET) both end in
    /// generateDescriptor: a parseable Content-Type, a Content-Length, and a Docker-Content-Digest equal to the
    /// digest asked for. Returns the descriptor oras-go builds (what attach puts in <c>subject</c>).
    /// </summary>
    public static JsonObject DescriptorOf(HttpResponseMessage response, string? requestedDigest)
    {
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var mediaType = response.Content.Headers.ContentType!.MediaType!;
        var size = response.Content.Headers.ContentLength;
        Assert.NotNull(size);
        var digest = Replay.Header(response, "Docker-Content-Digest");
        if (requestedDigest is not null)
        {
            Assert.Equal(requestedDigest, digest);
        }
        return new JsonObject { ["mediaType"] = mediaType, ["digest"] = digest, ["size"] = size };
    }

    /// <summary>HEAD of a manifest (manifestStore.Exists → Resolve), with the Accept header oras-go sends.</summary>
    public static Task<HttpResponseMessage> HeadManifestAsync(Replay client, string repository, string reference) =>
        client.SendAsync(HttpMethod.Head, $"/v2/{repository}/manifests/{reference}", null, "Accept: " + ManifestAccept);

    /// <summary>
    /// One blob as copy.go copyGraph pushes it: blobStore.Exists (HEAD, 404 means absent), then blobStore.Push: POST
    /// an upload, PUT the whole body to the Location with <c>?digest=</c> (completePushAfterInitialPost, which
    /// refuses a Location on another host).
    /// </summary>
    public static async Task PushBlobAsync(Replay client, string repository, byte[] content)
    {
        var digest = OciTestClient.DigestOf(content);
        using (var head = await client.SendAsync(HttpMethod.Head, $"/v2/{repository}/blobs/{digest}"))
        {
            Assert.Equal(HttpStatusCode.NotFound, head.StatusCode);
        }
        using var start = await client.SendAsync(HttpMethod.Post, $"/v2/{repository}/blobs/uploads/");
        Assert.Equal(HttpStatusCode.Accepted, start.StatusCode);
        var location = new Uri(client.Registry, start.Headers.Location!);
        Assert.Equal(client.Registry.Authority, location.Authority);
        using var put = await client.SendAsync(HttpMethod.Put, OciTestClient.WithDigest(location, digest).AbsoluteUri,
            Replay.Body(content, "application/octet-stream"));
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
    }

    /// <summary>HEAD of a blob oras-go finds already there (blobStore.Resolve → generateBlobDescriptor): Content-Length and the digest.</summary>
    public static async Task BlobExistsAsync(Replay client, string repository, byte[] content)
    {
        var digest = OciTestClient.DigestOf(content);
        using var head = await client.SendAsync(HttpMethod.Head, $"/v2/{repository}/blobs/{digest}");
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(content.Length, head.Content.Headers.ContentLength);
        Assert.Equal(digest, Replay.Header(head, "Docker-Content-Digest"));
    }

    /// <summary>
    /// manifestStore.push: PUT with the descriptor's media type as Content-Type; 201 is the only success, and a
    /// Docker-Content-Digest must be the manifest's (verifyContentDigest). The caller reads OCI-Subject
    /// (checkOCISubjectHeader) from the answer.
    /// </summary>
    public static async Task<HttpResponseMessage> PutManifestAsync(Replay client, string repository, string reference, byte[] manifest,
        string mediaType = OciTestClient.OciManifest)
    {
        var response = await client.SendAsync(HttpMethod.Put, $"/v2/{repository}/manifests/{reference}", Replay.Body(manifest, mediaType));
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        Assert.Equal(OciTestClient.DigestOf(manifest), Replay.Header(response, "Docker-Content-Digest"));
        return response;
    }

    /// <summary>
    /// manifestStore.Fetch, as Repository.Tag uses it: GET by digest with Accept naming only the descriptor's type; the
    /// answer's Content-Type must be that type, Content-Length its size, Docker-Content-Digest its digest.
    /// </summary>
    public static async Task<byte[]> FetchManifestAsync(Replay client, string repository, string digest, string mediaType, long size)
    {
        using var response = await client.SendAsync(HttpMethod.Get, $"/v2/{repository}/manifests/{digest}", null, "Accept: " + mediaType);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(mediaType, response.Content.Headers.ContentType!.MediaType);
        Assert.Equal(size, response.Content.Headers.ContentLength);
        Assert.Equal(digest, Replay.Header(response, "Docker-Content-Digest"));
        var body = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(digest, OciTestClient.DigestOf(body));
        return body;
    }

    /// <summary>image-spec specs-go/v1 DescriptorEmptyJSON as oras-go packs it, <c>data</c> included.</summary>
    public static JsonObject EmptyConfig() => new()
    {
        ["mediaType"] = EmptyJson,
        ["digest"] = OciTestClient.EmptyConfigDigest,
        ["size"] = 2,
        ["data"] = "e30=",
    };

    /// <summary>A descriptor in image-spec's field order (mediaType, digest, size, annotations).</summary>
    public static JsonObject Descriptor(string mediaType, byte[] content, Dictionary<string, string>? annotations = null)
    {
        var descriptor = new JsonObject { ["mediaType"] = mediaType, ["digest"] = OciTestClient.DigestOf(content), ["size"] = content.Length };
        if (annotations is not null)
        {
            descriptor["annotations"] = Annotations(annotations);
        }
        return descriptor;
    }

    public static JsonObject Annotations(Dictionary<string, string> values)
    {
        var annotations = new JsonObject();
        foreach (var (key, value) in values.OrderBy(v => v.Key, StringComparer.Ordinal))
        {
            annotations[key] = value;
        }
        return annotations;
    }

    /// <summary>RFC 3339 in UTC, as ensureAnnotationCreated (pack.go) and helm's generateChartOCIAnnotations write it.</summary>
    public static string Now() => DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);
}
