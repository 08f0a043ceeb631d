using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Registry.Storage.Uploads;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Reliability;

/// <summary>
/// RELIABILITY.md rows 11 and 22 and the memory half of L8, over raw sockets: upload bodies that stop arriving are
/// ended by the idle timeout, give their staging memory back and stay resumable from the offset the registry reports;
/// while stalled uploads hold the whole staging budget, a new upload is refused at once with 429 instead of waiting.
/// Each test runs a registry of its own, for its settings.
/// </summary>
[Collection(RegistryTestGroup.Name)]
public sealed class StalledUploadTests(RegistryFixture registry)
{
    private const int Block = BlockStager.BlockSize;

    /// <summary>How long a test waits for the registry to end a request or to return memory: far beyond any setting here.</summary>
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    /// <summary>One upload whose PATCH sends <see cref="Sent"/> bytes of <see cref="Content"/> and then nothing.</summary>
    private sealed record Stall(string Location, byte[] Content, int Sent, bool Chunked)
    {
        /// <summary>A chunked body is kept up to the stall; one that declared its length and fell short keeps nothing.</summary>
        public int Kept => Chunked ? Sent : 0;
    }

    private sealed record RawResponse(int Status, IReadOnlyDictionary<string, string> Headers, string Body);

    [Fact]
    public async Task FiftyStalledBodies_AreEachEndedWith408_ReturnTheirStagingMemory_AndResumeFromTheReportedOffset()
    {
        await using var extra = await ExtraRegistry.StartAsync(registry.Storage, ["--Uploads:BodyIdleTimeout=00:00:02"]);
        using var client = extra.OwnerClient();
        var repo = RegistryFixture.NewRepository("stall");
        var bearer = await BearerAsync(extra, repo);
        // Docker-style chunked bodies alternate with bodies that declare Content-Length. The first sends a block and a
        // third, so it stalls with one block staged and a partial one read.
        var stalls = new List<Stall>();
        for (var i = 0; i < 50; i++)
        {
            var content = OciTestClient.RandomBytes(i == 0 ? 2 * Block : 3000 + i);
            stalls.Add(new Stall(await StartAsync(client, repo), content, i == 0 ? Block + (Block / 3) : 1000 + (10 * i), i % 2 == 0));
        }

        var connections = new List<TcpClient>();
        foreach (var stall in stalls)
        {
            connections.Add(await OpenStalledPatchAsync(extra.BaseAddress, bearer, stall));
        }
        var answers = await Task.WhenAll(connections.Select(c => ReadResponseAsync(c.GetStream())));
        connections.ForEach(c => c.Dispose());

        var budget = extra.Services.GetRequiredService<StagingBuffers>();
        Assert.Equal(0, budget.BytesInUse);
        Assert.InRange(budget.BytesIdle, Block, (long)budget.Capacity * Block);
        foreach (var (stall, answer) in stalls.Zip(answers))
        {
            Assert.Equal(408, answer.Status);
            Assert.Contains("\"BLOB_UPLOAD_INVALID\"", answer.Body, StringComparison.Ordinal);
            Assert.Contains("no byte of the request body arrived for 2 s", answer.Body, StringComparison.Ordinal);
            Assert.Equal("close", answer.Headers["connection"]);
            Assert.Equal(stall.Location, answer.Headers["location"]);
            Assert.Equal(RangeOf(stall.Kept), answer.Headers["range"]);
        }
        await Task.WhenAll(stalls.Select(stall => ResumeAndCompleteAsync(client, repo, stall)));
        var first = stalls[0];
        Assert.Equal(first.Content, await DownloadAsync(client, repo, OciTestClient.DigestOf(first.Content)));
    }

