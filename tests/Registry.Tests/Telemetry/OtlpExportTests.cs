using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Registry.Tests.Fixtures;

namespace Registry.Tests.Telemetry;

/// <summary>With OTEL_EXPORTER_OTLP_ENDPOINT set, traces and metrics reach an OTLP/HTTP collector (a fake one here).</summary>
[Collection(RegistryTestGroup.Name)]
public sealed class OtlpExportTests(RegistryFixture registry)
{
    [Fact]
    public async Task OtlpEndpoint_ReceivesTracesAndMetrics()
    {
        var received = new ConcurrentDictionary<string, long>();
        var collectorBuilder = WebApplication.CreateSlimBuilder(["--urls=http://127.0.0.1:0", "--Logging:LogLevel:Default=None"]);
        await using var collector = collectorBuilder.Build();
        collector.MapPost("/v1/{signal}", async (HttpContext context, string signal) =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            received.AddOrUpdate(signal, body.Length, (_, total) => total + body.Length);
            context.Response.ContentType = "application/x-protobuf";
        });
        await collector.StartAsync();
        var endpoint = collector.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();

        await using (var instance = await ExtraRegistry.StartAsync(registry.Storage,
        [
            $"--OTEL_EXPORTER_OTLP_ENDPOINT={endpoint}", "--OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf",
            "--OTEL_BSP_SCHEDULE_DELAY=100", "--OTEL_METRIC_EXPORT_INTERVAL=200",
        ]))
        {
            using var client = instance.OwnerClient();
            await new OciTestClient(client).PushImageAsync(RegistryFixture.NewRepository(), "v1");
            for (var waited = 0; !(received.ContainsKey("traces") && received.ContainsKey("metrics")) && waited < 150; waited++)
            {
                await Task.Delay(100);
            }
        }

        Assert.True(received.GetValueOrDefault("traces") > 0, "no traces were exported");
        Assert.True(received.GetValueOrDefault("metrics") > 0, "no metrics were exported");
    }
}
