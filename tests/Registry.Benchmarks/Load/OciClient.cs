using System.Buffers;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Registry.Benchmarks.Processes;

namespace Registry.Benchmarks.Load;

/// <summary>What a blob pull cost: the bytes the registry's own response carried, and all bytes received.</summary>
internal sealed record PullResult(long RegistryBodyBytes, long TotalBytes, Uri? RedirectedTo);

/// <summary>
/// The Distribution protocol as docker and containerd speak it, over one pooled HTTP client with bounded connections
/// (loopback only). Every step checks the status the specification promises; anything else ends the run.
/// </summary>
internal sealed class OciClient : IDisposable
{
    /// <summary>What docker sends when it pulls a manifest.</summary>
    public const string DockerAccept =
        "application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json, "
        + "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json";

    private const int ReadBufferSize = 1024 * 1024;

    private readonly HttpClient _http;
    private readonly HttpClient _redirects;

    public OciClient(RegistryTarget target, int connections)
    {
        Target = target;
        var sockets = Sockets(connections);
        HttpMessageHandler handler = sockets;
        if (target.Credentials is { } owner)
        {
            Tokens = new TokenHandler(target.BaseAddress, owner, sockets);
            handler = Tokens;
        }
        _http = new HttpClient(handler) { BaseAddress = target.BaseAddress, Timeout = TimeSpan.FromMinutes(30) };
        _redirects = new HttpClient(Sockets(connections)) { Timeout = TimeSpan.FromMinutes(30) };
    }

    public RegistryTarget Target { get; }

    /// <summary>Our registry's token cache; null for a registry without auth.</summary>
    public TokenHandler? Tokens { get; }

    /// <summary>Fetches the Bearer tokens for these repositories before a timed loop.</summary>
    public Task PrepareAsync(IEnumerable<string> repositories, CancellationToken cancellationToken) =>
        Tokens?.PrepareAsync(repositories, cancellationToken) ?? Task.CompletedTask;

    /// <summary>Docker's push: POST, then one streaming PATCH with chunked transfer (no Content-Length), then PUT <c>?digest=</c>.</summary>
    public Task PushChunkedAsync(string repository, GeneratedLayer layer, CancellationToken cancellationToken) =>
        PushChunkedAsync(repository, layer.Content(declareLength: false), layer.Digest, cancellationToken);

    /// <summary>Docker's push of bytes at hand (configs, small layers).</summary>
    public Task PushChunkedAsync(string repository, byte[] bytes, CancellationToken cancellationToken) =>
        PushChunkedAsync(repository, new ChunkedBytes(bytes), Digests.Of(bytes), cancellationToken);

    /// <summary>containerd's push: POST, then one PUT <c>?digest=</c> carrying the body with its Content-Length.</summary>
    public async Task PushMonolithicAsync(string repository, GeneratedLayer layer, CancellationToken cancellationToken)
    {
        var location = await StartUploadAsync(repository, cancellationToken);
        using var body = layer.Content(declareLength: true);
        using var put = await _http.PutAsync(WithDigest(location, layer.Digest), body, cancellationToken);
        await Expect.StatusAsync(put, HttpStatusCode.Created, "monolithic upload PUT");
    }

    /// <summary>POST of a new upload session; its Location (relative, as the registry answers).</summary>
    public async Task<Uri> StartUploadAsync(string repository, CancellationToken cancellationToken)
    {
        using var empty = new ByteArrayContent([]);
        using var start = await _http.PostAsync(new Uri($"/v2/{repository}/blobs/uploads/", UriKind.Relative), empty, cancellationToken);
        await Expect.StatusAsync(start, HttpStatusCode.Accepted, "upload POST");
        return start.Headers.Location ?? throw new InvalidOperationException("upload POST answered without Location");
    }

    public async Task PutManifestAsync(string repository, string reference, byte[] manifest, CancellationToken cancellationToken)
    {
        using var body = new ByteArrayContent(manifest);
        body.Headers.ContentType = new MediaTypeHeaderValue(ImageManifest.MediaType);
        using var put = await _http.PutAsync(new Uri($"/v2/{repository}/manifests/{reference}", UriKind.Relative), body, cancellationToken);
        await Expect.StatusAsync(put, HttpStatusCode.Created, "manifest PUT");
    }

    /// <summary>Deletes a manifest by digest (202), as a client does to delete an image.</summary>
    public async Task DeleteManifestAsync(string repository, string digest, CancellationToken cancellationToken)
    {
        using var delete = await _http.DeleteAsync(new Uri($"/v2/{repository}/manifests/{digest}", UriKind.Relative), cancellationToken);
        await Expect.StatusAsync(delete, HttpStatusCode.Accepted, "manifest DELETE");
    }

    /// <summary>GET or HEAD of a manifest with docker's Accept header; returns the body's length.</summary>
    public async Task<long> GetManifestAsync(string repository, string reference, bool head, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(head ? HttpMethod.Head : HttpMethod.Get, new Uri($"/v2/{repository}/manifests/{reference}", UriKind.Relative));
        request.Headers.TryAddWithoutValidation("Accept", DockerAccept);
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
        await Expect.StatusAsync(response, HttpStatusCode.OK, "manifest " + request.Method);
        return response.Content.Headers.ContentLength ?? 0;
    }

    public async Task HeadBlobAsync(string repository, string digest, CancellationToken cancellationToken)
    {
        if (!await BlobExistsAsync(repository, digest, cancellationToken))
        {
            throw new InvalidOperationException($"blob HEAD of {digest}: 404, expected 200");
        }
    }

