using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Registry.Tests.Fixtures;

/// <summary>Protocol steps the tests repeat, spoken over real HTTP exactly as clients send them.</summary>
public sealed class OciTestClient(HttpClient http)
{
    public const string OciManifest = "application/vnd.oci.image.manifest.v1+json";
    public const string OciIndex = "application/vnd.oci.image.index.v1+json";
    public const string EmptyConfigDigest = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";

    public HttpClient Http => http;

    public static string DigestOf(byte[] content) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(content));

    public static byte[] RandomBytes(int length) => RandomNumberGenerator.GetBytes(length);

    /// <summary>Monolithic upload: POST then PUT with the whole body. Returns the digest.</summary>
    public async Task<string> PushBlobAsync(string repository, byte[] content)
    {
        var digest = DigestOf(content);
        var start = await http.PostAsync($"/v2/{repository}/blobs/uploads/", null);
        Assert.Equal(HttpStatusCode.Accepted, start.StatusCode);
        var put = await http.PutAsync(WithDigest(start.Headers.Location!, digest), Octets(content));
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        return digest;
    }

    public static Uri WithDigest(Uri location, string digest)
    {
        var text = location.OriginalString;
        return new Uri(text + (text.Contains('?', StringComparison.Ordinal) ? "&" : "?") + "digest=" + Uri.EscapeDataString(digest), UriKind.RelativeOrAbsolute);
    }

    public static ByteArrayContent Octets(byte[] content)
    {
        var body = new ByteArrayContent(content);
        body.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        return body;
    }

    public static ByteArrayContent Json(byte[] content, string mediaType)
    {
        var body = new ByteArrayContent(content);
        body.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
        return body;
    }

    /// <summary>An OCI image manifest over the given config and layers (digest and size read from the bytes).</summary>
    public static byte[] ImageManifest(byte[] config, IEnumerable<byte[]> layers, string? subjectDigest = null, long subjectSize = 0,
        string? artifactType = null, string configMediaType = "application/vnd.oci.image.config.v1+json", Dictionary<string, string>? annotations = null)
    {
        var manifest = new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = OciManifest,
            ["config"] = Descriptor(configMediaType, config),
            ["layers"] = new JsonArray(layers.Select(l => (JsonNode)Descriptor("application/vnd.oci.image.layer.v1.tar+gzip", l)).ToArray()),
        };
        if (artifactType is not null)
        {
            manifest["artifactType"] = artifactType;
        }
        if (subjectDigest is not null)
        {
            manifest["subject"] = new JsonObject { ["mediaType"] = OciManifest, ["digest"] = subjectDigest, ["size"] = subjectSize };
        }
        if (annotations is not null)
        {
            var a = new JsonObject();
            foreach (var (k, v) in annotations)
            {
                a[k] = v;
            }
            manifest["annotations"] = a;
        }
        return Encoding.UTF8.GetBytes(manifest.ToJsonString());
    }

    public static JsonObject Descriptor(string mediaType, byte[] content) =>
        new() { ["mediaType"] = mediaType, ["digest"] = DigestOf(content), ["size"] = content.Length };

    /// <summary>Pushes config + one random layer and a manifest under <paramref name="reference"/>; returns the manifest bytes.</summary>
    public async Task<byte[]> PushImageAsync(string repository, string reference, int layerSize = 1024)
    {
        var config = Encoding.UTF8.GetBytes($"{{\"architecture\":\"amd64\",\"os\":\"linux\",\"nonce\":\"{Guid.NewGuid()}\"}}");
        var layer = RandomBytes(layerSize);
        await PushBlobAsync(repository, config);
        await PushBlobAsync(repository, layer);
        var manifest = ImageManifest(config, [layer]);
        var put = await PutManifestAsync(repository, reference, manifest);
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        return manifest;
    }

    public Task<HttpResponseMessage> PutManifestAsync(string repository, string reference, byte[] manifest, string mediaType = OciManifest) =>
        http.PutAsync($"/v2/{repository}/manifests/{reference}", Json(manifest, mediaType));

    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, HttpContent? content = null, Action<HttpRequestMessage>? configure = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        configure?.Invoke(request);
        return await http.SendAsync(request);
    }

    /// <summary>Reads an OCI error body and returns its first code.</summary>
    public static async Task<string> ErrorCodeAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        using var doc = JsonDocument.Parse(text);
        var error = doc.RootElement.GetProperty("errors")[0];
        Assert.True(error.TryGetProperty("message", out _), "error has a message: " + text);
        Assert.True(error.TryGetProperty("detail", out _), "error has a detail: " + text);
        return error.GetProperty("code").GetString()!;
    }

    public static async Task AssertErrorAsync(HttpResponseMessage response, HttpStatusCode status, string code)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"expected {(int)status}, got {(int)response.StatusCode}: {body}");
        using var doc = JsonDocument.Parse(body);
        Assert.Equal(code, doc.RootElement.GetProperty("errors")[0].GetProperty("code").GetString());
    }
}
