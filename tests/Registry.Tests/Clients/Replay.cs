using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Clients;

/// <summary>
/// One Go registry client's requests, replayed one at a time for <see cref="OrasRequestTests"/>,
/// <see cref="HelmRequestTests"/> and <see cref="CosignRequestTests"/>: each request carries exactly the headers the
/// test names plus <see cref="Authorization"/>, and no redirect is followed unasked, so a test sees every answer the
/// client reads.
/// </summary>
internal sealed partial class Replay(RegistryFixture registry)
{
    /// <summary>JSON as Go's encoding/json writes it for these bodies: no insignificant space, '+' not escaped.</summary>
    public static readonly JsonSerializerOptions GoJson = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The Authorization header the client has settled on (<c>Bearer …</c>), or none before its first token.</summary>
    public string? Authorization { get; set; }

    public Uri Registry => registry.BaseAddress;

    /// <summary>Sends one request; <paramref name="headers"/> are <c>Name: value</c> lines sent as written.</summary>
    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string target, HttpContent? body = null, params string[] headers)
    {
        using var request = new HttpRequestMessage(method, target) { Content = body };
        if (Authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", Authorization);
        }
        foreach (var header in headers)
        {
            var colon = header.IndexOf(':', StringComparison.Ordinal);
            Assert.True(request.Headers.TryAddWithoutValidation(header[..colon], header[(colon + 1)..].Trim()), header);
        }
        return await registry.Anonymous.SendAsync(request);
    }

    /// <summary>
    /// The 401 a request without credentials gets: a Bearer challenge with realm and service, the realm on the
    /// registry's own host and port (oras-go <c>auth/client.go</c> validateRealm and go-containerregistry
    /// <c>transport/bearer.go</c> validateRealmURL refuse a loopback realm anywhere else). Returns its parameters.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, string>> ChallengeAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var header = response.Headers.WwwAuthenticate.Single().ToString();
        Assert.StartsWith("Bearer ", header, StringComparison.Ordinal);
        var parameters = ChallengeParameter().Matches(header).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value, StringComparer.Ordinal);
        Assert.Equal(registry.BaseAddress.Authority, new Uri(parameters["realm"]).Authority);
        Assert.Equal("registry", parameters["service"]);
        if (response.RequestMessage?.Method != HttpMethod.Head)
        {
            Assert.Equal("UNAUTHORIZED", await OciTestClient.ErrorCodeAsync(response));
        }
        return parameters;
    }

    /// <summary>
    /// The distribution-spec token GET with the owner's Basic credentials (oras-go fetchDistributionToken,
    /// go-containerregistry refreshBasic): <c>realm?scope=…&amp;service=…</c>. Both clients take <c>access_token</c>
    /// over <c>token</c>; the registry sends both, equal. Returns the token.
    /// </summary>
    public async Task<string> DistributionTokenAsync(IReadOnlyDictionary<string, string> challenge, params string[] scopes)
    {
        var query = string.Join('&', scopes.Select(s => "scope=" + WebUtility.UrlEncode(s)).Append("service=" + WebUtility.UrlEncode(challenge["service"])));
        using var request = new HttpRequestMessage(HttpMethod.Get, challenge["realm"] + "?" + query);
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic",
            Convert.ToBase64String(Encoding.UTF8.GetBytes($"{RegistryFixture.AdminName}:{RegistryFixture.AdminPassword}")));
        using var response = await registry.Anonymous.SendAsync(request);
        return await TokenOfAsync(response, "token");
    }

    /// <summary>An OAuth2 POST to the realm with the form fields as the client encodes them (keys sorted, as Go's url.Values.Encode). Returns access_token.</summary>
    public async Task<string> OAuth2TokenAsync(IReadOnlyDictionary<string, string> challenge, params (string Key, string Value)[] form)
    {
        var body = new StringContent(Form(form), Encoding.ASCII);
        body.Headers.ContentType = new MediaTypeHeaderValue("application/x-www-form-urlencoded");
        using var response = await registry.Anonymous.PostAsync(challenge["realm"], body);
        return await TokenOfAsync(response, null);
    }

    /// <summary>Go's url.Values.Encode: keys sorted, values query-escaped.</summary>
    public static string Form(params (string Key, string Value)[] pairs) =>
        string.Join('&', pairs.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => p.Key + "=" + WebUtility.UrlEncode(p.Value)));

    private static async Task<string> TokenOfAsync(HttpResponseMessage response, string? alsoIn)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        using var json = JsonDocument.Parse(text);
        var token = json.RootElement.GetProperty("access_token").GetString()!;
        Assert.NotEmpty(token);
        if (alsoIn is not null)
        {
            Assert.Equal(token, json.RootElement.GetProperty(alsoIn).GetString());
        }
        return token;
    }

    /// <summary>
    /// A blob GET as Go's http.Client makes it for these clients: the registry answers 307 to storage, and the redirected
    /// GET goes without the registry's Authorization (another origin). Checks what oras-go blobStore.Fetch and
    /// go-containerregistry fetchBlobURL check, Content-Length against the descriptor and the bytes against the digest.
    /// </summary>
    public async Task<byte[]> GetBlobAsync(string repository, string digest, long size, params string[] headers)
    {
        using var redirect = await SendAsync(HttpMethod.Get, $"/v2/{repository}/blobs/{digest}", null, headers);
        Assert.Equal(HttpStatusCode.TemporaryRedirect, redirect.StatusCode);
        var location = redirect.Headers.Location!;
        Assert.True(location.IsAbsoluteUri, location.OriginalString);
        using var stored = await registry.Anonymous.GetAsync(location);
        Assert.Equal(HttpStatusCode.OK, stored.StatusCode);
        Assert.Equal(size, stored.Content.Headers.ContentLength);
        var bytes = await stored.Content.ReadAsByteArrayAsync();
        Assert.Equal(digest, OciTestClient.DigestOf(bytes));
        return bytes;
    }

    /// <summary>The exact Content-Type header value: clients compare the string, so a parameter such as charset would break them.</summary>
    public static string ContentTypeOf(HttpResponseMessage response) => response.Content.Headers.GetValues("Content-Type").Single();

    public static string Header(HttpResponseMessage response, string name) => response.Headers.GetValues(name).Single();

    public static ByteArrayContent Body(byte[] content, string? contentType)
    {
        var body = new ByteArrayContent(content);
        if (contentType is not null)
        {
            body.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        }
        return body;
    }

    public static byte[] Bytes(JsonNode node) => Encoding.UTF8.GetBytes(node.ToJsonString(GoJson));

    public static string Sha256Hex(string digest) => digest["sha256:".Length..];

    [GeneratedRegex("(\\w+)=\"([^\"]*)\"")]
    private static partial Regex ChallengeParameter();
}