    [Fact]
    public async Task WhileStalledUploadsHoldTheWholeBudget_ANewUploadGets429WithRetryAfterAtOnce_AndGoesThroughOnceABlockIsFree()
    {
        await using var extra = await ExtraRegistry.StartAsync(registry.Storage,
            [$"--Uploads:StagingMemoryBytes={2 * Block}", "--Uploads:StagingWait=00:00:00", "--Uploads:BodyIdleTimeout=00:10:00"]);
        var budget = extra.Services.GetRequiredService<StagingBuffers>();
        using var client = extra.OwnerClient();
        var repo = RegistryFixture.NewRepository("stall");
        var bearer = await BearerAsync(extra, repo);
        var holders = new List<TcpClient>();
        for (var i = 0; i < 2; i++)
        {
            holders.Add(await OpenStalledPatchAsync(extra.BaseAddress, bearer, new Stall(await StartAsync(client, repo), new byte[3000], 1000, Chunked: false)));
        }
        await WaitUntilAsync(() => budget.BytesInUse == 2L * Block);
        var content = OciTestClient.RandomBytes(5000);
        var location = await StartAsync(client, repo);

        var refused = await PatchAsync(client, location, content, 0);
        var whole = await client.PostAsync($"/v2/{repo}/blobs/uploads/?digest={OciTestClient.DigestOf(content)}", OciTestClient.Octets(content));

        foreach (var answer in new[] { refused, whole })
        {
            await OciTestClient.AssertErrorAsync(answer, HttpStatusCode.TooManyRequests, "TOOMANYREQUESTS");
            Assert.Equal(TimeSpan.FromSeconds(5), answer.Headers.RetryAfter?.Delta);
        }
        Assert.Equal(RangeOf(0), (await client.GetAsync(location)).Headers.GetValues("Range").Single());

        holders[0].Dispose();
        await WaitUntilAsync(() => budget.BytesInUse == Block);
        var accepted = await PatchAsync(client, location, content, 0);
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        Assert.Equal(RangeOf(content.Length), accepted.Headers.GetValues("Range").Single());

        holders[1].Dispose();
        await WaitUntilAsync(() => budget.BytesInUse == 0);
    }

    [Fact]
    public async Task SettingsOutOfRange_StopTheStart_NamingEachOne()
    {
        var failure = await Assert.ThrowsAsync<OptionsValidationException>(() => ExtraRegistry.StartAsync(registry.Storage,
            ["--Uploads:StagingMemoryBytes=1", "--Uploads:BodyIdleTimeout=00:00:00"]));

        Assert.Contains("Uploads:StagingMemoryBytes", failure.Message, StringComparison.Ordinal);
        Assert.Contains("Uploads:BodyIdleTimeout", failure.Message, StringComparison.Ordinal);
    }

    private static string RangeOf(long offset) => $"0-{Math.Max(offset - 1, 0)}";

    private static async Task<string> StartAsync(HttpClient client, string repo)
    {
        var start = await client.PostAsync($"/v2/{repo}/blobs/uploads/", null);
        Assert.Equal(HttpStatusCode.Accepted, start.StatusCode);
        return start.Headers.Location!.OriginalString;
    }

    private static async Task<HttpResponseMessage> PatchAsync(HttpClient client, string location, byte[] content, int from)
    {
        var chunk = OciTestClient.Octets(content[from..]);
        chunk.Headers.TryAddWithoutValidation("Content-Range", $"{from}-{content.Length - 1}");
        using var request = new HttpRequestMessage(HttpMethod.Patch, location) { Content = chunk };
        return await client.SendAsync(request);
    }

    /// <summary>Asks the upload where it stands, sends the rest from there and completes it; the blob must have the content's digest and size.</summary>
    private static async Task ResumeAndCompleteAsync(HttpClient client, string repo, Stall stall)
    {
        var status = await client.GetAsync(stall.Location);
        Assert.Equal(HttpStatusCode.NoContent, status.StatusCode);
        Assert.Equal(RangeOf(stall.Kept), status.Headers.GetValues("Range").Single());
        var rest = await PatchAsync(client, stall.Location, stall.Content, stall.Kept);
        Assert.Equal(HttpStatusCode.Accepted, rest.StatusCode);
        var digest = OciTestClient.DigestOf(stall.Content);
        var put = await client.PutAsync(OciTestClient.WithDigest(new Uri(stall.Location, UriKind.Relative), digest), null);
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        using var head = new HttpRequestMessage(HttpMethod.Head, $"/v2/{repo}/blobs/{digest}");
        var blob = await client.SendAsync(head);
        Assert.Equal(HttpStatusCode.OK, blob.StatusCode);
        Assert.Equal(digest, blob.Headers.GetValues("Docker-Content-Digest").Single());
        Assert.Equal(stall.Content.Length, blob.Content.Headers.ContentLength);
    }

    /// <summary>The blob's bytes, following the registry's redirect to storage.</summary>
    private static async Task<byte[]> DownloadAsync(HttpClient client, string repo, string digest)
    {
        var redirect = await client.GetAsync($"/v2/{repo}/blobs/{digest}");
        Assert.Equal(HttpStatusCode.TemporaryRedirect, redirect.StatusCode);
        using var storage = new HttpClient();
        return await storage.GetByteArrayAsync(redirect.Headers.Location);
    }