    /// <summary>Docker's check before it uploads a layer: HEAD, 200 when the repository has it, 404 when not.</summary>
    public async Task<bool> BlobExistsAsync(string repository, string digest, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Head, new Uri($"/v2/{repository}/blobs/{digest}", UriKind.Relative));
        using var response = await _http.SendAsync(request, cancellationToken);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }
        await Expect.StatusAsync(response, HttpStatusCode.OK, "blob HEAD");
        return true;
    }

    /// <summary>
    /// A blob GET as docker does it: a 307 is followed to the storage URL it names (without the registry's
    /// credentials); a 200 is the registry serving the bytes itself. Reads every byte; does not hash them.
    /// </summary>
    public async Task<PullResult> PullAsync(string repository, string digest, CancellationToken cancellationToken)
    {
        using var response = await _http.GetAsync(new Uri($"/v2/{repository}/blobs/{digest}", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (response.StatusCode == HttpStatusCode.TemporaryRedirect)
        {
            var own = await DrainAsync(response, cancellationToken);
            var location = response.Headers.Location ?? throw new InvalidOperationException("a 307 without Location");
            var followed = await ReadAllAsync(location, cancellationToken);
            return new PullResult(own, own + followed, location);
        }
        await Expect.StatusAsync(response, HttpStatusCode.OK, "blob GET");
        var bytes = await DrainAsync(response, cancellationToken);
        return new PullResult(bytes, bytes, null);
    }

    /// <summary>Reads a URL outside the registry (a SAS URL) to the end; returns the bytes received.</summary>
    public async Task<long> ReadAllAsync(Uri url, CancellationToken cancellationToken)
    {
        using var response = await _redirects.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        await Expect.StatusAsync(response, HttpStatusCode.OK, "storage GET");
        return await DrainAsync(response, cancellationToken);
    }

    /// <summary>Lists every item of a paged listing (tags, catalog), following <c>Link: &lt;…&gt;; rel="next"</c>; returns how many items and pages.</summary>
    public async Task<(int Items, int Pages)> ListAllAsync(string firstPage, string field, int maxPages, CancellationToken cancellationToken)
    {
        var count = 0;
        var next = firstPage;
        var page = 0;
        for (; next is not null; page++)
        {
            if (page >= maxPages)
            {
                throw new InvalidOperationException($"{firstPage}: more than {maxPages} pages");
            }
            using var response = await _http.GetAsync(new Uri(next, UriKind.RelativeOrAbsolute), cancellationToken);
            await Expect.StatusAsync(response, HttpStatusCode.OK, "listing");
            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
            using var doc = await JsonDocument.ParseAsync(body, cancellationToken: cancellationToken);
            count += doc.RootElement.TryGetProperty(field, out var items) && items.ValueKind == JsonValueKind.Array ? items.GetArrayLength() : 0;
            next = NextPage(response);
        }
        return (count, page);
    }

    public void Dispose()
    {
        _http.Dispose();
        _redirects.Dispose();
    }

    private async Task PushChunkedAsync(string repository, HttpContent body, string digest, CancellationToken cancellationToken)
    {
        using (body)
        {
            var location = await StartUploadAsync(repository, cancellationToken);
            using var patch = await _http.PatchAsync(location, body, cancellationToken);
            await Expect.StatusAsync(patch, HttpStatusCode.Accepted, "upload PATCH");
            var afterPatch = patch.Headers.Location ?? location;
            using var empty = new ByteArrayContent([]);
            using var put = await _http.PutAsync(WithDigest(afterPatch, digest), empty, cancellationToken);
            await Expect.StatusAsync(put, HttpStatusCode.Created, "upload PUT");
        }
    }

    private static Uri WithDigest(Uri location, string digest)
    {
        var text = location.OriginalString;
        return new Uri(text + (text.Contains('?', StringComparison.Ordinal) ? "&" : "?") + "digest=" + Uri.EscapeDataString(digest), UriKind.RelativeOrAbsolute);
    }

    private static string? NextPage(HttpResponseMessage response)
    {
        if (!response.Headers.TryGetValues("Link", out var links))
        {
            return null;
        }
        foreach (var link in links)
        {
            var open = link.IndexOf('<', StringComparison.Ordinal);
            var close = link.IndexOf('>', StringComparison.Ordinal);
            if (open >= 0 && close > open && link.Contains("rel=\"next\"", StringComparison.Ordinal))
            {
                return link[(open + 1)..close];
            }
        }
        return null;
    }

    private static async Task<long> DrainAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        var buffer = ArrayPool<byte>.Shared.Rent(ReadBufferSize);
        try
        {
            long total = 0;
            int read;
            while ((read = await stream.ReadAsync(buffer, cancellationToken)) > 0)
            {
                total += read;
            }
            return total;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static SocketsHttpHandler Sockets(int connections) => new()
    {
        MaxConnectionsPerServer = connections,
        AllowAutoRedirect = false,
        UseProxy = false,
        UseCookies = false,
        AutomaticDecompression = DecompressionMethods.None,
        PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
    };

    /// <summary>Bytes at hand sent as docker sends them: chunked, with no Content-Length.</summary>
    private sealed class ChunkedBytes : HttpContent
    {
        private readonly byte[] _bytes;

        public ChunkedBytes(byte[] bytes)
        {
            _bytes = bytes;
            Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => stream.WriteAsync(_bytes).AsTask();

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken) =>
            stream.WriteAsync(_bytes, cancellationToken).AsTask();

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
