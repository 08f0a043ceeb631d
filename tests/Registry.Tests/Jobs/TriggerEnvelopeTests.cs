using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Registry.Host;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Jobs;

/// <summary>
/// The non-HTTP functions as the Functions host invokes them: a handler started with FUNCTIONS_CUSTOMHANDLER_PORT,
/// envelopes <c>{Data, Metadata}</c> posted to <c>/&lt;function name&gt;</c>, answers <c>{Outputs, Logs, ReturnValue}</c>.
/// </summary>
[Collection(RegistryTestGroup.Name)]
public sealed class TriggerEnvelopeTests(RegistryFixture registry) : IAsyncLifetime
{
    private WebApplication _handler = null!;
    private HttpClient _host = null!;

    public async Task InitializeAsync()
    {
        _handler = RegistryHost.Build(
        [
            $"--{RegistryHost.CustomHandlerPortVariable}=0",
            $"--Storage:ConnectionString={registry.Storage.ConnectionString}",
            "--Logging:LogLevel:Default=None",
            $"--Auth:AdminPassword={RegistryFixture.AdminPassword}",
        ]);
        await _handler.StartAsync();
        var address = _handler.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        Assert.StartsWith("http://127.0.0.1:", address, StringComparison.Ordinal);
        _host = new HttpClient { BaseAddress = new Uri(address) };
    }

    public async Task DisposeAsync()
    {
        _host.Dispose();
        await _handler.StopAsync();
        await _handler.DisposeAsync();
    }

    /// <summary>A timer invocation as the host sends it (TimerInfo under the binding name, then the sys metadata).</summary>
    private static StringContent TimerEnvelope() => new("""
        {
          "Data": {
            "timer": {
              "Schedule": { "AdjustForDST": true },
              "ScheduleStatus": { "Last": "2026-11-23T10:00:00+00:00", "Next": "2026-11-23T11:00:00+00:00", "LastUpdated": "2026-11-23T10:00:00+00:00" },
              "IsPastDue": false
            }
          },
          "Metadata": {
            "sys": { "MethodName": "upload-cleanup", "UtcNow": "2026-11-23T11:00:00.0046Z", "RandGuid": "0f9c5b1e-7a9b-4d5c-9d8e-3b1f7a2c4e6d" }
          }
        }
        """, Encoding.UTF8, "application/json");

    private static StringContent QueueEnvelope(JsonNode message) => new(new JsonObject
    {
        ["Data"] = new JsonObject { ["message"] = message },
        ["Metadata"] = new JsonObject
        {
            ["DequeueCount"] = "1",
            ["Id"] = Guid.NewGuid().ToString(),
            ["sys"] = new JsonObject { ["MethodName"] = "replicate" },
        },
    }.ToJsonString(), Encoding.UTF8, "application/json");

