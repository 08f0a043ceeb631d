using System.Collections.Concurrent;
using System.Text.Json;
using Azure.Core;
using Azure.Core.Pipeline;
using Microsoft.Extensions.DependencyInjection;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Events;

/// <summary>
/// What publishing costs when changes come close together: a burst that commits while a drain holds the lease goes
/// out with that one lease, and the lease is given up in the transaction of the last moves; a change within
/// <c>Events:BatchWindow</c> of the last drain waits for the window and goes in one delivery with the others. The
/// registry's timers fire only when the test moves its clock, so nothing here depends on how fast anything runs.
/// </summary>
[Collection(RegistryTestGroup.Name)]
public sealed class EventBatchingTests(RegistryFixture registry) : IAsyncLifetime
{
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(5);
    private readonly string _suffix = Guid.NewGuid().ToString("N")[..10];
    private readonly StorageGate _gate = new();
    private readonly LeaseCalls _calls = new();
    private readonly ManualTimers _clock = new();
    private EventReceiver _receiver = null!;
    private ExtraRegistry _registry = null!;
    private HttpClient _client = null!;
    private OciTestClient _oci = null!;

    public async Task InitializeAsync()
    {
        _receiver = await EventReceiver.StartAsync();
        _registry = await ExtraRegistry.StartAsync(registry.Storage,
        [
            $"--Storage:RepositoriesTable=evbrepos{_suffix}", $"--Storage:BlobsTable=evbblobs{_suffix}", $"--Storage:BlobContainer=evb{_suffix}",
            "--Jobs:InProcess=false", "--Audit:Enabled=false",
            $"--Events:Webhooks:0:Url={_receiver.Url}", "--Events:AllowPrivateTargets=true", $"--Events:BatchWindow={Window}",
        ], builder =>
        {
            builder.Services.AddSingleton<HttpPipelinePolicy>(_gate);
            builder.Services.AddSingleton<HttpPipelinePolicy>(_calls);
            builder.Services.AddSingleton<TimeProvider>(_clock);
        });
        _client = _registry.OwnerClient();
        _oci = new OciTestClient(_client);
    }

    public async Task DisposeAsync()
    {
        _gate.Release();
        _client.Dispose();
        await _registry.DisposeAsync();
        await _receiver.DisposeAsync();
    }

    [Fact]
    public async Task BurstCommittedWhileADrainHoldsTheLease_GoesOutWithThatOneLease_InCommitOrder_AndTheLastMoveGivesItUp()
    {
        var repo = RegistryFixture.NewRepository("events");
        // The first push's drain holds the lease, held by the test right after its read of the outbox.
        _gate.HoldAfter(IsOutboxQuery);
        await _oci.PushImageAsync(repo, "v0");
        await _gate.Reached;
        for (var i = 1; i < 6; i++)
        {
            _clock.Advance(TimeSpan.FromMilliseconds(1)); // row keys in commit order (the clock stands still otherwise)
            await _oci.PushImageAsync(repo, $"v{i}");
        }
        _gate.Release();

        var events = (await _receiver.WaitForAsync(all => all.Count(e => Repository(e) == repo) >= 6)).Where(e => Repository(e) == repo).ToList();
        await LeaseCalls.WaitForAsync(() => _calls.ReleasedInMoves == 1);
        Assert.Equal(Enumerable.Range(0, 6).Select(i => $"v{i}"), events.Select(Tag));
        Assert.Equal(1, _calls.LeaseTakes);
        Assert.Equal(0, _calls.LeaseDeletes);
        // The first read found v0 alone; the drain read again for what came meanwhile, and sent it in one delivery.
        Assert.Equal([1, 5], _receiver.Deliveries.Select(d => d.Events.Count(e => Repository(e) == repo)).Where(n => n > 0));
    }

    [Fact]
    public async Task ChangesWithinTheBatchWindow_WaitForIt_AndGoInOneDelivery_WithOneLease()
    {
        var repo = RegistryFixture.NewRepository("events");
        await _oci.PushImageAsync(repo, "first"); // a quiet repository publishes at once
        await _receiver.WaitForAsync(all => all.Any(e => Repository(e) == repo));
        await LeaseCalls.WaitForAsync(() => _calls.ReleasedInMoves == 1);

        for (var i = 0; i < 3; i++)
        {
            _clock.Advance(TimeSpan.FromMilliseconds(1));
            await _oci.PushImageAsync(repo, $"w{i}");
        }
        Assert.Equal(1, _calls.LeaseTakes); // within the window: no drain yet
        _clock.Advance(Window);

        var events = (await _receiver.WaitForAsync(all => all.Count(e => Repository(e) == repo) >= 4)).Where(e => Repository(e) == repo).ToList();
        Assert.Equal(["first", "w0", "w1", "w2"], events.Select(Tag));
        Assert.Equal([1, 3], _receiver.Deliveries.Select(d => d.Events.Count(e => Repository(e) == repo)).Where(n => n > 0));
        await LeaseCalls.WaitForAsync(() => _calls.ReleasedInMoves == 2);
        Assert.Equal(2, _calls.LeaseTakes);
    }

    private static bool IsOutboxQuery(Request request) =>
        request.Method == RequestMethod.Get && Uri.UnescapeDataString(request.Uri.Query).Contains("RowKey ge 'event:'", StringComparison.Ordinal);

    private static string? Repository(JsonElement e) => e.GetProperty("data").GetProperty("target").GetProperty("repository").GetString();

    private static string? Tag(JsonElement e) => e.GetProperty("data").GetProperty("target").TryGetProperty("tag", out var t) ? t.GetString() : null;

    /// <summary>Counts the publishing lease's storage calls once storage answered them: takes, deletes of its own, and transactions of moves that give it up.</summary>
    private sealed class LeaseCalls : HttpPipelinePolicy
    {
        private readonly ConcurrentQueue<string> _calls = new();

        public int LeaseTakes => _calls.Count(c => c == "take");

        public int LeaseDeletes => _calls.Count(c => c == "delete");

        public int ReleasedInMoves => _calls.Count(c => c == "moves");

        public static async Task WaitForAsync(Func<bool> done)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            while (!done())
            {
                await Task.Delay(20, timeout.Token);
            }
        }

        public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            var request = message.Request;
            var kind = StorageGate.IsEntityWrite(request, "lease:events") && request.Method == RequestMethod.Post ? "take"
                : StorageGate.IsEntityDelete(request, "lease:events") ? "delete"
                : StorageGate.IsBatchWith(request, "lease%3Aevents") || StorageGate.IsBatchWith(request, "lease:events") ? "moves"
                : null;
            await ProcessNextAsync(message, pipeline);
            if (kind is not null)
            {
                _calls.Enqueue(kind);
            }
        }

        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline) =>
            throw new NotSupportedException("the registry calls storage asynchronously");
    }
}
