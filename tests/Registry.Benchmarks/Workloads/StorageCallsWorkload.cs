using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Registry.Benchmarks.Load;
using Registry.Benchmarks.Processes;
using Registry.Benchmarks.Report;

namespace Registry.Benchmarks.Workloads;

/// <summary>
/// Storage calls per operation, counted inside an in-process registry (on tables and a container of its own). The
/// requests are sent one at a time, exactly as docker sends them; each count includes the calls made after the
/// response (the audit record). Warm counts come right after the same request was made once; the cold docker pull
/// runs against a freshly started instance that has served nothing yet. A frozen clock keeps time-limited caches
/// from expiring mid-count, so the counts are deterministic.
/// </summary>
internal sealed class StorageCallsWorkload : IWorkload
{
    private const string Prefix = "callsbench";
    private const string Repository = "bench/calls";
    private const int Layers = 3;

    public string Name => "storage-calls";

    public string Description => "storage calls per operation, counted in an in-process registry";

    public async Task<IReadOnlyList<Row>> RunAsync(BenchmarkContext context, CancellationToken cancellationToken)
    {
        var storage = await context.StorageAsync(cancellationToken);
        var counts = new List<(string Operation, IReadOnlyList<string> Calls, string Goal, int? Limit)>();
        var layers = Enumerable.Range(0, Layers).Select(i => new GeneratedLayer(40_000 + (ulong)i, 1024 * (i + 1))).ToList();
        var config = ImageManifest.Config("storage-calls");
        var manifest = ImageManifest.Build(new BlobRef(Digests.Of(config), config.Length), layers.Select(l => new BlobRef(l.Digest, l.Length)));

        var warmCounter = new StorageCallCounter(Prefix);
        await using (var registry = await InProcessRegistry.StartAsync(storage, Prefix, warmCounter, new FrozenClock(), cancellationToken))
        {
            using var http = Client(registry.Target);
            var token = await TokenAsync(http, cancellationToken);
            counts.Add(("token request (Basic, one repository scope)", await warmCounter.MeasureAsync(() => TokenAsync(http, cancellationToken)), "report", null));
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);

            var uploadStart = "";
            counts.Add(("upload POST (start)", await warmCounter.MeasureAsync(async () => uploadStart = await StartUploadAsync(http, cancellationToken)), "report", null));
            var afterPatch = "";
            counts.Add(("upload PATCH (one chunk)", await warmCounter.MeasureAsync(async () =>
            {
                using var body = layers[0].Content(declareLength: false);
                afterPatch = (await SendAsync(http, HttpMethod.Patch, uploadStart, body, HttpStatusCode.Accepted, cancellationToken)).Location;
            }), "report", null));
            counts.Add(("upload PUT ?digest= (complete)", await warmCounter.MeasureAsync(() =>
                SendAsync(http, HttpMethod.Put, WithDigest(afterPatch, layers[0].Digest), null, HttpStatusCode.Created, cancellationToken)), "report", null));
            using (var pusher = new OciClient(registry.Target, 4))
            {
                foreach (var layer in layers.Skip(1))
                {
                    await pusher.PushChunkedAsync(Repository, layer, cancellationToken);
                }
                await pusher.PushChunkedAsync(Repository, config, cancellationToken);
            }
            counts.Add(($"manifest PUT by tag ({Layers} layers)", await warmCounter.MeasureAsync(() =>
                SendAsync(http, HttpMethod.Put, $"/v2/{Repository}/manifests/v1", Manifest(manifest), HttpStatusCode.Created, cancellationToken)), "report", null));

            var digest = Digests.Of(manifest);
            var reads = new (string Operation, HttpMethod Method, string Path, HttpStatusCode Status, string Goal, int? Limit)[]
            {
                ("manifest GET by tag, warm", HttpMethod.Get, $"/v2/{Repository}/manifests/v1", HttpStatusCode.OK, "≤ 1 (0 from cache)", 1),
                ("manifest HEAD by tag, warm", HttpMethod.Head, $"/v2/{Repository}/manifests/v1", HttpStatusCode.OK, "report", null),
                ("manifest GET by digest, warm", HttpMethod.Get, $"/v2/{Repository}/manifests/{digest}", HttpStatusCode.OK, "report", null),
                ("blob HEAD, warm", HttpMethod.Head, $"/v2/{Repository}/blobs/{layers[0].Digest}", HttpStatusCode.OK, "≤ 1", 1),
                ("blob GET (the 307), warm", HttpMethod.Get, $"/v2/{Repository}/blobs/{layers[0].Digest}", HttpStatusCode.TemporaryRedirect, "≤ 1", 1),
                ("tag list, warm", HttpMethod.Get, $"/v2/{Repository}/tags/list", HttpStatusCode.OK, "report", null),
            };
            foreach (var (operation, method, path, status, goal, limit) in reads)
            {
                await SendAsync(http, method, path, null, status, cancellationToken);
                counts.Add((operation, await warmCounter.MeasureAsync(() => SendAsync(http, method, path, null, status, cancellationToken)), goal, limit));
            }
        }