    /// <summary>A pull-and-push token for <paramref name="repo"/>, for raw requests (a Basic password check costs a hash each time).</summary>
    private static async Task<string> BearerAsync(ExtraRegistry extra, string repo)
    {
        using var anonymous = extra.AnonymousClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/oauth2/token?service=registry&scope=repository:{repo}:pull,push");
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic",
            Convert.ToBase64String(Encoding.UTF8.GetBytes($"{RegistryFixture.AdminName}:{RegistryFixture.AdminPassword}")));
        var response = await anonymous.SendAsync(request);
        response.EnsureSuccessStatusCode();
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.GetProperty("token").GetString()!;
    }

    /// <summary>Sends the PATCH's head and the first <see cref="Stall.Sent"/> bytes of its body, then nothing more.</summary>
    private static async Task<TcpClient> OpenStalledPatchAsync(Uri server, string bearer, Stall stall)
    {
        var framing = stall.Chunked
            ? $"Transfer-Encoding: chunked\r\n\r\n{stall.Content.Length:x}\r\n"
            : $"Content-Length: {stall.Content.Length}\r\n\r\n";
        var head = $"PATCH {stall.Location} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {bearer}\r\nContent-Type: application/octet-stream\r\n{framing}";
        var connection = new TcpClient();
        await connection.ConnectAsync(server.Host, server.Port);
        var stream = connection.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
        await stream.WriteAsync(stall.Content.AsMemory(0, stall.Sent));
        return connection;
    }

    /// <summary>The registry's whole answer on <paramref name="stream"/>; fails if it has not come within <see cref="Bound"/>.</summary>
    private static async Task<RawResponse> ReadResponseAsync(NetworkStream stream)
    {
        using var deadline = new CancellationTokenSource(Bound);
        var received = new MemoryStream();
        var buffer = new byte[16 * 1024];
        RawResponse? response;
        var closed = false;
        while ((response = Parse(received.ToArray(), closed)) is null)
        {
            Assert.False(closed, $"the connection closed before a whole answer: {Encoding.ASCII.GetString(received.ToArray())}");
            var read = await stream.ReadAsync(buffer, deadline.Token);
            closed = read == 0;
            received.Write(buffer, 0, read);
        }
        return response;
    }

    /// <summary>
    /// The response in <paramref name="bytes"/> once its head and body are all there (by Content-Length, chunks, or the
    /// connection <paramref name="closed"/>); else null.
    /// </summary>
    private static RawResponse? Parse(byte[] bytes, bool closed)
    {
        var text = Encoding.ASCII.GetString(bytes);
        var headEnd = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (headEnd < 0)
        {
            return null;
        }
        var lines = text[..headEnd].Split("\r\n");
        var headers = lines.Skip(1).Select(line => line.Split(':', 2))
            .ToDictionary(p => p[0].Trim().ToLowerInvariant(), p => p[1].Trim());
        var status = int.Parse(lines[0].AsSpan(9, 3), System.Globalization.CultureInfo.InvariantCulture);
        var rest = text[(headEnd + 4)..];
        if (headers.TryGetValue("content-length", out var length))
        {
            var size = int.Parse(length, System.Globalization.CultureInfo.InvariantCulture);
            return rest.Length >= size ? new RawResponse(status, headers, rest[..size]) : null;
        }
        if (!headers.TryGetValue("transfer-encoding", out var coding) || coding != "chunked")
        {
            return closed ? new RawResponse(status, headers, rest) : null;
        }
        var body = new StringBuilder();
        while (true)
        {
            var sizeEnd = rest.IndexOf("\r\n", StringComparison.Ordinal);
            if (sizeEnd < 0)
            {
                return null;
            }
            var size = Convert.ToInt32(rest[..sizeEnd], 16);
            if (size == 0)
            {
                return new RawResponse(status, headers, body.ToString());
            }
            if (rest.Length < sizeEnd + 2 + size + 2)
            {
                return null;
            }
            body.Append(rest, sizeEnd + 2, size);
            rest = rest[(sizeEnd + 2 + size + 2)..];
        }
    }

    /// <summary>Waits until the registry's own accounting says <paramref name="condition"/>; fails after <see cref="Bound"/>.</summary>
    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var deadline = new CancellationTokenSource(Bound);
        while (!condition())
        {
            await Task.Delay(10, deadline.Token);
        }
    }
}
