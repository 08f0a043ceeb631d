using System.Net;
using System.Text;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Registry.Oci;
using Registry.Retention;
using Registry.Storage;
using Registry.Storage.Policies;
using Registry.Storage.Tags;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Collection;

/// <summary>
/// docs/reliability.md row L5, same-tag contention: rounds of 50 concurrent PUTs of different manifests to one tag, on
/// storage of its own (<see cref="CollectedStorage"/>). Each round has one winner, nothing dangles, and every manifest the
/// tag moved away from stays stored for the one review that takes up untagged manifests: retention's
/// <c>--delete-untagged-after</c> rule (a tag move writes no garbage-collection review, by design: README, "Garbage
/// collection"), while a collection run deletes none of them.
/// </summary>
[Collection(RegistryTestGroup.Name)]
public sealed class TagContentionTests(RegistryFixture registry) : IAsyncLifetime
{
    /// <summary>
    /// Fewer than the row's 100: the 50 writers serialise on the tag row's ETag (each re-reads and retries up to
    /// <see cref="TagStore.MaxMoveAttempts"/> times), so a round takes about 3 s on Azurite and 100 rounds took 5.5 min
    /// (every assertion held over them: 1,695 PUTs answered 201, 3,305 answered 503). Five rounds keep the suite's
    /// runtime reasonable and still cover the first push of the tag and four moves of a tag that exists.
    /// </summary>
    private const int Rounds = 5;

    private const int Writers = 50;
    private const string Tag = "contended";

    private CollectedStorage _gc = null!;

    public async Task InitializeAsync() =>
        _gc = await CollectedStorage.StartAsync(registry.Storage, $"--Storage:PoliciesTable=gcpolicies{Guid.NewGuid():N}"[..40]);

    public async Task DisposeAsync() => await _gc.DisposeAsync();

