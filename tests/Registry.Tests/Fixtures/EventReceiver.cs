using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Registry.Tests.Fixtures;

/// <summary>One delivery a webhook received: its headers and its CloudEvents batch.</summary>
public sealed record Delivered(IReadOnlyDictionary<string, string> Headers, byte[] Body)
{
    public IReadOnlyList<JsonElement> Events => JsonDocument.Parse(Body).RootElement.EnumerateArray().Select(e => e.Clone()).ToList();
}

/// <summary>
/// A webhook receiver on 127.0.0.1 that records every delivery and answers as the test scripts it: by default 200;
/// <see cref="AnswerNext"/> queues other answers (a status, a Retry-After), and <see cref="RefuseWhere"/> makes it
/// reject every batch that holds a given event.
/// </summary>
public sealed class EventReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<(int Status, string? RetryAfter)> _answers = new();
    private readonly ConcurrentQueue<Delivered> _delivered = new();
    private volatile Func<JsonElement, bool>? _refused;

    private EventReceiver(WebApplication app, Uri url)
    {
        _app = app;
        Url = url;
    }

    public Uri Url { get; }

    /// <summary>Every delivery so far, accepted or not, in order of arrival.</summary>
    public IReadOnlyList<Delivered> Deliveries => [.. _delivered];

    /// <summary>The events of the deliveries it answered 2xx, in order of arrival.</summary>
    public List<JsonElement> Accepted { get; } = [];

    public static async Task<EventReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        EventReceiver? receiver = null;
        app.MapPost("/hook", async context => await receiver!.ReceiveAsync(context));
        // Where Event Grid's publisher client posts: the topic endpoint's path.
        app.MapPost("/api/events", async context => await receiver!.ReceiveAsync(context));
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        receiver = new EventReceiver(app, new Uri(new Uri(address), "/hook"));
        return receiver;
    }

    public void AnswerNext(int status, string? retryAfter = null) => _answers.Enqueue((status, retryAfter));

    /// <summary>Rejects (400) every batch that holds an event <paramref name="refused"/> accepts.</summary>
    public void RefuseWhere(Func<JsonElement, bool> refused) => _refused = refused;

    /// <summary>Waits (bounded) until <paramref name="done"/> holds for what was accepted.</summary>
    public async Task<List<JsonElement>> WaitForAsync(Func<List<JsonElement>, bool> done, TimeSpan? within = null)
    {
        using var timeout = new CancellationTokenSource(within ?? TimeSpan.FromSeconds(20));
        while (true)
        {
            lock (Accepted)
            {
                if (done(Accepted))
                {
                    return [.. Accepted];
                }
            }
            await Task.Delay(20, timeout.Token);
        }
    }

    private async Task ReceiveAsync(HttpContext context)
    {
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body);
        var delivered = new Delivered(context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase), body.ToArray());
        _delivered.Enqueue(delivered);
        var events = delivered.Events;
        if (_refused is { } refused && events.Any(refused))
        {
            context.Response.StatusCode = 400;
            return;
        }
        if (_answers.TryDequeue(out var answer))
        {
            context.Response.StatusCode = answer.Status;
            if (answer.RetryAfter is not null)
            {
                context.Response.Headers.RetryAfter = answer.RetryAfter;
            }
            if (answer.Status is < 200 or >= 300)
            {
                return;
            }
        }
        lock (Accepted)
        {
            Accepted.AddRange(events);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
