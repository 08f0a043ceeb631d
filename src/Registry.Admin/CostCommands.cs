using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Registry.Admin.Pricing;
using Registry.Audit;
using Registry.Auth;
using Registry.Storage;
using Registry.Storage.Audit;

namespace Registry.Admin;

/// <summary>
/// <c>registry-admin cost [--repo PATTERN] [--days N]</c>: per repository, the estimated monthly cost at list prices
/// (<see cref="PriceSheet.ListPrices"/>) of what it stores (<c>usage</c>'s linked bytes) and of the pushes and pulls
/// the audit log recorded in the last N days, scaled to a month. Pulls are manifest GETs, sampled by
/// <c>Audit:PullSampleRate</c> and scaled back by it; each is priced as a docker pull of an image of
/// <c>--layers</c> layers and <c>--image-mib</c> MiB on a cold instance (the audit log sees no blob GET), each push as a
/// push of such an image whose layers are all new (upper bounds). Internet egress is a column of its own.
/// </summary>
internal static class CostCommands
{
    private const long MiB = 1024 * 1024;

    public static Command Build(Option<string?> connectionString)
    {
        var repo = new Option<string?>("--repo") { Description = "Only repositories matching this pattern: '*', '<name>/*' or a name." };
        var days = new Option<int>("--days") { Description = "Operations of the last N days (audit log), scaled to a month. Default: 30.", DefaultValueFactory = _ => 30 };
        var layers = new Option<int>("--layers") { Description = "Layers of a pushed or pulled image (the audit log does not record them). Default: 5.", DefaultValueFactory = _ => 5 };
        var imageMib = new Option<int>("--image-mib") { Description = "MiB of a pushed or pulled image. Default: 60.", DefaultValueFactory = _ => 60 };
        var sampleRate = new Option<double?>("--pull-sample-rate") { Description = "The share of pulls the audit log recorded. Default: Audit__PullSampleRate, else 1." };
        var cost = new Command("cost", "Prints, per repository, the estimated monthly cost at list prices: storage, and the audited pushes and pulls.")
        {
            repo, days, layers, imageMib, sampleRate,
        };
        cost.SetAction(AdminCli.Handler(connectionString, (c, p, ct) => ShowAsync(
            c, new CostQuery(p.GetValue(repo), p.GetValue(days), p.GetValue(layers), p.GetValue(imageMib), p.GetValue(sampleRate)), ct)));
        return cost;
    }

    public static async Task<int> ShowAsync(AdminContext context, CostQuery query, CancellationToken cancellationToken)
    {
        var rate = query.PullSampleRate ?? context.Registry.GetRequiredService<IOptions<AuditOptions>>().Value.PullSampleRate;
        var problems = query.Problems(rate).ToList();
        if (problems.Count > 0)
        {
            return await context.FailAsync(problems);
        }
        await context.PrepareAsync(cancellationToken);
        var now = AdminContext.Time.GetUtcNow();
        var counts = await CountAsync(context.Audit, now.AddDays(-query.Days), now, cancellationToken);
        var calculator = new CostCalculator(PriceSheet.ListPrices);
        var imageBytes = query.ImageMib * MiB;
        var push = RegistryOperations.DockerPush([.. Enumerable.Repeat(imageBytes / query.Layers, query.Layers)]);
        var pull = RegistryOperations.DockerPull(query.Layers, imageBytes);
        var toMonth = PriceSheet.DaysPerMonth / query.Days;

        await context.Error.WriteLineAsync(
            FormattableString.Invariant($"list prices of {PriceSheet.ListPrices.Date:yyyy-MM-dd} (see README \"What an operation costs\"); operations of the last {query.Days} days scaled to a month; ")
            + FormattableString.Invariant($"pulls counted ÷ {rate} (Audit:PullSampleRate); each image {query.Layers} layers, {query.ImageMib} MiB; shared blobs count in every repository that links them"));
        await context.Output.WriteLineAsync("repository\tstored-bytes\tpushes\tpulls\tstorage-$\toperations-$\tmonthly-$\tegress-$-if-to-internet");
        var total = (Storage: 0m, Operations: 0m, Egress: 0m);
        await context.Registry.GetRequiredService<UsageCensus>().CountAsync(query.Pattern ?? "*", async usage =>
        {
            var (pushes, pulls) = counts.TryGetValue(usage.Repository, out var counted) ? counted : default;
            var scaledPulls = pulls / (decimal)rate;
            var operations = calculator.Of(push * (pushes * toMonth) + (pull with { EgressGb = 0 }) * (scaledPulls * toMonth)).Total;
            var storage = calculator.Of(new Usage { BlobGbMonths = usage.LinkedBytes / (1024m * MiB) }).Total;
            var egress = calculator.Of(new Usage { EgressGb = pull.EgressGb * scaledPulls * toMonth }).Total;
            total = (total.Storage + storage, total.Operations + operations, total.Egress + egress);
            await context.Output.WriteLineAsync(string.Join('\t',
                usage.Repository, Text(usage.LinkedBytes), Text(pushes), Text(Math.Round(scaledPulls)), Dollars(storage), Dollars(operations), Dollars(storage + operations), Dollars(egress)));
        }, cancellationToken);
        await context.Output.WriteLineAsync(string.Join('\t',
            "(these repositories)", "", "", "", Dollars(total.Storage), Dollars(total.Operations), Dollars(total.Storage + total.Operations), Dollars(total.Egress)));
        return AdminCli.Ok;
    }

    /// <summary>Successful pushes (manifest PUT, 201) and recorded pulls (manifest GET, 200) per repository from <paramref name="since"/>.</summary>
    private static async Task<Dictionary<string, (long Pushes, long Pulls)>> CountAsync(
        AuditLog audit, DateTimeOffset since, DateTimeOffset until, CancellationToken cancellationToken)
    {
        var counts = new Dictionary<string, (long Pushes, long Pulls)>(StringComparer.Ordinal);
        await foreach (var entry in audit.QueryAsync(since, until, null, null, cancellationToken))
        {
            if (entry.Repository is not { } repository)
            {
                continue;
            }
            var (pushes, pulls) = counts.TryGetValue(repository, out var counted) ? counted : default;
            counts[repository] = (entry.Action, entry.Status) switch
            {
                ("push", 201) => (pushes + 1, pulls),
                ("pull", 200) => (pushes, pulls + 1),
                _ => (pushes, pulls),
            };
        }
        return counts;
    }

    private static string Text(decimal value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Dollars(decimal value) => value.ToString("0.0000", CultureInfo.InvariantCulture);
}

/// <summary>What <c>cost</c> was asked for.</summary>
internal sealed record CostQuery(string? Pattern, int Days, int Layers, int ImageMib, double? PullSampleRate)
{
    /// <summary>Every problem of the input, each saying what is accepted.</summary>
    public IEnumerable<string> Problems(double sampleRate)
    {
        if (Pattern is not null && AnonymousPullRules.ValidatePattern(Pattern) is { } pattern)
        {
            yield return pattern;
        }
        if (Days is < 1 or > 366)
        {
            yield return $"--days {Days} is not between 1 and 366";
        }
        if (Layers is < 1 or > 1000)
        {
            yield return $"--layers {Layers} is not between 1 and 1000";
        }
        if (ImageMib < 1)
        {
            yield return $"--image-mib {ImageMib} is not a positive number of MiB";
        }
        if (sampleRate is not (> 0 and <= 1))
        {
            yield return $"the pull sample rate {sampleRate} is not above 0 and at most 1 (--pull-sample-rate, or Audit__PullSampleRate)";
        }
    }
}
