using System.Globalization;
using Registry.Auth;

namespace Registry.Admin;

/// <summary>
/// How the command line spells scope-map rules (<c>app/*=pull,push</c>) and expiry times (<c>90d</c>,
/// <c>2026-12-31</c>). The parsers check everything they are given and add one message per problem to
/// <c>problems</c>, each saying what a valid value looks like.
/// </summary>
internal static class ScopeSyntax
{
    private const string ScopeExample = "e.g. --scope 'app/*=pull,push'";
    private const string ActionList = "pull, push, create (push without moving an existing tag), delete, metadata-read, metadata-write or *";

    // The order actions are stored and shown in.
    private static readonly string[] ActionOrder = [Actions.Pull, Actions.Push, Actions.Create, Actions.Delete, Actions.MetadataRead, Actions.MetadataWrite];

    /// <summary>The rules <paramref name="scopes"/> spell; empty when there is a problem (then <paramref name="problems"/> says which).</summary>
    public static IReadOnlyList<AccessRule> ParseRules(IReadOnlyList<string> scopes, List<string> problems)
    {
        var before = problems.Count;
        if (scopes.Count == 0)
        {
            problems.Add($"a token needs at least one --scope <pattern>=<actions>, {ScopeExample}");
        }
        var rules = new List<AccessRule>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var scope in scopes)
        {
            var equals = scope.IndexOf('=', StringComparison.Ordinal);
            if (equals < 0)
            {
                problems.Add($"--scope '{scope}' has no '=': a scope is <pattern>=<actions>, {ScopeExample}");
                continue;
            }
            var pattern = scope[..equals].Trim();
            if (AnonymousPullRules.ValidatePattern(pattern) is { } patternProblem)
            {
                problems.Add($"--scope '{scope}': {patternProblem}");
            }
            else if (!seen.Add(pattern))
            {
                problems.Add($"--scope '{scope}': pattern '{pattern}' is given more than once; give all its actions in one --scope");
            }
            var actions = ParseActions(scope, scope[(equals + 1)..], problems);
            if (actions is not null)
            {
                rules.Add(new AccessRule(pattern, actions));
            }
        }
        return problems.Count == before ? rules : [];
    }

    /// <summary>
    /// An absolute time for <paramref name="text"/>: null stays null (never expires); <c>90d</c> / <c>12h</c> count from
    /// <paramref name="now"/>; an ISO 8601 date or time without an offset is UTC. Past times are a problem.
    /// </summary>
    public static DateTimeOffset? ParseExpiry(string? text, DateTimeOffset now, List<string> problems)
    {
        if (text is null)
        {
            return null;
        }
        DateTimeOffset at;
        if (text.Length > 1 && text[^1] is 'd' or 'h'
            && int.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var count)
            && count is > 0 and <= 36_500)
        {
            at = now + (text[^1] == 'd' ? TimeSpan.FromDays(count) : TimeSpan.FromHours(count));
        }
        else if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out at)
            || !char.IsAsciiDigit(text[0]))
        {
            problems.Add($"--expires '{text}' is neither a date nor a duration: use an ISO 8601 date or time (2026-12-31, 2026-12-31T18:00:00Z) or a number of days or hours (90d, 12h)");
            return null;
        }
        if (at <= now)
        {
            problems.Add($"--expires '{text}' is in the past ({Format(at)}); give a later time");
            return null;
        }
        return at;
    }

    public static string FormatRule(AccessRule rule) => $"{rule.Pattern}={string.Join(',', rule.Actions)}";

    public static string Format(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    // Actions are case-insensitive on the command line and stored lowercase, de-duplicated, in a fixed order;
    // '*' already grants everything, so it stands alone.
    private static List<string>? ParseActions(string scope, string text, List<string> problems)
    {
        var given = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(a => a.ToLowerInvariant())
            .ToList();
        if (given.Count == 0)
        {
            problems.Add($"--scope '{scope}' grants no action: list one or more of {ActionList} after '=', {ScopeExample}");
            return null;
        }
        var unknown = given.Where(a => a != Actions.All && !Actions.Known.Contains(a)).Distinct().ToList();
        if (unknown.Count > 0)
        {
            problems.Add($"--scope '{scope}': unknown action{(unknown.Count > 1 ? "s" : "")} {string.Join(", ", unknown.Select(a => $"'{a}'"))}; actions are {ActionList}");
            return null;
        }
        return given.Contains(Actions.All) ? [Actions.All] : [.. ActionOrder.Where(given.Contains)];
    }
}