    [Fact]
    public async Task L5_FiftyConcurrentPutsToOneTag_EachRoundHasOneWinner_NothingDangles_EverySupersededManifestIsKeptForReview()
    {
        var repo = RegistryFixture.NewRepository("l5");
        Assert.True(RepositoryName.TryParse(repo, out var name));
        Assert.True(Registry.Oci.Tag.TryParse(Tag, out var tag));
        // One config and one layer for every manifest (they differ by an annotation), so the rounds cost manifest PUTs only.
        var config = Encoding.UTF8.GetBytes("{\"architecture\":\"amd64\",\"os\":\"linux\",\"row\":\"L5\"}");
        var layer = OciTestClient.RandomBytes(1024);
        await _gc.Oci.PushBlobAsync(repo, config);
        await _gc.Oci.PushBlobAsync(repo, layer);
        var tags = _gc.Pusher.Services.GetRequiredService<TagStore>();
        var created = new HashSet<string>(StringComparer.Ordinal);
        var refused = new List<string>();
        var superseded = new HashSet<string>(StringComparer.Ordinal);
        string? winner = null;

        for (var round = 0; round < Rounds; round++)
        {
            _gc.Clock.Advance(TimeSpan.FromSeconds(1));
            var manifests = Enumerable.Range(0, Writers)
                .Select(i => OciTestClient.ImageManifest(config, [layer], annotations: new() { ["round"] = $"{round}", ["writer"] = $"{i}" }))
                .ToList();
            var puts = await Task.WhenAll(manifests.Select(m => _gc.Oci.PutManifestAsync(repo, Tag, m)));
            var won = new List<string>();
            for (var i = 0; i < Writers; i++)
            {
                var digest = OciTestClient.DigestOf(manifests[i]);
                if (puts[i].StatusCode == HttpStatusCode.Created)
                {
                    won.Add(digest);
                    continue;
                }
                // Lost the race more often than a push retries: 503 UNAVAILABLE with Retry-After, and nothing of it written.
                await OciTestClient.AssertErrorAsync(puts[i], HttpStatusCode.ServiceUnavailable, "UNAVAILABLE");
                Assert.NotNull(puts[i].Headers.RetryAfter);
                refused.Add(digest);
            }
            Assert.NotEmpty(won);

            // The round's moves chain from the previous round's winner through each 201 exactly once: no move was lost or
            // made from a stale read. (The pusher's clock stands still within a round, so its moves share one time and
            // their history order says nothing; the chain is followed by Previous.)
            var moves = (await tags.HistoryAsync(name, tag, won.Count + 1, CancellationToken.None)).Take(won.Count).ToList();
            Assert.Equal(won.Order(StringComparer.Ordinal), moves.Select(m => m.Digest!.Value.Value).Order(StringComparer.Ordinal));
            var next = moves.ToDictionary(m => m.Previous?.Value ?? "", m => m.Digest!.Value.Value, StringComparer.Ordinal);
            Assert.Equal(won.Count, next.Count);
            var end = winner ?? "";
            for (var i = 0; i < won.Count; i++)
            {
                Assert.True(next.TryGetValue(end, out var moved), $"round {round}: no move from {end}; the chain broke after {i} of {won.Count}");
                end = moved;
            }

            // Exactly one winner: the newest move, which GET by tag serves, and GET by its digest agrees byte for byte.
            var previous = winner;
            winner = end;
            Assert.Equal(winner, (await tags.ReadAsync(name, tag, CancellationToken.None)).Digest?.Value);
            var byTag = await _gc.Client.GetByteArrayAsync($"/v2/{repo}/manifests/{Tag}");
            Assert.Equal(winner, OciTestClient.DigestOf(byTag));
            Assert.Equal(byTag, await _gc.Client.GetByteArrayAsync($"/v2/{repo}/manifests/{winner}"));
            created.UnionWith(won);
            superseded.UnionWith(won.Where(d => d != winner));
            if (previous is not null)
            {
                superseded.Add(previous);
            }
        }

        // No dangling reference, read from storage itself: the tag's manifest exists, every 201 left its manifest and
        // its uses, no refused PUT left anything, and both blobs are linked.
        var rows = await RowKeysAsync(name);
        Assert.Contains(TableKeys.Tag(tag), rows);
        Assert.Contains("manifest:" + winner, rows);
        Assert.Contains("blob:" + OciTestClient.DigestOf(config), rows);
        Assert.Contains("blob:" + OciTestClient.DigestOf(layer), rows);
        foreach (var digest in created)
        {
            Assert.Contains("manifest:" + digest, rows);
            Assert.Contains($"usedby:{OciTestClient.DigestOf(config)}:{digest}", rows);
            Assert.Contains($"usedby:{OciTestClient.DigestOf(layer)}:{digest}", rows);
        }
        Assert.All(refused, digest => Assert.DoesNotContain("manifest:" + digest, rows));
        Assert.Equal(created.Count, rows.Count(r => r.StartsWith(TableKeys.ManifestPrefix, StringComparison.Ordinal)));
        Assert.Equal(Rounds * Writers, created.Count + refused.Count);
        Assert.Equal(created.Count - 1, superseded.Count);

        // Garbage collection leaves superseded manifests alone (a client pushed them and did not delete them), even a day on.
        Assert.DoesNotContain((await _gc.CollectAsync(TimeSpan.FromHours(25))).Items, item => item.Kind == Registry.Collection.CollectedKind.Manifest);
        Assert.Equal(winner, OciTestClient.DigestOf(await _gc.Client.GetByteArrayAsync($"/v2/{repo}/manifests/{Tag}")));

        // Retention's untagged rule is their review: it finds exactly the superseded manifests, and never the winner.
        var policies = _gc.Collector.Services.GetRequiredService<RetentionPolicies>();
        await policies.SetAsync(new RetentionPolicy(repo, null, "*", null, null, TimeSpan.FromMinutes(1)), "test", CancellationToken.None);
        _gc.Clock.Advance(TimeSpan.FromMinutes(2));
        var review = await _gc.Collector.Services.GetRequiredService<RetentionRunner>().RunAsync(dryRun: true, repo, CancellationToken.None);
        var found = review.Decisions.Where(d => d.Kind == RetainedKind.Manifest && d.Deleted).Select(d => d.Digest.Value).ToHashSet(StringComparer.Ordinal);
        Assert.Equal(superseded.Order(StringComparer.Ordinal), found.Order(StringComparer.Ordinal));
        Assert.DoesNotContain(winner!, found);
    }

    private async Task<HashSet<string>> RowKeysAsync(RepositoryName name)
    {
        var rows = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var row in _gc.Storage.RepositoriesTable.QueryAsync<TableEntity>(
            TableClient.CreateQueryFilter($"PartitionKey eq {TableKeys.Repository(name)}"), 1000, ["RowKey"]))
        {
            rows.Add(row.RowKey);
        }
        return rows;
    }
}
