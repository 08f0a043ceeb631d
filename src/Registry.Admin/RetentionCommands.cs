using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using Registry.Oci;
using Registry.Retention;

namespace Registry.Admin;

/// <summary><c>registry-admin retention run [--dry-run] [--repo PATTERN]</c>: one retention run, the one the timer function runs.</summary>
internal static class RetentionCommands
{
    public static Command Build(Option<string?> connectionString)
    {
        var dryRun = new Option<bool>("--dry-run") { Description = "Print what a run would delete and keep, and delete nothing." };
        var repo = new Option<string?>("--repo") { Description = "Only repositories matching this pattern: '*', '<name>/*' or a name." };
        var run = new Command("run", "Applies the retention policies once: one line per tag and untagged manifest examined (decision and why), then a summary.")
        {
            dryRun, repo,
        };
        run.SetAction(AdminCli.Handler(connectionString, (c, p, ct) => RunAsync(c, p.GetValue(dryRun), p.GetValue(repo), ct)));
        return new Command("retention", "Runs the retention policies (see 'policy retention').") { run };
    }

    public static async Task<int> RunAsync(AdminContext context, bool dryRun, string? pattern, CancellationToken cancellationToken)
    {
        if (pattern is not null && RepositoryPatterns.Validate(pattern) is { } problem)
        {
            return await context.FailAsync([problem]);
        }
        await context.PrepareAsync(cancellationToken);
        var report = await context.Registry.GetRequiredService<RetentionRunner>().RunAsync(dryRun, pattern, cancellationToken);
        await context.Output.WriteLineAsync("decision\treference\tdigest\treason");
        foreach (var decision in report.Decisions)
        {
            var verb = decision.Deleted ? dryRun ? "would-delete" : "deleted" : "keep";
            await context.Output.WriteLineAsync(string.Join('\t', verb, decision.Reference, decision.Digest.Value, decision.Reason));
        }
        await context.Error.WriteLineAsync(report.Summary);
        return AdminCli.Ok;
    }
}