    private static async Task<JsonElement> AnswerAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"{response.StatusCode}: {body}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var root = JsonDocument.Parse(body).RootElement.Clone();
        Assert.Equal(JsonValueKind.Object, root.GetProperty("Outputs").ValueKind);
        Assert.NotEmpty(root.GetProperty("Logs").EnumerateArray());
        return root;
    }

    [Fact]
    public async Task TimerEnvelope_ToUploadCleanup_RunsTheSweepAndReturnsItsReport()
    {
        // An open session the sweep must count and leave alone.
        var repo = RegistryFixture.NewRepository();
        Assert.Equal(HttpStatusCode.Accepted, (await registry.Client.PostAsync($"/v2/{repo}/blobs/uploads/", null)).StatusCode);

        var answer = await AnswerAsync(await _host.PostAsync("/upload-cleanup", TimerEnvelope()), HttpStatusCode.OK);

        var report = answer.GetProperty("ReturnValue");
        Assert.Equal("upload-cleanup", report.GetProperty("Job").GetString());
        Assert.Equal("completed", report.GetProperty("Status").GetString());
        Assert.Matches(@"^\d+ expired upload sessions removed, [1-9]\d* open$", report.GetProperty("Summary").GetString());
    }

    [Fact]
    public async Task TimerEnvelope_ReachesGarbageCollection_AndReturnsWhatTheRunDid()
    {
        var answer = await AnswerAsync(await _host.PostAsync("/garbage-collection", TimerEnvelope()), HttpStatusCode.OK);

        var report = answer.GetProperty("ReturnValue");
        Assert.Equal("garbage-collection", report.GetProperty("Job").GetString());
        Assert.Equal("completed", report.GetProperty("Status").GetString());
        Assert.Matches(@"^deleted \d+ blob links, \d+ manifests, \d+ blobs \(\d+ bytes\); \d+ reviews examined$", report.GetProperty("Summary").GetString());
    }

    [Fact]
    public async Task TimerEnvelope_ReachesRetention_AndReturnsWhatTheRunDid()
    {
        var answer = await AnswerAsync(await _host.PostAsync("/retention", TimerEnvelope()), HttpStatusCode.OK);

        var report = answer.GetProperty("ReturnValue");
        Assert.Equal("retention", report.GetProperty("Job").GetString());
        Assert.Equal("completed", report.GetProperty("Status").GetString());
        Assert.Matches(@"^deleted \d+ tags and \d+ untagged manifests \(\d+ manifest bytes\); kept \d+; \d+ tags in \d+ repositories examined$",
            report.GetProperty("Summary").GetString());
    }

    [Fact]
    public async Task QueueEnvelope_WithAnEvent_ReachesReplication()
    {
        var cloudEvent = new JsonObject
        {
            ["specversion"] = "1.0",
            ["type"] = "Microsoft.ContainerRegistry.ImagePushed",
            ["source"] = "/registry",
            ["id"] = Guid.NewGuid().ToString(),
            ["data"] = new JsonObject
            {
                ["action"] = "push",
                ["target"] = new JsonObject { ["repository"] = "team/app", ["tag"] = "1.0", ["digest"] = OciTestClient.EmptyConfigDigest },
            },
        };
        // The host hands the message over as a string; a JSON message may also arrive as the object itself.
        foreach (var message in new JsonNode[] { JsonValue.Create(cloudEvent.ToJsonString()), cloudEvent.DeepClone() })
        {
            var answer = await AnswerAsync(await _host.PostAsync("/replicate", QueueEnvelope(message)), HttpStatusCode.OK);
            var report = answer.GetProperty("ReturnValue");
            Assert.Equal("replicate", report.GetProperty("Job").GetString());
            Assert.Equal("not-configured", report.GetProperty("Status").GetString());
            // This instance is no replica (the replica's handling is in Replication/ReplicationTests).
            Assert.Contains("no replica", report.GetProperty("Summary").GetString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task QueueEnvelope_WithAMessageThatIsNoEvent_FailsTheInvocationSoTheHostRetriesIt()
    {
        var answer = await AnswerAsync(await _host.PostAsync("/replicate", QueueEnvelope(JsonValue.Create("not json {"))), HttpStatusCode.BadRequest);
        Assert.Equal(JsonValueKind.Null, answer.GetProperty("ReturnValue").ValueKind);
    }

    [Theory]
    [InlineData("upload-cleanup", "[1,2,3]")]
    [InlineData("upload-cleanup", "{\"Data\":")]
    [InlineData("replicate", "{\"Data\":{},\"Metadata\":{}}")]
    public async Task MalformedEnvelope_Answers400WithTheDocumentedShape(string function, string body)
    {
        var answer = await AnswerAsync(
            await _host.PostAsync("/" + function, new StringContent(body, Encoding.UTF8, "application/json")), HttpStatusCode.BadRequest);
        Assert.Equal(JsonValueKind.Null, answer.GetProperty("ReturnValue").ValueKind);
    }

    [Fact]
    public async Task Standalone_DoesNotExposeTheTriggerRoutes()
    {
        var response = await registry.Anonymous.PostAsync("/upload-cleanup", TimerEnvelope());
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}
