using System.Globalization;

namespace Registry.Benchmarks;

/// <summary>
/// The command line: <c>--short</c> (CI sizes, one round), <c>--rounds N</c>, <c>--only a,b</c> (workload names),
/// <c>--list</c>. Every problem is reported, not just the first.
/// </summary>
internal sealed record BenchmarkOptions(BenchmarkScale Scale, IReadOnlyList<string> Only, bool List)
{
    public const string Usage =
        "usage: ./scripts/bench [--short] [--rounds N] [--only workload[,workload...]] [--list]\n"
        + "  --short    CI sizes (8 MiB layers, 10 images, 100 tags...), one round\n"
        + "  --rounds N rounds per figure (medians); default 5, or 1 with --short\n"
        + "  --only     run these workloads only (see --list)\n"
        + "  --list     print the workloads and exit";

    public static BenchmarkOptions? Parse(IReadOnlyList<string> args, IReadOnlyCollection<string> workloads, out List<string> problems)
    {
        problems = [];
        var isShort = false;
        var list = false;
        int? rounds = null;
        var only = new List<string>();
        for (var i = 0; i < args.Count; i++)
        {
            switch (args[i])
            {
                case "--short":
                    isShort = true;
                    break;
                case "--list":
                    list = true;
                    break;
                case "--rounds" when i + 1 < args.Count && int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= 50:
                    rounds = n;
                    i++;
                    break;
                case "--rounds":
                    problems.Add("--rounds takes a whole number from 1 to 50, e.g. --rounds 3");
                    i++;
                    break;
                case "--only" when i + 1 < args.Count:
                    only.AddRange(args[++i].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
                    break;
                case "--only":
                    problems.Add("--only takes workload names separated by commas, e.g. --only push-large,pull-large");
                    break;
                default:
                    problems.Add($"unknown argument '{args[i]}'");
                    break;
            }
        }
        foreach (var name in only.Where(n => !workloads.Contains(n)))
        {
            problems.Add($"no workload '{name}'; the workloads are: {string.Join(", ", workloads)}");
        }
        if (problems.Count > 0)
        {
            return null;
        }
        var scale = isShort ? BenchmarkScale.Short : BenchmarkScale.Full;
        return new BenchmarkOptions(rounds is { } r ? scale with { Rounds = r } : scale, only, list);
    }
}
