using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Registry.Http;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Reliability;

/// <summary>
/// Malformed bytes in every place the registry parses: manifest bodies, the Content-Type and Accept headers, the token
/// endpoints' query and form, the upload, listing and referrers parameters, the Authorization header. Each gets a 4xx
/// with the OCI error body (the RFC 6749 body on <c>/oauth2/*</c>), never a 500. Where Kestrel refuses bytes HTTP
/// forbids (NUL or non-ASCII in the request line or a header) before the registry sees them, its bodiless 400 is the
/// answer asserted.
/// </summary>
[Collection(RegistryTestGroup.Name)]
public sealed class MalformedInputRows(RegistryFixture registry)
{
    private const string D1 = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    private const string D2 = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

    private readonly OciTestClient _oci = new(registry.Client);

    private static string Manifest(string extra = "", string layerMediaType = "application/vnd.oci.image.layer.v1.tar+gzip") => $$"""
        {"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
         "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{{D1}}","size":2},
         "layers":[{"mediaType":"{{layerMediaType}}","digest":"{{D2}}","size":10}]{{extra}}}
        """;

    private const string Subject = $$""","subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{{D1}}","size":1}""";

    /// <summary>The body with the one byte written as 'X' replaced by <paramref name="replacement"/>.</summary>
    private static byte[] WithBytes(string json, params byte[] replacement)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        var at = Array.IndexOf(bytes, (byte)'X');
        return [.. bytes[..at], .. replacement, .. bytes[(at + 1)..]];
    }

    public static TheoryData<string> ManifestBodies => [.. HostileManifests.Keys];

    private static readonly Dictionary<string, byte[]> HostileManifests = new()
    {
        ["invalid UTF-8 inside a string"] = WithBytes(Manifest(""","annotations":{"a":"X"}"""), 0xFF),
        ["invalid UTF-8 inside a media type"] = WithBytes(Manifest(layerMediaType: "application/vnd.oci.image.layer.v1.tarX"), 0xC3, 0x28),
        ["a UTF-8 sequence cut short"] = WithBytes(Manifest(""","annotations":{"a":"X"}"""), 0xE2, 0x82),
        ["an overlong UTF-8 encoding of '/'"] = WithBytes(Manifest(layerMediaType: "applicationXvnd.oci.image.layer.v1.tar"), 0xC0, 0xAF),
        ["a UTF-8 byte-order mark"] = [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(Manifest())],
        ["an escaped unpaired surrogate"] = Encoding.UTF8.GetBytes(Manifest(""","artifactType":"application/\ud800" """)),
        ["mediaType twice"] = Encoding.UTF8.GetBytes(Manifest().Replace("{\"schemaVersion\":2,", "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",", StringComparison.Ordinal)),
        ["layers twice"] = Encoding.UTF8.GetBytes(Manifest(""","layers":[]""")),
        ["a key twice inside a descriptor"] = Encoding.UTF8.GetBytes(Manifest().Replace("\"size\":10", $"\"size\":10,\"digest\":\"{D1}\"", StringComparison.Ordinal)),
        ["an escaped NUL in a layer media type"] = Encoding.UTF8.GetBytes(Manifest(layerMediaType: @"application/vnd.oci.image.layer.v1.tar\u0000")),
        ["a control character in artifactType"] = Encoding.UTF8.GetBytes(Manifest(""","artifactType":"application/vnd.x\u0001" """)),
        ["a raw control character inside a string"] = WithBytes(Manifest(""","annotations":{"a":"X"}"""), 0x01),
        ["a media type with parameters"] = Encoding.UTF8.GetBytes(Manifest(layerMediaType: "application/vnd.oci.image.layer.v1.tar+gzip;zstd=1")),
        ["a 70,000-character artifactType on a referrer"] = Encoding.UTF8.GetBytes(Manifest(Subject + $",\"artifactType\":\"application/{new string('x', 70_000)}\"")),
        ["100 KB of annotations on a referrer"] = Encoding.UTF8.GetBytes(Manifest(Subject + $",\"annotations\":{{\"pad\":\"{new string('x', 100_000)}\"}}")),
    };

    [Theory]
    [MemberData(nameof(ManifestBodies))]
    public async Task PutManifest_WithAHostileBody_Is400ManifestInvalid_AndStoresNothing(string body)
    {
        var repo = RegistryFixture.NewRepository();
        var response = await _oci.PutManifestAsync(repo, "hostile", HostileManifests[body]);
        await OciTestClient.AssertErrorAsync(response, HttpStatusCode.BadRequest, "MANIFEST_INVALID");
        Assert.Equal(HttpStatusCode.NotFound, (await registry.Client.GetAsync($"/v2/{repo}/manifests/hostile")).StatusCode);
    }

    /// <summary>A manifest whose config and layer exist in <paramref name="repo"/>, so only the Content-Type decides.</summary>
    private async Task<byte[]> PushableManifestAsync(string repo)
    {
        var config = "{}"u8.ToArray();
        var layer = OciTestClient.RandomBytes(32);
        await _oci.PushBlobAsync(repo, config);
        await _oci.PushBlobAsync(repo, layer);
        return OciTestClient.ImageManifest(config, [layer]);
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/octet-stream")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("application/vnd.oci.image.index.v1+json")]
    public async Task PutManifest_WithAContentTypeThatIsNeitherTheManifestsTypeNorJson_Is400ManifestInvalid(string contentType)
    {
        var repo = RegistryFixture.NewRepository();
        var response = await _oci.PutManifestAsync(repo, "v1", await PushableManifestAsync(repo), contentType);
        await OciTestClient.AssertErrorAsync(response, HttpStatusCode.BadRequest, "MANIFEST_INVALID");
        Assert.Equal(HttpStatusCode.NotFound, (await registry.Client.GetAsync($"/v2/{repo}/manifests/v1")).StatusCode);
    }

    [Theory]
    [InlineData("application/vnd.oci.image.manifest.v1+json")]
    [InlineData("application/vnd.oci.image.manifest.v1+json; charset=utf-8")]
    [InlineData("application/json")]
    [InlineData("application/json; charset=utf-8")]
    [InlineData(null)]
    public async Task PutManifest_WithTheManifestsTypeOrGenericJsonOrNone_Is201_AndServedAsTheBodysType(string? contentType)
    {
        var repo = RegistryFixture.NewRepository();
        var body = await PushableManifestAsync(repo);
        var content = new ByteArrayContent(body);
        if (contentType is not null)
        {
            content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        }
        Assert.Equal(HttpStatusCode.Created, (await registry.Client.PutAsync($"/v2/{repo}/manifests/v1", content)).StatusCode);
        var pulled = await registry.Client.GetAsync($"/v2/{repo}/manifests/v1");
        Assert.Equal(OciTestClient.OciManifest, pulled.Content.Headers.ContentType!.ToString());
        Assert.Equal(body, await pulled.Content.ReadAsByteArrayAsync());
    }

    private static byte[] Ascii(string text) => Encoding.ASCII.GetBytes(text);

    private static string AuthorizationLine => RegistryFixture.Authorization;

    [Theory]
    [InlineData("two Content-Type headers", "Content-Type: application/vnd.oci.image.manifest.v1+json\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\n", 400, "MANIFEST_INVALID")]
    [InlineData("a control character", "Content-Type: application/vnd.oci.image.manifest.v1+json\u0001\r\n", 400, "MANIFEST_INVALID")]
    [InlineData("a non-ASCII byte (Kestrel)", "Content-Type: application/vnd.oci.image.manifest.v1+json\u00ff\r\n", 400, null)]
    [InlineData("a NUL (Kestrel)", "Content-Type: application/vnd.oci.image.manifest.v1+json\u0000\r\n", 400, null)]
    public async Task PutManifest_WithAMalformedContentTypeHeader_Is400(string _, string header, int status, string? code)
    {
        var repo = RegistryFixture.NewRepository();
        var body = await PushableManifestAsync(repo);
        var (answer, head, text) = await RawHttp.ExchangeAsync(registry.BaseAddress,
            [.. Encoding.Latin1.GetBytes($"PUT /v2/{repo}/manifests/v1 HTTP/1.1\r\nHost: x\r\n{AuthorizationLine}{header}Content-Length: {body.Length}\r\nConnection: close\r\n\r\n"), .. body]);
        Assert.True(answer == status, head);
        AssertOciCode(text, code);
    }

    private static void AssertOciCode(string body, string? code)
    {
        if (code is null)
        {
            Assert.Equal("", body);
            return;
        }
        using var doc = JsonDocument.Parse(body);
        Assert.Equal(code, doc.RootElement.GetProperty("errors")[0].GetProperty("code").GetString());
    }

    [Theory]
    [InlineData("a control character", "Accept: application/vnd.oci.image.manifest.v1+json\u0001\r\n", 400, "UNSUPPORTED")]
    [InlineData("DEL", "Accept: application/vnd.oci.image.manifest.v1+json, \u007f\r\n", 400, "UNSUPPORTED")]
    [InlineData("a non-ASCII byte (Kestrel)", "Accept: application/vnd.oci.image.manifest.v1+json\u00e9\r\n", 400, null)]
    [InlineData("a NUL (Kestrel)", "Accept: application/vnd.oci.image.manifest.v1+json\u0000\r\n", 400, null)]
    [InlineData("only garbage types", "Accept: garbage, ;;;, */\r\n", 404, "MANIFEST_UNKNOWN")]
    [InlineData("garbage beside the right type", "Accept: garbage, application/vnd.oci.image.manifest.v1+json;q=0.5\r\n", 200, null)]
    public async Task GetManifest_WithAHostileAcceptHeader_Answers4xx(string _, string header, int status, string? code)
    {
        var repo = RegistryFixture.NewRepository();
        await _oci.PushImageAsync(repo, "v1");
        var (answer, head, text) = await RawHttp.ExchangeAsync(registry.BaseAddress,
            Encoding.Latin1.GetBytes($"GET /v2/{repo}/manifests/v1 HTTP/1.1\r\nHost: x\r\n{AuthorizationLine}{header}Connection: close\r\n\r\n"));
        Assert.True(answer == status, head);
        if (status != 200)
        {
            AssertOciCode(text, code);
        }
    }

    /// <summary>Percent-encodings each of which the token endpoints, and every /v2/ route, refuse in any parameter.</summary>
    private static readonly Dictionary<string, string> HostileValues = new()
    {
        ["NUL"] = "a%00b",
        ["a control character"] = "a%01b",
        ["a newline"] = "a%0Ab",
        ["DEL"] = "a%7Fb",
        ["a C1 control"] = "a%C2%85b",
        ["invalid UTF-8"] = "a%FFb",
        ["an overlong UTF-8 encoding"] = "a%C0%AFb",
        ["an encoded surrogate"] = "a%ED%A0%80b",
        ["a UTF-8 sequence cut short"] = "a%E2%82",
        ["a broken percent-encoding"] = "a%zzb",
    };

    private static readonly string[] TokenFields = ["scope", "service", "account", "grant_type", "refresh_token", "client_id"];

    public static TheoryData<string, string, string> TokenFieldCases()
    {
        var data = new TheoryData<string, string, string>();
        foreach (var transport in new[] { "GET query", "POST form" })
        {
            foreach (var field in TokenFields)
            {
                foreach (var kind in HostileValues.Keys)
                {
                    data.Add(transport, field, kind);
                }
                if (field != "scope")
                {
                    data.Add(transport, field, "given twice with different values");
                }
                if (transport == "POST form")
                {
                    data.Add(transport, field, "longer than 16384 characters");
                }
            }
        }
        return data;
    }

    private static string Hostile(string field, string kind) => kind switch
    {
        "given twice with different values" => $"{field}=a&{field}=b",
        "longer than 16384 characters" => $"{field}={new string('a', 16_385)}",
        _ => $"{field}={HostileValues[kind]}",
    };

    /// <summary>
    /// One request sent byte for byte (HttpClient would re-escape a broken <c>%zz</c>): the answer's status, head and
    /// de-chunked body.
    /// </summary>
    private Task<(int? Status, string Head, string Body)> RawAsync(string method, string target, string headers = "", byte[]? body = null) =>
        RawHttp.ExchangeAsync(registry.BaseAddress,
        [
            .. Encoding.Latin1.GetBytes($"{method} {target} HTTP/1.1\r\nHost: x\r\n{headers}"
                + (body is null ? "" : $"Content-Length: {body.Length}\r\n") + "Connection: close\r\n\r\n"),
            .. body ?? [],
        ]);

    private static void AssertOci((int? Status, string Head, string Body) answer, int status, string code)
    {
        Assert.True(answer.Status == status, answer.Head + "\n" + answer.Body);
        using var doc = JsonDocument.Parse(answer.Body);
        Assert.Equal(code, doc.RootElement.GetProperty("errors")[0].GetProperty("code").GetString());
    }

    private static void AssertOAuthError((int? Status, string Head, string Body) answer, int status, string error, string? describing = null)
    {
        Assert.True(answer.Status == status, answer.Head + "\n" + answer.Body);
        Assert.Contains("Cache-Control: no-store", answer.Head, StringComparison.OrdinalIgnoreCase);
        using var doc = JsonDocument.Parse(answer.Body);
        Assert.Equal(error, doc.RootElement.GetProperty("error").GetString());
        var description = doc.RootElement.GetProperty("error_description").GetString()!;
        if (describing is not null)
        {
            Assert.Contains(describing, description, StringComparison.Ordinal);
        }
    }

    private static ByteArrayContent Form(string encoded)
    {
        var content = new ByteArrayContent(Encoding.ASCII.GetBytes(encoded));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-www-form-urlencoded");
        return content;
    }

    private static async Task AssertOAuthErrorAsync(HttpResponseMessage response, HttpStatusCode status, string error, string? describing = null)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"expected {(int)status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
        using var doc = JsonDocument.Parse(body);
        Assert.Equal(error, doc.RootElement.GetProperty("error").GetString());
        var description = doc.RootElement.GetProperty("error_description").GetString()!;
        if (describing is not null)
        {
            Assert.Contains(describing, description, StringComparison.Ordinal);
        }
    }

    [Theory]
    [MemberData(nameof(TokenFieldCases))]
    public async Task TokenRequest_WithAHostileField_Is400InvalidRequest_NamingIt(string transport, string field, string kind)
    {
        var parameters = field == "service" ? Hostile(field, kind) : $"service=registry&{Hostile(field, kind)}";
        var answer = transport == "GET query"
            ? await RawAsync("GET", "/oauth2/token?" + parameters)
            : await RawAsync("POST", "/oauth2/token", $"Content-Type: {RequestParameters.FormContentType}\r\n", Encoding.ASCII.GetBytes(parameters));
        AssertOAuthError(answer, 400, "invalid_request", $"'{field}'");
    }

    [Fact]
    public async Task TokenRequest_FromTheOneTheTesterSent_Is400InvalidRequest()
    {
        // curl -XPOST -d 'grant_type=%00&service=registry' $R/oauth2/token
        var response = await registry.Anonymous.PostAsync("/oauth2/token", Form("grant_type=%00&service=registry"));
        await AssertOAuthErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request", "'grant_type'");
    }

    [Fact]
    public async Task TokenRequest_WithAMalformedBody_Is4xxInvalidRequest()
    {
        var json = new StringContent("{\"grant_type\":\"password\"}", Encoding.UTF8, "application/json");
        await AssertOAuthErrorAsync(await registry.Anonymous.PostAsync("/oauth2/token", json), HttpStatusCode.BadRequest, "invalid_request", "x-www-form-urlencoded");
        using var multipart = new MultipartFormDataContent { { new StringContent("password"), "grant_type" } };
        await AssertOAuthErrorAsync(await registry.Anonymous.PostAsync("/oauth2/token", multipart), HttpStatusCode.BadRequest, "invalid_request", "x-www-form-urlencoded");
        var huge = Form("service=registry&pad=" + new string('a', 70_000));
        await AssertOAuthErrorAsync(await registry.Anonymous.PostAsync("/oauth2/token", huge), HttpStatusCode.RequestEntityTooLarge, "invalid_request");
        var many = Form(string.Join('&', Enumerable.Range(0, 101).Select(i => $"p{i}=1")));
        await AssertOAuthErrorAsync(await registry.Anonymous.PostAsync("/oauth2/token", many), HttpStatusCode.BadRequest, "invalid_request", "at most 100 parameters");
        await AssertOAuthErrorAsync(await registry.Anonymous.PostAsync("/oauth2/token", Form("=registry")), HttpStatusCode.BadRequest, "invalid_request", "no name");
        await AssertOAuthErrorAsync(await registry.Anonymous.PostAsync("/oauth2/token", Form("serv%00ice=registry")), HttpStatusCode.BadRequest, "invalid_request", "name");
    }

    [Fact]
    public async Task TokenRequest_WithAMalformedScope_IsInvalidScope_AndAnUnknownGrant_UnsupportedGrantType()
    {
        await AssertOAuthErrorAsync(await registry.Anonymous.GetAsync("/oauth2/token?service=registry&scope=nonsense"), HttpStatusCode.BadRequest, "invalid_scope");
        await AssertOAuthErrorAsync(await registry.Anonymous.PostAsync("/oauth2/token", Form("grant_type=client_credentials&service=registry")),
            HttpStatusCode.BadRequest, "unsupported_grant_type", "client_credentials");
        // The same value twice is read once; only scope may repeat with different values.
        Assert.Equal(HttpStatusCode.OK, (await registry.Anonymous.GetAsync("/oauth2/token?service=registry&service=registry&scope=repository:a/b:pull&scope=repository:c/d:pull")).StatusCode);
    }

    [Theory]
    [InlineData("GET /oauth2/token?service=registry&scope=repository:a\u00e9:pull HTTP/1.1")]
    [InlineData("GET /oauth2/token?service=registry&scope=a\u0000 HTTP/1.1")]
    [InlineData("GET /oauth2/token?service=registry&scope=a\u00ff HTTP/1.1")]
    public async Task TokenRequest_WithRawBytesHttpForbidsInTheRequestLine_IsKestrels400(string requestLine)
    {
        var (status, head, body) = await RawHttp.ExchangeAsync(registry.BaseAddress, Encoding.Latin1.GetBytes($"{requestLine}\r\nHost: x\r\nConnection: close\r\n\r\n"));
        Assert.True(status == 400, head);
        Assert.Equal("", body);
    }

    [Fact]
    public async Task TokenRequest_WithAQueryLongerThanKestrelsRequestLine_Is414()
    {
        var response = await registry.Anonymous.GetAsync("/oauth2/token?service=registry&refresh_token=" + new string('a', 16_385));
        Assert.Equal(HttpStatusCode.RequestUriTooLong, response.StatusCode);
    }

    [Fact]
    public async Task EntraExchange_WithHostileFields_Is4xxInvalidRequest()
    {
        // Entra configured but unreachable: the form is read, and refused, before any metadata would be fetched.
        await using var entra = await ExtraRegistry.StartAsync(registry.Storage,
            ["--Auth:Entra:Authority=http://127.0.0.1:9/tenant/v2.0", "--Auth:Entra:Audience=api://x", "--Auth:Entra:RequireHttpsMetadata=false"]);
        using var client = entra.AnonymousClient();
        foreach (var field in new[] { "grant_type", "service", "access_token" })
        {
            foreach (var kind in HostileValues.Keys.Append("given twice with different values").Append("longer than 16384 characters"))
            {
                var parameters = string.Join('&', new[] { "grant_type=access_token", "service=registry", "access_token=abc" }
                    .Where(p => !p.StartsWith(field + "=", StringComparison.Ordinal))
                    .Append(Hostile(field, kind)));
                var response = await client.PostAsync("/oauth2/exchange", Form(parameters));
                await AssertOAuthErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request", $"'{field}'");
            }
        }
        var json = new StringContent("{\"grant_type\":\"access_token\"}", Encoding.UTF8, "application/json");
        await AssertOAuthErrorAsync(await client.PostAsync("/oauth2/exchange", json), HttpStatusCode.BadRequest, "invalid_request");
        await AssertOAuthErrorAsync(await client.PostAsync("/oauth2/exchange", Form("pad=" + new string('a', 70_000))), HttpStatusCode.RequestEntityTooLarge, "invalid_request");
        await AssertOAuthErrorAsync(await client.PostAsync("/oauth2/exchange", Form("grant_type=password&access_token=abc")), HttpStatusCode.BadRequest, "unsupported_grant_type");
    }

    private static string Basic(byte[] credentials) => "Basic " + Convert.ToBase64String(credentials);

    public static TheoryData<string, string, string> MalformedAuthorizations => new()
    {
        { "Basic with invalid base64", "Basic !!!not-base64!!!", "not base64" },
        { "Basic with invalid UTF-8", Basic([.. "ad"u8, 0xFF, .. "min:pw"u8]), "not UTF-8" },
        { "Basic with no colon", Basic("adminpw"u8.ToArray()), "'user:password'" },
        { "Basic with an empty user", Basic(":pw"u8.ToArray()), "'user:password'" },
        { "Basic with a control character", Basic("ad\u0001min:pw"u8.ToArray()), "control character" },
        { "Basic with nothing after it", "Basic", "base64" },
        { "Bearer with nothing after it", "Bearer", "token" },
        { "Bearer with characters a token cannot have", "Bearer %%%{}", "token" },
        { "an unknown scheme", "Negotiate abc", "Basic or Bearer" },
    };

    [Theory]
    [MemberData(nameof(MalformedAuthorizations))]
    public async Task RegistryRoute_WithAMalformedAuthorization_Is401InvalidToken_SayingWhy(string _, string header, string reason)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v2/{RegistryFixture.NewRepository()}/manifests/v1");
        request.Headers.TryAddWithoutValidation("Authorization", header);
        var response = await registry.Anonymous.SendAsync(request);
        await OciTestClient.AssertErrorAsync(response, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        Assert.Contains("error=\"invalid_token\"", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Contains(reason, body.RootElement.GetProperty("errors")[0].GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(MalformedAuthorizations))]
    public async Task TokenRequest_WithAMalformedAuthorization_Is400InvalidRequest_SayingWhy(string _, string header, string reason)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/oauth2/token?service=registry");
        request.Headers.TryAddWithoutValidation("Authorization", header);
        await AssertOAuthErrorAsync(await registry.Anonymous.SendAsync(request), HttpStatusCode.BadRequest, "invalid_request", reason);
    }

    [Fact]
    public async Task GarbageBearerToken_IsAWrongCredential_401_OnBothRoutes()
    {
        foreach (var path in new[] { $"/v2/{RegistryFixture.NewRepository()}/manifests/v1", "/oauth2/token?service=registry" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.TryAddWithoutValidation("Authorization", "Bearer not.a.jwt");
            await OciTestClient.AssertErrorAsync(await registry.Anonymous.SendAsync(request), HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        }
    }

    [Fact]
    public async Task TwoAuthorizationHeaders_Are401OnRegistryRoutes_And400OnTheTokenEndpoint()
    {
        var line = AuthorizationLine;
        var (v2, head, body) = await RawHttp.ExchangeAsync(registry.BaseAddress,
            Ascii($"GET /v2/{RegistryFixture.NewRepository()}/manifests/v1 HTTP/1.1\r\nHost: x\r\n{line}{line}Connection: close\r\n\r\n"));
        Assert.True(v2 == 401, head);
        Assert.Contains("send one Authorization header", body, StringComparison.Ordinal);
        var (token, tokenHead, tokenBody) = await RawHttp.ExchangeAsync(registry.BaseAddress,
            Ascii($"GET /oauth2/token?service=registry HTTP/1.1\r\nHost: x\r\n{line}{line}Connection: close\r\n\r\n"));
        Assert.True(token == 400, tokenHead);
        Assert.Contains("\"error\":\"invalid_request\"", tokenBody, StringComparison.Ordinal);
    }

    public static TheoryData<string, string> UploadStartQueries => new()
    {
        { $"digest={D1}%00", "DIGEST_INVALID" },
        { "digest=sha256%3A%FF", "DIGEST_INVALID" },
        { $"digest={D1}&digest={D2}", "DIGEST_INVALID" },
        { "mount=a%00&from=a/b", "DIGEST_INVALID" },
        { "mount=sha256:zz&from=a/b", "DIGEST_INVALID" },
        { $"mount={D1}&mount={D2}&from=a/b", "DIGEST_INVALID" },
        { $"mount={D1}&from=a%00b", "NAME_INVALID" },
        { $"mount={D1}&from=a%FFb", "NAME_INVALID" },
        { $"mount={D1}&from=Bad/Name", "NAME_INVALID" },
        { $"mount={D1}&from=a/b&from=c/d", "NAME_INVALID" },
        { $"mount={D1}&from={new string('a', 201)}", "NAME_INVALID" },
        { "ns=docker.io%0A", "UNSUPPORTED" },
    };

    [Theory]
    [MemberData(nameof(UploadStartQueries))]
    public async Task UploadStart_WithAHostileParameter_Is400_AndStartsNoSession(string query, string code)
    {
        // Basic credentials on the request itself: the test client would otherwise ask for a token naming the hostile 'from'.
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v2/{RegistryFixture.NewRepository()}/blobs/uploads/?{query}") { Content = OciTestClient.Octets([]) };
        request.Headers.TryAddWithoutValidation("Authorization", RegistryFixture.Authorization["Authorization: ".Length..].TrimEnd());
        var response = await registry.Anonymous.SendAsync(request);
        await OciTestClient.AssertErrorAsync(response, HttpStatusCode.BadRequest, code);
        Assert.Null(response.Headers.Location);
    }

    [Theory]
    [InlineData("digest=sha256%3A%00")]
    [InlineData("digest=sha256%3A%C0%AF")]
    [InlineData($"digest={D1}&digest={D2}")]
    public async Task UploadComplete_WithAHostileDigest_Is400DigestInvalid_AndTheUploadStaysCompletable(string query)
    {
        var repo = RegistryFixture.NewRepository();
        var start = await registry.Client.PostAsync($"/v2/{repo}/blobs/uploads/", null);
        var location = start.Headers.Location!.OriginalString;
        await OciTestClient.AssertErrorAsync(await registry.Client.PutAsync($"{location}?{query}", OciTestClient.Octets([])), HttpStatusCode.BadRequest, "DIGEST_INVALID");
        var content = "abc"u8.ToArray();
        var done = await registry.Client.PutAsync(OciTestClient.WithDigest(start.Headers.Location, OciTestClient.DigestOf(content)), OciTestClient.Octets(content));
        Assert.Equal(HttpStatusCode.Created, done.StatusCode);
    }

    public static TheoryData<string> ListingQueries => [.. new[]
    {
        "n=1%00", "n=1&n=2", "last=%00", "last=a%FF", "last=a%0Ab", "last=a&last=b", "last=a%zz", "x=%C0%AF",
    }];

    [Theory]
    [MemberData(nameof(ListingQueries))]
    public async Task TagListAndCatalog_WithAHostileParameter_Are400Unsupported(string query)
    {
        AssertOci(await RawAsync("GET", $"/v2/{RegistryFixture.NewRepository()}/tags/list?{query}", AuthorizationLine), 400, "UNSUPPORTED");
        AssertOci(await RawAsync("GET", $"/v2/_catalog?{query}", AuthorizationLine), 400, "UNSUPPORTED");
    }

    [Fact]
    public async Task TagList_WithTheSameParameterTwice_ReadsItOnce()
    {
        var repo = RegistryFixture.NewRepository();
        await _oci.PushImageAsync(repo, "v1");
        var response = await registry.Client.GetAsync($"/v2/{repo}/tags/list?n=5&n=5");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("\"v1\"", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    public static TheoryData<string> ArtifactTypeFilters => [.. new[]
    {
        "a%00b", "application/vnd.x%FF", "application/vnd.x%zz", "a/b&artifactType=c/d", "application/vnd.example%2Bjson%3Bversion%3D1", "nonsense",
        "application/" + new string('x', 128),
    }];

    [Theory]
    [MemberData(nameof(ArtifactTypeFilters))]
    public async Task Referrers_WithAHostileArtifactTypeFilter_Are400Unsupported(string filter)
    {
        AssertOci(await RawAsync("GET", $"/v2/{RegistryFixture.NewRepository()}/referrers/{D1}?artifactType={filter}", AuthorizationLine), 400, "UNSUPPORTED");
    }

    [Fact]
    public async Task Referrers_WithAWellFormedFilter_AppliesIt()
    {
        var repo = RegistryFixture.NewRepository();
        var response = await registry.Client.GetAsync($"/v2/{repo}/referrers/{D1}?artifactType=application/vnd.example%2Bjson");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("artifactType", response.Headers.GetValues("OCI-Filters-Applied").Single());
    }
}
