using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Registry.Benchmarks.Processes;

/// <summary>
/// A webhook on loopback that answers 200 to every delivery and records when each event's manifest digest first
/// arrived (a <see cref="Stopwatch"/> timestamp), so a workload can measure from a push's 201 to its event.
/// </summary>
internal sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, long> _arrived = new(StringComparer.Ordinal);

    private WebhookReceiver(WebApplication app) => _app = app;

    public Uri Url { get; private set; } = null!;

    /// <summary>Digest → the timestamp of the delivery that first carried its event.</summary>
    public IReadOnlyDictionary<string, long> Arrived => _arrived;

    public static async Task<WebhookReceiver> StartAsync(CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new WebhookReceiver(app);
        app.MapPost("/hook", receiver.ReceiveAsync);
        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        receiver.Url = new Uri(new Uri(address), "/hook");
        return receiver;
    }

    private async Task<IResult> ReceiveAsync(HttpRequest request)
    {
        using var body = await JsonDocument.ParseAsync(request.Body);
        var now = Stopwatch.GetTimestamp();
        foreach (var cloudEvent in body.RootElement.EnumerateArray())
        {
            if (cloudEvent.GetProperty("data").GetProperty("target").GetProperty("digest").GetString() is { } digest)
            {
                _arrived.TryAdd(digest, now);
            }
        }
        return Results.Ok();
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
