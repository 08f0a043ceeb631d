using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Registry.Collection;

namespace Registry.Admin;

/// <summary><c>registry-admin gc [--dry-run]</c>: one garbage collection run, the same one the timer function runs.</summary>
internal static class GcCommands
{
    public static Command Build(Option<string?> connectionString)
    {
        var dryRun = new Option<bool>("--dry-run") { Description = "Print what a run would delete now, and delete nothing." };
        var gc = new Command("gc", "Runs garbage collection once: prints each deletion (kind, repository, digest, bytes, why), then a summary.") { dryRun };
        gc.SetAction(AdminCli.Handler(connectionString, (c, p, ct) => RunAsync(c, p.GetValue(dryRun), ct)));
        return gc;
    }

    public static async Task<int> RunAsync(AdminContext context, bool dryRun, CancellationToken cancellationToken)
    {
        await context.PrepareAsync(cancellationToken);
        var report = await context.Registry.GetRequiredService<GarbageCollector>().RunAsync(dryRun, cancellationToken);
        await context.Output.WriteLineAsync("kind\trepository\tdigest\tbytes\treason");
        foreach (var item in report.Items)
        {
            await context.Output.WriteLineAsync(string.Join('\t',
                item.Kind.ToString().ToLowerInvariant(), item.Repository ?? "-", item.Digest.Value, item.Size.ToString(CultureInfo.InvariantCulture), item.Reason));
        }
        await context.Error.WriteLineAsync(report.Summary);
        return AdminCli.Ok;
    }
}