        // A docker pull against an instance that has served nothing yet: ping, token, manifest, config, layers.
        var coldCounter = new StorageCallCounter(Prefix);
        await using (var registry = await InProcessRegistry.StartAsync(storage, Prefix, coldCounter, new FrozenClock(), cancellationToken))
        {
            using var http = Client(registry.Target);
            var steps = new List<(string Step, IReadOnlyList<string> Calls)>
            {
                ("GET /v2/ (401)", await coldCounter.MeasureAsync(() => SendAsync(http, HttpMethod.Get, "/v2/", null, HttpStatusCode.Unauthorized, cancellationToken))),
            };
            var token = "";
            steps.Add(("token", await coldCounter.MeasureAsync(async () => token = await TokenAsync(http, cancellationToken))));
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
            steps.Add(("manifest GET by tag", await coldCounter.MeasureAsync(() =>
                SendAsync(http, HttpMethod.Get, $"/v2/{Repository}/manifests/v1", null, HttpStatusCode.OK, cancellationToken))));
            foreach (var (blob, index) in layers.Select(l => l.Digest).Prepend(Digests.Of(config)).Select((d, i) => (d, i)))
            {
                steps.Add((index == 0 ? "config GET" : $"layer {index} GET", await coldCounter.MeasureAsync(() =>
                    SendAsync(http, HttpMethod.Get, $"/v2/{Repository}/blobs/{blob}", null, HttpStatusCode.TemporaryRedirect, cancellationToken))));
            }
            counts.Add(($"docker pull of a {Layers}-layer image, cold", steps.SelectMany(s => s.Calls).ToList(), $"≤ L+2 = {Layers + 2}", Layers + 2));
            context.Note("storage-calls: cold docker pull by step: " + string.Join("; ", steps.Select(s => $"{s.Step} {s.Calls.Count} [{StorageCallCounter.Breakdown(s.Calls)}]")));
        }

        foreach (var (operation, calls, _, _) in counts)
        {
            context.Note($"storage-calls: {operation}: {calls.Count} [{StorageCallCounter.Breakdown(calls)}]");
        }
        return counts.Select(c => new Row("storage calls per operation", c.Operation, c.Calls.Count, "—", null, Better.Lower, c.Goal,
            c.Limit is { } limit ? c.Calls.Count <= limit : null) { ZeroIsValid = true }).ToList();
    }

    private static HttpClient Client(RegistryTarget target) =>
        new(new SocketsHttpHandler { AllowAutoRedirect = false, UseProxy = false }) { BaseAddress = target.BaseAddress };

    private static async Task<string> TokenAsync(HttpClient http, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/oauth2/token?service=registry&scope={Uri.EscapeDataString(TokenHandler.RepositoryScope(Repository))}");
        var owner = OurRegistryProcess.Owner;
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{owner.User}:{owner.Password}")));
        using var response = await http.SendAsync(request, cancellationToken);
        await Expect.StatusAsync(response, HttpStatusCode.OK, "token request");
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
        return doc.RootElement.GetProperty("token").GetString()!;
    }

    private static async Task<string> StartUploadAsync(HttpClient http, CancellationToken cancellationToken) =>
        (await SendAsync(http, HttpMethod.Post, $"/v2/{Repository}/blobs/uploads/", null, HttpStatusCode.Accepted, cancellationToken)).Location;

    /// <summary>Sends one request, checks its status, reads its body; returns its Location header ("" when none).</summary>
    private static async Task<(HttpStatusCode Status, string Location)> SendAsync(
        HttpClient http, HttpMethod method, string path, HttpContent? body, HttpStatusCode expected, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.RelativeOrAbsolute)) { Content = body };
        if (method == HttpMethod.Get && path.Contains("/manifests/", StringComparison.Ordinal))
        {
            request.Headers.TryAddWithoutValidation("Accept", OciClient.DockerAccept);
        }
        using var response = await http.SendAsync(request, cancellationToken);
        await Expect.StatusAsync(response, expected, method + " " + path);
        await response.Content.ReadAsByteArrayAsync(cancellationToken);
        return (response.StatusCode, response.Headers.Location?.OriginalString ?? "");
    }

    private static string WithDigest(string location, string digest) =>
        location + (location.Contains('?', StringComparison.Ordinal) ? "&" : "?") + "digest=" + Uri.EscapeDataString(digest);

    private static ByteArrayContent Manifest(byte[] manifest)
    {
        var content = new ByteArrayContent(manifest);
        content.Headers.ContentType = new MediaTypeHeaderValue(ImageManifest.MediaType);
        return content;
    }
}
